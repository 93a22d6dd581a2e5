using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Directory;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Abstractions.Social;
using Parley.Storage.Sqlite.Push;
using Parley.Storage.Sqlite.Social;

namespace Parley.Storage.Sqlite;

/// <summary>Registers the SQLite storage provider: one <see cref="SqliteDatabase"/> owner and every store as a view over it.</summary>
public static class SqliteServiceCollectionExtensions
{
    /// <summary>
    /// Adds the one <see cref="SqliteDatabase"/> for the file <paramref name="options"/> names, every store port over it
    /// (<see cref="IMessageStore"/>, <see cref="IGroupStore"/>, <see cref="IAccountStore"/> with the admin ports
    /// <see cref="IOperatorStore"/>, <see cref="IAuditStore"/>, <see cref="IAdminQueryStore"/>, <see cref="IRelationStore"/>,
    /// <see cref="IDirectoryStore"/>, <see cref="IDeviceStore"/>, <see cref="IPushJournal"/>, <see cref="IPushSettingsStore"/>),
    /// and its start-up: the owner is initialised (durability check, migrations) in
    /// <see cref="IHostedLifecycleService.StartingAsync"/>, i.e. before ANY hosted service's <c>StartAsync</c>, whatever
    /// the registration order. The device store needs a <see cref="DeviceTokenKey"/> registered by the host.
    /// </summary>
    /// <param name="options">Builds the options once, when the owner is first resolved (from bound, validated options).</param>
    public static IServiceCollection AddParleySqliteStorage(this IServiceCollection services, Func<IServiceProvider, SqliteStoreOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(sp => new SqliteDatabase(options(sp), sp.GetService<ILogger<SqliteDatabase>>(), sp.GetService<IMeterFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SqliteStartup>());

        services.TryAddSingleton(sp => new SqliteMessageStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetService<ILogger<SqliteMessageStore>>(), sp.GetService<ISearchTextExtractor>()));
        services.TryAddSingleton<IMessageStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<ISearchIndexQueue>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<IGroupStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<ISuperGroupStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<ISuperGroupPushJobStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<IBulkMemberJobStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton<ISentMessageStore>(sp => sp.GetRequiredService<SqliteMessageStore>());
        services.TryAddSingleton(sp => new SqliteAccountStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IAccountStore>(sp => sp.GetRequiredService<SqliteAccountStore>());
        services.TryAddSingleton<IOperatorStore>(sp => sp.GetRequiredService<SqliteAccountStore>());
        services.TryAddSingleton<IAuditStore>(sp => sp.GetRequiredService<SqliteAccountStore>());
        services.TryAddSingleton<IAdminQueryStore>(sp => sp.GetRequiredService<SqliteAccountStore>());
        services.TryAddSingleton<IRelationStore>(sp => new SqliteRelationStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IDirectoryStore>(sp => new SqliteDirectoryStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IDeviceStore>(sp => new SqliteDeviceStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<DeviceTokenKey>().Bytes));
        services.TryAddSingleton<IPushJournal>(sp => new SqlitePushJournal(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IPushSettingsStore>(sp => new SqlitePushSettingsStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Business.INotificationAccountStore>(sp => new Business.SqliteNotificationAccountStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Business.ICampaignStore>(sp => new Business.SqliteCampaignStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Webhooks.IWebhookOutbox>(sp => new Webhooks.SqliteWebhookOutbox(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<Parley.Abstractions.Statistics.IActivityStore>(sp => new Statistics.SqliteActivityStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IResumePositionStore>(sp => new Sessions.SqliteResumePositionStore(sp.GetRequiredService<SqliteDatabase>()));
        services.TryAddSingleton<IUserTagStore>(sp => new Accounts.SqliteUserTagStore(sp.GetRequiredService<SqliteDatabase>()));
        return services;
    }

    /// <summary>
    /// Initialises the owner before any hosted service starts; the host fails to start with the owner's error.
    /// <c>StartAsync</c> does it too (idempotent) for callers that drive hosted services by hand, without a host.
    /// </summary>
    private sealed class SqliteStartup(SqliteDatabase database) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

        public Task StartAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
