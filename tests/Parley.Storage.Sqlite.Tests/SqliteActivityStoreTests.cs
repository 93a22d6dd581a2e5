using Parley.Abstractions.Messaging;
using Parley.Abstractions.Statistics;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Statistics;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The daily activity compliance suite on a real SQLite file.</summary>
public sealed class SqliteActivityStoreTests : ActivityStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IMessageStore Messages, IActivityStore Store) OpenStores()
    {
        var owner = _database.Open();
        return (new SqliteMessageStore(owner), new SqliteActivityStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
