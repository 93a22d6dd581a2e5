using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Directory;
using Parley.Core;
using Parley.Core.Directory;
using Parley.OrgDirectory.Import;

namespace Parley.OrgDirectory;

public static class DirectoryServiceCollectionExtensions
{
    /// <summary>
    /// Adds the organisation directory: <see cref="DirectoryOptions"/> (bound to <c>Parley:Directory</c>, validated at
    /// start), the <see cref="IDirectoryService"/> the gateway answers SyncDirectoryRequest with (an empty
    /// <see cref="Optional{T}"/> when disabled, so clients get UNSUPPORTED), the writer that publishes change events, and the import worker.
    /// The <see cref="IDirectoryStore"/> comes from the storage provider (which initialises it at start-up).
    /// Call after <c>AddParleyServer()</c>; map the admin endpoints with <c>MapParleyDirectoryAdmin()</c>.
    /// </summary>
    public static IServiceCollection AddParleyDirectory(this IServiceCollection services)
    {
        services.AddOptions<DirectoryOptions>().BindConfiguration(DirectoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
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
