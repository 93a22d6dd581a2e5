using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// Compaction of packed super-group members by ranges of pages (ADR 0021, amendment of stop 33, migration 26): the bound
/// (1,000 rows and 5 % of the members) triggers it and nothing below it does; it runs in short transactions, so commits
/// of the group (messages, read cursors, joins) go through between them, and no value is lost.
/// </summary>
public sealed class PostgresMemberCompactionTests : IAsyncLifetime
{
    private readonly TestPostgres _postgres = new();
    private PostgresMessageStore _store = null!;
    private long _version;
    private Func<CancellationToken, Task>? _betweenRanges;

    public async Task InitializeAsync()
    {
        _store = new PostgresMessageStore(_postgres.Open(configure: o => o.AfterMemberCompactionRange = (_, ct) => _betweenRanges?.Invoke(ct) ?? Task.CompletedTask));
        await _store.InitializeAsync();
    }

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    private long Next() => Interlocked.Increment(ref _version);

    private async Task CommitAsync(Action<CommitBatch> fill)
    {
        var batch = new CommitBatch();
        fill(batch);
        await _store.CommitAsync(batch);
    }

    private static string User(int i) => "m" + i.ToString("D5", CultureInfo.InvariantCulture);

    private static MemberChange Joined(string conversationId, string userId, long version, MemberRole role = MemberRole.Member) =>
        new(conversationId, userId, role, "nick-" + userId, 0, 1000 + userId.Length, "inviter-" + userId[^1..], true, 1, 0, version);

    // A super group of the owner and `members` users m00001.., imported in chunks of 1,000 (one commit each), as a bulk job.
    private async Task CreateSuperGroupAsync(string id, int members)
    {
        var version = Next();
        await CommitAsync(b =>
        {
            b.Conversations.Add(new NewConversation(id, ConversationKind.Group, "g-" + id, "Super " + id, "owner", 1000, ["owner"], version));
            b.Groups.Add(new GroupRecord("g-" + id, id, "Super " + id, "", "", "", "{}", "owner", GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, members + 1, version)
            {
                Kind = GroupKind.Super,
            });
            b.MemberChanges.Add(Joined(id, "owner", version, MemberRole.Owner));
        });
        foreach (var chunk in Enumerable.Range(1, members).Chunk(1000))
        {
            var v = Next();
            await CommitAsync(b => b.MemberChanges.AddRange(chunk.Select(i => Joined(id, User(i), v))));
        }

        await _postgres.ScalarAsync($"UPDATE conversations SET member_count = {members + 1} WHERE conversation_id = '{id}'");
    }

    private async Task ReadAsync(string conversationId, IEnumerable<int> users, long seq)
    {
        var version = Next();
        await CommitAsync(b => b.ReadCursors.AddRange(users.Select(i => new ReadCursorUpdate(conversationId, User(i), seq, version))));
    }

    private async Task<long> RowsAsync(string conversationId) =>
        Convert.ToInt64(await _postgres.ScalarAsync($"SELECT COUNT(*) FROM members m JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'"), CultureInfo.InvariantCulture);

    private async Task<long> SlotsAsync(string conversationId) =>
        Convert.ToInt64(await _postgres.ScalarAsync($"SELECT COALESCE(SUM(cardinality(p.user_ids)), 0) FROM member_pages p JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'"), CultureInfo.InvariantCulture);

