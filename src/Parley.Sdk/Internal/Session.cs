using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Sdk.Internal;

/// <summary>One WebSocket connection after a successful Hello: writes, pending requests and liveness.</summary>
internal sealed class Session : IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<ServerFrame>> _pending = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly TimeProvider _time;
    private long _lastReceived;
    private int _ended;

    public Session(ClientWebSocket socket, int generation, TimeProvider time)
    {
        Socket = socket;
        Generation = generation;
        _time = time;
        MarkReceived();
    }

    public ClientWebSocket Socket { get; }

    public int Generation { get; }

    public HelloOk? HelloOk { get; set; }

    /// <summary>Cancelled when the session ends.</summary>
    public CancellationToken Ending => _cts.Token;

    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>Set by the receive loop when a KickEvent arrives: the close that follows is terminal.</summary>
    public KickEvent? Kick { get; set; }

    /// <summary>Set by the dispatch loop when a sync step failed: the rest of this session's events are skipped.</summary>
    public bool SyncFailed { get; set; }

    public bool Synced { get; set; }

    /// <summary>Set by the heartbeat when it aborted the socket for lack of inbound frames.</summary>
    public bool HeartbeatExpired { get; set; }

    // Sync accumulation (dispatch loop only).
    public List<Conversation> SyncedConversations { get; } = [];

    public TimeSpan SinceLastReceived => _time.GetElapsedTime(Volatile.Read(ref _lastReceived));

    public void MarkReceived() => Volatile.Write(ref _lastReceived, _time.GetTimestamp());

    /// <summary>True when a frame arrived at or after <paramref name="timestamp"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public bool ReceivedSince(long timestamp) => Volatile.Read(ref _lastReceived) >= timestamp;

    public async Task SendAsync(ClientFrame frame, CancellationToken ct)
    {
        var bytes = FrameCodec.Encode(frame);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _cts.Token);
        try
        {
            await _writeLock.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ConnectionLostException();
        }

        try
        {
            await Socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException
                                   || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new ConnectionLostException(ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Registers a pending result. Throws <see cref="ConnectionLostException"/> if the session already ended.</summary>
    public TaskCompletionSource<ServerFrame> Register(uint requestId)
    {
        var tcs = new TaskCompletionSource<ServerFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = tcs;
        if (IsEnded)
        {
            _pending.TryRemove(requestId, out _);
            throw new ConnectionLostException();
        }

        return tcs;
    }

    public void Unregister(uint requestId) => _pending.TryRemove(requestId, out _);

    /// <summary>Completes the pending request a result frame answers; false when nothing waits for it.</summary>
    public bool TryComplete(ServerFrame frame) =>
        _pending.TryRemove(frame.RequestId, out var tcs) && tcs.TrySetResult(frame);

    /// <summary>Ends the session: aborts the socket and fails every pending request with <see cref="ConnectionLostException"/>.</summary>
    public void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        try
        {
            _cts.Cancel();
        }
        catch (AggregateException)
        {
            // Callbacks are ours and do not throw; nothing to do.
        }

        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var tcs))
            {
                tcs.TrySetException(new ConnectionLostException());
            }
        }
    }

    public void Dispose()
    {
        End();
        Socket.Dispose();
        _cts.Dispose();
        _writeLock.Dispose();
    }

    /// <summary>Reads one whole WebSocket message as a server frame; null when the peer closed.</summary>
    public static async Task<ServerFrame?> ReceiveFrameAsync(WebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken ct)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var result = await socket.ReceiveAsync(memory, ct).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            if (result.MessageType != WebSocketMessageType.Binary)
            {
                throw new InvalidDataException("The server sent a non-binary WebSocket message.");
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                break;
            }
        }

        return FrameCodec.TryDecodeServer(buffer.WrittenSpan, out var frame)
            ? frame
            : throw new InvalidDataException("The server sent a malformed frame.");
    }
}

/// <summary>The session a request was sent on ended before its result arrived.</summary>
internal sealed class ConnectionLostException : Exception
{
    public ConnectionLostException()
        : base("The connection was lost before the result arrived.")
    {
    }

    public ConnectionLostException(Exception inner)
        : base("The connection was lost before the result arrived.", inner)
    {
    }

    public ConnectionLostException(string message)
        : base(message)
    {
    }

    public ConnectionLostException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
