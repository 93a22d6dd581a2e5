using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The full-text index's queue when the store has the core's search-text rule (ADR 0019, stop-36 amendment). A commit
/// hands each message's search text to an in-memory queue on the writer (so in commit order, which is version order) and
/// writes nothing more; the indexer, in the writer queue, indexes queued texts and records in the same transaction the
/// version through which every committed message is indexed (<c>search_state.indexed_through</c>). What a stopped process
/// had not indexed yet is found above that mark (the conversations whose head version is above it, then their messages
/// above it through <c>ix_messages_changed</c> and the anchor, ADR 0034) and indexed from the stored content with the same rule.
/// <list type="bullet">
/// <item>A queued text is indexed only while its message row is as it was committed: the same search id, not revoked,
/// the same content bytes, and no index row yet. So a text of a write that rolled back (no row), of a message revoked
/// (revoked, content cleared) or edited (new content; the edit indexed its new text itself) before the indexer ran, or
/// queued twice, is skipped, whatever the order of the commits, without the edit or revoke touching the queue.</item>
/// <item>Texts still in <c>search_pending</c> (queued by an older version or by a store without the rule) are indexed first.</item>
/// <item>Above <see cref="MaxQueuedTexts"/> (by default) the memory queue is dropped and the next indexer run recovers from the mark.</item>
/// </list>
/// </summary>
public sealed partial class SqliteMessageStore
{
    /// <summary>The most texts the memory queue holds; beyond, it is dropped and the indexer recovers from the database.</summary>
    internal const int MaxQueuedTexts = 50_000;

    private const string RecoveryConversationsSql = "SELECT conversation_id FROM conversations WHERE head_version > $mark;";

    // In version order, from a cursor, a chunk at a time: an edit keeps its message's search id (the version it was first
    // committed at) and raises its version, so search_id <= version always. ADR 0034: the changed rows through
    // ix_messages_changed, merged by version with the unchanged ones (version = search_id), a seq range from the anchor
    // at or below the cursor; the same rows in the same order as the version index gave.
    internal static readonly string RecoveryMessagesSql = $"""
        SELECT m.search_id, m.seq, m.content_kind, m.content, m.version FROM messages m INDEXED BY ix_messages_changed
        WHERE m.conv_key = {SqliteRows.ConvKey} AND {SqliteVersionIndex.Changed("m")} AND m.version > $after AND m.search_id > $mark AND m.search_id <= $ceiling AND m.revoked = 0
          AND NOT EXISTS (SELECT 1 FROM message_search_content s WHERE s.id = m.search_id)
        UNION ALL
        SELECT m.search_id, m.seq, m.content_kind, m.content, m.version FROM messages m
        WHERE m.conv_key = {SqliteRows.ConvKey} AND m.seq >= {SqliteVersionIndex.FirstNewSeqBound(SqliteRows.ConvKey, "MAX($after, $mark)")}
          AND m.version = m.search_id AND m.search_id > $after AND m.search_id > $mark AND m.search_id <= $ceiling AND m.revoked = 0
          AND NOT EXISTS (SELECT 1 FROM message_search_content s WHERE s.id = m.search_id)
        ORDER BY 5 LIMIT $limit;
        """;

    private readonly ISearchTextExtractor? _searchText;

    // Writer only (commits and the indexer both run on the writer).
    private readonly Queue<PendingText> _pendingTexts = new();
    // What the recovery pass covers above the mark: StartUnknown until this store's first write reads the highest
    // version committed before it (the last process's unindexed texts are at most that; this store queues its own);
    // Everything after the memory queue was dropped; None when nothing is due.
    private long _recoveryCeiling = StartUnknown;
    private bool _durableQueueMayHaveRows = true; // search_pending rows from before (migration 28 carries them over)
    private RecoveryPass? _recovery; // a recovery pass under way (it spans indexer runs, a batch each)
    private bool _recoveryResetDue; // set by a failed indexer write's caller, read on the writer
    private long _recoveredTexts;

    /// <summary>The memory queue's bound (<see cref="MaxQueuedTexts"/>; settable for tests).</summary>
    internal int QueuedTextsBound { get; set; } = MaxQueuedTexts;

    /// <summary>Texts the recovery pass indexed from stored content since start (tests and diagnostics).</summary>
    internal long RecoveredTexts => Interlocked.Read(ref _recoveredTexts);

    /// <summary>Whether this store keeps queued texts in memory (it was given the search-text rule).</summary>
    internal bool QueuesInMemory => _searchText is not null;

    private const long StartUnknown = -1;
    private const long None = 0;
    private const long Everything = long.MaxValue;

