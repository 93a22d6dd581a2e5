using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The message store compliance suite against a real PostgreSQL server, and PostgreSQL-only checks.</summary>
public sealed class PostgresMessageStoreTests : MessageStoreComplianceTests
{
    private TestPostgres? _postgres;

    private TestPostgres Postgres => _postgres ??= new TestPostgres();

    protected override IMessageStore CreateStore() => new PostgresMessageStore(Postgres.Open());

    protected override int DirectConversationIdMigration => 7;

    protected override Task ExecuteSqlAsync(string sql) => Postgres.ScalarAsync(sql);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [StoreFact]
    public async Task Commit_ALargeBatch_IsOneTransaction_FeedStateMatchesMaxVersion()
    {
        await CommitAsync(b => b.Conversations.Add(Direct("d1", "alice", "bob")));
        var batch = new CommitBatch();
        batch.Messages.AddRange(Enumerable.Range(1, 500).Select(seq => Message("d1", seq, seq % 2 == 0 ? "alice" : "bob")));
        await Store.CommitAsync(batch);

        var max = await Store.GetMaxVersionAsync();
        Assert.Equal(max, Convert.ToInt64(await Postgres.ScalarAsync("SELECT max_version FROM feed_state"), CultureInfo.InvariantCulture));
        Assert.Equal(max, Convert.ToInt64(await Postgres.ScalarAsync("SELECT MAX(version) FROM messages"), CultureInfo.InvariantCulture));
        Assert.Equal(500L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(*) FROM messages"), CultureInfo.InvariantCulture));
        var members = await Store.GetMembersAsync("d1");
        Assert.Equal([500L, 499L], members.Select(m => m.ReadSeq)); // alice sent the even seqs, bob the odd ones
        Assert.All(members, m => Assert.Equal(max, m.FeedVersion));

        // The 501st message repeats a client message id: the whole batch, its first 100 messages included, is refused.
        var failing = new CommitBatch();
        failing.Messages.AddRange(Enumerable.Range(501, 100).Select(seq => Message("d1", seq, "alice")));
        failing.Messages.Add(Message("d1", 601, "alice", clientMsgId: "c-d1-2"));
        await Assert.ThrowsAsync<StoreConflictException>(() => Store.CommitAsync(failing));
        Assert.Equal(500, (await Store.GetConversationAsync("d1"))!.MaxSeq);
        Assert.Equal(max, await Store.GetMaxVersionAsync());
    }

    [StoreFact]
    public async Task GetUserGroupRequests_EveryStateOfTheUser_PendingFirstThenNewestWithLimit()
    {
        GroupRequestRecord Request(string group, string user, int state, long createdAt, int kind = 0, string inviter = "") =>
            new(group, user, inviter, kind, "msg " + group, state, createdAt, state == 0 ? 0 : createdAt + 5, state == 0 ? "" : "owner");

        var refused = Request("g1", "ann", 2, 100);
        var pendingOld = Request("g2", "ann", 0, 200);
        var accepted = Request("g3", "ann", 1, 400);
        var invitation = Request("g4", "ann", 0, 300, kind: 1, inviter: "bob");
        await CommitAsync(b => b.GroupRequests.AddRange([refused, pendingOld, accepted, invitation, Request("g1", "ben", 0, 500), Request("g5", "annie", 0, 600)]));
        var groups = (IGroupStore)Store;

        Assert.Equal([invitation, pendingOld, accepted, refused], await groups.GetUserGroupRequestsAsync("ann", 10));
        Assert.Equal([invitation, pendingOld], await groups.GetUserGroupRequestsAsync("ann", 2));
        Assert.Empty(await groups.GetUserGroupRequestsAsync("nobody", 10));

        var again = Request("g1", "ann", 0, 700);
        await CommitAsync(b => b.GroupRequests.Add(again));
        Assert.Equal([again, invitation, pendingOld, accepted], await groups.GetUserGroupRequestsAsync("ann", 10));
        Assert.Single(await groups.GetPendingGroupRequestsAsync("g1"), r => r.UserId == "ann");
    }

    [StoreFact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        var store = new PostgresMessageStore(Postgres.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetMaxVersionAsync());
    }
}
