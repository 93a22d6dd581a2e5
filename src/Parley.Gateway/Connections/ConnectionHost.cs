using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core;
using Parley.Core.Limits;
using Parley.Core.Push;
using Parley.Core.Telemetry;
using Parley.Gateway.Protocols;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Gateway.Connections;

/// <summary>
/// The one connection host: runs every authenticated WebSocket whatever protocol it speaks. It owns registration and the
/// multi-login policy, the send loop, the only socket receive loop, the limits (frame size, requests in flight, the
/// malformed-frame budget, the typing window, the per-user and per-connection rate limits), request dispatch, close and
/// the connection metrics. A protocol only
/// decodes and answers frames (<see cref="IConnectionHandler{TRequest}"/>) and encodes events (<see cref="IWireProtocol"/>).
/// </summary>
internal sealed partial class ConnectionHost(
    ConnectionRegistry registry,
    IOptions<GatewayOptions> options,
    RateLimiter limiter,
    ParleyMetrics metrics,
    Optional<IPushClientApi> push,
    Parley.Abstractions.Messaging.ISuperGroupStore superGroups,
    ILogger<ConnectionHost> logger)
{
    private const int InitialReceiveBuffer = 4096;

    private readonly FailureLogBudget _failureLog = new(TimeProvider.System, TimeSpan.FromSeconds(10));

    public GatewayOptions Options => options.Value;

    /// <summary>
    /// Runs an authenticated connection to its end: registers it (displacing what the multi-login policy says), starts its
    /// send loop, lets the protocol open it (welcome, sync), reads and dispatches its frames, and unregisters it.
    /// </summary>
    public async Task RunAsync<TRequest>(WebSocket socket, ClientConnection connection, IConnectionHandler<TRequest> handler)
        where TRequest : class
    {
        foreach (var displaced in registry.Register(connection))
        {
            registry.Kick(displaced, KickReason.Displaced);
        }

        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "ok"));
        metrics.Connections.Add(1);
        LogConnected(logger, connection.Id, connection.UserId, connection.Protocol.Name, connection.Platform);
        if (push.Value is { } devices)
        {
            // Last seen for the device registry; a failure here must not cost the session.
            _ = devices.TouchDeviceAsync(connection.UserId, connection.DeviceId).ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        var sendLoop = connection.RunSendLoopAsync();
        try
        {
            // Rosters of read-diffusion groups first, so nothing committed between the roster and the sync is missed.
            await registry.LoadRosterAsync(connection, superGroups).ConfigureAwait(false);
            var synced = await handler.OpenAsync().ConfigureAwait(false);
            _ = connection.EndSync(synced); // true: closed for an overflow, which the connection counts itself

            await ReceiveLoopAsync(socket, connection, handler).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer went away; nothing to report to it.
        }
        catch (Exception ex)
        {
            LogConnectionFailed(logger, ex, connection.Id);
            connection.Close(1011, "internal error");
        }
        finally
        {
            registry.Unregister(connection);
            limiter.ForgetConnection(connection.Id);
            connection.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            await sendLoop.ConfigureAwait(false);
            metrics.Connections.Add(-1);
            LogDisconnected(logger, connection.Id, connection.UserId, connection.CloseCode ?? 1000);
        }
    }

    private async Task ReceiveLoopAsync<TRequest>(WebSocket socket, ClientConnection connection, IConnectionHandler<TRequest> handler)
        where TRequest : class
    {
        var o = options.Value;
        using var inFlight = new SemaphoreSlim(o.MaxInFlightRequests);
        var malformed = 0;
        var typing = new RateWindow(o.TypingPerSecond, TimeSpan.FromSeconds(1));
        try
        {
            while (!connection.IsClosing)
            {
                using var frame = await ReceiveFrameAsync(socket, handler.MaxFrameBytes, connection.Aborted).ConfigureAwait(false);
                var receivedAt = Stopwatch.GetTimestamp();
                if (frame.Kind == FrameKind.Closed)
                {
                    return;
                }

                connection.MarkReceived();
                if (frame.Kind == FrameKind.TooLarge)
                {
                    metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "too_large"));
                    LogProtocolClose(logger, connection.Id, "frame too large");
                    connection.Close(CloseCodes.MessageTooBig, "frame too large", discardPending: true);
                    return;
                }

                var decoded = handler.Decode(frame.Span, frame.Kind == FrameKind.Text);
                switch (decoded.Kind)
                {
                    case DecodeKind.Ignore:
                        continue;
                    case DecodeKind.Reply:
                        await connection.WriteWireAsync(decoded.Reply!.Value.Bytes, decoded.Reply.Value.Text).ConfigureAwait(false);
                        continue;
                    case DecodeKind.Violation:
                        LogProtocolClose(logger, connection.Id, decoded.Error ?? "protocol violation");
                        connection.Close(CloseCodes.ProtocolError, decoded.Error ?? "protocol violation", decoded.Reply);
                        return;
                    case DecodeKind.Malformed:
                        metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "malformed"));
                        if (++malformed > o.MaxMalformedFrames)
                        {
                            LogProtocolClose(logger, connection.Id, "too many malformed frames");
                            connection.Close(CloseCodes.ProtocolError, "too many malformed frames", handler.TooManyMalformed(decoded.Error));
                            return;
                        }

                        await connection.WriteWireAsync(decoded.Reply!.Value.Bytes, decoded.Reply.Value.Text).ConfigureAwait(false);
                        continue;
                }

                var request = decoded.Request!;
                if (decoded.Kind == DecodeKind.Typing && !typing.TryTake(Environment.TickCount64))
                {
                    // Typing is best effort: over the window it is answered (as the protocol says) and not forwarded.
                    await handler.RateLimitedAsync(request, typing.RetryAfter(Environment.TickCount64)).ConfigureAwait(false);
                    continue;
                }

                // Refused before any work and before the in-flight slot: a spammer's refusals cost one small answer each.
                if (handler.Cost(request) is { } action
                    && limiter.TryAcquire(action, connection.UserId, connection.Id) is { Allowed: false } refused)
                {
                    await handler.RateLimitedAsync(request, refused.RetryAfter).ConfigureAwait(false);
                    continue;
                }

                if (!connection.TryBeginRequest())
                {
                    // Draining for a shutdown: not dispatched; the client sends it again after reconnecting.
                    continue;
                }

                await inFlight.WaitAsync().ConfigureAwait(false);
                Dispatch(connection, handler, request, inFlight, receivedAt);
            }
        }
        finally
        {
            // A request holds its slot until it ended (EndRequest included): holding every slot means none is in flight.
            for (var i = 0; i < o.MaxInFlightRequests; i++)
            {
                await inFlight.WaitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Hands a request to its protocol and ends it (<see cref="Complete"/>) once handled, holding its in-flight slot until
    /// then. Not an async method: the task of one was 0.2 KB of every message (issue 17); a handling that does not complete
    /// at once is awaited by a pooled <see cref="RequestRun{TRequest}"/>. Never throws.
    /// </summary>
    private void Dispatch<TRequest>(ClientConnection connection, IConnectionHandler<TRequest> handler, TRequest request, SemaphoreSlim inFlight, long receivedAt)
        where TRequest : class
    {
        ValueTask<RequestOutcome> handling;
        try
        {
            handling = handler.HandleAsync(request, receivedAt);
        }
        catch (Exception ex)
        {
            handling = ValueTask.FromException<RequestOutcome>(ex);
        }

        if (handling.IsCompleted)
        {
            Complete(connection, handler, request, inFlight, handling);
        }
        else
        {
            RequestRun<TRequest>.Await(this, connection, handler, request, inFlight, handling);
        }
    }

    // A handled request: its outcome, or for a failure the protocol's error answer (FailAsync); then its slot is freed.
    private void Complete<TRequest>(ClientConnection connection, IConnectionHandler<TRequest> handler, TRequest request, SemaphoreSlim inFlight, ValueTask<RequestOutcome> handling)
        where TRequest : class
    {
        RequestOutcome outcome;
        try
        {
            outcome = handling.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            _ = FailAsync(connection, handler, request, inFlight, ex);
            return;
        }

        if (outcome == RequestOutcome.Close)
        {
            connection.Close((int)WebSocketCloseStatus.NormalClosure, "logout");
        }

        connection.EndRequest();
        inFlight.Release();
    }

    private async Task FailAsync<TRequest>(ClientConnection connection, IConnectionHandler<TRequest> handler, TRequest request, SemaphoreSlim inFlight, Exception ex)
        where TRequest : class
    {
        try
        {
            var kind = handler.Describe(request);
            metrics.RequestFailures.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("error", ex.GetType().Name));
            if (_failureLog.TryLog(ex.GetType(), out var skipped))
            {
                LogRequestFailed(logger, ex, kind, connection.Id, skipped);
            }

            await handler.FailedAsync(request).ConfigureAwait(false);
        }
        catch (Exception failed) when (failed is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The peer went away; nothing to report to it.
        }
        catch (Exception failed)
        {
            // As when the answer's failure ended the receive loop: the connection is closed.
            LogConnectionFailed(logger, failed, connection.Id);
            connection.Close(1011, "internal error");
        }
        finally
        {
            connection.EndRequest();
            inFlight.Release();
        }
    }

    /// <summary>
    /// Awaits a request's handling that did not complete at once, then completes the request on the host: a pooled object
    /// with one continuation delegate, so waiting allocates nothing (the handling's own state machine is the protocol's).
    /// </summary>
    private sealed class RequestRun<TRequest>
        where TRequest : class
    {
        private static readonly Microsoft.Extensions.ObjectPool.DefaultObjectPool<RequestRun<TRequest>> Pool =
            new(new Microsoft.Extensions.ObjectPool.DefaultPooledObjectPolicy<RequestRun<TRequest>>(), 1024);

        private readonly Action _continue;
        private ConnectionHost? _host;
        private ClientConnection? _connection;
        private IConnectionHandler<TRequest>? _handler;
        private TRequest? _request;
        private SemaphoreSlim? _inFlight;
        private ValueTask<RequestOutcome> _handling;

        public RequestRun() => _continue = Continue;

        public static void Await(ConnectionHost host, ClientConnection connection, IConnectionHandler<TRequest> handler, TRequest request, SemaphoreSlim inFlight, ValueTask<RequestOutcome> handling)
        {
            var run = Pool.Get();
            run._host = host;
            run._connection = connection;
            run._handler = handler;
            run._request = request;
            run._inFlight = inFlight;
            run._handling = handling;
            handling.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(run._continue);
        }

        private void Continue()
        {
            var (host, connection, handler, request, inFlight, handling) = (_host!, _connection!, _handler!, _request!, _inFlight!, _handling);
            _host = null;
            _connection = null;
            _handler = null;
            _request = null;
            _inFlight = null;
            _handling = default;
            Pool.Return(this);
            host.Complete(connection, handler, request, inFlight, handling);
        }
    }

    /// <summary>
    /// Reads one whole WebSocket message of at most <paramref name="maxBytes"/> into a pooled buffer (returned by
    /// disposing the frame). Waits for data with a zero-byte read, so an idle connection holds no receive buffer. The only
    /// place that reads a WebSocket (handshakes use it too). Its state machine is pooled (one frame is read at a time per
    /// socket, and each result is awaited once): a Task per received frame was about 0.1 KB of every message (issue 17).
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<ReceivedFrame> ReceiveFrameAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var first = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        if (first.MessageType == WebSocketMessageType.Close)
        {
            return new ReceivedFrame(FrameKind.Closed, null, 0);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
        var count = 0;
        var endOfMessage = first.EndOfMessage;
        var type = first.MessageType;
        try
        {
            while (!endOfMessage)
            {
                if (count == buffer.Length)
                {
                    if (buffer.Length > maxBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return new ReceivedFrame(FrameKind.TooLarge, null, 0);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var result = await socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return new ReceivedFrame(FrameKind.Closed, null, 0);
                }

                type = result.MessageType;
                count += result.Count;
                endOfMessage = result.EndOfMessage;
                if (count > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return new ReceivedFrame(FrameKind.TooLarge, null, 0);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return new ReceivedFrame(type == WebSocketMessageType.Text ? FrameKind.Text : FrameKind.Binary, buffer, count);
    }

    /// <summary>Closes a socket that never became a connection (a refused handshake), politely and briefly.</summary>
    public static async Task CloseQuietlyAsync(WebSocket socket, int code, string reason, WireFrame? lastFrame = null)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (lastFrame is { } frame)
            {
                await socket.SendAsync(frame.Bytes, frame.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, timeout.Token).ConfigureAwait(false);
            }

            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    /// <summary>
    /// After a refusal: waits briefly for the client's close so the error frame is not lost to a reset.
    /// </summary>
    public static async Task DrainAsync(WebSocket socket, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                using var frame = await ReceiveFrameAsync(socket, InitialReceiveBuffer, cts.Token).ConfigureAwait(false);
                if (frame.Kind == FrameKind.Closed)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            socket.Abort();
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Connection {ConnectionId} of user {UserId} opened ({Protocol}, {Platform})")]
    private static partial void LogConnected(ILogger logger, string connectionId, string userId, string protocol, Platform platform);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Connection {ConnectionId} of user {UserId} closed ({CloseCode})")]
    private static partial void LogDisconnected(ILogger logger, string connectionId, string userId, int closeCode);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Request {RequestKind} on connection {ConnectionId} failed ({Skipped} earlier failures of this type in the last 10 s counted, not logged)")]
    private static partial void LogRequestFailed(ILogger logger, Exception exception, string requestKind, string connectionId, int skipped);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed: {Reason}")]
    private static partial void LogProtocolClose(ILogger logger, string connectionId, string reason);
}

/// <summary>A counter of events per fixed window (the per-connection typing limit). Used by one receive loop only.</summary>
internal sealed class RateWindow(int limit, TimeSpan window)
{
    private readonly long _windowMs = (long)window.TotalMilliseconds;
    private long _start = Environment.TickCount64;
    private int _count;

    public bool TryTake(long nowMs)
    {
        if (nowMs - _start >= _windowMs)
        {
            _start = nowMs;
            _count = 0;
        }

        return ++_count <= limit;
    }

    /// <summary>How long until the current window ends.</summary>
    public TimeSpan RetryAfter(long nowMs) => TimeSpan.FromMilliseconds(Math.Max(1, _windowMs - (nowMs - _start)));
}

internal enum FrameKind
{
    Binary,
    Text,
    TooLarge,
    Closed,
}

/// <summary>One received WebSocket message in a pooled buffer; dispose to return the buffer.</summary>
internal readonly struct ReceivedFrame(FrameKind kind, byte[]? buffer, int count) : IDisposable
{
    public FrameKind Kind { get; } = kind;

    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, count);

    public void Dispose()
    {
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
