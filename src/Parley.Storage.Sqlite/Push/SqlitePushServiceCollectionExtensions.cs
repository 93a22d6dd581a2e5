using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;

namespace Parley.Storage.Sqlite.Push;

/// <summary>Registers the SQLite push stores (device registry and push journal) on one database file.</summary>
public static class SqlitePushServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IDeviceStore"/> and <see cref="IPushJournal"/> on <paramref name="options"/>'s file (usually the
    /// message store's) and initialises them at start, before the push dispatcher recovers the journal.
    /// </summary>
    /// <param name="tokenKey">32 secret bytes that encrypt device tokens at rest; keep them outside the database.</param>
    public static IServiceCollection AddParleyPushSqlite(this IServiceCollection services, SqliteStoreOptions options, byte[] tokenKey)
    {
        ArgumentNullException.ThrowIfNull(tokenKey);
        var key = (byte[])tokenKey.Clone();
        services.TryAddSingleton(PushIdKey.Derive(key));
        services.AddSingleton<SqliteDeviceStore>(sp => new SqliteDeviceStore(options, key, sp.GetService<ILogger<SqliteDeviceStore>>()));
        services.AddSingleton<IDeviceStore>(sp => sp.GetRequiredService<SqliteDeviceStore>());
        services.AddSingleton<SqlitePushJournal>(sp => new SqlitePushJournal(options, sp.GetService<ILogger<SqlitePushJournal>>()));
        services.AddSingleton<IPushJournal>(sp => sp.GetRequiredService<SqlitePushJournal>());

        // Hosted services start in registration order: call this before AddParleyPush so the schema exists first.
        services.AddHostedService<PushStoreInitializer>();
        return services;
    }

    private sealed class PushStoreInitializer(IDeviceStore devices, IPushJournal journal) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await devices.InitializeAsync(cancellationToken).ConfigureAwait(false);
            await journal.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
