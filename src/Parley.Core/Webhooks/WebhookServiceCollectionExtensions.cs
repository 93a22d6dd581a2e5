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
        services.TryAddSingleton<WebhookSignal>();
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
            return !options.AnyAfterHookEnabled
                ? Optional.None<AfterHooks>()
                : new Optional<AfterHooks>(new AfterHooks(
                    options,
                    sp.GetRequiredService<Parley.Abstractions.Webhooks.IWebhookOutbox>(),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<WebhookSignal>(),
                    sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<AfterHooks>>()));
        }));
        services.Replace(ServiceDescriptor.Singleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
            return options.Enabled(WebhookOptions.BeforeCreateGroup) is null && options.Enabled(WebhookOptions.BeforeMemberJoinGroup) is null
                ? Optional.None<GroupHooks>()
                : new Optional<GroupHooks>(new GroupHooks(sp.GetRequiredService<WebhookClient>()));
        }));

        // Every edge creates groups and runs group commands through it (the group hooks run there).
        services.TryAddSingleton<Groups.GroupService>();
        services.Replace(ServiceDescriptor.Singleton(sp =>
            sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Enabled(WebhookOptions.BeforeAddFriend) is null
                ? Optional.None<FriendHooks>()
                : new Optional<FriendHooks>(new FriendHooks(sp.GetRequiredService<WebhookClient>()))));
        return services;
    }

    /// <summary>
    /// Runs the after-hook outbox dispatcher on this node when <paramref name="configuration"/> enables an after-hook.
    /// <paramref name="sharedOutbox"/>: other nodes deliver from the same outbox (a cluster), so leases expire instead
    /// of being released at start.
    /// </summary>
    public static IServiceCollection AddParleyWebhookDelivery(this IServiceCollection services, IConfiguration configuration, bool sharedOutbox)
    {
        var options = configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>();
        if (options is { AnyAfterHookEnabled: true })
        {
            services.AddSingleton(sp => new WebhookDispatcher(
                sp.GetRequiredService<Parley.Abstractions.Webhooks.IWebhookOutbox>(),
                sp.GetRequiredService<WebhookClient>(),
                sp.GetRequiredService<WebhookSignal>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<Telemetry.ParleyMetrics>(),
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WebhookDispatcher>>(),
                sharedOutbox));
            services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        }

        return services;
    }
}
