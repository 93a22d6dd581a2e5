using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Gateway.Connections;
using Parley.Gateway.Handshake;
using Parley.Gateway.Requests;
using Parley.Core.Delivery;
using Parley.Core.Sessions;

namespace Parley.Gateway;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Registers the WebSocket gateway (its options are bound by the caller).</summary>
    public static IServiceCollection AddParleyGateway(this IServiceCollection services)
    {
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<IDeliveryHub>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.AddSingleton<ISessionControl>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.AddSingleton<RequestHandler>();
        services.AddSingleton<GroupRequestHandler>();
        services.AddSingleton<ConnectionHost>();
        services.AddSingleton<WebSocketEndpoint>();
        services.AddHostedService<ConnectionSweeper>();
        return services;
    }

    /// <summary>Maps the native protocol v1 endpoint.</summary>
    public static IEndpointConventionBuilder MapParleyGateway(this IEndpointRouteBuilder endpoints, string pattern = "/ws") =>
        endpoints.Map(pattern, context => context.RequestServices.GetRequiredService<WebSocketEndpoint>().HandleAsync(context));
}
