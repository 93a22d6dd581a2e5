using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Directory;
using Parley.Abstractions.Media;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Abstractions.Social;
using Parley.Storage.Postgres.Media;
using Parley.Storage.Postgres.Push;
using Parley.Storage.Postgres.Social;

namespace Parley.Storage.Postgres;

/// <summary>Registers the PostgreSQL storage provider: one <see cref="PostgresDatabase"/> owner and the stores over it.</summary>
public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Adds the one <see cref="PostgresDatabase"/>, <see cref="IMessageStore"/> and <see cref="IGroupStore"/>
    /// (<see cref="PostgresMessageStore"/>), <see cref="IAccountStore"/> with the admin ports <see cref="IOperatorStore"/>,
    /// <see cref="IAuditStore"/> and <see cref="IAdminQueryStore"/> (<see cref="PostgresAccountStore"/>) and
    /// <see cref="IRelationStore"/>, the organisation directory's <see cref="IDirectoryStore"/>, and the push stores <see cref="IDeviceStore"/> (needs a registered
    /// <see cref="DeviceTokenKey"/>), <see cref="IPushJournal"/> and <see cref="IPushSettingsStore"/>, and
    /// <see cref="IMediaStore"/> over it,
    /// and its start-up: the owner is initialised (durability check, migrations) in
    /// <see cref="IHostedLifecycleService.StartingAsync"/>, before any hosted service's <c>StartAsync</c>. Registered
    /// before another provider, these ports win (the other provider's registrations are TryAdd).
    /// </summary>
    /// <param name="options">Builds the options once, when the owner is first resolved (from bound, validated options).</param>
    public static IServiceCollection AddParleyPostgresStorage(this IServiceCollection services, Func<IServiceProvider, PostgresStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(sp => new PostgresDatabase(options(sp), sp.GetService<ILogger<PostgresDatabase>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresStartup>());
        services.TryAddSingleton(sp => new PostgresMessageStore(sp.GetRequiredService<PostgresDatabase>(), sp.GetService<ILogger<PostgresMessageStore>>()));
        services.TryAddSingleton<IMessageStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<ISearchIndexQueue>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<IGroupStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<ISuperGroupStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<ISuperGroupCompaction>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<ISuperGroupPushJobStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<IBulkMemberJobStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton<ISentMessageStore>(sp => sp.GetRequiredService<PostgresMessageStore>());
        services.TryAddSingleton(sp => new PostgresAccountStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<IAccountStore>(sp => sp.GetRequiredService<PostgresAccountStore>());
        services.TryAddSingleton<IOperatorStore>(sp => sp.GetRequiredService<PostgresAccountStore>());
        services.TryAddSingleton<IAuditStore>(sp => sp.GetRequiredService<PostgresAccountStore>());
        services.TryAddSingleton<IAdminQueryStore>(sp => sp.GetRequiredService<PostgresAccountStore>());
        services.TryAddSingleton<IRelationStore>(sp => new PostgresRelationStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<IDirectoryStore>(sp => new PostgresDirectoryStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<IDeviceStore>(sp => new PostgresDeviceStore(sp.GetRequiredService<PostgresDatabase>(), sp.GetRequiredService<DeviceTokenKey>().Bytes));
        services.TryAddSingleton<IPushJournal>(sp => new PostgresPushJournal(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<IPushSettingsStore>(sp => new PostgresPushSettingsStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Business.INotificationAccountStore>(sp => new Business.PostgresNotificationAccountStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Business.ICampaignStore>(sp => new Business.PostgresCampaignStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Accounts.IUserTagStore>(sp => new Accounts.PostgresUserTagStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<IMediaStore>(sp => new PostgresMediaStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Webhooks.IWebhookOutbox>(sp => new Webhooks.PostgresWebhookOutbox(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Statistics.IActivityStore>(sp => new Statistics.PostgresActivityStore(sp.GetRequiredService<PostgresDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Messaging.IResumePositionStore>(sp => new Sessions.PostgresResumePositionStore(sp.GetRequiredService<PostgresDatabase>()));
        return services;
    }

    /// <summary>Initialises the owner before any hosted service starts (and on StartAsync for hosts that drive services by hand).</summary>
    private sealed class PostgresStartup(PostgresDatabase database) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

        public Task StartAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
