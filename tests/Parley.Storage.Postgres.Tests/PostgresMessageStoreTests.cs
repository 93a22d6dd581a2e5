using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Xunit.Abstractions;

namespace Parley.Storage.Postgres.Tests;

/// <summary>The message store compliance suite against a real PostgreSQL server, and PostgreSQL-only checks.</summary>
public sealed class PostgresMessageStoreTests(ITestOutputHelper output) : PostgresComplianceFixture
{
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

    // Migration 30 (issue 17, stop 42): the write-diffusion delta indexes hold only rows with an info version, so a new 1:1
    // conversation writes no entry into them; the deltas, which name info_version > 0, answer as before.
    [StoreFact]
    public async Task DeltaIndexes_LeaveOutRowsWithoutAnInfoVersion_DeltasAnswerAsBefore()
    {
        foreach (var index in new[] { "ix_members_conv_info", "ix_members_user_info" })
        {
            var definition = (string)(await Postgres.ScalarAsync($"SELECT indexdef FROM pg_indexes WHERE schemaname = '{Postgres.Schema}' AND indexname = '{index}'"))!;
            Assert.EndsWith("WHERE ((NOT read_diffusion) AND (info_version > 0))", definition, StringComparison.Ordinal);
        }

        await CommitAsync(b => b.Conversations.Add(Direct("si_alice_bob", "alice", "bob")));
        await CommitAsync(b => b.Conversations.Add(Group("g_team", "alice", ["alice"])));
        await CommitAsync(b => b.Groups.Add(new GroupRecord("team", "g_team", "Team", "", "", "", "{}", "alice", GroupJoinPolicy.Free, false, false, true, false, 1, 1, 2, NextVersion())));
        var joined = NextVersion();
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("g_team", "bob", MemberRole.Member, "", 0, 1, "", true, 1, 0, joined)));
        Assert.Equal(0L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(*) FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'si_alice_bob' AND m.info_version > 0"), CultureInfo.InvariantCulture));

        var groups = (IGroupStore)Store;
        Assert.Equal(["team"], (await groups.GetGroupsDeltaAsync("bob", 0)).Upserts.Select(g => g.GroupId));
        Assert.Empty((await groups.GetGroupsDeltaAsync("bob", joined)).Upserts);
        Assert.Equal(["bob"], (await groups.GetMembersDeltaAsync("g_team", joined - 1)).Upserts.Select(m => m.UserId));
        Assert.Empty((await groups.GetMembersDeltaAsync("si_alice_bob", 0)).Upserts);
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

    // A cluster node that skips a gap in its live versions resyncs (4012) exactly the connected users the query names
    // (IFeedChangeQuery, ADR 0016), so it must name every user whose sync from a cursor below the gap brings something in
    // or after it. An edit or a reaction raises only the conversation's change version (ADR 0018) and a super group's
    // message only its head version (ADR 0017): the query used to look at the members' own feed versions alone, so a gap
    // holding only an edit resynced nobody and the members' next live event moved their cursors past it for good (issue
    // 11). Checked at every version against the sync itself.
    [StoreFact]
    public async Task UsersChangedSince_NamesExactlyTheUsersWhoseSyncBringsAChange_EditsReactionsAndSuperGroupMessagesIncluded()
    {
        string[] users = ["alice", "bob", "carol", "dave", "erin", "frank"];
        await CommitAsync(b => b.Conversations.Add(Direct("ab", "alice", "bob")));
        await CommitAsync(b => b.Conversations.Add(Direct("cd", "carol", "dave")));
        await CommitAsync(b => b.Messages.Add(Message("ab", 1, "alice")));
        await CommitAsync(b => b.Messages.Add(Message("cd", 1, "carol")));
        var super = Group("sg", "carol", ["carol", "erin", "dave"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(super);
            b.Groups.Add(new GroupRecord("g-sg", "sg", "Super sg", "", "", "", "{}", "carol", GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, 3, super.Version)
            {
                Kind = GroupKind.Super,
            });
            b.MemberChanges.AddRange(new[] { "carol", "erin", "dave" }.Select(u =>
                new MemberChange("sg", u, u == "carol" ? MemberRole.Owner : MemberRole.Member, "nick-" + u, 0, 1000, "", true, 1, 0, super.Version)));
        });
        await CommitAsync(b => b.MemberChanges.Add(new MemberChange("sg", "dave", MemberRole.Member, "nick-dave", 0, 1000, "", false, 1, 0, NextVersion())));
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("sg");
            b.Messages.Add(Message("sg", 1, "erin"));
        });
        var edit = NextVersion();
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("ab", 1, [], edit) { Content = Body("edited") }));
        var reaction = NextVersion();
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("cd", 1, [8, 1], reaction)));
        await CommitAsync(b => b.ReadCursors.Add(new ReadCursorUpdate("cd", "dave", 1, NextVersion())));
        var superMessage = NextVersion() + 1; // Message() below takes the next version
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("sg");
            b.Messages.Add(Message("sg", 2, "carol"));
        });

        var query = (IFeedChangeQuery)Store;
        var max = await Store.GetMaxVersionAsync();
        for (var version = 2L; version <= max + 1; version++)
        {
            var expected = new List<string>();
            foreach (var user in users)
            {
                if ((await Store.GetChangesAsync(user, version - 1, 10)).Changes.Count > 0)
                {
                    expected.Add(user);
                }
            }

            var named = (await query.UsersChangedSinceAsync(users, version)).Order(StringComparer.Ordinal).ToList();
            Assert.True(expected.SequenceEqual(named), $"from version {version}: the sync changes for [{string.Join(", ", expected)}], the query named [{string.Join(", ", named)}]");
        }

        // The cases the members' own feed versions miss, by name.
        Assert.Equal(["carol", "erin"], (await query.UsersChangedSinceAsync(users, superMessage)).Order(StringComparer.Ordinal));
        Assert.Equal(["carol", "dave", "erin"], (await query.UsersChangedSinceAsync(users, reaction)).Order(StringComparer.Ordinal));
        Assert.Equal(["alice", "bob", "carol", "dave", "erin"], (await query.UsersChangedSinceAsync(users, edit)).Order(StringComparer.Ordinal));
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

    [StoreFact]
    public async Task Migration23_KeysMembersByAnIntegerConversationKey_KeepsEveryRowAndValue_AndTheStoreReadsThemBack()
    {
        // A schema as version 22 left it: a 1:1 conversation, a normal group, a super group with an admin, a member who left
        // (closed period), and a member row whose conversation row is missing.
        var old = new TestPostgres();
        try
        {
            const string Columns = PostgresMemberLayouts.RowColumns;
            await old.ScalarAsync($"CREATE SCHEMA \"{old.Schema}\";");
            await old.ScalarAsync("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
                + string.Concat(Internal.PostgresMigrations.All.Where(m => m.Version <= 22).Select(m => m.Script + $"; INSERT INTO schema_migrations (version) VALUES ({m.Version});"))
                + """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, max_seq, last_seq, read_diffusion)
                VALUES ('si_alice_bob', 1, NULL, '', 'alice', 1, 1, 2, 3, 3, false), ('sg_norm', 2, 'norm', 'Norm', 'owner', 1, 2, 2, 5, 5, false),
                       ('sg_super', 2, 'super', 'Super', 'owner', 1, 3, 4, 9, 9, true);
                INSERT INTO members (conversation_id, user_id, read_seq, pinned, muted, mentions_only, feed_version, role, nickname, muted_until,
                                     joined_at, inviter_id, active, visible_from, info_version, mention_seq, read_diffusion)
                VALUES ('si_alice_bob', 'alice', 3, true, false, false, 4, 0, '', 0, 1, '', true, 1, 1, 0, false),
                       ('si_alice_bob', 'bob', 1, false, true, false, 3, 0, '', 0, 1, '', true, 1, 1, 0, false),
                       ('sg_norm', 'owner', 5, false, false, false, 6, 2, 'Boss', 0, 2, '', true, 1, 2, 0, false),
                       ('sg_norm', 'alice', 4, false, false, false, 6, 0, 'Al', 99, 7, 'owner', true, 1, 5, 0, false),
                       ('sg_super', 'owner', 9, false, false, false, 8, 2, '', 0, 3, '', true, 1, 8, 0, true),
                       ('sg_super', 'carol', 2, false, false, true, 7, 1, 'Carol', 0, 4, 'owner', true, 1, 7, 4, true),
                       ('sg_super', 'dave', 4, false, false, false, 9, 0, '', 0, 4, 'owner', false, 1, 9, 0, true),
                       ('sg_super', 'erin', 0, false, false, false, 5, 0, '', 0, 5, 'legacy', true, 6, 5, 0, true),
                       ('sg_super', 'alice', 2, false, false, false, 5, 0, '', 0, 5, 'owner', true, 3, 5, 0, true),
                       ('gone', 'zed', 1, false, false, false, 2, 0, '', 0, 1, '', true, 1, 1, 0, false);
                INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq) VALUES ('sg_super', 'dave', 1, 4);
                """);
            var before = await RowsAsync(old, $"SELECT conversation_id, {Columns} FROM members ORDER BY conversation_id COLLATE \"C\", user_id COLLATE \"C\"");
            Assert.Equal(10, before.Count);

            var store = new PostgresMessageStore(old.Open());
            await store.InitializeAsync();

            await MemberKeyMigrationChecks.StoreReadsAndWritesTheMigratedMembersAsync(store);

            Assert.Equal(0L, Convert.ToInt64(await old.ScalarAsync($"SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '{old.Schema}' AND table_name = 'members' AND column_name = 'conversation_id'"), CultureInfo.InvariantCulture));
            var after = await RowsAsync(old, MemberKeyMigrationChecks.KeyedRowsQuery(Columns, " COLLATE \"C\""));
            var carol = before.FindIndex(r => r.StartsWith("sg_super|carol|", StringComparison.Ordinal));
            before[carol] = before[carol].Replace("sg_super|carol|2|False|False|True|7|", "sg_super|carol|9|False|False|True|22|", StringComparison.Ordinal);
            Assert.Equal(before, after);
            Assert.Equal(13L, Convert.ToInt64(await old.ScalarAsync("SELECT COUNT(*) FROM members"), CultureInfo.InvariantCulture)); // 10 of version 22, sg_new's two, frank
            Assert.Equal(5L, Convert.ToInt64(await old.ScalarAsync("SELECT COUNT(*) FROM conversation_keys"), CultureInfo.InvariantCulture));
            Assert.True(Convert.ToInt64(await old.ScalarAsync("SELECT conv_key FROM conversation_keys WHERE conversation_id = 'sg_new'"), CultureInfo.InvariantCulture)
                > Convert.ToInt64(await old.ScalarAsync("SELECT MAX(conv_key) FROM conversation_keys WHERE conversation_id <> 'sg_new'"), CultureInfo.InvariantCulture));
        }
        finally
        {
            await old.DisposeAsync();
        }
    }

    [StoreFact]
    public async Task ConversationViews_OfAMemberOfALargeGroup_DoNotWalkTheGroupsOtherMembers()
    {
        // Issue 12, as SqliteMessageStoreTests': the conversation views joined a direct conversation's peer with
        // "c.kind = 1 AND p.conv_key = m.conv_key", which PostgreSQL ran as a join filter over the group's whole key range
        // (EXPLAIN at 100,000 members: 99,999 rows removed by the join filter, 21,106 buffers, 102 ms for one member's
        // view). The rows the sync statement's plan reads and throws away for a member of a 20,001-member group are
        // counted; a direct conversation's peer is still found.
        await CommitAsync(b => b.Conversations.Add(Group("big", "owner", [.. Enumerable.Range(0, 20_000).Select(i => "m" + i.ToString("D5", CultureInfo.InvariantCulture)), "u1"])));
        await CreateDirectAsync("d1", "u1", "peer1");
        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { SearchPath = Postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, COSTS OFF) " + Internal.PostgresRows.ViewSelect.Replace("$1", "'u1'", StringComparison.Ordinal), connection);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        var removed = plan.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"Rows Removed by (Join )?Filter: (\d+)")).Where(m => m.Success).Sum(m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.True(removed < 100, $"the view of a member of a 20,001-member group read and dropped {removed} rows:\n{string.Join('\n', plan)}");

        var view = (await Store.GetChangesAsync("u1", 0, 10)).Changes.Select(c => c.Conversation).ToDictionary(c => c.ConversationId, c => c.PeerUserId);
        Assert.Equal(new Dictionary<string, string?> { ["big"] = null, ["d1"] = "peer1" }, view);
    }

    private static async Task<List<string>> RowsAsync(TestPostgres postgres, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { SearchPath = postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(MemberKeyMigrationChecks.Row(reader));
        }

        return rows;
    }

    /// <summary>
    /// Issue 18: a search page reads a bounded number of message_search rows, however many messages the word matches. Every
    /// statement the store runs is explained (EXPLAIN ANALYZE, with the store's planner settings and parameters) and the
    /// rows its scans of message_search read are added up: a word 3,000 other messages match, searched in bob's
    /// conversation and across bob's conversations, and a word 2,000 of bob's own messages match, each with a window of 100.
    /// Before, the window was a top-N over every match (a bitmap scan of all 3,000 or 2,000 and a sort).
    /// </summary>
    [StoreFact]
    public async Task Search_APageReadsABoundedNumberOfRows_HoweverManyMessagesTheWordMatches()
    {
        await CreateDirectAsync("mine", "alice", "bob");
        await CreateDirectAsync("theirs", "carol", "dave");
        var time = 1000L;
        await CommitAsync(b =>
        {
            for (var s = 1; s <= 3; s++)
            {
                b.Messages.Add(Message("mine", s, "alice", serverTime: time++) with { SearchText = "needle " + s });
            }
        });
        for (var round = 0; round < 3; round++)
        {
            var first = round * 1000;
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first + 1, 1000).Select(s => Message("theirs", s, "carol", serverTime: time++) with { SearchText = "needle elsewhere " + s })));
        }

        for (var round = 0; round < 2; round++)
        {
            var first = 3 + (round * 1000);
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first + 1, 1000).Select(s => Message("mine", s, "bob", serverTime: time++) with { SearchText = "common word " + s })));
        }

        await Postgres.ScalarAsync("ANALYZE message_search;");
        var store = (PostgresMessageStore)Store;
        var statements = ObserveSearchStatements(store);
        Task<long> RowsReadAsync() => SearchRowsReadAsync(statements);

        // One conversation, a word common elsewhere: bob's three, from the index's conversation key.
        var one = await store.SearchAsync("bob", "mine", "needle", null, 21, maxScanned: 100);
        Assert.Equal([3L, 2L, 1L], one.Select(m => m.Message.Seq));
        var read = await RowsReadAsync();
        Assert.InRange(read, 3, 50);

        // All of bob's conversations: the newest 100 matches overall are carol's (a walk that stops there), then his own.
        var all = await store.SearchAsync("bob", null, "needle", null, 21, maxScanned: 100);
        Assert.Equal([3L, 2L, 1L], all.Select(m => m.Message.Seq));
        read = await RowsReadAsync();
        Assert.InRange(read, 3, 400);

        // A word 2,000 of bob's own messages match: the page walks his newest messages and stops at 21 hits.
        var common = await store.SearchAsync("bob", "mine", "common", null, 21, maxScanned: 100);
        Assert.Equal(Enumerable.Range(0, 21).Select(i => 2003L - i), common.Select(m => m.Message.Seq));
        read = await RowsReadAsync();
        Assert.InRange(read, 21, 400);

        // And the next page continues after its last hit.
        var last = common[^1].Message;
        var next = await store.SearchAsync("bob", "mine", "common", new SearchPosition(last.ServerTime, last.ConversationId, last.Seq), 21, maxScanned: 100);
        Assert.Equal(Enumerable.Range(21, 21).Select(i => 2003L - i), next.Select(m => m.Message.Seq));
        Assert.InRange(await RowsReadAsync(), 21, 400);
    }

    /// <summary>
    /// Issue 18: a word common in other users' conversations and rare in bob's costs a search across his conversations what
    /// his own data costs, not what the word's other matches cost: the message_search rows every statement reads (EXPLAIN
    /// ANALYZE, as above), with the server's window of 5,000, for a word only in bob's messages and for one also in 3,000
    /// and then 6,000 of carol's newer messages. Now the probe over all matches stops at 4 rows per row of the page (85),
    /// then only bob's conversations are searched. Before, the probe over all matches counted up to 5,001 and a word with
    /// fewer matches than the window was taken over every conversation: all 3,000 of carol's read (twice), then 5,001.
    /// </summary>
    [StoreFact]
    public async Task Search_AWordCommonInOtherUsersConversations_ReadsRowsInProportionToTheUsersOwn()
    {
        var store = (PostgresMessageStore)Store;
        var statements = ObserveSearchStatements(store);
        var (ownRead, commonRead, moreRead) = await SearchAWordCommonInOtherUsersConversationsAsync(
            indexedAsync: () => Postgres.ScalarAsync("ANALYZE message_search;"),
            costAsync: () => SearchRowsReadAsync(statements));
        store.SearchStatementObserver = null;

        // Bob's word: its 4 matches, probed and joined (8). The word carol's messages hold too: 85 for the probe over all,
        // then bob's 4 matches, probed and joined, however many carol has. Before: 6,008, then 5,009.
        var reads = $"rows read: bob's word {ownRead}, with carol's 3,000 {commonRead}, with carol's 6,000 {moreRead}";
        Assert.True(ownRead is >= 4 and <= 40, reads);
        Assert.True(commonRead is >= 4 and <= 85 + 40, reads);
        Assert.True(moreRead is >= 4 and <= 85 + 40, reads);
    }

    // Every search statement the store runs from now on (planner settings, SQL, parameters), for SearchRowsReadAsync.
    private static List<(string Settings, string Sql, Npgsql.NpgsqlParameter[] Parameters)> ObserveSearchStatements(PostgresMessageStore store)
    {
        var statements = new List<(string Settings, string Sql, Npgsql.NpgsqlParameter[] Parameters)>();
        store.SearchStatementObserver = (settings, sql, parameters) => statements.Add((settings, sql, [.. parameters.Select(p => p.Clone())]));
        return statements;
    }

    // The message_search rows the observed statements read: each explained (EXPLAIN ANALYZE, with the store's planner
    // settings and parameters), the rows of its scans of message_search added up (returned, filtered out, rechecked, per
    // loop); the list is cleared.
    private async Task<long> SearchRowsReadAsync(List<(string Settings, string Sql, Npgsql.NpgsqlParameter[] Parameters)> statements)
    {
        var total = 0L;
        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { SearchPath = Postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        foreach (var (settings, sql, parameters) in statements)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var set = new Npgsql.NpgsqlCommand(settings, connection, transaction))
            {
                await set.ExecuteNonQueryAsync();
            }

            await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, connection, transaction);
            explain.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
            var plan = System.Text.Json.JsonDocument.Parse((string)(await explain.ExecuteScalarAsync())!);
            total += RowsRead(plan.RootElement[0].GetProperty("Plan"));
            await transaction.RollbackAsync();
        }

        statements.Clear();
        return total;

        static long RowsRead(System.Text.Json.JsonElement node)
        {
            var rows = 0L;
            if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "message_search")
            {
                double Get(string name) => node.TryGetProperty(name, out var v) ? v.GetDouble() : 0;
                rows += (long)((Get("Actual Rows") + Get("Rows Removed by Filter") + Get("Rows Removed by Index Recheck")) * Math.Max(1, Get("Actual Loops")));
            }

            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    rows += RowsRead(child);
                }
            }

            return rows;
        }
    }

    // Pages through a search as the core does (a page of `page` hits asks for page + 1): the next page starts after the
    // page's last hit, or below the store's continuation when it gives one; `check` sees every page.
    private async Task<List<(string Conversation, long Seq)>> SearchAllAsync(string user, string? conversation, string word, int page, int maxScanned, Func<SearchMatchCollection, Task>? check = null, int maxPages = 1000)
    {
        var found = new List<(string, long)>();
        SearchPosition? cursor = null;
        for (var n = 0; n < maxPages; n++)
        {
            var matches = await Store.SearchAsync(user, conversation, word, cursor, page + 1, maxScanned);
            if (check is not null)
            {
                await check(matches);
            }

            found.AddRange(matches.Take(page).Select(m => (m.Message.ConversationId, m.Message.Seq)));
            if (matches.Count > page)
            {
                var last = matches[page - 1].Message;
                cursor = new SearchPosition(last.ServerTime, last.ConversationId, last.Seq);
            }
            else if (matches.ContinueBelow is { } below)
            {
                Assert.True(below.IsTimeCut);
                Assert.True(cursor is null || below.ServerTime < cursor.ServerTime || (below.ServerTime == cursor.ServerTime && !cursor.IsTimeCut), "the continuation moves the search on");
                cursor = below;
            }
            else
            {
                Assert.False(matches.ScanLimitReached, "a page stopped at its limit without a way on");
                return found;
            }
        }

        throw new InvalidOperationException($"more than {maxPages} pages");
    }

    /// <summary>
    /// Issue 18: a word 2,000 of bob's messages matched long ago, none of the 1,000 newest: every page reads a bounded
    /// number of message_search rows (the probe, at most 4 × the window of rows walked, and how far the walk got) and the
    /// pages that find nothing among the rows they may read come back empty with a time cut to continue below; followed,
    /// the pages return all 2,000 hits, newest first, each once (two messages per millisecond, so cuts fall inside a
    /// millisecond's rows). Before, such a page took its window from the GIN index: every match below the cursor read and
    /// sorted.
    /// </summary>
    [StoreFact]
    public async Task Search_AWordCommonLongAgo_EveryPageReadsABoundedNumberOfRows_AndATimeCutContinuesIt()
    {
        await CreateDirectAsync("mine", "alice", "bob");
        for (var round = 0; round < 3; round++)
        {
            var first = round * 1000;
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first + 1, 1000).Select(s =>
                Message("mine", s, s % 2 == 0 ? "alice" : "bob", serverTime: 10_000 + (s / 2)) with { SearchText = (s <= 2000 ? "ancient word " : "recent chatter ") + s.ToString(CultureInfo.InvariantCulture) })));
        }

        await Postgres.ScalarAsync("ANALYZE message_search;");
        var store = (PostgresMessageStore)Store;
        var statements = ObserveSearchStatements(store);
        var pages = 0;
        var empty = 0;
        var maxRead = 0L;
        async Task CheckAsync(SearchMatchCollection page)
        {
            if (pages++ < 15)
            {
                maxRead = Math.Max(maxRead, await SearchRowsReadAsync(statements));
            }
            else
            {
                statements.Clear();
            }

            empty += page.Count == 0 ? 1 : 0;
        }

        foreach (var conversation in new[] { "mine", null })
        {
            pages = empty = 0;
            maxRead = 0;
            var found = await SearchAllAsync("bob", conversation, "ancient", 20, maxScanned: 50, CheckAsync);
            Assert.Equal(Enumerable.Range(1, 2000).Reverse().Select(s => ("mine", (long)s)), found);

            // Window 50: the probes (51, and 51 more for the whole index's when searching all of bob's conversations), the
            // walk (200) and how far it got (200); the 1,000 newer rows take pages. Before: 2,000 more (the GIN top-N).
            Assert.InRange(maxRead, 20, 600);
            Assert.InRange(empty, 3, 6);
        }

        // Through a time cut, a word that is there only before it: the page starts below the cut.
        var cut = await Store.SearchAsync("bob", "mine", "word 1", SearchPosition.Before(10_000 + 6), 50, maxScanned: 50);
        Assert.Equal([11L, 10L, 1L], cut.Select(m => m.Message.Seq));
        store.SearchStatementObserver = null;
    }

    /// <summary>
    /// Issue 18: bob is in 250 conversations (more than one statement merges) and a word matches 8 old messages in each,
    /// none of the 1,000 newer ones, and 500 newer messages of carol's: every page reads a bounded number of message_search
    /// rows (the probes share one window, the walks 4 × the window), and the pages, followed, return all 2,000 of bob's
    /// hits, newest first, each once, and none of carol's. Before, a user in more than 200 conversations with a common
    /// word got a window from the GIN index: every match in his conversations read and sorted.
    /// </summary>
    [StoreFact]
    public async Task Search_AUserInManyConversations_EveryPageReadsABoundedNumberOfRows_AndFindsEveryHitOnce()
    {
        const int Mine = 250;
        static string Id(int c) => "bob-" + c.ToString("D3", CultureInfo.InvariantCulture);
        await CommitAsync(b =>
        {
            for (var c = 0; c < Mine; c++)
            {
                b.Conversations.Add(Direct(Id(c), "bob", "peer" + c.ToString(CultureInfo.InvariantCulture)));
            }

            b.Conversations.Add(Direct("theirs", "carol", "dave"));
        });
        var time = 10_000L;
        var expected = new List<(string, long)>();
        for (var s = 1; s <= 12; s++)
        {
            var seq = s;
            await CommitAsync(b =>
            {
                for (var c = 0; c < Mine; c++)
                {
                    // Three messages per millisecond, from different conversations.
                    b.Messages.Add(Message(Id(c), seq, "bob", serverTime: time + (c / 3)) with { SearchText = (seq <= 8 ? "needle " : "hay ") + seq.ToString(CultureInfo.InvariantCulture) });
                    if (seq <= 8)
                    {
                        expected.Add((Id(c), seq));
                    }
                }
            });
            time += 100;
        }

        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 500).Select(s => Message("theirs", s, "carol", serverTime: time + s) with { SearchText = "needle elsewhere" })));
        await Postgres.ScalarAsync("ANALYZE message_search;");
        expected = [.. expected.OrderByDescending(e => 10_000 + ((e.Item2 - 1) * 100) + (int.Parse(e.Item1[4..], CultureInfo.InvariantCulture) / 3)).ThenByDescending(e => e.Item1, StringComparer.Ordinal)];

        var store = (PostgresMessageStore)Store;
        var statements = ObserveSearchStatements(store);
        var pages = 0;
        var maxRead = 0L;
        async Task CheckAsync(SearchMatchCollection page)
        {
            if (pages++ < 15)
            {
                maxRead = Math.Max(maxRead, await SearchRowsReadAsync(statements));
            }
            else
            {
                statements.Clear();
            }
        }

        var found = await SearchAllAsync("bob", null, "needle", 20, maxScanned: 50, CheckAsync);
        Assert.Equal(expected, found);

        // Window 50: the whole index's probe (51), the chunks' probes (51 in all), and per chunk its walk of 100 rows and
        // how far it got, each merging one ordered range per conversation (a merge reads each range's first row: 200 and
        // 50): about 2 × (200 + 250) + 102 = 1,002. Before: the GIN top-N of all of bob's 2,000 matches and more.
        Assert.InRange(maxRead, 20, 1_100);
        store.SearchStatementObserver = null;
    }

    // The sync statement before stop 47 (pg): per conversation the newest $4 visible rows above the cursor, the planner's
    // choice of walk (the primary key down from the newest, or every row above the cursor sorted), visibility per row.
    private const string SyncMessagesBefore =
        "SELECT x.* FROM unnest($3::text[]) WITH ORDINALITY AS c(id, ord) CROSS JOIN LATERAL (SELECT " + Internal.PostgresRows.MessageColumns
        + " FROM messages msg WHERE msg.conversation_id = c.id AND msg.version > $2 AND"
        + " (EXISTS (SELECT 1 FROM conversation_keys vk CROSS JOIN LATERAL member_get(vk.conv_key, $1) vm"
        + " WHERE vk.conversation_id = msg.conversation_id AND vm.active AND msg.seq >= vm.visible_from)"
        + " OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))"
        + " ORDER BY msg.seq DESC LIMIT $4) AS x ORDER BY c.ord, x.seq;";

    /// <summary>
    /// The sync's messages (stop 47, pg): each conversation costs the rows it returns, not its history. A group of 2,600
    /// messages with edits of old rows and a revoke above the cursors, a member who left and came back (a closed period and
    /// a later visible_from), one who left (stop 48), a newcomer: for every user and cursor the rows are those of the statement
    /// before (same rows, same order), and with the plans at a real size (enable_seqscan off: a fresh cluster's planner may scan
    /// these small tables whole) a fresh device and a far cursor read about what they return (before: every row above the
    /// cursor, sorted, with a member lookup per row), a device a few messages behind a few dozen buffers, and so does a
    /// former member's fresh device (their period's rows).
    /// </summary>
    [StoreFact]
    public async Task SyncMessages_AtAnyCursor_ReturnTheRowsOfTheWalkBefore_AndReadWhatTheyReturn()
    {
        const int Limit = 201; // the server's 200 per conversation, + 1 to tell truncation
        await CommitAsync(b => b.Conversations.Add(Group("g", "a", ["a", "b", "c", "f"])));
        await CommitAsync(b => b.Conversations.Add(Direct("d", "a", "b")));
        var seq = 0L;
        async Task SendAsync(int count)
        {
            var batch = new CommitBatch();
            for (var i = 0; i < count; i++)
            {
                seq++;
                batch.Messages.Add(Message("g", seq, seq % 2 == 0 ? "a" : "b"));
                batch.Messages.Add(Message("d", seq, "a"));
            }

            await Store.CommitAsync(batch);
        }

        async Task MemberAsync(string user, bool active, long visibleFrom, long visibleTo) =>
            await CommitAsync(b => b.MemberChanges.Add(new MemberChange("g", user, MemberRole.Member, "", 0, 1000, "a", active, visibleFrom, visibleTo, NextVersion())));

        await SendAsync(800);
        await MemberAsync("c", false, 1, 800);
        await MemberAsync("f", false, 1, 800);
        await SendAsync(700);
        await MemberAsync("c", true, 1501, 0);
        await MemberAsync("n", true, 1501, 0);
        await SendAsync(1000);
        await Postgres.ScalarAsync("ANALYZE;");
        var cursors = new List<long> { 0, await Store.GetMaxVersionAsync() / 2 };
        await SendAsync(90);
        cursors.Add(await Store.GetMaxVersionAsync());
        await CommitAsync(b =>
        {
            b.MessageUpdates.Add(new MessageUpdate("g", 17, [1], NextVersion()) { Content = Body("edited 17") });
            b.MessageUpdates.Add(new MessageUpdate("g", 1200, [2], NextVersion()));
            b.MessageUpdates.Add(new MessageUpdate("g", seq - 5, [3], NextVersion()));
        });
        await CommitAsync(b => b.Revocations.Add(new Revocation("g", 700)));
        await SendAsync(7);
        cursors.Add(await Store.GetMaxVersionAsync());
        await SendAsync(3);
        var top = await Store.GetMaxVersionAsync();
        cursors.AddRange([top - 1, top]);

        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { SearchPath = Postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        async Task<string> RunAsync(string sql, string user, long cursor, bool explain = false)
        {
            await using var command = new Npgsql.NpgsqlCommand((explain ? "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " : "") + sql, connection);
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = user });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = cursor });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string[]> { TypedValue = ["g", "d"] });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = Limit });
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(explain ? reader.GetString(0) : $"{reader.GetString(0)}:{reader.GetInt64(1)}@{reader.GetInt64(9)}");
            }

            return string.Join(' ', rows);
        }

        var versions = await Store.GetMaxVersionAsync();
        for (var cursor = 0L; cursor <= versions; cursor += 97)
        {
            cursors.Add(cursor);
        }

        foreach (var user in new[] { "a", "b", "c", "f", "n", "x" })
        {
            foreach (var cursor in cursors)
            {
                Assert.Equal(await RunAsync(SyncMessagesBefore, user, cursor), await RunAsync(PostgresMessageStore.ChangedMessagesSql, user, cursor));
            }
        }

        await using (var plans = new Npgsql.NpgsqlCommand("SET enable_seqscan = off", connection))
        {
            await plans.ExecuteNonQueryAsync();
        }

        async Task<long> BuffersAsync(string sql, string user, long cursor)
        {
            using var plan = System.Text.Json.JsonDocument.Parse(await RunAsync(sql, user, cursor, explain: true));
            var root = plan.RootElement[0].GetProperty("Plan");
            return root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64();
        }

        // Two conversations of 2,600 rows: a fresh device and a far cursor (1,300 rows above it in each) get 201 rows of each
        // (now about a buffer per row, before 1,628 buffers), a device 3 behind 3 rows of each, 10 behind 10 of each and the
        // group's 3 edits (one of seq 17). A conversation's fixed cost is ~12 buffers (its member, periods, the count).
        var figures = new List<string>();
        foreach (var (name, cursor, most) in new[] { ("fresh", 0L, 420L), ("far", cursors[1], 420L), ("behind 10", cursors[3], 60L), ("behind 3", top - 3, 40L) })
        {
            var (now, before) = (await BuffersAsync(PostgresMessageStore.ChangedMessagesSql, "a", cursor), await BuffersAsync(SyncMessagesBefore, "a", cursor));
            figures.Add($"{name}: {now} buffers (before {before})");
            output.WriteLine(figures[^1]);
            Assert.True(now <= most, string.Join("; ", figures));
            if (name is "fresh" or "far")
            {
                Assert.True(now * 2 < before, string.Join("; ", figures));
            }
        }

        // A member who left at seq 800 of the group's 2,600 (stop 48): a fresh device walks the primary key down inside their
        // period, 201 rows, not the 1,800 messages since they left, each with a periods probe (stop 47's statement: thousands
        // of buffers; the statement before it, tens of thousands). 60-131 buffers in two runs: the count of the rows above
        // the cursor reads the heap where the visibility map is not yet set (as for a member: fresh 203-276).
        var (left, leftBefore) = (await BuffersAsync(PostgresMessageStore.ChangedMessagesSql, "f", 0), await BuffersAsync(SyncMessagesBefore, "f", 0));
        figures.Add($"former member, fresh: {left} buffers (before {leftBefore})");
        output.WriteLine(figures[^1]);
        Assert.True(left <= 250 && left * 20 < leftBefore, string.Join("; ", figures));
    }

    /// <summary>
    /// A page of the conversation list (stop 47, pg) builds the views of its own memberships only: the page is chosen from
    /// the order's columns, then gets its peers and last messages. Same pages as the statement before (every view of the user
    /// built, sorted, the page kept), pinned ones first; with the plans of a real size (no scans, nested loops) a page of 5
    /// of 60 conversations reads the peer and the last message (7 buffers) of 5 conversations, not of 60.
    /// </summary>
    [StoreFact]
    public async Task ConversationPage_BuildsTheViewsOfItsOwnConversations_AndTheSamePagesAsBefore()
    {
        var before = Internal.PostgresRows.ViewSelect + " ORDER BY m.pinned DESC, c.updated_at DESC, c.head_version DESC, c.conversation_id LIMIT $2 OFFSET $3;";
        for (var i = 0; i < 60; i++)
        {
            var id = $"d{i:D2}";
            await CommitAsync(b => b.Conversations.Add(Direct(id, "u", $"p{i:D2}")));
            await CommitAsync(b => b.Messages.Add(Message(id, 1, "u", serverTime: 5000 + ((i * 7) % 60))));
            if (i % 3 == 0)
            {
                await CommitAsync(b => b.Messages.Add(Message(id, 2, $"p{i:D2}", serverTime: 5000 + ((i * 7) % 60))));
            }
        }

        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("d41", "u", true, null, NextVersion())));
        await CommitAsync(b => b.Settings.Add(new MemberSettingsUpdate("d07", "u", true, null, NextVersion())));
        await Postgres.ScalarAsync("ANALYZE;");

        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { SearchPath = Postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        async Task<List<string>> RunAsync(string sql, long limit, long offset, bool explain = false)
        {
            await using var command = new Npgsql.NpgsqlCommand((explain ? "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " : "") + sql, connection);
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = "u" });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = limit });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = offset });
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(explain ? reader.GetString(0) : string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(f => reader.IsDBNull(f) ? "-" : Convert.ToString(reader.GetValue(f) is byte[] b ? Convert.ToHexString(b) : reader.GetValue(f), CultureInfo.InvariantCulture))));
            }

            return rows;
        }

        foreach (var (limit, offset) in new[] { (5L, 0L), (5L, 1L), (7L, 20L), (20L, 55L), (100L, 0L), (0L, 0L) })
        {
            Assert.Equal(await RunAsync(before, limit, offset), await RunAsync(PostgresMessageStore.PageViewsSql, limit, offset));
        }

        Assert.StartsWith("d07|", (await RunAsync(PostgresMessageStore.PageViewsSql, 5, 0))[0], StringComparison.Ordinal); // pinned first, then by time

        // The plans of a real size, where a user's conversations are a few among many: index probes joined by nested loops.
        // On these tables of a few pages each the planner joins whole scans by hashes instead (before: 26 buffers for all
        // 60 views, since a page holds them all), which says nothing about the statements.
        await using (var plans = new Npgsql.NpgsqlCommand("SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off", connection))
        {
            await plans.ExecuteNonQueryAsync();
        }

        async Task<long> BuffersAsync(string sql)
        {
            using var plan = System.Text.Json.JsonDocument.Parse((await RunAsync(sql, 5, 0, explain: true))[0]);
            var root = plan.RootElement[0].GetProperty("Plan");
            return root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64();
        }

        var (now, then) = (await BuffersAsync(PostgresMessageStore.PageViewsSql), await BuffersAsync(before));
        output.WriteLine($"a page of 5 of 60 conversations: {now} buffers (before {then})");
        Assert.True(then - now >= 3 * (60 - 5), $"a page of 5 of 60 conversations: {now} buffers (before {then})");
    }

    /// <summary>
    /// A message's UPDATE of its conversation row is a heap-only (HOT) update (stop 48, pg; migration 31): it changes no
    /// column any index of conversations names, so PostgreSQL writes no new index entry. Before, ix_conversations_head
    /// (head_version) WHERE read_diffusion named head_version, which every message raises: no update was HOT, whatever the
    /// predicate. A read-diffusion super group's rd_head_version follows its head_version (the resume's index), a
    /// write-diffusion conversation's stays 0.
    /// </summary>
    [StoreFact]
    public async Task MessageCommits_UpdateAWriteDiffusionConversationInPlace_AndKeepTheReadDiffusionHead()
    {
        const int Conversations = 20, Rounds = 10;
        for (var i = 0; i < Conversations; i++)
        {
            var id = $"d{i:D2}";
            await CommitAsync(b => b.Conversations.Add(Direct(id, "u", $"p{i:D2}")));
        }

        for (var r = 1; r <= Rounds; r++)
        {
            var seq = r;
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(0, Conversations).Select(i => Message($"d{i:D2}", seq, seq % 2 == 0 ? "u" : $"p{i:D2}"))));
        }

        // The statistics arrive when the store's connections go idle (PostgreSQL flushes them within a few seconds).
        var (updated, hot) = (0L, 0L);
        for (var wait = 0; wait < 60 && updated < Conversations * Rounds; wait++)
        {
            await Task.Delay(500);
            await using var stats = new Npgsql.NpgsqlConnection(Postgres.ConnectionString);
            await stats.OpenAsync();
            await using var read = new Npgsql.NpgsqlCommand("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'conversations'", stats);
            read.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = Postgres.Schema });
            await using var row = await read.ExecuteReaderAsync();
            if (await row.ReadAsync())
            {
                (updated, hot) = (row.GetInt64(0), row.GetInt64(1));
            }
        }

        // Not every one: while another session's snapshot keeps the page's dead versions, a full page sends the next update
        // to another page (then that row's updates are heap-only there). Before migration 31: none.
        output.WriteLine($"conversations updated {updated}, heap-only {hot}");
        Assert.Equal(Conversations * Rounds, updated);
        Assert.True(hot * 2 >= updated, $"conversations updated {updated}, heap-only {hot}");

        var super = Group("sg", "u", ["u", "v"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(super);
            b.Groups.Add(new GroupRecord("g-sg", "sg", "Super sg", "", "", "", "{}", "u", GroupJoinPolicy.Free, false, false, true, false, 1000, 1000, 2, super.Version)
            {
                Kind = GroupKind.Super,
            });
        });
        await CommitAsync(b =>
        {
            b.ReadDiffusion.Add("sg");
            b.Messages.Add(Message("sg", 1, "v"));
        });
        Assert.Equal(0L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(*) FROM conversations WHERE read_diffusion <> (rd_head_version = head_version AND head_version > 0) OR (NOT read_diffusion AND rd_head_version <> 0)"), CultureInfo.InvariantCulture));
        Assert.Equal(1L, Convert.ToInt64(await Postgres.ScalarAsync("SELECT COUNT(*) FROM conversations WHERE read_diffusion"), CultureInfo.InvariantCulture));
    }

    // The resume's views before stop 48 (pg): every membership of the user compared with its conversation ($4 unused).
    private static readonly string ChangedViewsBefore = Internal.PostgresRows.ViewSelect.Replace(
        "FROM members_of_user($1) m", "FROM members_of_user_since($1, $2, $3) m", StringComparison.Ordinal)
        + " AND $4 >= 0 AND (m.feed_version > $2 OR (m.active AND c.change_version > $2)) ORDER BY GREATEST(m.feed_version, c.change_version), c.conversation_id;";

    /// <summary>
    /// A returning client's resume (stop 48, pg; migration 31) reads the conversations edited since its cursor through
    /// ix_conversations_change (a probe of the user's row in each), not every membership of the user: an edit or a reaction
    /// raises only the conversation's change_version. Same views as the statement before at every cursor, for a member,
    /// a peer and a stranger, with the store's probe limit, with a limit of 1 (always every row of the user) and of 100,000
    /// (always the probes); with the plans of a real size, a resume 1 message and 1 edit behind reads a few buffers per
    /// conversation less than before for each of the user's 38 conversations that did not change.
    /// </summary>
    [StoreFact]
    public async Task ResumeViews_ProbeTheConversationsEditedSinceTheCursor_AndAreTheViewsOfBefore()
    {
        for (var i = 0; i < 40; i++)
        {
            var (mine, other) = ($"d{i:D2}", $"o{i:D2}");
            await CommitAsync(b => b.Conversations.AddRange([Direct(mine, "u", $"p{i:D2}"), Direct(other, $"x{i:D2}", $"y{i:D2}")]));
            await CommitAsync(b => b.Messages.AddRange([Message(mine, 1, "u"), Message(other, 1, $"x{i:D2}")]));
        }

        var cursors = new List<long> { await Store.GetMaxVersionAsync() };
        await CommitAsync(b => b.Messages.Add(Message("d03", 2, "p03")));
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d05", 1, [], NextVersion()) { Content = Body("edited") }));
        cursors.Add(await Store.GetMaxVersionAsync());
        await CommitAsync(b => b.MessageUpdates.AddRange(Enumerable.Range(0, 20).Select(i => new MessageUpdate($"o{i:D2}", 1, [1], NextVersion()))));
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d07", 1, [2], NextVersion())));
        cursors.Add(await Store.GetMaxVersionAsync());
        await CommitAsync(b => b.MessageUpdates.AddRange(Enumerable.Range(20, 20).Select(i => new MessageUpdate($"o{i:D2}", 1, [1], NextVersion()))));
        cursors.Add(await Store.GetMaxVersionAsync());
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d05", 1, [3], NextVersion())));
        cursors.Add(await Store.GetMaxVersionAsync());
        await CommitAsync(b => b.Messages.Add(Message("d09", 2, "u")));
        await Postgres.ScalarAsync("ANALYZE;");

        await using var connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { SearchPath = Postgres.Schema }.ConnectionString);
        await connection.OpenAsync();
        async Task<List<string>> RunAsync(string sql, string user, long cursor, int edited, bool explain = false)
        {
            await using var command = new Npgsql.NpgsqlCommand((explain ? "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " : "") + sql, connection);
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = user });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = cursor });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<int> { TypedValue = cursor > 0 ? 256 : 0 });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<int> { TypedValue = cursor > 0 ? edited : 0 });
            var rows = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(explain ? reader.GetString(0) : string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(f => reader.IsDBNull(f) ? "-" : Convert.ToString(reader.GetValue(f) is byte[] b ? Convert.ToHexString(b) : reader.GetValue(f), CultureInfo.InvariantCulture))));
            }

            return rows;
        }

        var max = await Store.GetMaxVersionAsync();
        for (var cursor = 0L; cursor <= max; cursor += cursor < cursors[0] - 2 ? 7 : 1)
        {
            foreach (var user in new[] { "u", "p05", "x07", "nobody" })
            {
                var before = await RunAsync(ChangedViewsBefore, user, cursor, 0);
                foreach (var edited in new[] { PostgresMessageStore.SyncEditedConversationProbes, 1, 100_000 })
                {
                    Assert.Equal(before, await RunAsync(PostgresMessageStore.ChangedViewsSql, user, cursor, edited));
                }
            }
        }

        Assert.Equal(["d05", "d09"], (await RunAsync(PostgresMessageStore.ChangedViewsSql, "u", cursors[3], PostgresMessageStore.SyncEditedConversationProbes)).Select(r => r[..3]));

        await using (var plans = new Npgsql.NpgsqlCommand("SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off", connection))
        {
            await plans.ExecuteNonQueryAsync();
        }

        async Task<long> BuffersAsync(string sql, long cursor)
        {
            using var plan = System.Text.Json.JsonDocument.Parse((await RunAsync(sql, "u", cursor, PostgresMessageStore.SyncEditedConversationProbes, explain: true))[0]);
            var root = plan.RootElement[0].GetProperty("Plan");
            return root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64();
        }

        // From cursors[4]: d09's message; cursors[3]: and d05's edit. From cursors[2]: 21 edited (d05 among them) and d09's
        // message, below the limit of 32: probes. Every row of the user (the limit passed) from cursors[1]: 42 edited.
        var figures = new List<string>();
        foreach (var (name, cursor) in new[] { ("1 message behind", cursors[4]), ("1 edit, 1 message behind", cursors[3]), ("21 edited since, 1 message", cursors[2]), ("42 edited since", cursors[1]) })
        {
            var (now, then) = (await BuffersAsync(PostgresMessageStore.ChangedViewsSql, cursor), await BuffersAsync(ChangedViewsBefore, cursor));
            figures.Add($"{name}: {now} buffers (before {then})");
            output.WriteLine(figures[^1]);
        }

        var (fewNow, fewThen) = (await BuffersAsync(PostgresMessageStore.ChangedViewsSql, cursors[3]), await BuffersAsync(ChangedViewsBefore, cursors[3]));
        Assert.True(fewThen - fewNow >= 2 * 38, string.Join("; ", figures));
    }
}
