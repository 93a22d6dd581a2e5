using Parley.Abstractions.Accounts;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Accounts;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The user tag compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresUserTagStoreTests : UserTagStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IAccountStore Accounts, IUserTagStore Tags) OpenStores()
    {
        var owner = (_postgres = new TestPostgres()).Open();
        return (new PostgresAccountStore(owner), new PostgresUserTagStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
