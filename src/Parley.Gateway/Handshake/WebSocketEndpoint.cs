using System.Buffers;
using System.Net.WebSockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Gateway.Requests;
using Parley.Core.Auth;
using Parley.Core.Internal;
using Parley.Core.Push;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Handshake;

/// <summary>
/// The life of one WebSocket: upgrade, Hello within the handshake timeout, token check, multi-login policy,
/// connect-time sync, then the request loop. Limits: frame size, malformed frames, requests in flight.
/// </summary>
internal sealed partial class WebSocketEndpoint(
    TokenService tokens,
    ConnectionRegistry registry,
    RequestHandler handler,
    IMessageStore store,
    IOptions<GatewayOptions> options,
    ParleyMetrics metrics,
    TimeProvider time,
    IServiceProvider services,
    ILogger<WebSocketEndpoint> logger)
{
    private const int InitialReceiveBuffer = 4096;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("WebSocket upgrade required.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var subProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains(FrameCodec.SubProtocol) ? FrameCodec.SubProtocol : null;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subProtocol }).ConfigureAwait(false);
        var o = options.Value;

        var (hello, requestId) = await ReceiveHelloAsync(socket, o).ConfigureAwait(false);
        if (hello is null)
        {
            return;
        }

        var (status, identity) = await tokens.ValidateAsync(hello.Token).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            var (code, close) = status switch
            {
                TokenStatus.Expired => (ErrorCode.TokenExpired, CloseCodes.TokenInvalid),
                TokenStatus.Revoked => (ErrorCode.TokenRevoked, CloseCodes.TokenInvalid),
                _ => (ErrorCode.Unauthenticated, CloseCodes.HandshakeFailed),
            };
            await RefuseAsync(socket, requestId, code, "The token was refused.", close, "token refused").ConfigureAwait(false);
            return;
        }

        var platform = hello.Platform == Platform.Unspecified ? (Platform)identity.Platform : hello.Platform;
        if (hello.DeviceId != identity.DeviceId || (identity.Platform != 0 && (int)platform != identity.Platform))
        {
            await RefuseAsync(socket, requestId, ErrorCode.Forbidden, "The token belongs to another device or platform.", CloseCodes.HandshakeFailed, "device mismatch").ConfigureAwait(false);
            return;
        }

        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "ok"));
        using var connection = new ClientConnection(socket, identity.UserId, identity.DeviceId, platform, identity.TokenId, identity.ExpiresAt, o.OutboxCapacity)
        {
            Background = hello.Background,
        };
        foreach (var displaced in registry.Register(connection))
        {
            registry.Kick(displaced, KickReason.Displaced);
        }

        metrics.Connections.Add(1);
        LogConnected(logger, connection.Id, connection.UserId, platform);
        if (services.GetService(typeof(IPushClientApi)) is IPushClientApi push)
        {
            // Last seen for the device registry; a failure here must not cost the session.
            _ = push.TouchDeviceAsync(connection.UserId, connection.DeviceId).ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        var sendLoop = connection.RunSendLoopAsync();
        try
        {
            await connection.WriteAsync(new ServerFrame
            {
                RequestId = requestId,
                HelloOk = new HelloOk
                {
                    UserId = connection.UserId,
                    SessionId = connection.Id,
                    ServerTime = time.GetUtcNow().ToUnixTimeMilliseconds(),
                    HeartbeatIntervalMs = (uint)o.HeartbeatInterval.TotalMilliseconds,
                    IdleTimeoutMs = (uint)o.IdleTimeout.TotalMilliseconds,
                    MaxFrameBytes = (uint)o.MaxFrameBytes,
                },
            }).ConfigureAwait(false);

            var synced = await SyncAsync(connection, (long)Math.Min(hello.ResumeCursor, long.MaxValue), o).ConfigureAwait(false);
            connection.EndSync(synced, () => connection.Close(CloseCodes.OutboxOverflow, "outbox overflow; resync", discardPending: true));
            await ReceiveLoopAsync(socket, connection, o).ConfigureAwait(false);
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
            connection.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            await sendLoop.ConfigureAwait(false);
            metrics.Connections.Add(-1);
            LogDisconnected(logger, connection.Id, connection.UserId, connection.CloseCode ?? 1000);
        }
    }

    private async Task<(Hello? Hello, uint RequestId)> ReceiveHelloAsync(WebSocket socket, GatewayOptions o)
    {
        // Cancelling a pending receive would abort the socket, so race it against the timeout instead and
        // close politely when the timeout wins.
        var receive = ReceiveFrameAsync(socket, o.MaxFrameBytes, CancellationToken.None);
        if (await Task.WhenAny(receive, Task.Delay(o.HandshakeTimeout, time)).ConfigureAwait(false) != receive)
        {
            metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "timeout"));
            await CloseQuietlyAsync(socket, CloseCodes.HandshakeTimeout, "handshake timeout").ConfigureAwait(false);
            try
            {
                (await receive.WaitAsync(TimeSpan.FromSeconds(2), time).ConfigureAwait(false)).Dispose();
            }
            catch (Exception ex) when (ex is TimeoutException or WebSocketException or OperationCanceledException)
            {
                socket.Abort();
            }

            return (null, 0);
        }

        Frame frame;
        try
        {
            frame = await receive.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return (null, 0);
        }

        using (frame)
        {
            switch (frame.Kind)
            {
                case FrameKind.Closed:
                    return (null, 0);
                case FrameKind.TooLarge:
                    metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "too_large"));
                    await CloseQuietlyAsync(socket, CloseCodes.MessageTooBig, "frame too large").ConfigureAwait(false);
                    return (null, 0);
                case FrameKind.Text:
                    await RefuseAsync(socket, 0, ErrorCode.BadFrame, "Binary frames only.", CloseCodes.HandshakeFailed, "text frame").ConfigureAwait(false);
                    return (null, 0);
            }

            if (!FrameCodec.TryDecodeClient(frame.Span, out var client) || client.BodyCase != ClientFrame.BodyOneofCase.Hello)
            {
                await RefuseAsync(socket, 0, ErrorCode.ProtocolViolation, "The first frame must be Hello.", CloseCodes.HandshakeFailed, "no hello").ConfigureAwait(false);
                return (null, 0);
            }

            var hello = client.Hello;
            if (!Ids.IsValid(hello.DeviceId) || string.IsNullOrEmpty(hello.Token))
            {
                await RefuseAsync(socket, client.RequestId, ErrorCode.BadRequest, "Hello needs a token and a device id.", CloseCodes.HandshakeFailed, "bad hello").ConfigureAwait(false);
                return (null, 0);
            }

            return (hello, client.RequestId);
        }
    }

    // Sends what changed since the cursor; returns the version the sync is consistent with.
    private async Task<long> SyncAsync(ClientConnection connection, long cursor, GatewayOptions o)
    {
        var snapshot = await store.GetChangesAsync(connection.UserId, cursor, o.SyncMessagesPerConversation).ConfigureAwait(false);
        var batch = new SyncBatch();
        var size = 0;
        ulong messages = 0;
        foreach (var change in snapshot.Changes)
        {
            var item = new ConversationSync { Conversation = ProtoMapper.ToProto(change.Conversation), Truncated = change.Truncated };
            foreach (var m in change.Messages)
            {
                item.Messages.Add(ProtoMapper.ToProto(m));
            }

            messages += (ulong)change.Messages.Count;
            batch.Conversations.Add(item);
            size += item.CalculateSize();
            if (size >= o.SyncBatchBytes)
            {
                await connection.WriteAsync(new ServerFrame { SyncBatch = batch }).ConfigureAwait(false);
                batch = new SyncBatch();
                size = 0;
            }
        }

        if (batch.Conversations.Count > 0)
        {
            await connection.WriteAsync(new ServerFrame { SyncBatch = batch }).ConfigureAwait(false);
        }

        var version = Math.Max(snapshot.Version, 0);
        await connection.WriteAsync(new ServerFrame
        {
            SyncComplete = new SyncComplete { Cursor = (ulong)version, Conversations = (uint)snapshot.Changes.Count, Messages = messages },
        }).ConfigureAwait(false);
        return version;
    }

    private async Task ReceiveLoopAsync(WebSocket socket, ClientConnection connection, GatewayOptions o)
    {
        using var inFlight = new SemaphoreSlim(o.MaxInFlightRequests);
        var malformed = 0;
        var typingWindowStart = Environment.TickCount64;
        var typingCount = 0;
        var pending = new List<Task>();
        try
        {
            while (!connection.IsClosing)
            {
                using var frame = await ReceiveFrameAsync(socket, o.MaxFrameBytes, CancellationToken.None).ConfigureAwait(false);
                if (frame.Kind == FrameKind.Closed)
                {
                    return;
                }

                connection.MarkReceived();
                if (frame.Kind == FrameKind.TooLarge)
                {
                    metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "too_large"));
                    connection.Close(CloseCodes.MessageTooBig, "frame too large", discardPending: true);
                    return;
                }

                if (frame.Kind == FrameKind.Text || !FrameCodec.TryDecodeClient(frame.Span, out var request) || request.BodyCase == ClientFrame.BodyOneofCase.None)
                {
                    metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "malformed"));
                    if (++malformed > o.MaxMalformedFrames)
                    {
                        connection.Close(CloseCodes.ProtocolError, "too many malformed frames", RequestHandler.Error(ErrorCode.BadFrame, "Too many malformed frames."));
                        return;
                    }

                    await connection.WriteAsync(RequestHandler.Error(ErrorCode.BadFrame, "The frame could not be decoded.")).ConfigureAwait(false);
                    continue;
                }

                if (request.BodyCase == ClientFrame.BodyOneofCase.Typing)
                {
                    var now = Environment.TickCount64;
                    if (now - typingWindowStart >= 1000)
                    {
                        typingWindowStart = now;
                        typingCount = 0;
                    }

                    if (++typingCount > o.TypingPerSecond)
                    {
                        if (request.RequestId != 0)
                        {
                            await connection.WriteAsync(RequestHandler.Error(ErrorCode.RateLimited, "Too many typing events.", request.RequestId)).ConfigureAwait(false);
                        }

                        continue;
                    }
                }
                else if (request.RequestId == 0)
                {
                    await connection.WriteAsync(RequestHandler.Error(ErrorCode.BadRequest, "request_id is required.")).ConfigureAwait(false);
                    continue;
                }

                await inFlight.WaitAsync().ConfigureAwait(false);
                pending.RemoveAll(t => t.IsCompleted);
                pending.Add(ProcessAsync(connection, request, inFlight));
            }
        }
        finally
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private async Task ProcessAsync(ClientConnection connection, ClientFrame request, SemaphoreSlim inFlight)
    {
        try
        {
            ServerFrame result;
            try
            {
                result = await handler.HandleAsync(connection, request).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogRequestFailed(logger, ex, request.BodyCase.ToString(), connection.Id);
                result = RequestHandler.Error(ErrorCode.Internal, "Internal error; retry.", request.RequestId);
            }

            if (request.RequestId != 0)
            {
                await connection.WriteAsync(result).ConfigureAwait(false);
            }
        }
        finally
        {
            inFlight.Release();
        }
    }

    private async Task RefuseAsync(WebSocket socket, uint requestId, ErrorCode code, string message, int closeCode, string reason)
    {
        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", reason));
        LogRefused(logger, reason);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.SendAsync(RequestHandler.Error(code, message, requestId).ToByteArray(), WebSocketMessageType.Binary, true, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return;
        }

        await CloseQuietlyAsync(socket, closeCode, reason).ConfigureAwait(false);
    }

    private static async Task CloseQuietlyAsync(WebSocket socket, int code, string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    // Waits for data with a zero-byte read, so an idle connection holds no receive buffer.
    private static async Task<Frame> ReceiveFrameAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var first = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        if (first.MessageType == WebSocketMessageType.Close)
        {
            return new Frame(FrameKind.Closed, null, 0);
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
                        return new Frame(FrameKind.TooLarge, null, 0);
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
                    return new Frame(FrameKind.Closed, null, 0);
                }

                type = result.MessageType;
                count += result.Count;
                endOfMessage = result.EndOfMessage;
                if (count > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return new Frame(FrameKind.TooLarge, null, 0);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return new Frame(type == WebSocketMessageType.Text ? FrameKind.Text : FrameKind.Binary, buffer, count);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Connection {ConnectionId} of user {UserId} opened ({Platform})")]
    private static partial void LogConnected(ILogger logger, string connectionId, string userId, Platform platform);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Connection {ConnectionId} of user {UserId} closed ({CloseCode})")]
    private static partial void LogDisconnected(ILogger logger, string connectionId, string userId, int closeCode);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Handshake refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Request {RequestKind} on connection {ConnectionId} failed")]
    private static partial void LogRequestFailed(ILogger logger, Exception exception, string requestKind, string connectionId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception, string connectionId);

    private enum FrameKind
    {
        Binary,
        Text,
        TooLarge,
        Closed,
    }

    private readonly struct Frame(FrameKind kind, byte[]? buffer, int count) : IDisposable
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
}
