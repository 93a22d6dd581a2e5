using System.Buffers;
using System.Net.WebSockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
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
/// The native protocol v1 handshake: upgrade, Hello within the handshake timeout, token check. The accepted connection
/// then runs in the <see cref="ConnectionHost"/> with a <see cref="NativeConnectionHandler"/> (HelloOk, connect-time
/// sync, requests).
/// </summary>
internal sealed partial class WebSocketEndpoint(
    TokenService tokens,
    ConnectionHost host,
    RequestHandler handler,
    IMessageStore store,
    IOptions<GatewayOptions> options,
    ParleyMetrics metrics,
    TimeProvider time,
    HandshakeTimeouts timeouts,
    ILogger<WebSocketEndpoint> logger,
    SendHops hops)
{
    private readonly NativeProtocol _protocol = new(handler.NotificationAccounts);

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
        await RunAsync(socket, context.Abort).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs an accepted WebSocket to its end: Hello within the handshake timeout, token check, then the connection host.
    /// <paramref name="abortTransport"/> drops the underlying connection (the HTTP request's, or the Kestrel connection's
    /// when <see cref="DirectUpgrade"/> accepted it below the HTTP layer). <paramref name="frames"/>: the stream below a
    /// WebSocket that <see cref="DirectUpgrade"/> accepted, into which the send loop writes whole frames (null: through
    /// the WebSocket).
    /// </summary>
    public async Task RunAsync(WebSocket socket, Action abortTransport, IFrameWriter? frames = null)
    {
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

        // A cursor this server never handed out means its data went back in time (a restore, a replaced data directory):
        // syncing from it would silently skip everything committed since. The client resyncs from 0 instead.
        if (hello.ResumeCursor > 0 && hello.ResumeCursor > (ulong)Math.Max(await store.GetMaxVersionAsync().ConfigureAwait(false), 0))
        {
            await RefuseAsync(socket, requestId, ErrorCode.CursorAhead,
                "resume_cursor is ahead of this server's feed (its data was restored or replaced); drop the local sync state and reconnect with resume_cursor 0.",
                CloseCodes.CursorAhead, "cursor ahead").ConfigureAwait(false);
            return;
        }

        using var connection = new ClientConnection(socket, identity.UserId, identity.DeviceId, platform, identity.TokenId, identity.ExpiresAt, o.OutboxCapacity, _protocol)
        {
            Background = hello.Background,
            AbortTransport = abortTransport,
            Frames = frames,
            Overflows = metrics.OutboxOverflows,
            Hops = hops,
        };
        var native = new NativeConnectionHandler(connection, requestId, hello.ResumeCursor, handler, store, o, time, hops);
        await host.RunAsync(socket, connection, native).ConfigureAwait(false);
    }

    private async Task<(Hello? Hello, uint RequestId)> ReceiveHelloAsync(WebSocket socket, GatewayOptions o)
    {
        // Cancelling a pending receive would abort the socket, so the shared handshake timer closes the socket politely
        // instead when the Hello is late (HandshakeTimeouts), which ends the receive.
        var timeout = timeouts.Watch(socket);
        ReceivedFrame frame;
        try
        {
            frame = await ConnectionHost.ReceiveFrameAsync(socket, o.MaxFrameBytes, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            frame = new ReceivedFrame(FrameKind.Closed, null, 0);
        }
        catch
        {
            timeout.Finish();
            throw;
        }

        if (!timeout.Finish())
        {
            // The timeout came first (and was counted): the socket is being closed with 4004.
            frame.Dispose();
            await timeout.WhenClosedAsync().ConfigureAwait(false);
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
                    await ConnectionHost.CloseQuietlyAsync(socket, CloseCodes.MessageTooBig, "frame too large").ConfigureAwait(false);
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

    private async Task RefuseAsync(WebSocket socket, uint requestId, ErrorCode code, string message, int closeCode, string reason)
    {
        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", reason));
        LogRefused(logger, reason);
        await ConnectionHost.CloseQuietlyAsync(socket, closeCode, reason, NativeProtocol.Binary(RequestHandler.Error(code, message, requestId))).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Handshake refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}
