using System.Buffers;
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
/// A minimal native-protocol client: one ClientWebSocket, one receive loop that waits with a zero-byte read and only
/// then rents a buffer from the shared pool (so idle connections hold no receive buffer), and a send lock.
/// </summary>
internal sealed class LeanConnection : IStepConnection, IAsyncDisposable
{
    private const int RentSize = 16 * 1024;
    private const int MaxFrame = 16 * 1024 * 1024;
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _receive = Task.CompletedTask;
    private volatile IFrameSink? _sink;

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

    /// <summary>Connects, sends Hello and waits for HelloOk and the end of the initial sync.</summary>
    public static async Task<LeanConnection> ConnectAsync(Uri url, int index, string userId, string token, TimeSpan timeout)
    {
        var c = new LeanConnection(index, userId);
        c._socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
        c._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await c._socket.ConnectAsync(url, cts.Token).ConfigureAwait(false);
            c._receive = c.ReceiveLoopAsync();
            var hello = new ClientFrame
            {
                RequestId = 1,
                Hello = new Hello { Token = token, DeviceId = "lt-" + index, Platform = Platform.Linux, ClientVersion = "parley-loadtest/1" },
            };
            await c.SendAsync(hello.ToByteArray()).ConfigureAwait(false);
            await c._synced.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            return c;
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Binary, true, _stop.Token).ConfigureAwait(false);
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
            while (!_stop.IsCancellationRequested)
            {
                // Zero-byte read: wait for data without holding a buffer.
                var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, _stop.Token).ConfigureAwait(false);
                if (probe.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(RentSize);
                var length = 0;
                try
                {
                    ValueWebSocketReceiveResult r;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            if (buffer.Length >= MaxFrame)
                            {
                                throw new InvalidDataException("frame too large");
                            }

                            var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                            buffer.AsSpan(0, length).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                        }

                        r = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token).ConfigureAwait(false);
                        length += r.Count;
                        if (r.MessageType == WebSocketMessageType.Close)
                        {
                            return;
                        }
                    }
                    while (!r.EndOfMessage);

                    if (length > 0 && FrameCodec.TryDecodeServer(buffer.AsSpan(0, length), out var frame))
                    {
                        Interlocked.Increment(ref Frames);
                        if (frame.BodyCase == ServerFrame.BodyOneofCase.SyncComplete)
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
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
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
        }
    }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    public async ValueTask DisposeAsync()
    {
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
