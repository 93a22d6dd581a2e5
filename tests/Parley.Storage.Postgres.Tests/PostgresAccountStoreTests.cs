using Parley.Abstractions.Accounts;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The account store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresAccountStoreTests : AccountStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override IAccountStore CreateStore() => new PostgresAccountStore((_postgres ??= new TestPostgres()).Open());

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