    [StoreFact]
    public async Task Bound_OneThousandRowsAndFivePercent_TriggersTheCompaction_NothingBelowItDoes()
    {
        // 1,001 members, all rows (an import): over both arms of the bound.
        await CreateSuperGroupAsync("b1", 1000);
        Assert.Equal(["b1"], await _store.GetSuperGroupsDueForCompactionAsync(10));
        Assert.Equal(1001, await _store.CompactSuperGroupIfDueAsync("b1"));
        Assert.Equal((0L, 1001L), (await RowsAsync("b1"), await SlotsAsync("b1")));
        Assert.Empty(await _store.GetSuperGroupsDueForCompactionAsync(10));

        // 999 changed members (rows again): below 1,000 rows, though far over 5 %.
        await ReadAsync("b1", Enumerable.Range(1, 999), 7);
        Assert.Empty(await _store.GetSuperGroupsDueForCompactionAsync(10));
        Assert.Equal(0, await _store.CompactSuperGroupIfDueAsync("b1"));
        Assert.Equal(999L, await RowsAsync("b1"));

        // The 1,000th row reaches the bound.
        await ReadAsync("b1", [1000], 7);
        Assert.Equal(["b1"], await _store.GetSuperGroupsDueForCompactionAsync(10));
        Assert.Equal(1000, await _store.CompactSuperGroupIfDueAsync("b1"));
        Assert.Equal(0L, await RowsAsync("b1"));
        Assert.All(await _store.GetMembersAsync("b1"), m => Assert.Equal(m.UserId == "owner" ? 0L : 7L, m.ReadSeq));

        // 21,000 members: 5 % is 1,050 rows. 1,049 rows (over 1,000) stay; the 1,050th triggers it.
        await CreateSuperGroupAsync("b2", 20_999);
        Assert.True(await _store.CompactSuperGroupAsync("b2") > 20_000);
        await ReadAsync("b2", Enumerable.Range(1, 1049).Select(i => i * 20), 3);
        Assert.Equal(0, await _store.CompactSuperGroupIfDueAsync("b2"));
        Assert.Empty(await _store.GetSuperGroupsDueForCompactionAsync(10));
        Assert.Equal(1049L, await RowsAsync("b2"));
        await ReadAsync("b2", [20_999], 3);
        Assert.Equal(["b2"], await _store.GetSuperGroupsDueForCompactionAsync(10));
        Assert.Equal(1050, await _store.CompactSuperGroupIfDueAsync("b2"));
        Assert.Equal((0L, 21_000L), (await RowsAsync("b2"), await SlotsAsync("b2")));
        var read = (await _store.GetMembersByIdsAsync("b2", [User(20), User(21), User(20_980), User(20_999)])).ToDictionary(m => m.Member.UserId, m => m.Member.ReadSeq);
        Assert.Equal([3L, 0L, 3L, 3L], new[] { User(20), User(21), User(20_980), User(20_999) }.Select(u => read[u]));
    }

    [StoreFact]
    public async Task Compaction_RunsInShortTransactions_CommitsOfTheGroupGoThroughBetweenThem_GaplessAndNoValueLost()
    {
        // 10,001 members, all rows: the first compaction moves them in capped passes (4,096 rows a transaction), the
        // second (a spread delta) range by range (32 pages a transaction).
        await CreateSuperGroupAsync("big", 10_000);
        var expected = (await _store.GetMembersAsync("big")).ToDictionary(m => m.UserId);
        var seq = 0L;

        // Between two transactions of the compaction: a message of the group (its sender's cursor), read cursors of a
        // member in a range already moved and of one not yet, and a join. Each must commit while the compaction runs; a
        // commit blocked for the compaction's whole length would never return here (the guard turns that into a failure).
        var calls = 0;
        async Task BetweenRangesAsync(CancellationToken ct)
        {
            var call = ++calls;
            var s = ++seq;
            var version = Next();
            var joiner = "new" + call.ToString("D3", CultureInfo.InvariantCulture);
            var (early, late) = (User(call), User(10_001 - call));
            await CommitAsync(b =>
            {
                b.ReadDiffusion.Add("big");
                b.Messages.Add(new StoredMessage("big", s, "s-big-" + s, "owner", "c-big-" + s, 2000 + s, 1, System.Text.Encoding.UTF8.GetBytes("m" + s), false, version));
                b.ReadCursors.Add(new ReadCursorUpdate("big", early, s, version));
                b.ReadCursors.Add(new ReadCursorUpdate("big", late, s, version));
                b.MemberChanges.Add(Joined("big", joiner, version));
            }).WaitAsync(TimeSpan.FromMinutes(2), ct);
            expected["owner"] = expected["owner"] with { ReadSeq = s, FeedVersion = version };
            expected[early] = expected[early] with { ReadSeq = s, FeedVersion = version };
            expected[late] = expected[late] with { ReadSeq = s, FeedVersion = version };
            expected[joiner] = (await _store.GetMembersByIdsAsync("big", [joiner], ct)).Single().Member;
        }

        _betweenRanges = BetweenRangesAsync;
        var first = await _store.CompactSuperGroupAsync("big");
        var firstCalls = calls;
        Assert.True(firstCalls >= 3, $"{firstCalls} transactions"); // 10,001 rows in passes of at most 4,096
        Assert.True(first >= 10_001, $"{first} rows moved");

        // A spread delta: every 7th member's cursor; then a compaction range by range, with commits between the ranges.
        await ReadAsync("big", Enumerable.Range(1, 10_000).Where(i => i % 7 == 0), 1);
        foreach (var i in Enumerable.Range(1, 10_000).Where(i => i % 7 == 0))
        {
            expected[User(i)] = expected[User(i)] with { ReadSeq = Math.Max(expected[User(i)].ReadSeq, 1) };
        }

        Assert.True(await _store.CompactSuperGroupAsync("big") >= 1428);
        Assert.True(calls - firstCalls >= 3, $"{calls - firstCalls} transactions"); // 79 pages: three ranges of 32
        _betweenRanges = null;

        // Every value: now (rows of the commits between ranges, else slots), and after a last compaction (slots only).
        foreach (var step in new[] { "rows and slots", "slots" })
        {
            if (step == "slots")
            {
                await _store.CompactSuperGroupAsync("big");
                Assert.Equal(0L, await RowsAsync("big"));
            }

            var now = (await _store.GetMembersAsync("big")).ToDictionary(m => m.UserId);
            Assert.Equal(expected.Count, now.Count);
            Assert.All(expected.Values, m => Assert.Equal(m with { FeedVersion = 0 }, now[m.UserId] with { FeedVersion = 0 }));
            Assert.Equal(seq, (await _store.GetConversationAsync("big"))!.MaxSeq);
            var messages = (await _store.GetChangesAsync(User(5000), 0, 1000)).Changes.Single(c => c.Conversation.ConversationId == "big").Messages;
            Assert.Equal(Enumerable.Range(1, (int)seq).Select(i => (long)i), messages.Select(m => m.Seq)); // gapless, in order
        }
    }

