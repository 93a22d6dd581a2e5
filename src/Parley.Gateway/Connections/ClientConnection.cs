using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using Google.Protobuf;
using Parley.Core.Delivery;
using Parley.Core.Telemetry;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.Gateway.Connections;

/// <summary>
/// One authenticated WebSocket. Only its send loop writes to the socket; everything else enqueues to the bounded
/// outbox. While the connect-time sync runs, live events are held and then released in order, skipping those the
/// sync already contained.
/// </summary>
internal sealed class ClientConnection : IDisposable
{
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly Outbox<Outbound> _outbox;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _abort = new();
    private List<Outbound>? _held = [];
    private CloseRequest? _close;
    private long _lastReceived = Environment.TickCount64;
    private long _lastSentVersion;
    private long _syncedVersion = -1; // the connect-time sync's feed version; -1 while it runs
    private long _resyncBelow; // a skipped gap's last version, found while the sync ran (0: none)
    private int _requestHolds; // HoldEvents calls not yet released

    // Requests in progress; the sign bit says the connection drains (it takes no more requests).
    private int _requests;

    // Live frames queued (not exact under races: it only picks which ones are timed).
    private int _deliveries;

    public ClientConnection(WebSocket socket, string userId, string deviceId, Platform platform, string tokenId, long expiresAt, int outboxCapacity, IWireProtocol? protocol = null)
    {
        _socket = socket;
        Protocol = protocol ?? NativeProtocol.Instance;
        _capacity = outboxCapacity;
        _outbox = new Outbox<Outbound>(outboxCapacity, _lock);
        Id = Guid.NewGuid().ToString("N");
        UserId = userId;
        DeviceId = deviceId;
        Platform = platform;
        TokenId = tokenId;
        ExpiresAt = expiresAt;
    }

    public string Id { get; }

    /// <summary>The wire protocol this connection speaks; the fan-out encodes each event once per protocol.</summary>
    public IWireProtocol Protocol { get; }

    /// <summary>Receives the events its protocol encodes per connection (<see cref="EncodedEvent.PerConnection"/>).</summary>
    public IConnectionEvents? Events { get; set; }

    /// <summary>
    /// Called by the send loop after a frame queued with a tag was written to the socket, with that tag (the live event, or
    /// what the protocol passed to <see cref="WriteWireAsync"/>). Null (the native protocol): frames carry no tag. A protocol
    /// uses it to know what its client has been sent, e.g. OpenIM's REST answers stay consistent with its pushes.
    /// </summary>
    public Action<object>? FrameWritten { get; init; }

    /// <summary>
    /// Writes the outbox's frames below the WebSocket, several per flush (<see cref="Handshake.DuplexPipeStream"/>, a
    /// connection <see cref="Handshake.DirectUpgrade"/> accepted); null: each through the WebSocket's own send.
    /// </summary>
    public IFrameWriter? Frames { get; init; }

    /// <summary>
    /// Records this connection's sends' hops once their acks are written, and how long its live event frames waited to be
    /// written (issue 17); null records nothing.
    /// </summary>
    public SendHops? Hops { get; init; }

    public string UserId { get; }

    public string DeviceId { get; }

    public Platform Platform { get; }

    public string TokenId { get; }

    /// <summary>Unix milliseconds.</summary>
    public long ExpiresAt { get; }

