using System.Buffers;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.WebSocket;
using Parley.Gateway;
using Parley.Gateway.Connections;
using Parley.Gateway.Requests;
using Parley.Core.Auth;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's long connection (msggateway): handshake from the query string, JSON envelopes in binary frames with
/// protobuf payloads, text ping/pong, request codes 1001/1002/1003/1005/1006/2003/2004/2005 and pushes 2001/2002. Each
/// connection is a Parley gateway connection with an OpenIM wire adapter, so it shares the registry, multi-login policy
/// and fan-out with native connections. Only the JS SDK's JSON encoding (<c>sdkType=js</c>) is spoken; gob and gzip
/// clients are refused with errCode 1602.
/// </summary>
internal sealed class OpenImWebSocketEndpoint(
    TokenService tokens,
    ConnectionRegistry registry,
    RequestHandler handler,
    IGrainFactory grains,
    IMessageStore store,
    IOptions<GatewayOptions> gatewayOptions,
    ParleyMetrics metrics,
    TimeProvider time,
    IServiceProvider services,
    ILogger<OpenImWebSocketEndpoint> logger)
{
    /// <summary>OpenIM's read limit per frame (msggateway constant.go maxMessageSize).</summary>
    public const int MaxFrameBytes = 51200;

    private readonly OpenImServices _services = new(
        registry,
        handler,
        grains,
        store,
        services.GetService(typeof(OpenImRelationNotifier)) as OpenImRelationNotifier,
        time,
        logger,
        gatewayOptions.Value.TypingPerSecond);

    public void Map(IEndpointRouteBuilder endpoints, OpenImOptions options)
    {
        if (options.WsPort is > 0 and var port)
        {
            endpoints.Map("/{**path}", HandleAsync).RequireHost("*:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            endpoints.Map(options.WebSocketPath, HandleAsync);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("WebSocket upgrade required.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var rawQuery = context.Request.QueryString.Value ?? string.Empty;
        var args = OpenImHandshake.TryParse(rawQuery, out var argsError);
        if (args is null)
        {
            var msgResp = rawQuery.Contains("isMsgResp=true", StringComparison.Ordinal) || rawQuery.Contains("v=", StringComparison.Ordinal);
            await RefuseAsync(context, msgResp, OpenImErrors.ConnArgs, argsError).ConfigureAwait(false);
            return;
        }

        if (!string.Equals(args.SdkType, "js", StringComparison.Ordinal))
        {
            await RefuseAsync(context, args.IsMsgResp, OpenImErrors.ConnArgs, "sdkType " + args.SdkType + " is not supported: this server speaks only the JSON encoding of @openim/client-sdk (sdkType=js), not gob").ConfigureAwait(false);
            return;
        }

        if (args.Compression.Length > 0 && !string.Equals(args.Compression, "none", StringComparison.Ordinal))
        {
            await RefuseAsync(context, args.IsMsgResp, OpenImErrors.ConnArgs, "compression is not supported").ConfigureAwait(false);
            return;
        }

        var (status, identity) = await tokens.ValidateAsync(args.Token, context.RequestAborted).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            await RefuseAsync(context, args.IsMsgResp, OpenImTokens.ErrorCode(status), "token refused: " + status.ToString()).ConfigureAwait(false);
            return;
        }

        if (identity.UserId != args.SendId || identity.DeviceId != OpenImPlatforms.DeviceId(args.PlatformId))
        {
            await RefuseAsync(context, args.IsMsgResp, OpenImErrors.TokenInvalid, "the token belongs to another user or platform").ConfigureAwait(false);
            return;
        }

        OpenImPlatforms.TryMap(args.PlatformId, out var platform, out _);
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var o = gatewayOptions.Value;
        var session = new OpenImSession(_services, identity.UserId, args.PlatformId, args.OperationId);
        using var connection = new ClientConnection(socket, identity.UserId, identity.DeviceId, platform, identity.TokenId, identity.ExpiresAt, o.OutboxCapacity, session)
        {
            Background = args.IsBackground,
        };
        session.Attach(connection);
        foreach (var displaced in registry.Register(connection))
        {
            registry.Kick(displaced, KickReason.Displaced);
        }

        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "ok"));
        metrics.Connections.Add(1);
        OpenImLog.Connected(logger, connection.Id, connection.UserId, args.PlatformId);
        var sendLoop = connection.RunSendLoopAsync();
        try
        {
            if (args.IsMsgResp)
            {
                await connection.WriteWireAsync(OpenImEnvelope.HandshakeResult(0, string.Empty), true).ConfigureAwait(false);
            }

            // Nothing to replay: OpenIM clients catch up themselves (1006 then 1002), so live events flow from here.
            connection.EndSync(0, () => connection.Close(CloseCodes.OutboxOverflow, "outbox overflow; resync", discardPending: true));
            await ReceiveLoopAsync(socket, connection, session, o).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The peer went away.
        }
        catch (Exception ex)
        {
            OpenImLog.ConnectionFailed(logger, ex, connection.Id);
            connection.Close(1011, "internal error");
        }
        finally
        {
            registry.Unregister(connection);
            connection.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            await sendLoop.ConfigureAwait(false);
            metrics.Connections.Add(-1);
            OpenImLog.Disconnected(logger, connection.Id, connection.UserId, connection.CloseCode ?? 1000);
        }
    }

    private async Task ReceiveLoopAsync(System.Net.WebSockets.WebSocket socket, ClientConnection connection, OpenImSession session, GatewayOptions o)
    {
        using var inFlight = new SemaphoreSlim(o.MaxInFlightRequests);
        var malformed = 0;
        var pending = new List<Task>();
        try
        {
            while (!connection.IsClosing)
            {
                var (kind, buffer, count) = await ReceiveFrameAsync(socket).ConfigureAwait(false);
                try
                {
                    if (kind == FrameKind.Closed)
                    {
                        return;
                    }

                    connection.MarkReceived();
                    if (kind == FrameKind.TooLarge)
                    {
                        metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "too_large"));
                        OpenImLog.ProtocolClose(logger, connection.Id, "frame too large");
                        connection.Close(CloseCodes.MessageTooBig, "frame too large", discardPending: true);
                        return;
                    }

                    var span = buffer.AsSpan(0, count);
                    if (kind == FrameKind.Text)
                    {
                        switch (OpenImEnvelope.TextType(span))
                        {
                            case "ping":
                                await connection.WriteWireAsync(OpenImEnvelope.Pong, true).ConfigureAwait(false);
                                continue;
                            case "pong":
                                continue;
                        }

                        if (!await MalformedAsync(connection, ++malformed, o, "text frames carry only {\"type\":\"ping\"}").ConfigureAwait(false))
                        {
                            return;
                        }

                        continue;
                    }

                    var request = OpenImEnvelope.TryParse(span, out var error);
                    if (request is null)
                    {
                        if (!await MalformedAsync(connection, ++malformed, o, error ?? "malformed frame").ConfigureAwait(false))
                        {
                            return;
                        }

                        continue;
                    }

                    if (request.SendId != connection.UserId)
                    {
                        // As OpenIM: a frame on behalf of someone else ends the connection.
                        OpenImLog.ProtocolClose(logger, connection.Id, "sendID does not match the connection");
                        connection.Close(CloseCodes.ProtocolError, "sendID mismatch");
                        return;
                    }

                    await inFlight.WaitAsync().ConfigureAwait(false);
                    pending.RemoveAll(t => t.IsCompleted);
                    pending.Add(ProcessAsync(session, connection, request, inFlight));
                }
                finally
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
        }
        finally
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private async Task<bool> MalformedAsync(ClientConnection connection, int malformed, GatewayOptions o, string error)
    {
        metrics.BadFrames.Add(1, new KeyValuePair<string, object?>("reason", "malformed"));
        var reply = OpenImEnvelope.Response(0, string.Empty, string.Empty, OpenImErrors.Args, error, null);
        if (malformed > o.MaxMalformedFrames)
        {
            OpenImLog.ProtocolClose(logger, connection.Id, "too many malformed frames");
            await connection.WriteWireAsync(reply, false).ConfigureAwait(false);
            connection.Close(CloseCodes.ProtocolError, "too many malformed frames");
            return false;
        }

        await connection.WriteWireAsync(reply, false).ConfigureAwait(false);
        return true;
    }

    private async Task ProcessAsync(OpenImSession session, ClientConnection connection, OpenImRequest request, SemaphoreSlim inFlight)
    {
        try
        {
            OpenImSession.Outcome outcome;
            try
            {
                outcome = await session.HandleAsync(request).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                OpenImLog.RequestFailed(logger, ex, request.ReqIdentifier, connection.Id);
                await session.ErrorAsync(request, OpenImErrors.Internal, "internal error; retry").ConfigureAwait(false);
                outcome = OpenImSession.Outcome.Continue;
            }

            if (outcome == OpenImSession.Outcome.Close)
            {
                connection.Close((int)WebSocketCloseStatus.NormalClosure, "logout");
            }
        }
        finally
        {
            inFlight.Release();
        }
    }

    /// <summary>
    /// With <c>isMsgResp=true</c> OpenIM upgrades, sends the error as the handshake result (a text frame) and closes, which
    /// is what lets a browser SDK see the code; without it the answer is a plain HTTP error.
    /// </summary>
    private async Task RefuseAsync(HttpContext context, bool msgResp, int errCode, string errMsg)
    {
        metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "openim_" + errCode.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        OpenImLog.Refused(logger, errCode, errMsg);
        var body = OpenImEnvelope.HandshakeResult(errCode, errMsg);
        if (!msgResp)
        {
            context.Response.StatusCode = errCode is >= 1501 and <= 1507 ? StatusCodes.Status401Unauthorized : StatusCodes.Status400BadRequest;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.SendAsync(body, WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
            await socket.CloseOutputAsync((WebSocketCloseStatus)CloseCodes.HandshakeFailed, "handshake refused", timeout.Token).ConfigureAwait(false);

            // Wait briefly for the client's close so the error frame is not lost to a reset.
            var drain = new byte[256];
            while (true)
            {
                var result = await socket.ReceiveAsync(drain, timeout.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            socket.Abort();
        }
    }

    private enum FrameKind
    {
        Binary,
        Text,
        TooLarge,
        Closed,
    }

    // Waits with a zero-byte read so an idle connection holds no buffer; the caller returns the rented buffer.
    private static async Task<(FrameKind Kind, byte[]? Buffer, int Count)> ReceiveFrameAsync(System.Net.WebSockets.WebSocket socket)
    {
        var first = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
        if (first.MessageType == WebSocketMessageType.Close)
        {
            return (FrameKind.Closed, null, 0);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxFrameBytes + 1);
        var count = 0;
        var type = first.MessageType;
        var endOfMessage = first.EndOfMessage;
        try
        {
            while (!endOfMessage)
            {
                if (count > MaxFrameBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (FrameKind.TooLarge, null, 0);
                }

                var result = await socket.ReceiveAsync(buffer.AsMemory(count, MaxFrameBytes + 1 - count), CancellationToken.None).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return (FrameKind.Closed, null, 0);
                }

                type = result.MessageType;
                count += result.Count;
                endOfMessage = result.EndOfMessage;
            }

            if (count > MaxFrameBytes)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return (FrameKind.TooLarge, null, 0);
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return (type == WebSocketMessageType.Text ? FrameKind.Text : FrameKind.Binary, buffer, count);
    }
}
