using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using Parley.Storage.Compliance;
using Parley.Storage.Postgres.Social;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The relation store compliance suite against a real PostgreSQL server.</summary>
public sealed class PostgresRelationStoreTests : RelationStoreComplianceTests
{
    private TestPostgres? _postgres;

    protected override (IRelationStore Relations, IAccountStore Accounts) CreateStores()
    {
        var owner = (_postgres ??= new TestPostgres()).Open();
        return (new PostgresRelationStore(owner), new PostgresAccountStore(owner));
    }

    public override async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
