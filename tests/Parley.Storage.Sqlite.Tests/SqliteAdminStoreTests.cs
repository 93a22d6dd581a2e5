using Parley.Storage.Compliance;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The admin store compliance suite on a real SQLite file.</summary>
public sealed class SqliteAdminStoreTests : AdminStoreComplianceTests<SqliteAccountStore>
{
    private readonly TempDatabase _database = new();

    protected override SqliteAccountStore OpenStore() => new(_database.Open());

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
