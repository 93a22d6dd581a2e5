using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>Receives every server frame of every connection (called on the connection's receive loop).</summary>
internal interface IFrameSink
{
    void OnFrame(LeanConnection connection, ServerFrame frame);
}

/// <summary>
/// What a measured step needs of a connection, whatever protocol it speaks (native <see cref="LeanConnection"/>,
/// <see cref="OpenImConnection"/>): where to report acks and deliveries, and whether it is still open.
/// </summary>
internal interface IStepConnection
{
    /// <summary>The ledger of the step running now: acks, refusals and delivered messages are reported to it.</summary>
    StepLedger? Ledger { set; }

    bool IsOpen { get; }

    string? CloseInfo { get; }
}

/// <summary>
/// A minimal native-protocol client: one ClientWebSocket, one receive loop (<see cref="PooledReceive"/>: idle connections
/// hold no receive buffer), and a send lock. Like a real
/// client it sends Ping when it has sent nothing for the server's heartbeat interval (<see cref="KeepAlive"/>): the server
/// closes a connection that sends nothing for its idle timeout (4010, 75 s by default), and a receiver of a big group
/// never sends anything else.
/// </summary>
internal sealed class LeanConnection : IStepConnection, IKeepAlive, IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receive = Task.CompletedTask;
    private volatile IFrameSink? _sink;
    private long _cursor;
    private long _lastSend = Stopwatch.GetTimestamp();
    private long _heartbeatTicks = Stopwatch.Frequency * 25; // until HelloOk says otherwise
    private int _pinging;

    private LeanConnection(int index, string userId)
    {
        Index = index;
        UserId = userId;
    }

    public int Index { get; }

    public string UserId { get; }

    public int Frames;

    public string? CloseInfo { get; private set; }

    /// <summary>What the connect-time sync carried, from its SyncComplete.</summary>
    public uint SyncConversations { get; private set; }

    public ulong SyncMessages { get; private set; }

    public IFrameSink? Sink
    {
        get => _sink;
        set => _sink = value;
    }

    StepLedger? IStepConnection.Ledger
    {
        set => _sink = value;
    }

    /// <summary>The resume cursor a client would present after this connection ended (see <see cref="Advance"/>).</summary>
    public ulong Cursor => (ulong)Interlocked.Read(ref _cursor);

    /// <summary>Completes when the receive loop ends: the server closed the connection, it broke, or it was disposed.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Pings sent by <see cref="KeepAlive"/>.</summary>
    public static long PingsSent => Interlocked.Read(ref s_pings);

    private static long s_pings;

    /// <summary>Counts a keep-alive ping another kind of connection sent (<see cref="RawReceiver"/>).</summary>
    internal static void CountPing() => Interlocked.Increment(ref s_pings);

    /// <summary>
    /// Connects, sends Hello and waits for HelloOk and the end of the initial sync. A failure names the phase it happened
    /// in (upgrade, hello, sync), the user and how long the connect had taken, so a login storm's failures can be told
    /// apart (a refused or reset upgrade, a hello the server dropped, a sync that did not end in time). A reconnect
    /// (<see cref="Reconnector"/>) gives the old connection's <paramref name="resumeCursor"/> and <paramref name="sink"/>:
    /// the sink sees every frame from the first one, the resume's sync batches included.
    /// </summary>
    public static async Task<LeanConnection> ConnectAsync(Uri url, int index, string userId, string token, TimeSpan timeout, ulong resumeCursor = 0, IFrameSink? sink = null)
    {
        var c = new LeanConnection(index, userId) { _sink = sink, _cursor = (long)resumeCursor };
        c._socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
        c._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(timeout);
        var t0 = Stopwatch.GetTimestamp();
        var phase = "upgrade";
        try
        {
            await c._socket.ConnectAsync(url, cts.Token).ConfigureAwait(false);
            c._receive = c.ReceiveLoopAsync();
            var hello = new ClientFrame
            {
                RequestId = 1,
                Hello = new Hello { Token = token, DeviceId = "lt-" + index, Platform = Platform.Linux, ClientVersion = "parley-loadtest/1", ResumeCursor = resumeCursor },
            };
            phase = "hello";
            await c.SendAsync(hello.ToByteArray()).ConfigureAwait(false);
            phase = "sync";
            await c._synced.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            KeepAlive.Add(c);
            return c;
        }
        catch (Exception ex)
        {
            var info = c.CloseInfo;
            await c.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(
                $"connect of {userId} failed in its {phase} phase after {Stopwatch.GetElapsedTime(t0).TotalSeconds:F1} s{(info is null ? "" : " (" + info + ")")}: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    void IKeepAlive.PingIfDue(long now)
    {
        if (PingDue(now))
        {
            _ = PingAsync();
        }
    }

    /// <summary>True when this connection has sent nothing for its heartbeat interval (and no ping is under way).</summary>
    internal bool PingDue(long now) => Volatile.Read(ref _pinging) == 0 && now - Volatile.Read(ref _lastSend) >= Volatile.Read(ref _heartbeatTicks);

    /// <summary>Sends one Ping (request id 0: no step's ledger counts its Pong). A dead connection is left to its owner.</summary>
    internal async Task PingAsync()
    {
        if (Interlocked.Exchange(ref _pinging, 1) != 0)
        {
            return;
        }

        try
        {
            var ping = new ClientFrame { Ping = new Ping { ClientTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } };
            await SendAsync(ping.ToByteArray()).ConfigureAwait(false);
            Interlocked.Increment(ref s_pings);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // Closed: the step that uses this connection reports it.
        }
        finally
        {
            Volatile.Write(ref _pinging, 0);
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Binary, true, _stop.Token).ConfigureAwait(false);
            Volatile.Write(ref _lastSend, Stopwatch.GetTimestamp());
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            await PooledReceive.RunAsync(_socket, OnMessage, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidDataException)
        {
            CloseInfo ??= ex.GetType().Name;
        }
        finally
        {
            if (_socket.CloseStatus is { } status)
            {
                CloseInfo = $"closed {(int)status} {_socket.CloseStatusDescription}";
            }

            _synced.TrySetException(new InvalidOperationException("connection ended before sync: " + CloseInfo));
            _ended.TrySetResult();
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message, WebSocketMessageType type)
    {
        if (message.Length == 0 || !FrameCodec.TryDecodeServer(message, out var frame))
        {
            return;
        }

        Interlocked.Increment(ref Frames);
        Advance(frame);
        if (frame.BodyCase == ServerFrame.BodyOneofCase.HelloOk && frame.HelloOk.HeartbeatIntervalMs > 0)
        {
            Volatile.Write(ref _heartbeatTicks, Stopwatch.Frequency * frame.HelloOk.HeartbeatIntervalMs / 1000);
        }
        else if (frame.BodyCase == ServerFrame.BodyOneofCase.SyncComplete)
        {
            SyncConversations = frame.SyncComplete.Conversations;
            SyncMessages = frame.SyncComplete.Messages;
            _synced.TrySetResult();
        }
        else if (frame.BodyCase == ServerFrame.BodyOneofCase.Error && !_synced.Task.IsCompleted)
        {
            _synced.TrySetException(new InvalidOperationException($"hello refused: {frame.Error.Code}"));
        }

        _sink?.OnFrame(this, frame);
    }

    // The resume cursor as a client keeps it (docs/protocol.md): SyncComplete.cursor, then the highest version among the
    // versioned events received and the acks of this connection's sends. Live versioned events reach a connection in
    // version order (ADR 0016's release gate), so the highest one seen is exact.
    private void Advance(ServerFrame frame)
    {
        var version = frame.BodyCase switch
        {
            ServerFrame.BodyOneofCase.SyncComplete => frame.SyncComplete.Cursor,
            ServerFrame.BodyOneofCase.Message => frame.Message.Version,
            ServerFrame.BodyOneofCase.SendAck => frame.SendAck.Version,
            ServerFrame.BodyOneofCase.Receipt => frame.Receipt.Version,
            ServerFrame.BodyOneofCase.ConversationUpdated => frame.ConversationUpdated.Version,
            ServerFrame.BodyOneofCase.MessageEdited => frame.MessageEdited.Version,
            ServerFrame.BodyOneofCase.Reaction => frame.Reaction.Version,
            _ => 0UL,
        };
        long current;
        while (version > (ulong)(current = Interlocked.Read(ref _cursor)) && Interlocked.CompareExchange(ref _cursor, (long)version, current) != current)
        {
        }
    }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    /// <summary>
    /// Gives up a connection that ended while senders may still hold it: cancels and aborts, but keeps the send lock (a
    /// sender waiting on it gets it and fails on the aborted socket instead of waiting forever on a disposed lock).
    /// </summary>
    public void Abandon()
    {
        KeepAlive.Remove(this);
        _stop.Cancel();
        _socket.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        KeepAlive.Remove(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _receive.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        _socket.Abort();
        _socket.Dispose();
        _sendLock.Dispose();
        _stop.Dispose();
        _ = _synced.Task.Exception; // observed
    }
}

/// <summary>
/// One loop for every open <see cref="LeanConnection"/> of the process: every two seconds it pings those that sent
/// nothing for their heartbeat interval (HelloOk's, 25 s by default), as a real client does. Thousands of receivers in a
/// big group send nothing else, and a login storm of 2,000 on a loaded machine takes longer than the server's idle
/// timeout: without pings the first connections (the sender among them) were closed with 4010 before or during the ramp.
/// </summary>
internal static class KeepAlive
{
    private static readonly ConcurrentDictionary<IKeepAlive, byte> s_connections = new();
    private static int s_started;

    public static void Add(IKeepAlive connection)
    {
        s_connections[connection] = 0;
        if (Interlocked.Exchange(ref s_started, 1) == 0)
        {
            _ = Task.Run(LoopAsync);
        }
    }

    public static void Remove(IKeepAlive connection) => s_connections.TryRemove(connection, out _);

    private static async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var connection in s_connections.Keys)
            {
                connection.PingIfDue(now);
            }
        }
    }
}

/// <summary>A connection <see cref="KeepAlive"/> pings when it has sent nothing for a while.</summary>
internal interface IKeepAlive
{
    /// <summary>Sends a ping when this connection is due one (<paramref name="now"/>: a Stopwatch timestamp); never blocks.</summary>
    void PingIfDue(long now);
}
