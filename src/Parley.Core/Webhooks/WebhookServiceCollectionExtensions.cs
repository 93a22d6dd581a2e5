using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Parley.Core.Webhooks;

public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Binds <c>Parley:Webhooks</c> (validated on start) and registers the hooks. <see cref="Optional{T}"/> of
    /// <see cref="MessageHooks"/> holds a value only when a before-send hook is enabled.
    /// </summary>
    public static IServiceCollection AddParleyWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WebhookClient>();
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
            return options.Enabled(WebhookOptions.BeforeSendSingleMsg) is null && options.Enabled(WebhookOptions.BeforeSendGroupMsg) is null
                ? Optional.None<MessageHooks>()
                : new Optional<MessageHooks>(new MessageHooks(sp.GetRequiredService<WebhookClient>()));
        }));
        services.Replace(ServiceDescriptor.Singleton(sp =>
            sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Enabled(WebhookOptions.BeforeAddFriend) is null
                ? Optional.None<FriendHooks>()
                : new Optional<FriendHooks>(new FriendHooks(sp.GetRequiredService<WebhookClient>()))));
        return services;
    }
}
