using Microsoft.AspNetCore.Builder;
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
        return services;
    }
}

/// <summary>Maps the OpenIM compatibility edge.</summary>
public static class OpenImCompatEndpointRouteBuilderExtensions
{
    /// <summary>Maps OpenIM's REST bootstrap endpoints when <c>Parley:OpenIM:Enabled</c> is true; otherwise maps nothing.</summary>
    public static IEndpointRouteBuilder MapParleyOpenImCompat(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<OpenImOptions>>().Value;
        if (options.Enabled)
        {
            OpenImRest.Map(endpoints, options);
        }

        return endpoints;
    }
}
