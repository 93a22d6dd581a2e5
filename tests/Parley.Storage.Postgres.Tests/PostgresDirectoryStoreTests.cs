using Parley.Abstractions.Directory;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The directory store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresDirectoryStoreTests : DirectoryStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override IDirectoryStore OpenStore() => new PostgresDirectoryStore((_postgres ??= new TestPostgres()).Open());

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
