using System.Globalization;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
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
        Directory.CreateDirectory(Path.GetDirectoryName(_database.FilePath)!);
        using (var connection = _database.OpenRaw())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);"
                + string.Concat(SqliteMigrations.All.Where(m => m.Version <= 16).Select(m => m.Script + $"; INSERT INTO schema_migrations VALUES ({m.Version}, 0);"))
                + """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, read_diffusion)
                VALUES ('sg_big', 2, 'big', 'Big', 'owner', 1, 1, 3, 1), ('sg_small', 2, 'small', 'Small', 'owner', 1, 1, 2, 0);
                INSERT INTO members (conversation_id, user_id, feed_version, info_version)
                VALUES ('sg_big', 'owner', 1, 1), ('sg_big', 'u1', 1, 1), ('sg_big', 'u2', 1, 1), ('sg_small', 'owner', 1, 1), ('sg_small', 'u1', 1, 1);
                """;
            command.ExecuteNonQuery();
        }

        await using (var store = new SqliteMessageStore(_database.Open()))
        {
            await store.InitializeAsync();
        }

        Assert.Equal(1, Count("SELECT COUNT(*) FROM schema_migrations WHERE version = 17"));
        Assert.Equal(3, Count("SELECT COUNT(*) FROM members WHERE conversation_id = 'sg_big' AND read_diffusion = 1"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members WHERE conversation_id = 'sg_small' AND read_diffusion = 0"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members INDEXED BY ix_members_user_info WHERE read_diffusion = 0 AND user_id >= ''"));
        Assert.Equal(2, Count("SELECT COUNT(*) FROM members INDEXED BY ix_members_conv_info WHERE read_diffusion = 0 AND conversation_id >= ''"));
        Assert.Equal(1, Count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ix_groups_super_info'"));
    }

    [Fact]
    public async Task Migration23_InternsTheInvitersOfExistingRows_AndNewRowsHoldOnlyTheKey()
    {
        // A database as version 22 left it: a super group whose rows name their inviters in full.
        Directory.CreateDirectory(Path.GetDirectoryName(_database.FilePath)!);
        using (var connection = _database.OpenRaw())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);"
                + string.Concat(SqliteMigrations.All.Where(m => m.Version <= 22).Select(m => m.Script + $"; INSERT INTO schema_migrations VALUES ({m.Version}, 0);"))
                + """
                INSERT INTO conversations (conversation_id, kind, group_id, name, creator_id, created_at, updated_at, member_count, read_diffusion)
                VALUES ('sg_big', 2, 'big', 'Big', 'owner', 1, 1, 4, 1);
                INSERT INTO members (conversation_id, user_id, feed_version, info_version, inviter_id, read_diffusion)
                VALUES ('sg_big', 'owner', 1, 1, '', 1), ('sg_big', 'u1', 1, 1, 'owner', 1), ('sg_big', 'u2', 1, 1, 'owner', 1), ('sg_big', 'u3', 1, 1, 'u1', 1);
                """;
            command.ExecuteNonQuery();
        }

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
}
