using Parley.Abstractions.Media;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Media;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The media store compliance suite on a real SQLite file.</summary>
public sealed class SqliteMediaStoreTests : MediaStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override IMediaStore CreateStore() => new SqliteMediaStore(_database.Open());

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