    private void QueueInMemory(WriterCommands c, PendingText text)
    {
        ReadStartCeiling(c);
        if (_recoveryCeiling == Everything)
        {
            // The recovery pass will find this message in the database.
            return;
        }

        if (_pendingTexts.Count >= QueuedTextsBound)
        {
            _pendingTexts.Clear();
            _recoveryCeiling = Everything;
            return;
        }

        _pendingTexts.Enqueue(text);
    }

    // In the writer's write: indexes up to maxRows texts; returns how many it indexed (fewer only when nothing is left)
    // and whether everything committed so far is now indexed.
    private (int Indexed, bool Empty) IndexInMemory(WriterCommands c, int maxRows)
    {
        var indexed = 0;
        if (_durableQueueMayHaveRows)
        {
            indexed = IndexDurable(c, maxRows);
            if (indexed == maxRows)
            {
                return (indexed, false);
            }

            _durableQueueMayHaveRows = false;
        }

        if (Volatile.Read(ref _recoveryResetDue))
        {
            // An earlier indexer write failed after it took texts from the queue or moved the pass on: its changes were
            // rolled back, so what it took is recovered from the (unchanged) mark instead.
            Volatile.Write(ref _recoveryResetDue, false);
            _pendingTexts.Clear();
            _recovery = null;
            _recoveryCeiling = Everything;
        }

        ReadStartCeiling(c);
        if (_recovery is null && _recoveryCeiling != None)
        {
            // Everything: the queue was dropped, so the pass covers what is committed now; texts committed from here on
            // are queued again (the queue is empty: nothing was queued while this was due).
            // The pass finds its conversations by head_version: the derived rows first (ADR 0028).
            FlushDerivedInWrite(c);
            _recovery = StartRecovery(c, _recoveryCeiling == Everything ? MaxVersion(c) : _recoveryCeiling);
            _recoveryCeiling = None;
        }

        if (_recovery is not null)
        {
            // A batch's worth of rows at a time, so the pass never holds the writer for long (enabling search on a store
            // that ran without it, or a restart after a kill, recovers in batches between commits). The mark stays
            // where it is until the pass ends; a stop in between starts it again from the mark (indexed rows are skipped).
            var read = RecoverSome(c, _recovery, maxRows - indexed);
            indexed += read;
            if (!_recovery.Done)
            {
                return (Math.Max(indexed, maxRows), false);
            }

            _recovery = null;
            if (_recoveryCeiling != None)
            {
                // The queue overflowed while the pass ran: another pass is due before the mark may rise.
                return (Math.Max(indexed, maxRows), false);
            }
        }

        var stage = c.StageQueuedText;
        string? lastConversation = null;
        string? lastKey = null;
        while (indexed < maxRows && _pendingTexts.Count > 0)
        {
            // Staged, then moved in one statement; a text skipped as stale leaves room for the next round.
            for (var staged = 0; staged < maxRows - indexed && _pendingTexts.TryDequeue(out var text); staged++)
            {
                if (!ReferenceEquals(text.ConversationId, lastConversation))
                {
                    lastConversation = text.ConversationId;
                    lastKey = SearchKeys.For(text.ConversationId);
                }

                stage.Bind(0, text.SearchId);
                BindSearchText(stage, 1, text.Text, text.Content, text.TextStart, text.TextLength);
                stage.Bind(2, lastKey);
                stage.Bind(3, text.ConversationId);
                stage.Bind(4, text.Seq);
                stage.Bind(5, text.Content);
                stage.Execute();
            }

            c.IndexQueuedText.Execute();
            indexed += c.IndexQueuedText.Changes;
            c.ClearQueuedTexts.Execute();
        }

        // Every message committed before the first text still queued is indexed (or has no text); with none queued,
        // every message committed so far.
        var empty = _pendingTexts.Count == 0;
        SetMark(c, empty ? MaxVersion(c) : _pendingTexts.Peek().SearchId - 1);
        return (indexed, empty);
    }

    // The pre-stop-36 queue (and the only one of a store without the rule): one INSERT … SELECT and one DELETE by range.
    private static int IndexDurable(WriterCommands c, int maxRows)
    {
        c.PendingSearchBatch.Parameters[0].Value = maxRows;
        int taken;
        long through;
        using (var reader = c.PendingSearchBatch.ExecuteReader())
        {
            reader.Read();
            taken = reader.GetInt32(1);
            through = taken == 0 ? 0 : reader.GetInt64(0);
        }

        if (taken > 0)
        {
            c.IndexPendingSearch.Parameters[0].Value = through;
            c.IndexPendingSearch.ExecuteNonQuery();
        }

        return taken;
    }

    // At this store's first write: the last process's commits are at most the highest version committed so far (the
    // writer runs one write at a time, so the current one's messages are not in feed_state yet).
    private void ReadStartCeiling(WriterCommands c)
    {
        if (_recoveryCeiling == StartUnknown)
        {
            _recoveryCeiling = MaxVersion(c);
        }
    }

