using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Sessions;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The replay position compliance suite on a real SQLite file.</summary>
public sealed class SqliteResumePositionStoreTests : ResumePositionStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override (IMessageStore Messages, IResumePositionStore Store) OpenStores()
    {
        var owner = _database.Open();
        return (new SqliteMessageStore(owner), new SqliteResumePositionStore(owner));
    }

    public override Task DisposeAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
