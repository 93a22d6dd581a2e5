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

    // Two nodes commit into one schema through the order lock (ADR 0016), interleaved: versions are exactly 1..max with
    // no gap and no reuse, a second node's reservation waits for the first's commit, and a resume from EVERY cursor
    // returns, for every user, exactly the messages committed after it, each once.
    [StoreFact]
    public async Task OrderedCommits_FromTwoNodesInterleaved_ResumeFromEveryCursor_ReturnsExactlyTheMissingMessagesOnce()
    {
        var nodeA = new PostgresMessageStore(Postgres.Open());
        var nodeB = new PostgresMessageStore(Postgres.Open());
        await nodeA.InitializeAsync();
        await nodeB.InitializeAsync();
        var members = new Dictionary<string, string[]>
        {
            ["d-ab"] = ["alice", "bob"], // written by node A
            ["d-ac"] = ["alice", "carol"], // A
            ["g-abc"] = ["alice", "bob", "carol"], // B
            ["d-bc"] = ["bob", "carol"], // B
        };
        var written = new List<StoredMessage>();
        var seqs = members.Keys.ToDictionary(k => k, _ => 0L);

        async Task<long> CommitOrderedAsync(PostgresMessageStore node, Func<long, CommitBatch> build, int count)
        {
            await using var commit = await node.BeginAsync(count);
            var batch = build(commit.FirstVersion);
            await commit.CommitAsync(batch);
            lock (written)
            {
                written.AddRange(batch.Messages);
            }

            return commit.FirstVersion;
        }

        CommitBatch Messages(string[] conversations, long first)
        {
            var batch = new CommitBatch();
            var version = first;
            foreach (var conversation in conversations)
            {
                var seq = ++seqs[conversation];
                var sender = members[conversation][(int)(seq % members[conversation].Length)];
                batch.Messages.Add(new StoredMessage(conversation, seq, $"s-{conversation}-{seq}", sender, $"c-{conversation}-{seq}", 2000 + seq, 1, Body($"m {seq}"), false, version++));
            }

            return batch;
        }

        foreach (var (conversation, users) in members)
        {
            var node = conversation is "d-ab" or "d-ac" ? nodeA : nodeB;
            await CommitOrderedAsync(node, v =>
            {
                var batch = new CommitBatch();
                batch.Conversations.Add(conversation.StartsWith('g')
                    ? new NewConversation(conversation, ConversationKind.Group, "g-" + conversation, "Group", users[0], 1000, users, v)
                    : new NewConversation(conversation, ConversationKind.Direct, null, "", users[0], 1000, users, v));
                return batch;
            }, 1);
        }

        // A forced interleaving: node A holds the order lock; node B's reservation waits until A commits and then
        // reserves right after A's versions.
        var heldByA = await nodeA.BeginAsync(2);
        var bWaits = nodeB.BeginAsync(1);
        await Task.Delay(300);
        Assert.False(bWaits.IsCompleted, "node B reserved versions while node A held the order lock");
        var batchA = Messages(["d-ab", "d-ac"], heldByA.FirstVersion);
        await heldByA.CommitAsync(batchA);
        written.AddRange(batchA.Messages);
        await heldByA.DisposeAsync();
        await using (var heldByB = await bWaits)
        {
            Assert.Equal(heldByA.FirstVersion + 2, heldByB.FirstVersion);
            var batchB = Messages(["g-abc"], heldByB.FirstVersion);
            await heldByB.CommitAsync(batchB);
            written.AddRange(batchB.Messages);
        }

        // Then both nodes commit concurrently, batches of 1-3 messages to their own conversations.
        var random = new Random(7);
        var plans = new[] { (Node: nodeA, Conversations: new[] { "d-ab", "d-ac" }), (Node: nodeB, Conversations: new[] { "g-abc", "d-bc" }) }
            .Select(p => (p.Node, Batches: Enumerable.Range(0, 25).Select(_ => Enumerable.Range(0, random.Next(1, 4)).Select(_ => p.Conversations[random.Next(2)]).ToArray()).ToList()))
            .ToList();
        await Task.WhenAll(plans.Select(plan => Task.Run(async () =>
        {
            foreach (var conversations in plan.Batches)
            {
                await CommitOrderedAsync(plan.Node, first =>
                {
                    lock (seqs)
                    {
                        return Messages(conversations, first);
                    }
                }, conversations.Length);
            }
        })));

        var max = await nodeA.GetMaxVersionAsync();
        Assert.Equal(max, await nodeB.GetMaxVersionAsync());
        var messageVersions = written.Select(m => m.Version).Order().ToList();
        Assert.Equal(messageVersions.Distinct().Count(), messageVersions.Count);
        Assert.Equal(max, members.Count + messageVersions.Count); // creations + messages: 1..max, no gap, no reuse
        Assert.Equal(max, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(DISTINCT version) FROM messages"), CultureInfo.InvariantCulture) + members.Count);

        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            var mine = written.Where(m => members[m.ConversationId].Contains(user)).ToList();
            for (var cursor = 0L; cursor <= max; cursor++)
            {
                var snapshot = await (cursor % 2 == 0 ? nodeA : nodeB).GetChangesAsync(user, cursor, 1000);
                Assert.Equal(max, snapshot.Version);
                var got = snapshot.Changes.SelectMany(c => c.Messages).Select(m => (m.ConversationId, m.Seq, m.Version)).ToList();
                var expected = mine.Where(m => m.Version > cursor).Select(m => (m.ConversationId, m.Seq, m.Version)).ToList();
                Assert.Equal(expected.Order(), got.Order());
                Assert.All(snapshot.Changes, c => Assert.False(c.Truncated));
            }
        }
    }

    [StoreFact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        var store = new PostgresMessageStore(Postgres.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetMaxVersionAsync());
    }
}
