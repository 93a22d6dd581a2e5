using Parley.Abstractions.Directory;
using Parley.Storage.Compliance;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The directory store compliance suite on a real SQLite file.</summary>
public sealed class SqliteDirectoryStoreTests : DirectoryStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override IDirectoryStore OpenStore() => new SqliteDirectoryStore(_database.Open());

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
