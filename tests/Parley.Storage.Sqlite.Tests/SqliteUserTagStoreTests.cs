using Parley.Abstractions.Accounts;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Accounts;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The user tag compliance suite on a real SQLite file.</summary>
public sealed class SqliteUserTagStoreTests : UserTagStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IAccountStore Accounts, IUserTagStore Tags) OpenStores()
    {
        var owner = _database.Open();
        return (new SqliteAccountStore(owner), new SqliteUserTagStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