    /// <summary>
    /// When the connection was accepted (Unix milliseconds, wall clock): in a cluster a login displaces only the sessions
    /// that other nodes accepted before it, so a late displacement never closes the device's newer session.
    /// </summary>
    public long AcceptedAt { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private volatile bool _background;

    /// <summary>The app reported it runs in the background: for push, this connection counts as offline.</summary>
    public bool Background
    {
        get => _background;
        set
        {
            if (_background != value)
            {
                _background = value;
                BackgroundChanged?.Invoke(this);
            }
        }
    }

    /// <summary>Called after <see cref="Background"/> changed (a cluster node tells its peers who is in the foreground).</summary>
    public Action<ClientConnection>? BackgroundChanged { get; set; }

    /// <summary>
    /// Cancelled a grace period after <see cref="Close"/> (or at once by <see cref="Abort"/>): the receive loop reads with
    /// it, so a peer that never answers the close cannot hold the connection (or a draining server).
    /// </summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>
    /// Aborts the underlying HTTP connection (the endpoint sets <c>HttpContext.Abort</c>). A receive pending on an upgraded
    /// Kestrel stream does not always end when the WebSocket is aborted or its token cancelled; this ends it, so a peer
    /// that never answers a close cannot hold the connection (or a draining server) beyond the grace period.
    /// </summary>
    public Action? AbortTransport { get; init; }

    private CancellationTokenRegistration _transportAbort;

    public bool IsClosing => Volatile.Read(ref _close) is not null;

    /// <summary>
    /// This connection's one-way sends admitted and not yet answered by their grain (ADR 0031: a send answered UNAVAILABLE
    /// by the timeout still counts until its grain answers); changed by <see cref="SendAnswers"/> only.
    /// </summary>
    internal int OutstandingSends;

    /// <summary>The close code the server chose, once it chose one.</summary>
    public int? CloseCode => Volatile.Read(ref _close)?.Code;

    /// <summary>
    /// The highest feed version among the event frames the send loop has written to the socket (0: none). Everything up to
    /// it that concerned this connection was sent; a protocol that cannot resume from a client cursor (OpenIM) resumes
    /// the next connection from here.
    /// </summary>
    public long LastSentVersion => Volatile.Read(ref _lastSentVersion);

    /// <summary>True once <see cref="Drain"/> was called: requests read from now on are not dispatched.</summary>
    public bool IsDraining => Volatile.Read(ref _requests) < 0;

    /// <summary>Counts a request in before it is dispatched; false once the connection drains.</summary>
    public bool TryBeginRequest()
    {
        while (true)
        {
            var current = Volatile.Read(ref _requests);
            if (current < 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _requests, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Counts a request out once its answer is queued; the last one out of a draining connection closes it.</summary>
    public void EndRequest()
    {
        if (Interlocked.Decrement(ref _requests) == int.MinValue)
        {
            CloseDrained();
        }
    }

    /// <summary>
    /// Server shutdown: takes no more requests and, once those in progress have queued their answers (acks of commits
    /// already durable), closes with <see cref="Parley.Protocol.CloseCodes.ServiceRestart"/> after the queued frames.
    /// </summary>
    public void Drain()
    {
        if (Interlocked.Or(ref _requests, int.MinValue) == 0)
        {
            CloseDrained();
        }
    }

    private void CloseDrained() => Close(Parley.Protocol.CloseCodes.ServiceRestart, "server restarting; reconnect");

    public long MillisecondsSinceLastFrame => Environment.TickCount64 - Interlocked.Read(ref _lastReceived);

    public void MarkReceived() => Interlocked.Exchange(ref _lastReceived, Environment.TickCount64);

    /// <summary>
    /// Queues a live event; never blocks. <see cref="EnqueueResult.Overflow"/> means the outbox (or the held list) is
    /// full: the caller closes this connection (the client resyncs). The frame array may be shared by many connections.
    /// </summary>
    public EnqueueResult TryEnqueueEvent(WireFrame frame, long version, object? tag = null) =>
        TryEnqueueEvent(frame.Bytes, frame.Bytes.Length, pool: null, version, tag, frame.Text);

    /// <summary>
    /// <see cref="TryEnqueueEvent(WireFrame, long, object?)"/> for the first <paramref name="length"/> bytes of a binary frame
    /// rented from <paramref name="pool"/> for this connection alone: once queued (<see cref="EnqueueResult.Queued"/>) the
    /// connection returns it there after its write (or drops it with the connection); any other result leaves it the caller's.
    /// </summary>
    public EnqueueResult TryEnqueueEvent(byte[] buffer, int length, ArrayPool<byte>? pool, long version, object? tag = null, bool text = false)
    {
        // One live frame in 8 is timed to its socket write (a group fan-out queues one per member: timing each cost ~5 %);
        // every one while the send trace is on (a diagnostics switch).
        var queuedAt = Hops is { } hops && ((++_deliveries & 7) == 0 || hops.Tracing) ? Stopwatch.GetTimestamp() : 0;
        var item = new Outbound(buffer, length, version, pool, text, FrameWritten is null ? null : tag, queuedAt);
        bool wake;
        lock (_lock)
        {
            if (_close is not null)
            {
                return EnqueueResult.Closing;
            }

            if (_held is not null)
            {
                if (_held.Count >= _capacity)
                {
                    return EnqueueResult.Overflow;
                }

                _held.Add(item);
                return EnqueueResult.Queued;
            }

            // The connect-time sync already carried it: its commit was visible to the sync's snapshot but its live event
            // is handed out only now (in a cluster the release gate can hold it for seconds behind a lower version; on
            // one node the dispatch follows the commit). EndSync skips such events among the held ones; this skips those
            // that come after it, so a resumed connection gets nothing twice.
            if (version != 0 && version <= _syncedVersion)
            {
                return EnqueueResult.AlreadySynced;
            }

            // The outbox shares this lock: one lock per frame of a fan-out, not this one and the outbox's own (issue 17).
            if (!_outbox.TryWriteLocked(item, out wake))
            {
                return EnqueueResult.Overflow;
            }
        }

        if (wake)
        {
            _outbox.WakeReader();
        }

        return EnqueueResult.Queued;
    }

    /// <summary>
    /// Queues a result or sync frame, waiting for outbox space. Returns false once the connection is closing.
    /// <paramref name="times"/>: a send's stamps, recorded by <see cref="Hops"/> once the frame (its ack) is written.
    /// </summary>
    public ValueTask<bool> WriteAsync(IMessage frame, SendTimes? times = null)
    {
        // Results go to exactly one connection: serialise into a pooled buffer that the send loop returns after the write.
        var size = frame.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        frame.WriteTo(buffer.AsSpan(0, size));
        return WritePooledAsync(buffer, size, times); // not awaited here: no second state machine per result frame
    }

    /// <summary>
    /// Queues the first <paramref name="length"/> bytes of a binary frame rented from <paramref name="pool"/> (default
    /// <see cref="ArrayPool{T}.Shared"/>), waiting for outbox space; the connection returns the buffer there (after the write,
    /// or now when it is closing: then false).
    /// </summary>
    public async ValueTask<bool> WritePooledAsync(byte[] buffer, int length, SendTimes? times = null, ArrayPool<byte>? pool = null)
    {
        try
        {
            if (await _outbox.WriteAsync(new Outbound(buffer, length, 0, Pool: pool ?? ArrayPool<byte>.Shared, Text: false, Tag: times, QueuedAt: 0), _abort.Token).ConfigureAwait(false))
            {
                return true;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }

        (pool ?? ArrayPool<byte>.Shared).Return(buffer);
        return false;
    }

    /// <summary>
    /// Queues a frame already in the connection's own wire format (a foreign protocol's reply), waiting for outbox space.
    /// Returns false once the connection is closing. <paramref name="tag"/> goes to <see cref="FrameWritten"/> once the frame is written.
    /// </summary>
    public async ValueTask<bool> WriteWireAsync(byte[] frame, bool text, object? tag = null)
    {
        try
        {
            return await _outbox.WriteAsync(new Outbound(frame, frame.Length, 0, Pool: null, Text: text, FrameWritten is null ? null : tag, QueuedAt: 0), _abort.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Ends the sync: releases held live events newer than <paramref name="syncedVersion"/>. True when they did not fit the
    /// outbox and the connection was closed for it (<see cref="CloseForOverflow"/>).
    /// </summary>
    public bool EndSync(long syncedVersion)
    {
        lock (_lock)
        {
            _syncedVersion = Math.Max(syncedVersion, 0);
            if (_requestHolds > 0)
            {
                // A request holds live events too: its ReleaseEvents releases them.
                return false;
            }
        }

        return ReleaseHeld();
    }

    /// <summary>
    /// Closes the connection because its outbox overflowed (a slow consumer): 4008, pending frames discarded; the client
    /// resumes from its cursor. True when this call closed it (and counted it in <see cref="Overflows"/>).
    /// </summary>
    public bool CloseForOverflow()
    {
        if (!Close(Parley.Protocol.CloseCodes.OutboxOverflow, "outbox overflow; resync", discardPending: true))
        {
            return false;
        }

        Overflows?.Add(1);
        return true;
    }

    /// <summary>
    /// Counts this connection's close for an outbox overflow (<c>parley_gateway_outbox_overflows_total</c>), once,
    /// whichever path closed it (a live fan-out, the end of the sync, a request's release; native or OpenIM). Null: not counted.
    /// </summary>
    public System.Diagnostics.Metrics.Counter<long>? Overflows { get; init; }

    /// <summary>
    /// Holds live events behind a request's answer until <see cref="ReleaseEvents"/> (calls nest). A protocol whose answer
    /// is read from the store and which the client applies as absolute state (the OpenIM edge's max-seq answers: the SDK
    /// overwrites its seqs with them, then counts one up per later push) holds events from before the read until the
    /// answer is queued. A push committed after the read then follows the answer instead of overtaking it: overtaken, the
    /// answer set the SDK's seq below a message it already had, and every later push counted from there.
    /// </summary>
    public void HoldEvents()
    {
        lock (_lock)
        {
            _requestHolds++;
            if (_close is null)
            {
                _held ??= [];
            }
        }
    }

    /// <summary>
    /// Ends a <see cref="HoldEvents"/>: the last one releases the held events in order (unless the connect-time sync still
    /// runs). True when they did not fit the outbox and the connection was closed for it (<see cref="CloseForOverflow"/>).
    /// </summary>
    public bool ReleaseEvents()
    {
        lock (_lock)
        {
            if (--_requestHolds > 0 || _syncedVersion < 0)
            {
                return false;
            }
        }

        return ReleaseHeld();
    }

    /// <summary>Queues the held live events newer than the connect-time sync, in order, and stops holding.</summary>
    private bool ReleaseHeld()
    {
        var overflow = false;
        lock (_lock)
        {
            var held = _held;
            _held = null;
            if (held is null || _close is not null)
            {
                return false;
            }

            if (_resyncBelow > _syncedVersion)
            {
                // A gap up to _resyncBelow was skipped while events were held and the sync's snapshot is older than it:
                // the connection may have missed it (below, outside the lock).
                held = [];
            }

            foreach (var item in held)
            {
                if (item.Version != 0 && item.Version <= _syncedVersion)
                {
                    continue;
                }

                if (!_outbox.TryWrite(item))
                {
                    overflow = true;
                    break;
                }
            }
        }

        if (overflow)
        {
            return CloseForOverflow();
        }

        if (_resyncBelow > _syncedVersion)
        {
            Close(Parley.Protocol.CloseCodes.Resync, ResyncReason);
        }

        return false;
    }

    private const string ResyncReason = "live events were missed; resume from your cursor";

    /// <summary>
    /// A gap in the live versions up to <paramref name="through"/> is being skipped on this node (ADR 0016): closes the
    /// connection with 4012 (resync from its cursor) unless its connect-time sync already contained every version up to
    /// <paramref name="through"/> (it connected after they were committed, so it cannot have missed any of them live).
    /// A connection still syncing decides when its sync ends (<see cref="EndSync"/>). True when it was closed now.
    /// </summary>
    public bool ResyncIfMissed(long through)
    {
        lock (_lock)
        {
            if (_close is not null)
            {
                return false;
            }

            if (_held is not null)
            {
                _resyncBelow = Math.Max(_resyncBelow, through);
                return false;
            }

            if (_syncedVersion >= through)
            {
                return false;
            }
        }

        return Close(Parley.Protocol.CloseCodes.Resync, ResyncReason);
    }

    /// <summary>
    /// Closes the connection once: optionally sends a last frame (a kick or an error), then a close with
    /// <paramref name="code"/>. With <paramref name="discardPending"/> queued frames are dropped (overflow).
    /// </summary>
    public bool Close(int code, string reason, WireFrame? lastFrame = null, bool discardPending = false)
    {
        var request = new CloseRequest(code, reason, lastFrame, discardPending);
        lock (_lock)
        {
            if (_close is not null)
            {
                return false;
            }

            _close = request;
            _held = null;
        }

        _outbox.Complete();
        try
        {
            // A client that does not read must not keep the socket: give the close a grace period, then abort.
            if (AbortTransport is not null)
            {
                _transportAbort = _abort.Token.UnsafeRegister(static s => ((ClientConnection)s!).AbortTransport!(), this);
            }

            _abort.CancelAfter(CloseGrace);
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }

        return true;
    }

    /// <summary>The only writer of the socket. Ends after the close frame (or when the socket fails).</summary>
    public async Task RunSendLoopAsync()
    {
        var reader = _outbox;
        try
        {
            // No token: a bounded channel's reader reuses one wait operation only for a wait that cannot be cancelled (with
            // the abort token it allocated one per wake-up, that is per frame sent on a quiet connection; issue 17). Every
            // path that cancels the token completes the outbox first (Close), which ends this wait all the same.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (Frames is { } frames)
                {
                    if (!await WriteBatchAsync(frames, reader).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                while (reader.TryRead(out var item))
                {
                    if (Volatile.Read(ref _close) is { DiscardPending: true })
                    {
                        break;
                    }

                    await _socket.SendAsync(item.Frame.AsMemory(0, item.Length), item.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, _abort.Token).ConfigureAwait(false);
                    Written(item);
                }

                if (Volatile.Read(ref _close) is { DiscardPending: true })
                {
                    break;
                }
            }

            var close = Volatile.Read(ref _close);
            if (close is not null && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                if (close.LastFrame is { } last)
                {
                    await _socket.SendAsync(last.Bytes, last.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, _abort.Token).ConfigureAwait(false);
                }

                await _socket.CloseOutputAsync((WebSocketCloseStatus)close.Code, close.Reason, _abort.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            _socket.Abort();
        }
    }

    /// <summary>
    /// With <see cref="Frames"/>: writes everything the outbox holds as whole frames, flushed every <see cref="FlushBytes"/>
    /// and at the end, so the frames queued for this connection while it waited (a group's fan-out queues one per
    /// message of a commit) leave in one socket write, without a WebSocket send each. False once pending frames are to
    /// be discarded (the loop ends).
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WriteBatchAsync(IFrameWriter frames, Outbox<Outbound> reader)
    {
        await frames.BeginFramesAsync().ConfigureAwait(false);
        try
        {
            var buffered = 0;
            while (reader.TryRead(out var item))
            {
                if (Volatile.Read(ref _close) is { DiscardPending: true })
                {
                    return false;
                }

                buffered += frames.WriteFrame(item.Frame.AsSpan(0, item.Length), item.Text);
                Written(item);
                if (buffered >= FlushBytes)
                {
                    await frames.FlushFramesAsync(_abort.Token).ConfigureAwait(false);
                    buffered = 0;
                }
            }

            if (buffered > 0)
            {
                await frames.FlushFramesAsync(_abort.Token).ConfigureAwait(false);
            }

            return Volatile.Read(ref _close) is not { DiscardPending: true };
        }
        finally
        {
            frames.EndFrames();
        }
    }

    /// <summary>A batch of <see cref="WriteBatchAsync"/> is flushed when it holds this many bytes (and at its end).</summary>
    internal const int FlushBytes = 32 * 1024;

    // After a queued frame was written: the versions sent, its pooled buffer, its timings and its tag.
    private void Written(in Outbound item)
    {
        if (item.Version > _lastSentVersion)
        {
            Volatile.Write(ref _lastSentVersion, item.Version);
        }

        item.Pool?.Return(item.Frame);

        if (item.QueuedAt != 0)
        {
            Hops?.Delivered(item.QueuedAt, item.Version);
        }

        if (item.Tag is SendTimes times)
        {
            Hops?.Written(times);
        }
        else if (item.Tag is not null)
        {
            FrameWritten!(item.Tag);
        }
    }

    /// <summary>Drops the socket at once (used when the receive side already failed).</summary>
    public void Abort()
    {
        Close(CloseCodes.GoingAwayOrError, "aborted", discardPending: true);
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }

        _socket.Abort();
    }

    public void Dispose()
    {
        // Before the request ends: Kestrel reuses the HttpContext, which must not be aborted later.
        _transportAbort.Dispose();
        _abort.Dispose();
    }

    /// <summary>
    /// A queued frame: <paramref name="Length"/> bytes of <paramref name="Frame"/>; a pooled array has exactly one reader (the send
    /// loop). <paramref name="Tag"/>: for <see cref="FrameWritten"/> after the write (null when nobody listens), or a send's
    /// <see cref="SendTimes"/> (its ack). <paramref name="QueuedAt"/>: when a live event was queued (a timestamp; 0: not timed).
    /// </summary>
    private readonly record struct Outbound(byte[] Frame, int Length, long Version, ArrayPool<byte>? Pool, bool Text, object? Tag, long QueuedAt);

    private sealed record CloseRequest(int Code, string Reason, WireFrame? LastFrame, bool DiscardPending);

    private static class CloseCodes
    {
        public const int GoingAwayOrError = 1011;
    }
}

/// <summary>The outcome of <see cref="ClientConnection.TryEnqueueEvent(WireFrame, long, object?)"/>.</summary>
internal enum EnqueueResult
{
    Queued,
    Closing,
    Overflow,

    /// <summary>A versioned event the connection's connect-time sync already contained: not sent again.</summary>
    AlreadySynced,
}
