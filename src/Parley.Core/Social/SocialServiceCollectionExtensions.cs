using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Parley.Abstractions.Social;

namespace Parley.Core.Social;

public static class SocialServiceCollectionExtensions
{
    /// <summary>
    /// Registers friends, requests, blocks and user search: the relation reader the messaging path uses, the
    /// <see cref="SocialService"/> and the start-up initialisation of the <see cref="IRelationStore"/> (which the
    /// storage provider registers). <see cref="SocialOptions"/> are bound by the host.
    /// </summary>
    public static IServiceCollection AddParleySocial(this IServiceCollection services)
    {
        services.AddOptions<SocialOptions>();
        services.TryAddSingleton<IRelationReader, RelationReader>();
        services.TryAddSingleton<SocialService>();
        services.AddHostedService<RelationStoreInitializer>();
        return services;
    }
}

/// <summary>Migrates and opens the relation store before clients can connect.</summary>
internal sealed class RelationStoreInitializer(IRelationStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
