using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>Threads, revisions and full-text search (ADR 0018).</summary>
public sealed partial class SqliteMessageStore : ISearchIndexQueue
{
    // A search that finds texts queued indexes them first, this many per write.
    private const int CatchUpBatch = 1000;

    // Raised on the writer by every commit that queues a search text. _indexedGeneration is the generation up to which
    // the queue is known empty in the database: set only after the write that found it so has committed (a reader's
    // snapshot sees its moved rows), never from inside the write. A search skips its catch-up write when the two are
    // equal. Start: 1 against 0, as the queue may hold a crashed process's rows.
    private long _queuedGeneration = 1;
    private long _indexedGeneration;

    // The FTS5 trigram index finds the candidates; a second statement tells which of them the user may see (membership
    // periods, not revoked). Newest first in the index's own order: the FTS5 rowid is the message's search_id (its commit
    // position, which an edit keeps), so FTS5 walks its doclists newest first (ORDER BY rowid DESC needs no sort). One
    // walk per window (issue 18, stop 30): the caller steps it and stops once the page is full or after the window's count
    // of index matches, so the window's floor and its page come from one walk of the index. Every match read counts
    // against the window, visible or not. $query is an FTS5 expression: the phrase in the body column, and when the search
    // is restricted, the conversation key(s) in the conv column (migration 27), so the index walk itself skips other
    // conversations' matches. The walk reads the index and its content row only (body, conversation, seq): a match in a
    // conversation the user never belonged to (not in his scope, compared in memory: two conversations may share a key)
    // is counted and skipped without the message row and the membership lookups; only a match in his scope is looked up
    // with SearchVisibleSql (issue 18, stop 32: the walk over all conversations used to join every one of the word's
    // matches, about 10 pages each, 1,000 of the 6,900 pages of the 10M outlier's first page). The walk statement stays
    // open while the lookups run on the same connection, so both read one snapshot.
    private const string SearchWalkSql = """
        SELECT s.rowid, s.conversation_id, s.seq, s.body
        FROM message_search s
        WHERE message_search MATCH $query AND s.rowid < $before AND s.rowid >= $floor
        ORDER BY s.rowid DESC;
        """;

    // A match in the user's scope: its message if the user may see it (a member from its seq on, or within a closed
    // period of his; not revoked), else no row.
    private const string SearchVisibleSql = """
        SELECT $conv, msg.seq, msg.server_msg_id, msg.sender_id, msg.client_msg_id, msg.server_time, msg.content_kind, msg.content,
               msg.revoked, msg.version, msg.annotations, msg.reply_to_seq
        FROM conversations vk JOIN messages msg ON msg.conv_key = vk.conv_key
        WHERE vk.conversation_id = $conv AND msg.seq = $seq AND msg.revoked = 0
          AND (EXISTS (SELECT 1 FROM members vm
                       WHERE vm.conv_key = vk.conv_key AND vm.user_id = $user AND vm.active = 1 AND msg.seq >= vm.visible_from)
               OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = $conv AND vp.user_id = $user AND msg.seq BETWEEN vp.from_seq AND vp.to_seq));
        """;

    // The newest row of the index: where the first page's band of rows starts (issue 18, stop 31). FTS5 scans its content
    // table in rowid order for a query without MATCH, so this reads one row.
    private const string SearchTopSql = "SELECT rowid FROM message_search ORDER BY rowid DESC LIMIT 1;";

    // Every conversation the user is or was a member of: a members row stays (inactive) after a leave, next to its periods.
    private const string SearchScopeSql = "SELECT k.conversation_id FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE m.user_id = $user;";

    // Whether the user is or was a member of one conversation.
    private const string SearchMemberSql = "SELECT 1 FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE m.user_id = $user AND k.conversation_id = $conv;";

    // How many of a word's matches below the cursor, in the whole index, count as few: at most this many per row of the
    // page asked for, or one per conversation of the user's, whichever is more.
    private const int SearchRareFactor = 4;

    // Conversation keys per FTS5 expression when a search is restricted to the user's conversations (an OR of this many
    // terms; a user with more conversations is searched in chunks of this many, merged).
    private const int ScopeChunk = 256;

    /// <inheritdoc />
    public Task<int> IndexPendingAsync(int maxRows, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // In the writer queue: serialised with every commit, so an edit or revoke is either before (its queued text is
        // gone) or after (it replaces or deletes the indexed row) this batch, never in between.
        return IndexPendingCoreAsync(maxRows, cancellationToken);
    }