    [StoreFact]
    public async Task Compaction_WhileAnotherWriterCommitsWithoutPause_EveryCommitLands_Gapless()
    {
        await CreateSuperGroupAsync("busy", 6000);
        using var stop = new CancellationTokenSource();
        var sent = 0L;
        var writer = Task.Run(async () =>
        {
            // Messages of the group and its members' read cursors, one commit after the other, until the compactions end.
            while (!stop.IsCancellationRequested || sent < 3)
            {
                var s = sent + 1;
                var version = Next();
                await CommitAsync(b =>
                {
                    b.ReadDiffusion.Add("busy");
                    b.Messages.Add(new StoredMessage("busy", s, "s-busy-" + s, "owner", "c-busy-" + s, 2000 + s, 1, [1], false, version));
                    b.ReadCursors.Add(new ReadCursorUpdate("busy", User((int)(((s * 37) % 6000) + 1)), s, version));
                });
                sent = s;
            }
        });

        await _store.CompactSuperGroupAsync("busy");
        await ReadAsync("busy", Enumerable.Range(1, 6000).Where(i => i % 3 == 0), 0);
        await _store.CompactSuperGroupAsync("busy");
        await stop.CancelAsync();
        await writer;

        Assert.Equal(sent, (await _store.GetConversationAsync("busy"))!.MaxSeq);
        var messages = (await _store.GetChangesAsync("owner", 0, 100_000)).Changes.Single(c => c.Conversation.ConversationId == "busy").Messages;
        Assert.Equal(Enumerable.Range(1, (int)sent).Select(i => (long)i), messages.Select(m => m.Seq));
        var members = (await _store.GetMembersAsync("busy")).ToDictionary(m => m.UserId);
        Assert.Equal(6001, members.Count);
        for (var s = 1L; s <= sent; s++)
        {
            // The last cursor written per member wins (cursors only rise).
            var user = User((int)(((s * 37) % 6000) + 1));
            Assert.True(members[user].ReadSeq >= s, $"{user} read {members[user].ReadSeq}, wrote {s}");
        }

        Assert.Equal(sent, members["owner"].ReadSeq);
        Assert.All(members.Values, m => Assert.Equal("nick-" + m.UserId, m.Nickname));
    }
}
