using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Social;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The relation store compliance suite on a real SQLite file.</summary>
public sealed class SqliteRelationStoreTests : RelationStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IRelationStore Relations, IAccountStore Accounts) CreateStores()
    {
        var owner = _database.Open();
        return (new SqliteRelationStore(owner), new SqliteAccountStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