    private async Task<int> IndexPendingCoreAsync(int maxRows, CancellationToken cancellationToken)
    {
        var emptiedAt = 0L;
        int count;
        try
        {
            count = await IndexPendingWriteAsync(maxRows, e => emptiedAt = e, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (_searchText is not null)
        {
            // The write rolled back what it indexed, but it may have taken texts from the memory queue or moved a recovery
            // pass on: the next run recovers from the mark, which did not move.
            Volatile.Write(ref _recoveryResetDue, true);
            throw;
        }

        // Committed now: searches may rely on it, and the rows earn the background merge its pages.
        NoteRowsIndexed(count);
        long seen;
        while (emptiedAt > (seen = Volatile.Read(ref _indexedGeneration)) && Interlocked.CompareExchange(ref _indexedGeneration, emptiedAt, seen) != seen)
        {
        }

        return count;
    }

    // Late in its group (issue 17, stop 40): an indexer write queued in front of a message batch made the batch run under a
    // savepoint, whose statement journal cost grows with the square of the batch (SqliteDatabase.CommitGroupAsync). It indexes
    // only rows committed as they were, so its place in the group changes nothing else.
    private Task<int> IndexPendingWriteAsync(int maxRows, Action<long> emptied, CancellationToken cancellationToken) =>
        _database.WriteLateAsync(
            writer =>
            {
                var c = _commands ??= new WriterCommands(writer);
                int taken;
                bool empty;
                if (_searchText is not null)
                {
                    (taken, empty) = IndexInMemory(c, maxRows);
                }
                else
                {
                    taken = IndexDurable(c, maxRows);
                    empty = taken < maxRows;
                    if (empty && taken > 0)
                    {
                        // The durable queue is empty: every committed message is indexed (for a later store with the rule).
                        SetMark(c, MaxVersion(c));
                    }
                }

                if (empty)
                {
                    // Every text queued up to now is in this write (the writer runs commits one at a time).
                    emptied(_queuedGeneration);
                }

                return taken;
            },
            cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadThreadAsync(string conversationId, long rootSeq, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns
                + " FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND reply_to_seq = $root AND seq > $after ORDER BY seq LIMIT $limit;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$root", rootSeq);
            command.Parameters.AddWithValue("$after", afterSeq);
            command.Parameters.AddWithValue("$limit", limit);
            return await ReadMessageListAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MessageRevision>> GetRevisionsAsync(string conversationId, long seq, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT revision, content, time FROM message_revisions WHERE conversation_id = $conv AND seq = $seq ORDER BY revision;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$seq", seq);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var revisions = new List<MessageRevision>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                revisions.Add(new MessageRevision(conversationId, seq, reader.GetInt32(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2)));
            }

            return revisions;
        }
    }

    /// <inheritdoc />
    public async Task<SearchMatchCollection> SearchAsync(string userId, string? conversationId, string query, SearchPosition? after, int limit, int maxScanned = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(query);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScanned, 1);

        // Everything committed before this search is searchable: index what is still queued first.
        while (Volatile.Read(ref _indexedGeneration) < Volatile.Read(ref _queuedGeneration)
               && await IndexPendingAsync(CatchUpBatch, cancellationToken).ConfigureAwait(false) == CatchUpBatch)
        {
        }

        var allowance = SearchRowAllowance;
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var observer = SearchPagesObserver;
            if (observer is null)
            {
                return await SearchOnAsync(connection, userId, conversationId, query, after, limit, maxScanned, allowance, cancellationToken).ConfigureAwait(false);
            }

            PagesRead(connection, reset: true);
            var result = await SearchOnAsync(connection, userId, conversationId, query, after, limit, maxScanned, allowance, cancellationToken).ConfigureAwait(false);
            observer(PagesRead(connection, reset: false));
            return result;
        }
    }

    /// <summary>
    /// Test hook: after each search, the database pages it read on its connection (SQLite's page cache hits and misses:
    /// every B-tree page the statements visited, the FTS5 index's included), a count that does not depend on timing.
    /// </summary>
    internal Action<long>? SearchPagesObserver { get; set; }

    /// <summary>
    /// <see cref="SqliteStoreOptions.SearchRowAllowance"/>: the rows of the index one page of a search across the user's
    /// conversations may walk. Settable for tests, which page through a small store with a small one.
    /// </summary>
    internal int SearchRowAllowance { get; set; }

    private static long PagesRead(SqliteConnection connection, bool reset)
    {
        var handle = connection.Handle;
        SQLitePCL.raw.sqlite3_db_status(handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_HIT, out var hits, out _, reset ? 1 : 0);
        SQLitePCL.raw.sqlite3_db_status(handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_MISS, out var misses, out _, reset ? 1 : 0);
        return (long)hits + misses;
    }

    private static async Task<SearchMatchCollection> SearchOnAsync(SqliteConnection connection, string userId, string? conversationId, string query, SearchPosition? after, int limit, int maxScanned, int allowance, CancellationToken cancellationToken)
    {
        // One FTS5 phrase in the body column: the trigram tokenizer matches it as a substring (case-insensitive).
        var phrase = "{body} : \"" + query.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

        // The cursor is the last hit of the previous page; its search_id is where this page continues (below it). A cut
        // (SearchPosition.Before, from this store's ContinueBelow) carries the index position itself: everything below it.
        var before = long.MaxValue;
        if (after is { IsTimeCut: true })
        {
            if (after.ServerTime <= 1)
            {
                return new SearchMatchCollection([], scanLimitReached: false);
            }

            before = after.ServerTime;
        }
        else if (after is not null)
        {
            using var cursor = connection.CreateCommand();
            cursor.CommandText = "SELECT search_id FROM messages WHERE conv_key = " + SqliteRows.ConvKey + " AND seq = $seq;";
            cursor.Parameters.AddWithValue("$conv", after.ConversationId);
            cursor.Parameters.AddWithValue("$seq", after.Seq);
            if (await cursor.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long id)
            {
                return new SearchMatchCollection([], scanLimitReached: false);
            }

            before = id;
        }

        if (conversationId is not null)
        {
            // One conversation the user is or was a member of (else nothing: not even whether its window ran out,
            // which would say how common the word is there); only its matches are walked and counted against the window.
            using (var member = connection.CreateCommand())
            {
                member.CommandText = SearchMemberSql;
                member.Parameters.AddWithValue("$user", userId);
                member.Parameters.AddWithValue("$conv", conversationId);
                if (await member.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return new SearchMatchCollection([], scanLimitReached: false);
                }
            }

            var (hits, floor) = await SearchWindowAsync(connection, phrase + " AND {conv} : \"" + SearchKeys.For(conversationId) + "\"", new HashSet<string>(StringComparer.Ordinal) { conversationId }, userId, before, 0, limit, maxScanned, cancellationToken).ConfigureAwait(false);
            return Page(hits, floor, 0, limit);
        }

        // Every conversation the user is or was a member of: what his search may cost in proportion to.
        var scope = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = SearchScopeSql;
            command.Parameters.AddWithValue("$user", userId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                scope.Add(reader.GetString(0));
            }
        }

        if (scope.Count == 0)
        {
            return new SearchMatchCollection([], scanLimitReached: false);
        }

        // The plan follows the user's data, not how common the word is elsewhere (issue 18). The word's newest matches in
        // the whole index below the cursor are walked first, each joined, at most cap + 1 of them (cap: a page's worth or
        // one per conversation of his). The walk ended within cap: every match below the cursor was looked at, the page is
        // complete. It filled the page: every match above its last hit was looked at, that is his page. Else only his
        // conversations are walked (FTS5 intersects the word with his conversation keys inside the index), so a word in
        // 10,000 of other users' messages and 10 of his never joins more than cap + 1 of theirs.
        var cap = (int)Math.Min(maxScanned, Math.Max(SearchRareFactor * (long)limit, scope.Count));
        var newest = await WalkAsync(connection, phrase, scope, userId, before, 0, limit, cap == int.MaxValue ? cap : cap + 1, cancellationToken).ConfigureAwait(false);
        if (newest.Read <= cap || newest.Hits.Count >= limit)
        {
            return Page(newest.Hits, 0, 0, limit);
        }

        // Only rows of the index in the band [before - allowance, before) are walked (issue 18, stop 31): FTS5 finds the
        // user's matches by stepping through the word's matches in every conversation and advancing the OR of his keys at
        // each, so without the band this walk costs in proportion to the word's matches everywhere below the cursor, not to
        // what it returns. The band is counted in index positions (commits), not in the word's matches: where a page stops
        // then depends on nothing other users wrote, so page boundaries tell nothing about their messages (a bound at the
        // word's n-th match would: with n - 1 matches of his own making, whether a page reaches his marker would say
        // whether anyone's message between them holds the word). A chunk of conversation keys at a time, every chunk in
        // the same band; a chunk whose window ran out stopped at its floor, so no hit below the highest such floor may be
        // returned (that chunk may have older hits above it).
        var bound = await BandFloorAsync(connection, before, allowance, cancellationToken).ConfigureAwait(false);
        var merged = new List<(SearchMatch Match, long Rowid)>();
        var frontier = 0L;
        foreach (var chunk in scope.Select(SearchKeys.For).Distinct(StringComparer.Ordinal).Chunk(ScopeChunk))
        {
            var keys = phrase + " AND {conv} : (" + string.Join(" OR ", chunk.Select(k => "\"" + k + "\"")) + ")";
            var (hits, floor) = await SearchWindowAsync(connection, keys, scope, userId, before, bound, limit, maxScanned, cancellationToken).ConfigureAwait(false);
            merged.AddRange(hits);
            frontier = Math.Max(frontier, floor);
        }

        var page = merged.Where(h => h.Rowid >= frontier).OrderByDescending(h => h.Rowid).Take(limit).ToList();
        return Page(page, frontier, bound, limit);
    }

    // A page: short at a window's floor, flagged (the core goes on after its last hit, or refuses an empty one); short at
    // the band's floor with every window open, it holds every hit at or above it, and the next page starts below it (a
    // cut: an index position, naming no message).
    private static SearchMatchCollection Page(List<(SearchMatch Match, long Rowid)> hits, long floor, long bound, int limit) =>
        floor > 0 || hits.Count >= limit || bound == 0
            ? new([.. hits.Select(h => h.Match)], scanLimitReached: floor > 0 && hits.Count < limit)
            : new([.. hits.Select(h => h.Match)], scanLimitReached: false, SearchPosition.Before(bound));

    // The lowest row the band below the cursor holds (0: the band reaches the index's first row, nothing is cut).
    private static async Task<long> BandFloorAsync(SqliteConnection connection, long before, int allowance, CancellationToken cancellationToken)
    {
        if (before == long.MaxValue)
        {
            using var top = connection.CreateCommand();
            top.CommandText = SearchTopSql;
            if (await top.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long newest)
            {
                return 0;
            }

            before = newest + 1;
        }

        var bound = before - allowance;
        return bound > 1 ? bound : 0;
    }

    // One window: the newest maxScanned index matches of the expression below the cursor and at or above the bound, and
    // the first `limit` of them the user may see, from one walk that stops at whichever comes first. Its floor (0: the
    // walk found fewer matches than the window and the page): where the walk stopped, below which nothing was looked at.
    private static async Task<(List<(SearchMatch Match, long Rowid)> Hits, long Floor)> SearchWindowAsync(
        SqliteConnection connection, string match, IReadOnlySet<string> scope, string userId, long before, long bound, int limit, int maxScanned, CancellationToken cancellationToken)
    {
        var walk = await WalkAsync(connection, match, scope, userId, before, bound, limit, maxScanned, cancellationToken).ConfigureAwait(false);
        return (walk.Hits, walk.Hits.Count >= limit || walk.Read >= maxScanned ? walk.Last : 0);
    }

    // Steps SearchWalkSql: the expression's index matches below the cursor and at or above the bound, newest first, until
    // `limit` of them are the user's to see or `maxRows` were read (the statement is not stepped further: SQLite reads
    // nothing more). A match in a conversation of `scope` (the conversations searched: one, or every one the user is or was
    // a member of) is looked up with SearchVisibleSql; any other is counted only. Read: how many index matches were read;
    // Last: the rowid of the last one.
    private static async Task<(List<(SearchMatch Match, long Rowid)> Hits, int Read, long Last)> WalkAsync(
        SqliteConnection connection, string match, IReadOnlySet<string> scope, string userId, long before, long bound, int limit, int maxRows, CancellationToken cancellationToken)
    {
        var hits = new List<(SearchMatch, long)>();
        if (limit == 0 || maxRows == 0)
        {
            return (hits, 0, 0);
        }

        using var command = connection.CreateCommand();
        command.CommandText = SearchWalkSql;
        command.Parameters.AddWithValue("$query", match);
        command.Parameters.AddWithValue("$before", before);
        command.Parameters.AddWithValue("$floor", bound);
        using var visible = connection.CreateCommand();
        visible.CommandText = SearchVisibleSql;
        var conversation = visible.Parameters.Add("$conv", SqliteType.Text);
        var seq = visible.Parameters.Add("$seq", SqliteType.Integer);
        visible.Parameters.AddWithValue("$user", userId);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var read = 0;
        var last = 0L;
        while (hits.Count < limit && read < maxRows && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            read++;
            last = reader.GetInt64(0);
            if (reader.IsDBNull(1) || !scope.Contains(reader.GetString(1)))
            {
                continue;
            }

            conversation.Value = reader.GetString(1);
            seq.Value = reader.GetInt64(2);
            using var row = await visible.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await row.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                hits.Add((new SearchMatch(SqliteRows.ReadMessage(row), reader.GetString(3)), last));
            }
        }

        return (hits, read, last);
    }
}
