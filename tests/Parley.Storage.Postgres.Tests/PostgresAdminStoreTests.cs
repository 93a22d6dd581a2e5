using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The admin store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresAdminStoreTests : AdminStoreComplianceTests<PostgresAccountStore>
{
    private TestPostgres? _postgres;

    protected override PostgresAccountStore OpenStore() => new((_postgres ??= new TestPostgres()).Open());

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
