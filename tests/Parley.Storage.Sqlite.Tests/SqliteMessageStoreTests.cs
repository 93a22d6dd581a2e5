using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The message store compliance suite on a real SQLite file in WAL mode.</summary>
public sealed class SqliteMessageStoreTests : MessageStoreComplianceTests
{
    private readonly TempDatabase _database = new();

    protected override IMessageStore CreateStore() => new SqliteMessageStore(_database.Options());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task Commit_UsesOneTransactionPerBatch_FeedStateMatchesMaxVersion()
    {
        await CommitAsync(b => b.Conversations.Add(Direct("d1", "alice", "bob")));
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice")));
        var max = await Store.GetMaxVersionAsync();
        Assert.Equal(max, Convert.ToInt64(_database.Scalar("SELECT max_version FROM feed_state"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(max, Convert.ToInt64(_database.Scalar("SELECT MAX(version) FROM messages"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Operations_AfterDispose_Throw()
    {
        await ((IAsyncDisposable)Store).DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.GetMaxVersionAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.CommitAsync(new CommitBatch()));
    }

    [Fact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        await using var store = new SqliteMessageStore(_database.Options());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetMaxVersionAsync());
    }
}
