using Parley.Abstractions.Accounts;
using Parley.Storage.Compliance;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The account store compliance suite on a real SQLite file in WAL mode, and SQLite-only checks.</summary>
public sealed class SqliteAccountStoreTests : AccountStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override IAccountStore CreateStore() => new SqliteAccountStore(_database.Open());

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        var store = new SqliteAccountStore(_database.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetUserAsync("alice"));
    }
}