    // Everything committed above the mark, up to the ceiling, that has a text and no index row, is read back from the
    // stored content: the conversations whose head is above the mark, then their messages above it, a chunk at a time.
    private static RecoveryPass StartRecovery(WriterCommands c, long ceiling)
    {
        var mark = ReadMark(c);
        var conversations = new List<string>();
        using (var command = c.Connection.CreateCommand())
        {
            command.CommandText = RecoveryConversationsSql;
            command.Parameters.AddWithValue("$mark", mark);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                conversations.Add(reader.GetString(0));
            }
        }

        return new RecoveryPass(mark, ceiling, conversations);
    }

    // Reads at most maxRows rows of the pass (at least one conversation's worth of a chunk) and indexes those with a
    // text; returns the rows read.
    private int RecoverSome(WriterCommands c, RecoveryPass pass, int maxRows)
    {
        var read = 0;
        var indexed = 0;
        using var select = c.Connection.CreateCommand();
        select.CommandText = RecoveryMessagesSql;
        var conv = select.Parameters.Add(new SqliteParameter("$conv", string.Empty));
        var after = select.Parameters.Add(new SqliteParameter("$after", 0L));
        var limit = select.Parameters.Add(new SqliteParameter("$limit", 0));
        select.Parameters.AddWithValue("$mark", pass.Mark);
        select.Parameters.AddWithValue("$ceiling", pass.Ceiling);
        var insert = c.IndexRecoveredText;
        while (!pass.Done && read < maxRows)
        {
            var conversationId = pass.Conversations[pass.Next];
            conv.Value = conversationId;
            after.Value = pass.After;
            var chunk = Math.Max(1, maxRows - read);
            limit.Value = chunk;
            var key = SearchKeys.For(conversationId);
            var rows = 0;
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows++;
                    pass.After = reader.GetInt64(4);
                    if (_searchText!.SearchText(reader.GetInt32(2), reader.GetFieldValue<byte[]>(3)) is not { Length: > 0 } text)
                    {
                        continue;
                    }

                    insert.Bind(0, reader.GetInt64(0));
                    insert.Bind(1, text);
                    insert.Bind(2, key);
                    insert.Bind(3, conversationId);
                    insert.Bind(4, reader.GetInt64(1));
                    insert.Execute();
                    indexed++;
                }
            }

            read += rows;
            if (rows < chunk)
            {
                // This conversation is done.
                pass.Next++;
                pass.After = pass.Mark;
            }
        }

        Interlocked.Add(ref _recoveredTexts, indexed);
        return read;
    }

    private static long ReadMark(WriterCommands c) => c.ReadSearchMark.ReadInt64OrZero();

    private static long MaxVersion(WriterCommands c) => c.ReadMaxVersion.ReadInt64OrZero();

    private static void SetMark(WriterCommands c, long mark)
    {
        c.SetSearchMark.Bind(0, mark);
        c.SetSearchMark.Execute();
    }

    /// <summary>
    /// A recovery pass: the messages committed above <see cref="Mark"/> up to <see cref="Ceiling"/> in
    /// <see cref="Conversations"/>, read in version order; <see cref="Next"/> and <see cref="After"/> say where it is.
    /// </summary>
    private sealed class RecoveryPass(long mark, long ceiling, List<string> conversations)
    {
        public long Mark { get; } = mark;

        public long Ceiling { get; } = ceiling;

        public List<string> Conversations { get; } = conversations;

        public int Next { get; set; }

        public long After { get; set; } = mark;

        public bool Done => Next >= Conversations.Count;
    }

    /// <summary>
    /// A committed message's search text waiting in memory for the indexer; <see cref="Content"/> is the stored bytes (not
    /// copied). The text is <see cref="Text"/> when it is a non-empty string, otherwise <see cref="Content"/>'s UTF-8 bytes at
    /// <see cref="TextStart"/> for <see cref="TextLength"/> bytes (ADR 0027).
    /// </summary>
    private readonly record struct PendingText(long SearchId, string ConversationId, long Seq, string? Text, byte[] Content, int TextStart, int TextLength);

    // A search text bound as the string it is, or as its UTF-8 bytes in the content (ADR 0027: the same TEXT value; the
    // database's encoding is UTF-8, so SQLite converts a UTF-16 string to those very bytes).
    private static void BindSearchText(RawStatement statement, int parameter, string? text, byte[] content, int start, int length)
    {
        if (!string.IsNullOrEmpty(text))
        {
            statement.Bind(parameter, text);
        }
        else
        {
            statement.BindText(parameter, content.AsSpan(start, length));
        }
    }
}
