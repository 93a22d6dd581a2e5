using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Parley.Gateway.Connections;
using Parley.Gateway.Handshake;
using Parley.Gateway.Requests;
using Parley.Core;
using Parley.Core.Delivery;
using Parley.Core.Directory;
using Parley.Core.Media;
using Parley.Core.Webhooks;
using Parley.Core.Messaging;
using Parley.Core.Push;
using Parley.Core.Sessions;

namespace Parley.Gateway;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Registers the WebSocket gateway (its options are bound by the caller; needs <c>AddParleySocial()</c>).</summary>
    public static IServiceCollection AddParleyGateway(this IServiceCollection services)
    {
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<IDeliveryHub>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.AddSingleton<ISessionControl>(sp => sp.GetRequiredService<ConnectionRegistry>());
        services.TryAddSingleton<SendBacklog>();
        services.AddSingleton<MessagingService>();
        services.AddSingleton<RequestHandler>();
        services.AddSingleton<GroupRequestHandler>();
        services.AddSingleton<SocialRequestHandler>();
        services.AddSingleton<ConnectionHost>();
        services.AddSingleton<SendTrace>();
        services.AddHostedService(sp => sp.GetRequiredService<SendTrace>());
        services.AddSingleton<SendHops>();
        services.AddSingleton<SendAnswers>();

        // Optional features answer UNSUPPORTED while absent; the directory, push and media registrations replace these.
        services.TryAddSingleton(Optional.None<IDirectoryService>());
        services.TryAddSingleton(Optional.None<IPushClientApi>());
        services.TryAddSingleton(Optional.None<IMediaContentResolver>());
        services.TryAddSingleton(Optional.None<MessageHooks>());
        services.TryAddSingleton(Optional.None<AfterHooks>());
        services.AddHostedService<PresenceWebhooks>();
        services.AddSingleton<HandshakeTimeouts>();
        services.AddSingleton<WebSocketEndpoint>();
        services.AddHostedService<ConnectionSweeper>();
        services.AddHostedService<GatewayDrain>();
        return services;
    }

    /// <summary>
    /// Maps the native protocol v1 endpoint. The endpoint (a singleton) is resolved once, not from
    /// <c>HttpContext.RequestServices</c>: that would create a DI scope per request, and a WebSocket request lives as long
    /// as its connection, so every idle connection would keep one (issue 17, memory per connection).
    /// </summary>
    public static IEndpointConventionBuilder MapParleyGateway(this IEndpointRouteBuilder endpoints, string pattern = "/ws")
    {
        // Resolved at the first request (as before), from the root provider: the same singleton, no scope.
        var services = endpoints.ServiceProvider;
        WebSocketEndpoint? endpoint = null;
        return endpoints.Map(pattern, context => (endpoint ??= services.GetRequiredService<WebSocketEndpoint>()).HandleAsync(context));
    }

    /// <summary>
    /// Accepts plain <c>GET /ws</c> WebSocket upgrades on this listener below the HTTP layer (ADR 0020; off with
    /// <c>Parley:Gateway:DirectUpgrade=false</c>): such a connection holds no HTTP request while it stays open. Every other
    /// request goes to the HTTP layer untouched, where <see cref="MapParleyGateway"/> still serves <c>/ws</c>.
    /// </summary>
    /// <param name="listen">The listener (e.g. in <c>KestrelServerOptions.ConfigureEndpointDefaults</c>).</param>
    /// <param name="servesGateway">Given the application's services, whether a local port serves <c>/ws</c> at all.</param>
    public static ListenOptions UseParleyDirectUpgrade(this ListenOptions listen, Func<IServiceProvider, Func<int, bool>> servesGateway)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(servesGateway);
        var direct = new Lazy<DirectUpgrade?>(() =>
        {
            var services = listen.ApplicationServices;
            var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
            return options.DirectUpgrade
                ? new DirectUpgrade(services.GetRequiredService<WebSocketEndpoint>(), servesGateway(services), options.HandshakeTimeout, services.GetRequiredService<IOptions<WebSocketOptions>>().Value)
                : null;
        });
        listen.Use(next => context => direct.Value is { } upgrade ? upgrade.OnConnectionAsync(context, next) : next(context));
        return listen;
    }
}
