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
        _store = new PostgresMessageStore(_postgres.Open(configure: o =>
        {
            o.AfterMemberCompactionRange = (_, ct) => _betweenRanges?.Invoke(ct) ?? Task.CompletedTask;
            o.MemberImportPages = 0; // imports into rows: these tests compact a row delta (PostgresMemberImportTests: into pages)
        }));
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

    /// <summary>
    /// Migration 27 on a schema of version 26 (pages written by version 26's compaction, and rows beside them: changed
    /// members who win over their slots and new members): compact_member_pages is gone, the compaction then writes through
    /// member_pages_write, and every member's every value (read through members_of_conv, before and after) is kept; the
    /// pages hold at most 128 members each, in order, and compacted_version is the highest feed version moved.
    /// </summary>
    [StoreFact]
    public async Task Migration27_OnASchemaOfVersion26WithPagesAndRows_DropsTheDeadFunction_TheCompactionWritesThroughTheOneWriter_EveryValueKept()
    {
        var old = new TestPostgres();
        try
        {
            await old.ScalarAsync($"CREATE SCHEMA \"{old.Schema}\";");
            await old.ScalarAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
                + string.Concat(Internal.PostgresMigrations.All.Where(m => m.Version <= 26).Select(m => m.Script + $"; INSERT INTO schema_migrations (version) VALUES ({m.Version});"))
                + """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, max_seq, last_seq, read_diffusion)
                VALUES ('sg_old', 2, 'old', 'Old', 'owner', 1, 3, 341, 9, 9, true);
                INSERT INTO conversation_keys (conversation_id) VALUES ('sg_old');
                INSERT INTO groups (group_id, conversation_id, name, avatar_url, introduction, announcement, ex, owner_id, join_policy, history_visible,
                                    mute_all, searchable, dismissed, created_at, updated_at, info_version, kind)
                VALUES ('old', 'sg_old', 'Old', '', '', '', '{}', 'owner', 0, false, false, true, false, 1, 3, 3, 1);
                -- 300 members in rows, every column varied, packed by version 26's compaction.
                INSERT INTO members (conv_key, user_id, read_seq, feed_version, muted_until, joined_at, visible_from, info_version, mention_seq, role,
                                     pinned, muted, mentions_only, active, read_diffusion, nickname, inviter_id)
                SELECT k.conv_key, 'm' || lpad(i::text, 4, '0'), i % 9, 100 + i, i * 7, 1000 + i, 1 + i % 5, 50 + i, i % 4, i % 3,
                       i % 2 = 0, i % 5 = 0, i % 7 = 0, i % 11 <> 0, true, CASE WHEN i % 3 = 0 THEN 'nick' || i ELSE '' END, 'inv' || (i % 13)
                FROM conversation_keys k, generate_series(1, 300) i WHERE k.conversation_id = 'sg_old';
                SELECT compact_member_range(k.conv_key, '', NULL, ARRAY(SELECT user_id FROM members m WHERE m.conv_key = k.conv_key))
                FROM conversation_keys k WHERE k.conversation_id = 'sg_old';
                -- Then rows again: 40 changed members (a row wins over the slot) and 40 new ones, spread over the pages.
                INSERT INTO members (conv_key, user_id, read_seq, feed_version, muted_until, joined_at, visible_from, info_version, mention_seq, role,
                                     pinned, muted, mentions_only, active, read_diffusion, nickname, inviter_id)
                SELECT k.conv_key, 'm' || lpad(i::text, 4, '0') || CASE WHEN i % 2 = 0 THEN '' ELSE 'x' END, 9, 500 + i, 0, 2000 + i, 9, 500 + i, 1, 1,
                       true, true, true, true, true, 'changed' || i, 'later'
                FROM conversation_keys k, generate_series(3, 240, 3) i WHERE k.conversation_id = 'sg_old';
                """);
            const string Members = "SELECT s.* FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) s WHERE k.conversation_id = 'sg_old' ORDER BY s.user_id COLLATE \"C\"";
            var before = await AllRowsAsync(old, Members);
            Assert.Equal(340, before.Count);
            var rows = await RowsOfAsync(old, "sg_old");
            Assert.Equal(80L, rows);

            var store = new PostgresMessageStore(old.Open());
            await store.InitializeAsync();
            Assert.Equal(0L, Convert.ToInt64(await old.ScalarAsync($"SELECT COUNT(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{old.Schema}' AND p.proname = 'compact_member_pages'"), CultureInfo.InvariantCulture));
            Assert.Equal(1L, Convert.ToInt64(await old.ScalarAsync($"SELECT COUNT(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '{old.Schema}' AND p.proname = 'member_pages_write'"), CultureInfo.InvariantCulture));
            Assert.Equal(before, await AllRowsAsync(old, Members)); // the migration moves nothing

            Assert.Equal(80, await store.CompactSuperGroupAsync("sg_old"));
            Assert.Equal(0L, await RowsOfAsync(old, "sg_old"));
            Assert.Equal(before, await AllRowsAsync(old, Members));
            Assert.Equal(740L, Convert.ToInt64(await old.ScalarAsync("SELECT compacted_version FROM groups WHERE group_id = 'old'"), CultureInfo.InvariantCulture));
            // Pages of at most 128, each keyed by its first user, in order, not overlapping.
            Assert.Equal(0L, Convert.ToInt64(await old.ScalarAsync(
                """
                SELECT COUNT(*) FROM (SELECT p.first_user, p.user_ids, lead(p.first_user) OVER (ORDER BY p.first_user) AS next FROM member_pages p) x
                WHERE cardinality(x.user_ids) > 128 OR x.user_ids[1] <> x.first_user OR x.user_ids[cardinality(x.user_ids)] >= x.next
                   OR x.user_ids <> ARRAY(SELECT u FROM unnest(x.user_ids) u ORDER BY u COLLATE "C")
                """), CultureInfo.InvariantCulture));
            var members = (await store.GetMembersAsync("sg_old")).ToDictionary(m => m.UserId);
            Assert.Equal("changed6", members["m0006"].Nickname); // the row won over the slot
            Assert.Equal("changed3", members["m0003x"].Nickname); // a new member, from its row
            Assert.Equal("nick9", members["m0009"].Nickname); // a slot of version 26's pages
        }
        finally
        {
            await old.DisposeAsync();
        }
    }

    private static async Task<long> RowsOfAsync(TestPostgres postgres, string conversationId) =>
        Convert.ToInt64(await postgres.ScalarAsync($"SELECT COUNT(*) FROM members m JOIN conversation_keys k USING (conv_key) WHERE k.conversation_id = '{conversationId}'"), CultureInfo.InvariantCulture);

    private static async Task<List<string>> AllRowsAsync(TestPostgres postgres, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { SearchPath = postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join('|', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        }

        return rows;
    }
}
