using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Parley.Compat.OpenIM;

/// <summary>Registers the OpenIM compatibility edge.</summary>
public static class OpenImCompatServiceCollectionExtensions
{
    /// <summary>Binds <c>Parley:OpenIM</c> (validated on start when enabled) and registers the edge's services.</summary>
    public static IServiceCollection AddParleyOpenImCompat(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<OpenImOptions>().Bind(configuration.GetSection(OpenImOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OpenImOptions>, OpenImOptionsValidator>());
        services.TryAddSingleton<OpenImAdminTokens>();
        services.TryAddSingleton<OpenImWebSocketEndpoint>();
        services.TryAddSingleton<OpenImRelationNotifier>();
        services.TryAddSingleton<WebSocket.OpenImProfiles>();
        services.AddSingleton<Parley.Core.Social.IProfileChangeObserver, OpenImProfileNotifier>();
        services.TryAddSingleton<WebSocket.OpenImPresence>();
        services.TryAddSingleton<OpenImObjectUrls>();
        services.TryAddSingleton<WebSocket.OpenImResume>();
        services.TryAddSingleton<WebSocket.OpenImProtocol>();
        return services;
    }

    /// <summary>
    /// When the edge is enabled, adds its ports (<c>WsPort</c>, <c>ApiPort</c>; defaults 10001 and 10002) to the server's
    /// URLs, on the host of the first configured URL. Call before <c>Build()</c>.
    /// </summary>
    public static WebApplicationBuilder AddParleyOpenImListeners(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(OpenImOptions.Section).Get<OpenImOptions>() ?? new OpenImOptions();
        if (!options.Enabled)
        {
            return builder;
        }

        var urls = (builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? builder.Configuration["Urls"] ?? "http://localhost:5000")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var first = new Uri(urls.Count > 0 ? urls[0].Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal) : "http://localhost:5000");
        foreach (var port in new[] { options.WsPort, options.ApiPort })
        {
            if (port is > 0)
            {
                var url = $"{first.Scheme}://{first.Host}:{port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
                if (!urls.Any(u => u.TrimEnd('/').EndsWith(":" + port.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)))
                {
                    urls.Add(url);
                }
            }
        }

        builder.WebHost.UseUrls([.. urls]);
        return builder;
    }
}

/// <summary>Maps the OpenIM compatibility edge.</summary>
public static class OpenImCompatEndpointRouteBuilderExtensions
{
    /// <summary>Maps OpenIM's REST endpoints and WebSocket edge when <c>Parley:OpenIM:Enabled</c> is true; otherwise maps nothing.</summary>
    public static IEndpointRouteBuilder MapParleyOpenImCompat(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<OpenImOptions>>().Value;
        if (options.Enabled)
        {
            OpenImRest.Map(endpoints, options);
            endpoints.ServiceProvider.GetRequiredService<OpenImWebSocketEndpoint>().Map(endpoints, options);
        }

        return endpoints;
    }
}
