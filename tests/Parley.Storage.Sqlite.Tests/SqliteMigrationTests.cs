using System.Globalization;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Tests;

public sealed class SqliteMigrationTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private long Count(string sql) => Convert.ToInt64(_database.Scalar(sql), CultureInfo.InvariantCulture);

    [Fact]
    public async Task Initialize_Reopened_IsIdempotentAndKeepsData()
    {
        var message = new StoredMessage("d1", 1, "s1", "alice", "c1", 5000, 3, [1, 2, 3], false, 2);
        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            await store.InitializeAsync();
            var batch = new CommitBatch();
            batch.Conversations.Add(new NewConversation("d1", ConversationKind.Direct, null, "", "alice", 1000, ["alice", "bob"], 1));
            batch.Messages.Add(message);
            await store.CommitAsync(batch);
        }

        var accounts = new SqliteAccountStore(_database.Open());
        await accounts.InitializeAsync();
        Assert.True(await accounts.CreateUserAsync(new UserRecord("alice", "Alice", "", "{}", 1, 1)));

        await using (var reopened = new SqliteMessageStore(_database.Open()))
        {
            await reopened.InitializeAsync();
            var read = await reopened.GetMessageAsync("d1", 1);
            Assert.NotNull(read);
            Assert.Equal(message with { Content = [] }, read with { Content = [] });
            Assert.Equal([1, 2, 3], read.Content);
            Assert.Equal(2, await reopened.GetMaxVersionAsync());
            Assert.Equal(1, (await reopened.GetConversationViewAsync("bob", "d1"))!.Unread);
        }

        var reopenedAccounts = new SqliteAccountStore(_database.Open());
        await reopenedAccounts.InitializeAsync();
        Assert.Equal("Alice", (await reopenedAccounts.GetUserAsync("alice"))!.Nickname);

        Assert.Equal(SqliteMigrations.All.Count, Count("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(SqliteMigrations.LatestVersion, Count("SELECT MAX(version) FROM schema_migrations"));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM feed_state"));
    }

    [Fact]
    public async Task Initialize_DatabaseFromNewerVersion_IsRefused()
    {
        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
        }

        _database.Scalar("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");

        await using var newer = new SqliteMessageStore(_database.Open());
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitializeAsync());
        Assert.Contains("9999", ex.Message, StringComparison.Ordinal);

        var accounts = new SqliteAccountStore(_database.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => accounts.InitializeAsync());
    }

    [Fact]
    public async Task Initialize_BothStoresOnOneFile_ConcurrentlyMigrateOnce()
    {
        await using var messages = new SqliteMessageStore(_database.Open());
        var accounts = new SqliteAccountStore(_database.Open());
        await Task.WhenAll(messages.InitializeAsync(), accounts.InitializeAsync());

        Assert.Equal(SqliteMigrations.All.Count, Count("SELECT COUNT(*) FROM schema_migrations"));
        Assert.True(await accounts.CreateUserAsync(new UserRecord("u", "U", "", "", 1, 1)));
        Assert.Equal(0, await messages.GetMaxVersionAsync());
    }

    [Fact]
    public async Task Migration17_OnADatabaseWithSuperGroups_MarksTheirRowsAndLeavesThemOutOfTheDeltaIndexes()
    {
        // A database as version 16 left it: one super group and one normal group with members.
        CreateAtVersion(16, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, read_diffusion)
            VALUES ('sg_big', 2, 'big', 'Big', 'owner', 1, 1, 3, 1), ('sg_small', 2, 'small', 'Small', 'owner', 1, 1, 2, 0);
            INSERT INTO members (conversation_id, user_id, feed_version, info_version)
            VALUES ('sg_big', 'owner', 1, 1), ('sg_big', 'u1', 1, 1), ('sg_big', 'u2', 1, 1), ('sg_small', 'owner', 1, 1), ('sg_small', 'u1', 1, 1);
            """);

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 17"));
        Assert.Equal(3, Count("SELECT COUNT(*) FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'sg_big' AND m.read_diffusion = 1"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'sg_small' AND m.read_diffusion = 0"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members INDEXED BY ix_members_user_info WHERE read_diffusion = 0 AND info_version > 0 AND user_id >= ''"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members INDEXED BY ix_members_conv_info WHERE read_diffusion = 0 AND info_version > 0 AND conv_key >= 0"));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_groups_super_info'"));
    }

    [Fact]
    public async Task Migration23_InternsTheInvitersOfExistingRows_AndNewRowsHoldOnlyTheKey()
    {
        // A database as version 22 left it: a super group whose rows name their inviters in full.
        CreateAtVersion(22, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, read_diffusion)
            VALUES ('sg_big', 2, 'big', 'Big', 'owner', 1, 1, 4, 1);
            INSERT INTO members (conversation_id, user_id, feed_version, info_version, inviter_id, read_diffusion)
            VALUES ('sg_big', 'owner', 1, 1, '', 1), ('sg_big', 'u1', 1, 1, 'owner', 1), ('sg_big', 'u2', 1, 1, 'owner', 1), ('sg_big', 'u3', 1, 1, 'u1', 1);
            """);

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            var members = (await store.GetMembersAsync("sg_big")).ToDictionary(m => m.UserId, m => m.InviterId);
            Assert.Equal(new Dictionary<string, string> { ["owner"] = "", ["u1"] = "owner", ["u2"] = "owner", ["u3"] = "u1" }, members);
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 23"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM member_inviters"));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM members WHERE inviter_id <> ''"));
        Assert.Equal(3, Count("SELECT COUNT(*) FROM members WHERE inviter_key <> 0"));
    }

    [Fact]
    public async Task Migration26_KeysMembersByAnIntegerConversationKey_KeepsEveryRowAndValue_AndTheStoreReadsThemBack()
    {
        // A database as version 25 left it: a 1:1 conversation, a normal group, a super group with an admin, a member who
        // left (closed period), an interned and a legacy inviter, and a member row whose conversation row is missing.
        const string Columns = SqliteMemberLayouts.RowColumns;
        CreateAtVersion(25, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, max_seq, last_seq, read_diffusion)
            VALUES ('si_alice_bob', 1, NULL, '', 'alice', 1, 1, 2, 3, 3, 0), ('sg_norm', 2, 'norm', 'Norm', 'owner', 1, 2, 2, 5, 5, 0),
                   ('sg_super', 2, 'super', 'Super', 'owner', 1, 3, 4, 9, 9, 1);
            INSERT INTO member_inviters (user_id) VALUES ('owner');
            INSERT INTO members (conversation_id, user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at,
                                 inviter_id, active, visible_from, info_version, mentions_only, mention_seq, read_diffusion, inviter_key)
            VALUES ('si_alice_bob', 'alice', 3, 1, 0, 4, 0, '', 0, 1, '', 1, 1, 1, 0, 0, 0, 0),
                   ('si_alice_bob', 'bob', 1, 0, 1, 3, 0, '', 0, 1, '', 1, 1, 1, 0, 0, 0, 0),
                   ('sg_norm', 'owner', 5, 0, 0, 6, 2, 'Boss', 0, 2, '', 1, 1, 2, 0, 0, 0, 0),
                   ('sg_norm', 'alice', 4, 0, 0, 6, 0, 'Al', 99, 7, '', 1, 1, 5, 0, 0, 0, 1),
                   ('sg_super', 'owner', 9, 0, 0, 8, 2, '', 0, 3, '', 1, 1, 8, 0, 0, 1, 0),
                   ('sg_super', 'carol', 2, 0, 0, 7, 1, 'Carol', 0, 4, '', 1, 1, 7, 1, 4, 1, 1),
                   ('sg_super', 'dave', 4, 0, 0, 9, 0, '', 0, 4, '', 0, 1, 9, 0, 0, 1, 1),
                   ('sg_super', 'erin', 0, 0, 0, 5, 0, '', 0, 5, 'legacy', 1, 6, 5, 0, 0, 1, 0),
                   ('sg_super', 'alice', 2, 0, 0, 5, 0, '', 0, 5, '', 1, 3, 5, 0, 0, 1, 1),
                   ('gone', 'zed', 1, 0, 0, 2, 0, '', 0, 1, '', 1, 1, 1, 0, 0, 0, 0);
            INSERT INTO member_periods (conversation_id, user_id, from_seq, to_seq) VALUES ('sg_super', 'dave', 1, 4);
            """);
        var before = Rows($"SELECT conversation_id, {Columns} FROM members ORDER BY conversation_id, user_id");

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            await MemberKeyMigrationChecks.StoreReadsAndWritesTheMigratedMembersAsync(store);
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 26"));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM pragma_table_info('members') WHERE name = 'conversation_id'"));

        // Every row and every value of version 25, the key standing for the id (the row without a conversation included).
        var after = Rows(MemberKeyMigrationChecks.KeyedRowsQuery(Columns));
        var carolBefore = before.FindIndex(r => r.StartsWith("sg_super|carol|", StringComparison.Ordinal));
        Assert.True(carolBefore >= 0);
        before[carolBefore] = before[carolBefore].Replace("sg_super|carol|2|0|0|7|", "sg_super|carol|9|0|0|22|", StringComparison.Ordinal);
        Assert.Equal(before, after);

        Assert.Equal(10 + 2 + 1, Count("SELECT COUNT(*) FROM members")); // the 10 rows of version 25, sg_new's two, frank
        Assert.True(Count("SELECT conv_key FROM conversation_keys WHERE conversation_id = 'sg_new'") > Count("SELECT MAX(conv_key) FROM conversation_keys WHERE conversation_id <> 'sg_new'"));
        Assert.Equal(5, Count("SELECT COUNT(*) FROM conversation_keys"));
    }

    /// <summary>The rows of <paramref name="sql"/> as text (<see cref="MemberKeyMigrationChecks.Row"/>).</summary>
    private List<string> Rows(string sql)
    {
        using var connection = _database.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(MemberKeyMigrationChecks.Row(reader));
        }

        return rows;
    }

    /// <summary>
    /// A database as migration <paramref name="version"/> left it: every script up to it run and recorded, as the store
    /// would have, then <paramref name="sql"/> (the rows of that version).
    /// </summary>
    private void CreateAtVersion(int version, string sql)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_database.FilePath)!);
        using var connection = _database.OpenRaw();
        connection.CreateFunction<string, string>(SearchKeys.SqlFunction, SearchKeys.For, isDeterministic: true); // migration 27 calls it
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);"
            + string.Concat(SqliteMigrations.All.Where(m => m.Version <= version).Select(m => m.Script + $"; INSERT INTO schema_migrations VALUES ({m.Version}, 0);"))
            + sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public async Task Migration27_RebuildsTheSearchIndexWithConversationKeys_OldRowsFoundPerConversationAndUser()
    {
        // A database as version 25 left it: two conversations whose messages were indexed before the conversation key existed.
        CreateAtVersion(25, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count)
            VALUES ('d1', 1, NULL, '', 'alice', 1, 1, 2), ('d2', 1, NULL, '', 'carol', 1, 1, 2);
            INSERT INTO members (conversation_id, user_id, feed_version, info_version)
            VALUES ('d1', 'alice', 1, 1), ('d1', 'bob', 1, 1), ('d2', 'carol', 1, 1), ('d2', 'dave', 1, 1);
            INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, search_id)
            VALUES ('d1', 1, 's1', 'alice', 'c1', 10, 1, x'00', 0, 2, 2), ('d2', 1, 's2', 'carol', 'c2', 20, 1, x'00', 0, 3, 3),
                   ('d1', 2, 's3', 'bob', 'c3', 30, 1, x'00', 0, 4, 4);
            INSERT INTO message_search (rowid, body, conversation_id, seq)
            VALUES (2, 'old budget note', 'd1', 1), (3, 'budget elsewhere', 'd2', 1), (4, 'second budget', 'd1', 2);
            UPDATE feed_state SET max_version = 4 WHERE id = 1;
            """);

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            Assert.Equal([2L, 1L], (await store.SearchAsync("bob", "d1", "budget", null, 10, maxScanned: 10)).Select(m => m.Message.Seq));
            Assert.Equal([("d2", 1L)], (await store.SearchAsync("dave", null, "BUDGET", null, 10)).Select(m => (m.Message.ConversationId, m.Message.Seq)));
            Assert.Empty(await store.SearchAsync("bob", "d2", "budget", null, 10));
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 27"));
        Assert.Equal(3, Count("SELECT COUNT(*) FROM message_search"));
        Assert.Equal(0, Count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'message_search_next'"));
        Assert.Equal(2, Count($"SELECT COUNT(*) FROM message_search WHERE message_search MATCH '{{conv}} : \"{SearchKeys.For("d1")}\"'"));
        Assert.NotEqual(SearchKeys.For("d1"), SearchKeys.For("d2"));
    }

    [Fact]
    public async Task Migration29_LeavesDirectConversationRowsOutOfTheDeltaIndexes_DeltasUnchanged_NewDirectRowsAddNoEntries()
    {
        // A database as version 28 left it: a direct conversation (rows with info version 0) and a normal group (rows with
        // their versions), both in the two delta indexes.
        CreateAtVersion(28, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count)
            VALUES ('si_alice_bob', 1, NULL, '', 'alice', 1, 1, 2), ('g_team', 2, 'team', 'Team', 'alice', 1, 1, 2);
            INSERT INTO conversation_keys (conv_key, conversation_id) VALUES (1, 'si_alice_bob'), (2, 'g_team');
            INSERT INTO groups (group_id, conversation_id, name, avatar_url, introduction, announcement, ex, owner_id, join_policy, history_visible,
                                mute_all, searchable, dismissed, created_at, updated_at, info_version)
            VALUES ('team', 'g_team', 'Team', '', '', '', '{}', 'alice', 0, 0, 0, 1, 0, 1, 1, 3);
            INSERT INTO members (conv_key, user_id, feed_version, info_version)
            VALUES (1, 'alice', 2, 0), (1, 'bob', 2, 0), (2, 'alice', 3, 3), (2, 'carol', 4, 4);
            UPDATE feed_state SET max_version = 4 WHERE id = 1;
            """);
        Assert.Equal(4, IndexEntries("ix_members_user_info"));
        Assert.Equal(4, IndexEntries("ix_members_conv_info"));

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            Assert.Equal(2, IndexEntries("ix_members_user_info"));
            Assert.Equal(2, IndexEntries("ix_members_conv_info"));

            // What the deltas answer is what they answered before: the group, its members, nothing of the direct conversation.
            Assert.Equal(["team"], (await store.GetGroupsDeltaAsync("alice", 0)).Upserts.Select(g => g.GroupId));
            Assert.Equal(["team"], (await store.GetGroupsDeltaAsync("carol", 3)).Upserts.Select(g => g.GroupId));
            Assert.Empty((await store.GetGroupsDeltaAsync("alice", 4)).Upserts);
            Assert.Empty((await store.GetGroupsDeltaAsync("bob", 0)).Upserts);
            Assert.Equal(["alice", "carol"], (await store.GetMembersDeltaAsync("g_team", 0)).Upserts.Select(m => m.UserId).Order(StringComparer.Ordinal));
            Assert.Equal(["carol"], (await store.GetMembersDeltaAsync("g_team", 3)).Upserts.Select(m => m.UserId));
            Assert.Empty((await store.GetMembersDeltaAsync("si_alice_bob", 0)).Upserts);

            // A direct conversation opened now writes no entry into either index; its rows are in the table.
            var batch = new CommitBatch();
            batch.Conversations.Add(new NewConversation("si_alice_dave", ConversationKind.Direct, null, "", "alice", 1000, ["alice", "dave"], 5));
            batch.Messages.Add(new StoredMessage("si_alice_dave", 1, "s1", "alice", "c1", 1000, 1, [1], false, 5));
            await store.CommitAsync(batch);
            Assert.Equal(2, IndexEntries("ix_members_user_info"));
            Assert.Equal(2, IndexEntries("ix_members_conv_info"));
            Assert.Equal(6, Count("SELECT COUNT(*) FROM members"));
            Assert.Empty((await store.GetGroupsDeltaAsync("dave", 0)).Upserts);
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 29"));
    }

    // The entries an index holds, whatever its WHERE clause: ANALYZE's first figure for it (0 when it is empty).
    private long IndexEntries(string index)
    {
        _database.Scalar("ANALYZE;");
        var stat = (string?)_database.Scalar($"SELECT stat FROM sqlite_stat1 WHERE idx = '{index}'");
        return stat is null ? 0 : long.Parse(stat.Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
