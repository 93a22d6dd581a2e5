using System.Globalization;
using System.Text.Json;
using Npgsql;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Xunit.Abstractions;

using static Parley.Storage.Postgres.Tests.SuperGroupCommits;

namespace Parley.Storage.Postgres.Tests;

/// <summary>
/// The sync of packed super-group members (ADR 0021, amendment of stop 35, migration 29): a resume finds a member's own
/// changes that a compaction moved into the pages through the groups compacted since the cursor, and edits through the
/// groups edited since it, probing the user's slot in those only; a fresh sync, or a cursor older than
/// <see cref="PostgresStoreOptions.SyncChangedGroupProbes"/> changed groups, reads every slot of the user through the GIN.
/// Both ways must give the same answer for every cursor; the first costs the changed groups, not the user's groups.
/// </summary>
public sealed class PostgresMemberSyncTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestPostgres _postgres = new();
    private PostgresMessageStore _store = null!;
    private PostgresMessageStore _throughGin = null!;
    private SuperGroupCommits _g = null!;

    public async Task InitializeAsync()
    {
        _store = new PostgresMessageStore(_postgres.Open());
        await _store.InitializeAsync();
        _g = new SuperGroupCommits(_store, _postgres);

        // The same schema read the other way: one changed group is already too many to probe (every slot through the GIN).
        _throughGin = new PostgresMessageStore(_postgres.Open(configure: o => o.SyncChangedGroupProbes = 1));
        await _throughGin.InitializeAsync();
    }

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    // What a sync answers, as text that compares by value (views and their messages: seq, version, content).
    private static List<string> Describe(SyncSnapshot snapshot) =>
        [.. snapshot.Changes.Select(c =>
        {
            var v = c.Conversation;
            var messages = string.Join(',', c.Messages.Select(m => $"{m.Seq}@{m.Version}:{System.Text.Encoding.UTF8.GetString(m.Content)}"));
            return $"{v.ConversationId} max={v.MaxSeq} read={v.ReadSeq} pinned={v.Pinned} muted={v.Muted} mentionsOnly={v.MentionsOnly} mention={v.MentionSeq} "
                + $"count={v.MemberCount} last={v.LastMessage?.Seq} [{messages}] truncated={c.Truncated}";
        })];

    // Every cursor from 0 to the newest version, for every user: the probes of the changed groups and the GIN agree, and
    // the cluster's gap check (UsersChangedSinceAsync, both ways) names exactly the users whose sync brings a change.
    private async Task AssertBothWaysAgreeAsync(IReadOnlyList<string> users, string stage)
    {
        var top = await _store.GetMaxVersionAsync();
        for (var cursor = 0L; cursor <= top; cursor++)
        {
            var changed = new List<string>();
            foreach (var user in users)
            {
                var probed = Describe(await _store.GetChangesAsync(user, cursor, 10));
                var gin = Describe(await _throughGin.GetChangesAsync(user, cursor, 10));
                Assert.True(gin.SequenceEqual(probed), $"{stage}: {user} from {cursor}:\n probed {string.Join("\n        ", probed)}\n gin    {string.Join("\n        ", gin)}");
                if (probed.Count > 0)
                {
                    changed.Add(user);
                }
            }

            changed.Sort(StringComparer.Ordinal);
            foreach (var store in new[] { _store, _throughGin })
            {
                var named = (await store.UsersChangedSinceAsync(users, cursor + 1)).Order(StringComparer.Ordinal).ToList();
                Assert.True(changed.SequenceEqual(named), $"{stage}: from {cursor + 1} the sync changes for [{string.Join(", ", changed)}], the query named [{string.Join(", ", named)}]");
            }
        }
    }

    private async Task<List<ConversationChange>> ResumeAsync(string user, long cursor) => [.. (await _store.GetChangesAsync(user, cursor, 10)).Changes];

    [StoreFact]
    public async Task Resume_AMembersOwnChangeMovedIntoPages_IsSeenBelowItsVersionAndNotAboveIt()
    {
        var users = new[] { "owner", "a", "b", "c", "d", "e", "f" };
        await _g.CreateSuperGroupAsync("sg", "owner", ["a", "b", "c", "d", "e"]);
        await _g.SendAsync("sg", 1, "owner");
        await _g.SendAsync("sg", 2, "owner");
        await _g.SendAsync("sg", 3, "owner");
        await _store.CompactSuperGroupAsync("sg");
        Assert.Equal(0L, await _g.RowsAsync("sg"));
        var settled = await _store.GetMaxVersionAsync();
        foreach (var user in users)
        {
            Assert.Empty(await ResumeAsync(user, settled));
        }

        // Each member's own change, then a compaction that moves it out of the row table into the pages.
        async Task<long> ChangeAndCompactAsync(Action<CommitBatch, long> change)
        {
            var version = _g.Next();
            await _g.CommitAsync(b => change(b, version));
            await AssertBothWaysAgreeAsync(users, $"rows, change at {version}");
            await _store.CompactSuperGroupAsync("sg");
            Assert.Equal(0L, await _g.RowsAsync("sg"));
            return version;
        }

        var read = await ChangeAndCompactAsync((b, v) => b.ReadCursors.Add(new ReadCursorUpdate("sg", "a", 2, v)));
        var settings = await ChangeAndCompactAsync((b, v) => b.Settings.Add(new MemberSettingsUpdate("sg", "b", true, true, v) { MentionsOnly = true }));
        var role = await ChangeAndCompactAsync((b, v) => b.MemberChanges.Add(Joined("sg", "d", v, MemberRole.Admin)));
        var kick = await ChangeAndCompactAsync((b, v) => b.MemberChanges.Add(Joined("sg", "e", v) with { Active = false, VisibleTo = 3 }));
        var join = await ChangeAndCompactAsync((b, v) => b.MemberChanges.Add(Joined("sg", "f", v, visibleFrom: 4) with { ReadSeqFloor = 3 }));
        Assert.True(await _postgres.ScalarAsync("SELECT compacted_version FROM groups WHERE group_id = 'g-sg'") is long compacted && compacted >= join);

        // Below the change's version the resume has it, with the values the change wrote; at or above it, nothing.
        var a = Assert.Single(await ResumeAsync("a", read - 1));
        Assert.Equal(("sg", 2L, 3L), (a.Conversation.ConversationId, a.Conversation.ReadSeq, a.Conversation.MaxSeq));
        var b = Assert.Single(await ResumeAsync("b", settings - 1)).Conversation;
        Assert.Equal((true, true, true), (b.Pinned, b.Muted, b.MentionsOnly));
        Assert.Equal("sg", Assert.Single(await ResumeAsync("d", role - 1)).Conversation.ConversationId);
        var e = Assert.Single(await ResumeAsync("e", kick - 1));
        Assert.Equal(3L, e.Conversation.MaxSeq);
        var f = Assert.Single(await ResumeAsync("f", 0));
        Assert.Equal((3L, 3L, 0), (f.Conversation.MaxSeq, f.Conversation.ReadSeq, f.Messages.Count));
        Assert.Equal("sg", Assert.Single(await ResumeAsync("f", join - 1)).Conversation.ConversationId);
        foreach (var (user, version) in new[] { ("a", read), ("b", settings), ("d", role), ("e", kick), ("f", join) })
        {
            Assert.Empty(await ResumeAsync(user, version));
            Assert.Empty(await ResumeAsync(user, await _store.GetMaxVersionAsync()));
        }

        // A message and an edit after the removal: the members see them; the removed member sees nothing after his removal.
        await _g.SendAsync("sg", 4, "owner");
        var edit = _g.Version + 1;
        await _g.EditAsync("sg", 2);
        await _store.CompactSuperGroupAsync("sg");
        Assert.Empty(await ResumeAsync("e", kick));
        Assert.All((await ResumeAsync("e", kick - 1)).SelectMany(c => c.Messages), m => Assert.True(m.Seq <= 3));
        Assert.Equal(3L, Assert.Single(await ResumeAsync("e", 0)).Conversation.MaxSeq);
        var c = (await ResumeAsync("c", edit - 1)).DistinctBy(x => x.Conversation.ConversationId).Single();
        Assert.Contains(c.Messages, m => m.Seq == 2 && System.Text.Encoding.UTF8.GetString(m.Content) == "edited 2");
        Assert.Equal([4L], (await ResumeAsync("f", join)).SelectMany(x => x.Messages).Select(m => m.Seq).Distinct().Order());

        // The whole history, every cursor, every user: the probes of the changed groups answer what the GIN answers.
        await AssertBothWaysAgreeAsync(users, "compacted");
    }

    /// <summary>
    /// The cost (issue 12: "resume of a user who is in 500 groups of which 5 changed: cost proportional to the 5"): a user in
    /// N packed super groups, K of which changed since the cursor (new messages, the user's own read cursor and settings
    /// compacted into pages, an edit). The packed pages the resume's two member statements read (EXPLAIN ANALYZE, tuples of
    /// member_pages over all loops) follow K; the statements as they were before migration 29 (every slot of the user
    /// through the GIN) read N pages each. N is 60 here (PARLEY_SYNC_COST_GROUPS sets it: docs/performance.md used 500).
    /// </summary>
    [StoreFact]
    public async Task Resume_OfAUserInManyPackedSuperGroups_ReadsPagesInProportionToTheChangedOnes()
    {
        var groups = int.TryParse(Environment.GetEnvironmentVariable("PARLEY_SYNC_COST_GROUPS"), CultureInfo.InvariantCulture, out var n) ? n : 60;
        var ids = Enumerable.Range(0, groups).Select(i => "sg" + i.ToString("D4", CultureInfo.InvariantCulture)).ToList();
        foreach (var id in ids)
        {
            // A full page of 128 members each (the user, the owner and 126 others), written into the pages by the import.
            await _g.CreateSuperGroupAsync(id, "owner", ["u", .. Enumerable.Range(0, 126).Select(i => $"m{i:D3}-{id}")]);
            await _g.SendAsync(id, 1, "owner");
            await _store.CompactSuperGroupAsync(id);
        }

        Assert.Equal(0L, Convert.ToInt64(await _postgres.ScalarAsync("SELECT COUNT(*) FROM members"), CultureInfo.InvariantCulture));
        await _postgres.ScalarAsync("ANALYZE;");
        var cursor = await _store.GetMaxVersionAsync();

        // K = 5 changed: two with a message, the user's own read cursor and settings (compacted into the pages), an edit.
        await _g.SendAsync(ids[3], 2, "owner");
        await _g.SendAsync(ids[17], 2, "owner");
        await _g.CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate(ids[25], "u", 1, _g.Next())));
        await _g.CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate(ids[40], "u", true, null, _g.Next())));
        await _store.CompactSuperGroupAsync(ids[25]);
        await _store.CompactSuperGroupAsync(ids[40]);
        await _g.EditAsync(ids[51], 1);
        var changed = new[] { ids[3], ids[17], ids[25], ids[40], ids[51] };
        Assert.Equal(changed.Order(StringComparer.Ordinal), (await ResumeAsync("u", cursor)).Select(c => c.Conversation.ConversationId).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(
            Describe(await _throughGin.GetChangesAsync("u", cursor, 10)),
            Describe(await _store.GetChangesAsync("u", cursor, 10)));

        var now = await CostAsync(PostgresMessageStore.ChangedViewsSql, PostgresMessageStore.AdvancedSuperGroupsSql, cursor, 256);
        var before = await CostAsync(
            Internal.PostgresRows.ViewSelect + " AND (m.feed_version > $2 OR (m.active AND c.change_version > $2)) AND $3 >= 0;",
            Internal.PostgresRows.ViewSelect + """
                 AND m.active AND m.feed_version <= $2 AND $3 >= 0
                 AND m.conv_key IN (SELECT hk.conv_key FROM conversations h JOIN conversation_keys hk ON hk.conversation_id = h.conversation_id
                                    WHERE h.read_diffusion AND h.head_version > $2);
                """,
            cursor,
            256);
        var gin = await CostAsync(PostgresMessageStore.ChangedViewsSql, PostgresMessageStore.AdvancedSuperGroupsSql, cursor, 1);
        var figures = $"{groups} groups, 5 changed: pages read now {now.Pages} ({now.Buffers} buffers), through the GIN {gin.Pages} ({gin.Buffers}), "
            + $"before migration 29 {before.Pages} ({before.Buffers})";
        output.WriteLine(figures);

        // Now: a probe per changed group (3 for the compactions and the edit, 2 for the messages), not per group of the user.
        Assert.True(now.Pages <= 2 * changed.Length, figures);
        Assert.True(before.Pages >= groups && gin.Pages >= groups, figures);
        Assert.True(now.Buffers * 2 < before.Buffers, figures);
    }

    // The member_pages tuples the sync's two member statements read (all loops) and the shared buffers of those pages, as
    // EXPLAIN (ANALYZE, BUFFERS) counts them with the store's parameters.
    private async Task<(long Pages, long Buffers)> CostAsync(string changedSql, string advancedSql, long cursor, int probes)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { SearchPath = _postgres.Schema }.ConnectionString);
        await connection.OpenAsync();

        // The plans of tables at a real size: on these 60-row tables the planner may scan member_pages whole instead of its
        // primary key (stop 46's CI 1, on a fresh cluster: 214 buffers for the 5 pages read, against 20 through the index),
        // which says nothing about the statements. Scans stay possible where no index serves (the GIN statements' own).
        await using (var plans = new NpgsqlCommand("SET enable_seqscan = off", connection))
        {
            await plans.ExecuteNonQueryAsync();
        }

        var (pages, buffers) = (0L, 0L);
        foreach (var sql in new[] { changedSql, advancedSql })
        {
            await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, connection);
            explain.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "u" });
            explain.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cursor });
            explain.Parameters.Add(new NpgsqlParameter<int> { TypedValue = probes });
            if (sql.Contains("$4", StringComparison.Ordinal))
            {
                explain.Parameters.Add(new NpgsqlParameter<int> { TypedValue = PostgresMessageStore.SyncEditedConversationProbes });
            }

            var json = (string)(await explain.ExecuteScalarAsync())!;
            if (Environment.GetEnvironmentVariable("PARLEY_SYNC_COST_PLANS") is { Length: > 0 } dump)
            {
                await File.AppendAllTextAsync(dump, $"-- probes {probes}\n{json}\n");
            }

            using var plan = JsonDocument.Parse(json);
            var root = plan.RootElement[0].GetProperty("Plan");
            pages += PagesRead(root);
            buffers += PageBuffers(root);
        }

        return (pages, buffers);

        // The shared buffers of the packed pages only: the member_pages scans (their index included) and the unnest of a
        // page's arrays (a Function Scan, which reads the TOASTed slots). The statements' other tables are left out: on
        // tables this small the planner's choice between a scan and an index (it differs between a fresh cluster and a
        // used one) moves their buffers by hundreds either way, while the pages' own follow the groups read.
        static long PageBuffers(JsonElement node)
        {
            if ((node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "member_pages")
                || node.GetProperty("Node Type").GetString() == "Function Scan")
            {
                return node.GetProperty("Shared Hit Blocks").GetInt64() + node.GetProperty("Shared Read Blocks").GetInt64();
            }

            var sum = 0L;
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    sum += PageBuffers(child);
                }
            }

            return sum;
        }

        static long PagesRead(JsonElement node)
        {
            var rows = 0L;
            if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "member_pages")
            {
                double Get(string name) => node.TryGetProperty(name, out var v) ? v.GetDouble() : 0;
                rows += (long)((Get("Actual Rows") + Get("Rows Removed by Filter") + Get("Rows Removed by Index Recheck")) * Math.Max(1, Get("Actual Loops")));
            }

            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    rows += PagesRead(child);
                }
            }

            return rows;
        }
    }
}
