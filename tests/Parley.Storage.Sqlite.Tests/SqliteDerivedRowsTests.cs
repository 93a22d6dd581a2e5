using System.Globalization;
using System.Text;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// ADR 0028: a message's derived rows (the conversation's max/last seq, updated_at and head version; the members' feed
/// versions and the sender's read seq) written once per flush. Two files get the same batches: one with the flush off
/// (every commit writes them, as before), one with a flush interval so long that nothing is flushed before the "crash"
/// (the owner closed without the store's orderly stop, so the file's pending list is all there is).
/// </summary>
public sealed class SqliteDerivedRowsTests : IDisposable
{
    private const int Never = 600_000; // ten minutes: no flush by time within a test
    private readonly TempDatabase _everyCommit = new();
    private readonly TempDatabase _deferred = new();
    private long _version;

    public void Dispose()
    {
        _everyCommit.Dispose();
        _deferred.Dispose();
    }

    [Fact]
    public async Task PendingAtACrash_DerivedAtTheNextStart_EqualToWhatEveryCommitWrites_AndAResumeMissesNothing()
    {
        var batches = Workload();
        var reference = await OpenAsync(_everyCommit, 0);
        foreach (var batch in batches)
        {
            await reference.Store.CommitAsync(batch);
        }

        // The deferring file: a client syncs in the middle (its cursor), the rest is committed and the process dies.
        var crashed = await OpenAsync(_deferred, Never);
        await crashed.Store.CommitAsync(batches[0]);
        await crashed.Store.CommitAsync(batches[1]);
        var early = await crashed.Store.GetChangesAsync("bob", 0, 100);
        Assert.Contains(early.Changes, c => c.Conversation.ConversationId == "d1" && c.Messages.Count == 3);
        for (var i = 2; i < batches.Count; i++)
        {
            await crashed.Store.CommitAsync(batches[i]);
        }

        // Pending for real: the file says so, and its rows are behind the messages.
        Assert.NotNull(_deferred.Scalar("SELECT pending FROM feed_state;") as byte[]);
        Assert.True(Long(_deferred.Scalar("SELECT derived_through FROM feed_state;")) < Long(_deferred.Scalar("SELECT max_version FROM feed_state;")));
        Assert.True(
            Long(_deferred.Scalar("SELECT max_seq FROM conversations WHERE conversation_id = 'd1';")) < 11,
            "d1's max_seq should wait for the flush");

        // Reactivated before any flush: the next seq follows the last message, not the unwritten max_seq.
        Assert.Equal(11, (await crashed.Store.GetConversationAsync("d1"))!.MaxSeq);
        Assert.Equal(5, (await crashed.Store.GetConversationAsync("g1"))!.MaxSeq);

        await crashed.Owner.DisposeAsync(); // no store dispose: nothing flushed in an orderly way

        var restarted = await OpenAsync(_deferred, Never);
        await restarted.Store.GetMaxVersionAsync(); // the commit pipeline's first call at start
        Assert.IsType<DBNull>(_deferred.Scalar("SELECT pending FROM feed_state;"));
        Assert.Equal(Rows(_everyCommit), Rows(_deferred));
        foreach (var user in new[] { "alice", "bob", "carol", "dave" })
        {
            Assert.Equal(await reference.Store.GetUnreadTotalAsync(user), await restarted.Store.GetUnreadTotalAsync(user));
        }

        // The early cursor gets every message committed after it, in every conversation.
        var resumed = await restarted.Store.GetChangesAsync("bob", early.Version, 100);
        var d1 = resumed.Changes.Single(c => c.Conversation.ConversationId == "d1");
        Assert.Equal(Enumerable.Range(4, 8).Select(i => (long)i), d1.Messages.Select(m => m.Seq));
        Assert.Equal(11, d1.Conversation.MaxSeq);
        var g1 = resumed.Changes.Single(c => c.Conversation.ConversationId == "g1");
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), g1.Messages.Select(m => m.Seq));

        // A retried client id is still a duplicate.
        var retry = new CommitBatch();
        retry.Messages.Add(Message("d1", 12, "alice", clientMsgId: "c-d1-7"));
        await Assert.ThrowsAsync<StoreConflictException>(() => restarted.Store.CommitAsync(retry));
        await restarted.Store.DisposeAsync();
        await reference.Store.DisposeAsync();
        await restarted.Owner.DisposeAsync();
        await reference.Owner.DisposeAsync();
    }

    [Fact]
    public async Task ReadsThatPromiseOnesOwnWrites_SeeACommitRightAfterIt_WhileTheSyncVersionNeverPassesAnUnwrittenRow()
    {
        var open = await OpenAsync(_deferred, Never);
        var store = open.Store;
        var create = new CommitBatch();
        create.Conversations.Add(Direct("d1", "alice", "bob"));
        await store.CommitAsync(create);
        var first = await store.GetChangesAsync("bob", 0, 100);

        var send = new CommitBatch();
        send.Messages.Add(Message("d1", 1, "alice"));
        send.Messages.Add(Message("d1", 2, "alice"));
        await store.CommitAsync(send);

        // Deferred in the file: the sync version would be derived_through, below the messages.
        Assert.NotNull(_deferred.Scalar("SELECT pending FROM feed_state;") as byte[]);
        Assert.Equal(0L, Long(_deferred.Scalar("SELECT max_seq FROM conversations WHERE conversation_id = 'd1';")));
        Assert.True(Long(_deferred.Scalar("SELECT derived_through FROM feed_state;")) < send.Messages[1].Version);

        // Unread, the list, the view, the members and the sync ask for the flush and see the messages.
        Assert.Equal(2, await store.GetUnreadTotalAsync("bob"));
        Assert.Equal(0, await store.GetUnreadTotalAsync("alice"));
        var (page, _) = await store.ListConversationsAsync("bob", 0, 10);
        Assert.Equal(2, page.Single().MaxSeq);
        var sync = await store.GetChangesAsync("bob", first.Version, 100);
        Assert.Equal([1L, 2L], sync.Changes.Single().Messages.Select(m => m.Seq));
        Assert.Equal(send.Messages[1].Version, sync.Version);

        var more = new CommitBatch();
        more.Messages.Add(Message("d1", 3, "bob"));
        await store.CommitAsync(more);
        Assert.Equal(3, (await store.GetConversationViewAsync("alice", "d1"))!.MaxSeq);
        Assert.Equal(3, (await store.GetMembersAsync("d1")).Single(m => m.UserId == "bob").ReadSeq);
        Assert.IsType<DBNull>(_deferred.Scalar("SELECT pending FROM feed_state;"));
        await store.DisposeAsync();
        await open.Owner.DisposeAsync();
    }

    // Issue 17, stop 47: an activation's one read (the row, the members and the newest messages in one read transaction)
    // returns what the three reads return, with derived rows pending (the members' read seqs are flushed first, as
    // GetMembersAsync does); a group gets its row only; a conversation that does not exist, null.
    [Fact]
    public async Task LoadConversation_SameRowsAsTheThreeReads_WithDerivedRowsPending_GroupRowOnly_MissingNull()
    {
        var open = await OpenAsync(_deferred, Never);
        var store = open.Store;
        foreach (var batch in Workload())
        {
            await store.CommitAsync(batch);
        }

        Assert.NotNull(_deferred.Scalar("SELECT pending FROM feed_state;") as byte[]);
        var load = await store.LoadConversationAsync("d1", 4);
        Assert.NotNull(load);
        Assert.Equal(11, load.Record.MaxSeq); // the messages' max, not the unwritten max_seq
        Assert.IsType<DBNull>(_deferred.Scalar("SELECT pending FROM feed_state;")); // flushed before the members were read
        Assert.Equal(await store.GetConversationAsync("d1"), load.Record);
        Assert.Equal(await store.GetMembersAsync("d1"), load.Members!);
        Assert.Equal(["alice", "bob"], load.Members!.Select(m => m.UserId));
        Assert.True(load.Members!.Single(m => m.UserId == "alice").ReadSeq > 0);
        var newest = await store.ReadMessagesAsync("d1", 0, ReadDirection.Backward, 4);
        Assert.Equal([8L, 9L, 10L, 11L], load.Newest!.Select(m => m.Seq));
        Assert.Equal(newest.Select(m => (m.ConversationId, m.Seq, m.ServerMsgId, m.SenderId, m.ClientMsgId, m.Version)),
            load.Newest!.Select(m => (m.ConversationId, m.Seq, m.ServerMsgId, m.SenderId, m.ClientMsgId, m.Version)));
        Assert.Equal(newest.Select(m => Encoding.UTF8.GetString(m.Content)), load.Newest!.Select(m => Encoding.UTF8.GetString(m.Content)));

        var all = await store.LoadConversationAsync("d2", 256);
        Assert.Equal([1L, 2L, 3L], all!.Newest!.Select(m => m.Seq));

        var group = await store.LoadConversationAsync("g1", 4);
        Assert.Equal(ConversationKind.Group, group!.Record.Kind);
        Assert.Null(group.Members);
        Assert.Null(group.Newest);

        Assert.Null(await store.LoadConversationAsync("si_nobody_none", 4));
        await store.DisposeAsync();
        await open.Owner.DisposeAsync();
    }

    // d1 (alice, bob), g1 (alice, bob, carol), d2 (carol, dave), created first; then messages in batches, some
    // conversations several times per batch and from both sides.
    private List<CommitBatch> Workload()
    {
        var create = new CommitBatch();
        create.Conversations.Add(Direct("d1", "alice", "bob"));
        create.Conversations.Add(new NewConversation("g1", ConversationKind.Group, "g-g1", "G1", "alice", 1000, ["alice", "bob", "carol"], ++_version));
        create.Conversations.Add(Direct("d2", "carol", "dave"));
        var batches = new List<CommitBatch> { create };
        var seqs = new Dictionary<string, long>();
        (string Conversation, string Sender)[][] plan =
        [
            [("d1", "alice"), ("d1", "bob"), ("d1", "alice")],
            [("d1", "alice"), ("g1", "carol"), ("d2", "dave")],
            [("g1", "alice"), ("d1", "bob"), ("d1", "bob"), ("d2", "carol")],
            [("d1", "alice"), ("g1", "bob"), ("g1", "carol")],
            [("d1", "alice"), ("d1", "alice"), ("d1", "bob"), ("d1", "alice"), ("d2", "dave"), ("g1", "alice")],
        ];
        foreach (var step in plan)
        {
            var batch = new CommitBatch();
            foreach (var (conversation, sender) in step)
            {
                var seq = seqs[conversation] = seqs.GetValueOrDefault(conversation) + 1;
                batch.Messages.Add(Message(conversation, seq, sender));
            }

            batches.Add(batch);
        }

        return batches;
    }

    private NewConversation Direct(string id, string a, string b) =>
        new(id, ConversationKind.Direct, null, "", a, 1000, [a, b], ++_version);

    private StoredMessage Message(string conversation, long seq, string sender, string? clientMsgId = null)
    {
        var version = ++_version;
        return new(conversation, seq, $"s-{conversation}-{seq}", sender, clientMsgId ?? $"c-{conversation}-{seq}", 2000 + version, 1, Encoding.UTF8.GetBytes($"hello {seq}"), false, version);
    }

    private static async Task<(SqliteDatabase Owner, SqliteMessageStore Store)> OpenAsync(TempDatabase file, int flushMs)
    {
        var options = file.Options();
        options.DerivedRowsFlushMs = flushMs;
        var owner = new SqliteDatabase(options);
        var store = new SqliteMessageStore(owner);
        await store.InitializeAsync();
        return (owner, store);
    }

    private static List<string> Rows(TempDatabase file)
    {
        using var connection = file.OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT 'c ' || conversation_id || ' ' || max_seq || ' ' || last_seq || ' ' || updated_at || ' ' || head_version FROM conversations
            UNION ALL
            SELECT 'm ' || c.conversation_id || ' ' || m.user_id || ' ' || m.read_seq || ' ' || m.feed_version
            FROM members m JOIN conversations c ON c.conv_key = m.conv_key
            ORDER BY 1;
            """;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private static long Long(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
