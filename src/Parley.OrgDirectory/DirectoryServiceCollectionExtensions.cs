using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Directory;
using Parley.Core;
using Parley.Core.Directory;
using Parley.OrgDirectory.Import;
using Parley.Storage.Sqlite;

namespace Parley.OrgDirectory;

public static class DirectoryServiceCollectionExtensions
{
    /// <summary>
    /// Adds the organisation directory: <see cref="DirectoryOptions"/> (bound to <c>Parley:Directory</c>, validated at
    /// start), the SQLite directory store on the server's database file (unless an <see cref="IDirectoryStore"/> is
    /// already registered), the <see cref="IDirectoryService"/> the gateway answers SyncDirectoryRequest with (an empty
    /// <see cref="Optional{T}"/> when disabled, so clients get UNSUPPORTED), the writer that publishes change events, and the import worker.
    /// Call after <c>AddParleyServer()</c>; map the admin endpoints with <c>MapParleyDirectoryAdmin()</c>.
    /// </summary>
    public static IServiceCollection AddParleyDirectory(this IServiceCollection services)
    {
        services.AddOptions<DirectoryOptions>().BindConfiguration(DirectoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<IDirectoryStore>(sp => new SqliteDirectoryStore(
            sp.GetRequiredService<SqliteStoreOptions>(), sp.GetRequiredService<ILogger<SqliteDirectoryStore>>()));
        services.AddHostedService<DirectoryStoreInitializer>();
        services.AddSingleton<DirectoryWriter>();
        services.AddSingleton<DirectoryService>();

        // The gateway answers UNSUPPORTED while the directory is disabled: an explicit optional, never a null service.
        services.AddSingleton<IDirectoryService>(sp => sp.GetRequiredService<DirectoryService>());
        services.Replace(ServiceDescriptor.Singleton(sp => new Optional<IDirectoryService>(
            sp.GetRequiredService<IOptions<DirectoryOptions>>().Value.Enabled ? sp.GetRequiredService<IDirectoryService>() : null)));
        services.AddSingleton<DirectoryImports>();
        services.AddHostedService(sp => sp.GetRequiredService<DirectoryImports>());
        return services;
    }
}

/// <summary>Migrates the directory tables (idempotent; the server's store initializer may have done it already).</summary>
internal sealed class DirectoryStoreInitializer(IDirectoryStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
