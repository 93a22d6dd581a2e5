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
using Parley.Gateway.Protocols;
using Parley.Core.Messaging;
using Parley.Core.Auth;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's long connection (msggateway): handshake from the query string, JSON envelopes in binary frames with
/// protobuf payloads, text ping/pong, request codes 1001/1002/1003/1005/1006/2003/2004/2005 and pushes 2001/2002. This
/// is only the handshake: an accepted connection runs in the gateway's <see cref="ConnectionHost"/> (the same receive
/// loop, limits, registry, multi-login policy and fan-out as native connections) with an <see cref="OpenImSession"/>
/// decoding its requests and <see cref="OpenImProtocol"/> encoding its events. Only the JS SDK's JSON encoding (<c>sdkType=js</c>) is spoken; gob and gzip
/// clients are refused with errCode 1602.
/// </summary>
internal sealed class OpenImWebSocketEndpoint(
    TokenService tokens,
    ConnectionHost host,
    ConnectionRegistry registry,
    MessagingService messaging,
    OpenImRelationNotifier relationNotifier,
    IGrainFactory grains,
    IMessageStore store,
    IOptions<GatewayOptions> gatewayOptions,
    ParleyMetrics metrics,
    TimeProvider time,
    OpenImProtocol protocol,
    OpenImProfiles profiles,
    OpenImPresence presence,
    OpenImObjectUrls objectUrls,
    OpenImResume resume,
    Parley.Core.Business.NotificationAccountIds accounts,
    ILogger<OpenImWebSocketEndpoint> logger)
{
    /// <summary>OpenIM's read limit per frame (msggateway constant.go maxMessageSize).</summary>
    public const int MaxFrameBytes = 51200;

    private readonly OpenImServices _services = new(
        registry,
        messaging,
        grains,
        store,
        relationNotifier,
        profiles,
        presence,
        objectUrls,
        resume,
        protocol,
        accounts,
        time,
        logger);

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
        var session = new OpenImSession(_services, identity.UserId, args.PlatformId, args.OperationId, args.IsMsgResp);
        using var connection = new ClientConnection(socket, identity.UserId, identity.DeviceId, platform, identity.TokenId, identity.ExpiresAt, o.OutboxCapacity, protocol)
        {
            Background = args.IsBackground,
            Events = session,
            FrameWritten = session.OnFrameWritten,
            AbortTransport = context.Abort,
            Overflows = metrics.OutboxOverflows,
        };
        session.Attach(connection);
        try
        {
            await host.RunAsync(socket, connection, session).ConfigureAwait(false);
        }
        finally
        {
            presence.Forget(session);
            // A close frame from the client (a closed tab, the SDK's own close) ends the session on purpose; a connection
            // that vanished without one (a network drop, a killed process) or that the server closed for overflow or
            // idleness is resumed by the platform's next connection.
            try
            {
                await session.SaveResumePositionAsync(clientClosed: socket.CloseStatus is not null && connection.CloseCode == (int)System.Net.WebSockets.WebSocketCloseStatus.NormalClosure).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The next connection of the platform then gets no replay (as after a fresh login); the session is over anyway.
                OpenImLog.ResumeNotSaved(logger, ex, identity.UserId);
            }
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
        await ConnectionHost.CloseQuietlyAsync(socket, CloseCodes.HandshakeFailed, "handshake refused", new WireFrame(body, Text: true)).ConfigureAwait(false);
        await ConnectionHost.DrainAsync(socket, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
    }
}
