using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Abstractions.Social;

namespace Parley.Core.Social;

public static class SocialServiceCollectionExtensions
{
    /// <summary>
    /// Registers friends, requests, blocks and user search: the relation reader the messaging path uses, the
    /// <see cref="SocialService"/>. The <see cref="IRelationStore"/> comes from the storage provider, which also
    /// initialises it at start-up. <see cref="SocialOptions"/> are bound by the host.
    /// </summary>
    public static IServiceCollection AddParleySocial(this IServiceCollection services)
    {
        services.AddOptions<SocialOptions>();
        services.TryAddSingleton<IRelationReader, RelationReader>();
        services.TryAddSingleton(Optional.None<Webhooks.FriendHooks>());
        services.TryAddSingleton(Optional.None<Webhooks.AfterHooks>());
        services.TryAddSingleton<SocialService>();
        return services;
    }
}
