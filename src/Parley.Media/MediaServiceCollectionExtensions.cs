using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Blobs;
using Parley.Abstractions.Media;
using Parley.Abstractions.Messaging;
using Parley.Core;
using Parley.Core.Auth;
using Parley.Core.Media;
using Parley.Media.Internal;

namespace Parley.Media;

public static class MediaServiceCollectionExtensions
{
    /// <summary>
    /// Adds the media service (uploads, downloads, the media checks on send) and its sweeper. Needs an
    /// <see cref="IBlobStore"/>, an <see cref="IMediaStore"/>, the message store, the token signing key and
    /// <see cref="MediaOptions"/> registered by the host.
    /// </summary>
    public static IServiceCollection AddParleyMedia(this IServiceCollection services)
    {
        services.AddSingleton(sp => new MediaService(
            sp.GetRequiredService<IMediaStore>(),
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<IMessageStore>(),
            new UrlSigner(sp.GetRequiredService<TokenSigningKey>()),
            sp.GetRequiredService<IOptions<MediaOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MediaService>>()));
        services.AddSingleton<IMediaContentResolver>(sp => sp.GetRequiredService<MediaService>());
        services.Replace(ServiceDescriptor.Singleton(sp => new Optional<IMediaContentResolver>(sp.GetRequiredService<MediaService>())));
        services.AddSingleton<MediaSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<MediaSweeper>());
        return services;
    }
}
