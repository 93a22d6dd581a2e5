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
        Assert.Equal(3, Count("SELECT COUNT(*) FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'sg_big' AND m.read_diffusion = 1"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'sg_small' AND m.read_diffusion = 0"));
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

        // Every row and every value of version 25, the key standing for the id. The row without a conversation survived
        // migration 26 but not 30 (ADR 0025: conversations holds the keys now, and a key without a conversation row is dropped
        // with its rows; Migration30_... checks that).
        var after = Rows(MemberKeyMigrationChecks.KeyedRowsQuery(Columns, keys: "conversations"));
        Assert.Equal(1, before.RemoveAll(r => r.StartsWith("gone|zed|", StringComparison.Ordinal)));
        var carolBefore = before.FindIndex(r => r.StartsWith("sg_super|carol|", StringComparison.Ordinal));
        Assert.True(carolBefore >= 0);
        before[carolBefore] = before[carolBefore].Replace("sg_super|carol|2|0|0|7|", "sg_super|carol|9|0|0|22|", StringComparison.Ordinal);
        Assert.Equal(before, after);

        Assert.Equal(9 + 2 + 1, Count("SELECT COUNT(*) FROM members")); // the 10 rows of version 25 but gone's, sg_new's two, frank
        Assert.True(Count("SELECT conv_key FROM conversations WHERE conversation_id = 'sg_new'") > Count("SELECT MAX(conv_key) FROM conversations WHERE conversation_id <> 'sg_new'"));
        Assert.Equal(4, Count("SELECT COUNT(*) FROM conversations"));
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

    [Fact]
    public async Task Migration30_KeysMessagesAndConversationsByTheConversationKey_KeepsEveryRowKeyAndOrder_AndTheStoreReadsAndWritesThem()
    {
        // A database as version 29 left it (ADR 0025): two 1:1 conversations and a group, keyed out of id order (3, 5, 7),
        // with messages (one of bob's and one of alice's share the client id "c1" in different conversations; a revoked one;
        // a reply, edited, with a revision and annotations), an indexed text, and a key without a conversation row (9, with
        // one member row) and a message without one ('si_dan_eve'): the migration keeps both aside, out of the store's tables.
        CreateAtVersion(29, """
            INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, max_seq, last_seq, head_version,
                                       change_version, mention_all_seq)
            VALUES ('si_alice_bob', 1, NULL, '', 'alice', 1, 12, 2, 3, 3, 6, 0, 0), ('sg_team', 2, 'team', 'Team', 'alice', 2, 14, 2, 2, 2, 5, 8, 1),
                   ('si_bob_carol', 1, NULL, '', 'bob', 3, 15, 2, 1, 1, 9, 0, 0);
            INSERT INTO conversation_keys (conv_key, conversation_id) VALUES (3, 'si_alice_bob'), (7, 'sg_team'), (5, 'si_bob_carol'), (9, 'gone');
            INSERT INTO members (conv_key, user_id, read_seq, feed_version)
            VALUES (3, 'alice', 3, 6), (3, 'bob', 1, 6), (7, 'alice', 2, 8), (7, 'carol', 1, 8), (5, 'bob', 1, 9), (5, 'carol', 0, 9), (9, 'zed', 0, 1);
            INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                  annotations, reply_to_seq, search_id)
            VALUES ('si_alice_bob', 1, 'm1', 'alice', 'c1', 10, 1, x'0a01', 0, 2, NULL, 0, 2),
                   ('si_alice_bob', 2, 'm2', 'bob', 'c1', 11, 1, x'0a02', 0, 3, NULL, 0, 3),
                   ('si_alice_bob', 3, 'm3', 'alice', 'c2', 12, 1, x'', 1, 6, NULL, 0, 6),
                   ('sg_team', 1, 'm4', 'alice', 'c1', 13, 1, x'0a04', 0, 4, NULL, 0, 4),
                   ('sg_team', 2, 'm5', 'carol', 'c9', 14, 1, x'0a05', 0, 8, x'0102', 1, 5),
                   ('si_bob_carol', 1, 'm6', 'bob', 'c1', 15, 1, x'0a06', 0, 9, NULL, 0, 9),
                   ('si_dan_eve', 1, 'm0', 'eve', 'c1', 9, 1, x'0a09', 0, 1, NULL, 0, NULL);
            INSERT INTO message_revisions (conversation_id, seq, revision, content, time) VALUES ('sg_team', 2, 1, x'0a00', 14);
            INSERT INTO message_search (rowid, body, conv, conversation_id, seq) VALUES (2, 'lunch budget', parley_search_key('si_alice_bob'), 'si_alice_bob', 1);
            UPDATE feed_state SET max_version = 9 WHERE id = 1;
            UPDATE search_state SET indexed_through = 9 WHERE id = 1;
            """);
        const string MessageValues = "seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, hex(content), revoked, version, hex(annotations), reply_to_seq, search_id";
        const string ConversationValues = "conversation_id, kind, group_id, name, creator_id, created_at, max_seq, last_seq, updated_at, member_count, read_diffusion, head_version, change_version, mention_all_seq";
        var messagesBefore = Rows($"SELECT conversation_id, {MessageValues} FROM messages WHERE conversation_id <> 'si_dan_eve' ORDER BY conversation_id, seq");
        var conversationsBefore = Rows($"SELECT k.conv_key, c.{ConversationValues.Replace(", ", ", c.", StringComparison.Ordinal)} FROM conversations c JOIN conversation_keys k ON k.conversation_id = c.conversation_id ORDER BY k.conv_key");
        var membersBefore = Rows("SELECT conv_key, user_id, read_seq, feed_version FROM members WHERE conv_key <> 9 ORDER BY conv_key, user_id");

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();

            // The schema: both B-trees by the key, the text id once (conversations' unique index), no conversation_keys.
            Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 30"));
            Assert.Equal(0, Count("SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'conversation_id'"));
            Assert.Equal(1, Count("SELECT pk FROM pragma_table_info('messages') WHERE name = 'conv_key'"));
            Assert.Equal(1, Count("SELECT pk FROM pragma_table_info('conversations') WHERE name = 'conv_key'"));
            Assert.Equal(0, Count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'conversation_keys' OR name LIKE '%_keyed'"));
            Assert.Equal(["conv_key", "version", "search_id"], IndexColumns("ix_messages_changed")); // migration 32 (ADR 0034) replaced ix_messages_conv_version
            Assert.Equal(["conv_key", "search_id"], IndexColumns("ix_messages_anchor"));
            Assert.Empty(IndexColumns("ix_messages_conv_version"));
            Assert.Equal(["conv_key", "reply_to_seq", "seq"], IndexColumns("ix_messages_thread"));
            Assert.Equal(["conv_key", "sender_id", "client_msg_id"], IndexColumns("sqlite_autoindex_messages_2"));
            Assert.Equal(["conversation_id"], IndexColumns("sqlite_autoindex_conversations_1"));

            // Every row and value kept, each conversation under its old key, messages in key order; the keyless row dropped.
            Assert.Equal(messagesBefore, Rows($"SELECT c.conversation_id, m.{MessageValues.Replace(", ", ", m.", StringComparison.Ordinal).Replace("m.hex(", "hex(m.", StringComparison.Ordinal)} FROM messages m JOIN conversations c ON c.conv_key = m.conv_key ORDER BY c.conversation_id, m.seq"));
            Assert.Equal(conversationsBefore, Rows($"SELECT conv_key, {ConversationValues} FROM conversations ORDER BY conv_key"));
            Assert.Equal(membersBefore, Rows("SELECT conv_key, user_id, read_seq, feed_version FROM members ORDER BY conv_key, user_id"));
            Assert.Equal(["3|1", "3|2", "3|3", "5|1", "7|1", "7|2"], Rows("SELECT conv_key, seq FROM messages"));

            // What names no conversation is not carried over, and not destroyed: kept as it was, for an operator.
            Assert.Equal(["si_dan_eve|1|m0|eve|c1"], Rows("SELECT conversation_id, seq, server_msg_id, sender_id, client_msg_id FROM migration30_orphaned_messages"));
            Assert.Equal(["gone|9|zed"], Rows("SELECT conversation_id, conv_key, user_id FROM migration30_orphaned_members"));

            // The store reads them: by seq, by client id (dedup), history, thread, revisions, the view's last message, the
            // sync with its messages, search, the sender's messages.
            var reply = await store.GetMessageAsync("sg_team", 2);
            Assert.NotNull(reply);
            Assert.Equal(("sg_team", "carol", 1L, 8L), (reply.ConversationId, reply.SenderId, reply.ReplyToSeq, reply.Version));
            Assert.Equal([1, 2], reply.Annotations);
            Assert.Equal(2, (await store.FindByClientMsgIdAsync("si_alice_bob", "bob", "c1"))!.Seq);
            Assert.Null(await store.FindByClientMsgIdAsync("si_alice_bob", "carol", "c9"));
            var history = await store.ReadMessagesAsync("si_alice_bob", 0, ReadDirection.Backward, 10);
            Assert.Equal([(1L, false), (2L, false), (3L, true)], history.Select(m => (m.Seq, m.Revoked)));
            Assert.All(history, m => Assert.Equal("si_alice_bob", m.ConversationId));
            Assert.Equal([2L], (await store.ReadThreadAsync("sg_team", 1, 0, 10)).Select(m => m.Seq));
            Assert.Equal([1], (await store.GetRevisionsAsync("sg_team", 2)).Select(r => r.Revision));
            var view = await store.GetConversationViewAsync("bob", "si_alice_bob");
            Assert.Equal((3L, "si_alice_bob", 2L), (view!.LastMessage!.Seq, view.LastMessage.ConversationId, view.Unread));
            var sync = await store.GetChangesAsync("carol", 0, 10);
            Assert.Equal([("sg_team", 2), ("si_bob_carol", 1)], sync.Changes.Select(c => (c.Conversation.ConversationId, c.Messages.Count)).OrderBy(c => c.Item1, StringComparer.Ordinal));
            Assert.All(sync.Changes, c => Assert.All(c.Messages, m => Assert.Equal(c.Conversation.ConversationId, m.ConversationId)));
            Assert.Equal([("si_alice_bob", 1L)], (await store.SearchAsync("bob", "si_alice_bob", "budget", null, 10)).Select(m => (m.Message.ConversationId, m.Message.Seq)));
            Assert.Equal([("sg_team", 1L), ("si_alice_bob", 1L), ("si_alice_bob", 3L)], await ToListAsync(store.ReadSentMessagesAsync("alice")));

            // Writes after the migration: the next seq of an old conversation, the same client id in another conversation,
            // a duplicate client id refused (the dedup index on the key), a revoke; a new conversation takes the next key.
            var batch = new CommitBatch();
            batch.Messages.Add(new StoredMessage("si_alice_bob", 4, "m7", "bob", "c2", 20, 1, [10, 7], false, 10));
            batch.Messages.Add(new StoredMessage("sg_team", 3, "m8", "carol", "c1", 21, 1, [10, 8], false, 10));
            batch.Revocations.Add(new Revocation("sg_team", 1));
            batch.Conversations.Add(new NewConversation("si_alice_dave", ConversationKind.Direct, null, "", "alice", 22, ["alice", "dave"], 11));
            batch.Messages.Add(new StoredMessage("si_alice_dave", 1, "m9", "alice", "c1", 22, 1, [10, 9], false, 11));
            await store.CommitAsync(batch);
            var duplicate = new CommitBatch();
            duplicate.Messages.Add(new StoredMessage("si_alice_bob", 5, "m10", "alice", "c1", 23, 1, [1], false, 12));
            await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitAsync(duplicate));

            Assert.Equal(8, Count("SELECT conv_key FROM conversations WHERE conversation_id = 'si_alice_dave'"));
            Assert.Equal([1L, 2L, 3L, 4L], (await store.ReadMessagesAsync("si_alice_bob", 1, ReadDirection.Forward, 10)).Select(m => m.Seq));
            Assert.Equal(3, (await store.FindByClientMsgIdAsync("sg_team", "carol", "c1"))!.Seq);
            Assert.True((await store.GetMessageAsync("sg_team", 1))!.Revoked);
            Assert.Equal([1L], (await store.ReadMessagesAsync("si_alice_dave", 0, ReadDirection.Backward, 10)).Select(m => m.Seq));
            Assert.Equal(4, (await store.GetConversationViewAsync("alice", "si_alice_bob"))!.MaxSeq);
            Assert.Equal(["si_alice_dave"], (await store.GetChangesAsync("dave", 0, 10)).Changes.Select(c => c.Conversation.ConversationId));
        }
    }

    /// <summary>
    /// ADR 0034 (stop 47): migration 32 replaces the version index by the index of changed rows and the sparse anchor, over a
    /// database as migration 31 left it: a 1:1 of 150 messages whose first 80 are from before migration 15 (no search id,
    /// across the anchor at 64), edits of an old and a new row, and a short 1:1 (no anchor). The indexes hold exactly the
    /// changed rows and every 64th seq; the store's sync returns, for every cursor, the newest rows a scan by version returns;
    /// new writes after it; the migration runs again over its own result (forgotten and re-run) without a change.
    /// </summary>
    [Fact]
    public async Task Migration32_VersionIndexOfChangedRowsAndAnchor_FromMigration31_SyncReturnsTheSameRows()
    {
        CreateAtVersion(31, """
            INSERT INTO conversations (conv_key, conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, max_seq, last_seq, head_version)
            VALUES (3, 'si_alice_bob', 1, NULL, '', 'alice', 1, 300, 2, 150, 150, 301), (4, 'si_alice_carol', 1, NULL, '', 'alice', 1, 300, 2, 5, 5, 255);
            INSERT INTO members (conv_key, user_id, read_seq, feed_version) VALUES (3, 'alice', 0, 301), (3, 'bob', 0, 301), (4, 'alice', 0, 255), (4, 'carol', 0, 255);
            WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 150)
            INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq, search_id)
                SELECT 3, i, 'm' || i, CASE i % 3 WHEN 0 THEN 'alice' ELSE 'bob' END, 'c' || i, 10 + i, 1, x'0a01', 0,
                       CASE WHEN i <= 80 THEN i ELSE 100 + i END, NULL, 0, CASE WHEN i <= 80 THEN NULL ELSE 100 + i END
                FROM k;
            INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq, search_id)
                VALUES (4, 1, 'n1', 'carol', 'd1', 11, 1, x'0a01', 0, 251, NULL, 0, 251), (4, 2, 'n2', 'alice', 'd2', 12, 1, x'0a01', 0, 252, NULL, 0, 252),
                       (4, 3, 'n3', 'carol', 'd3', 13, 1, x'0a01', 0, 253, NULL, 0, 253), (4, 4, 'n4', 'carol', 'd4', 14, 1, x'0a01', 0, 254, NULL, 0, 254),
                       (4, 5, 'n5', 'alice', 'd5', 15, 1, x'0a01', 0, 255, NULL, 0, 255);
            UPDATE messages SET version = 300, annotations = x'01' WHERE conv_key = 3 AND seq = 10;
            UPDATE messages SET version = 301, revoked = 1, content = x'' WHERE conv_key = 3 AND seq = 120;
            UPDATE feed_state SET max_version = 301, derived_through = 301 WHERE id = 1;
            UPDATE search_state SET indexed_through = 301 WHERE id = 1;
            """);
        Assert.Equal(["conv_key", "version"], IndexColumns("ix_messages_conv_version"));
        string Oracle(long since, int limit) => string.Join(',', Rows(
            $"SELECT seq FROM (SELECT seq FROM messages NOT INDEXED WHERE conv_key = 3 AND version > {since} ORDER BY seq DESC LIMIT {limit}) ORDER BY seq"));

        for (var round = 0; round < 2; round++)
        {
            await using (var store = new SqliteMessageStore(_database.Open()))
            {
                await store.InitializeAsync();
                Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 32"));
                Assert.Empty(IndexColumns("ix_messages_conv_version"));
                Assert.Equal(["conv_key", "version", "search_id"], IndexColumns("ix_messages_changed"));
                Assert.Equal(["conv_key", "search_id"], IndexColumns("ix_messages_anchor"));
                Assert.Equal(81, IndexEntries("ix_messages_changed")); // the 80 without a search id and the edited seq 120
                Assert.Equal(2, IndexEntries("ix_messages_anchor")); // seqs 64 and 128

                foreach (var since in new long[] { 0, 1, 9, 10, 63, 64, 65, 79, 80, 163, 164, 165, 180, 227, 228, 229, 249, 250, 299, 300, 301 })
                {
                    foreach (var limit in new[] { 5, 200 })
                    {
                        var change = (await store.GetChangesAsync("alice", since, limit)).Changes.SingleOrDefault(c => c.Conversation.ConversationId == "si_alice_bob");
                        var seqs = change is null ? string.Empty : string.Join(',', change.Messages.Select(m => m.Seq).Order());
                        Assert.True(Oracle(since, limit) == seqs, $"round {round}, since {since}, limit {limit}: expected {Oracle(since, limit)}, got {seqs}");
                    }
                }

                Assert.Equal([1L, 2L, 3L, 4L, 5L], (await store.GetChangesAsync("alice", 250, 10)).Changes.Single(c => c.Conversation.ConversationId == "si_alice_carol").Messages.Select(m => m.Seq).Order());
            }

            // Forget it and run it again over its own result.
            Count("DELETE FROM schema_migrations WHERE version = 32; SELECT 0");
        }

        // Writes after it: a new message (neither index), an edit of a row from before migration 15 (already in it).
        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
            var batch = new CommitBatch();
            batch.Messages.Add(new StoredMessage("si_alice_bob", 151, "m151", "bob", "c151", 400, 1, [10, 7], false, 302));
            batch.MessageUpdates.Add(new MessageUpdate("si_alice_bob", 20, [5], 303));
            await store.CommitAsync(batch);
            Assert.Equal(81, IndexEntries("ix_messages_changed"));
            Assert.Equal([20L, 151L], (await store.GetChangesAsync("alice", 301, 10)).Changes.Single(c => c.Conversation.ConversationId == "si_alice_bob").Messages.Select(m => m.Seq).Order());
        }
    }

    private static async Task<List<(string, long)>> ToListAsync(IAsyncEnumerable<StoredMessage> messages)
    {
        var list = new List<(string, long)>();
        await foreach (var m in messages)
        {
            list.Add((m.ConversationId, m.Seq));
        }

        return list;
    }

    private List<string> IndexColumns(string index) => Rows($"SELECT name FROM pragma_index_info('{index}') ORDER BY seqno");

    // The entries an index holds, whatever its WHERE clause: ANALYZE's first figure for it (0 when it is empty).
    private long IndexEntries(string index)
    {
        _database.Scalar("ANALYZE;");
        var stat = (string?)_database.Scalar($"SELECT stat FROM sqlite_stat1 WHERE idx = '{index}'");
        return stat is null ? 0 : long.Parse(stat.Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
