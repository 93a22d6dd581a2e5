using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Social;

namespace Parley.Storage.Sqlite.Social;

public static class SqliteSocialServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SqliteRelationStore"/> as <see cref="IRelationStore"/> on the registered
    /// <see cref="SqliteStoreOptions"/> (the database file the other stores use).
    /// </summary>
    public static IServiceCollection AddSqliteRelationStore(this IServiceCollection services)
    {
        services.AddSingleton<IRelationStore>(sp => new SqliteRelationStore(
            sp.GetRequiredService<SqliteStoreOptions>(),
            sp.GetRequiredService<ILogger<SqliteRelationStore>>()));
        return services;
    }
}
