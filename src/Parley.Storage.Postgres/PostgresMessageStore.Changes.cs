using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Threads, revisions and full-text search (ADR 0018).</summary>
public sealed partial class PostgresMessageStore
{
    // A search page looks at the newest $8 (maxScanned) matches after its cursor in the conversations searched ($3: one
    // conversation, the user's conversations, or, on a first try, every one), joins them to their messages in order and
    // keeps the first $7 the user may see (membership periods, not revoked). How the window is found depends on how many
    // matches there are (migration 24):
    // - a probe counts at most $8 + 1 matches through the trigram GIN index, whose first column is the conversation (a
    //   scoped search intersects inside the index instead of fetching every other conversation's match): it reads at most
    //   $8 + 1 rows;
    // - up to $8 matches ("rare"): the window is all of them, from the GIN index, sorted: at most $8 rows;
    // - more ("common"): the page walks the newest rows along a time-ordered B-tree (per conversation, or over all), the
    //   text compared row by row, and stops at its page, at $8 matches or after $9 rows (SearchWalkFactor × $8). A page that
    //   is not full by then asks how far the walk got (at most $9 rows again). When the walk ran out of rows before the
    //   window was complete (a word with more than $8 matches, few of them among the newest $9 rows: common long ago), the
    //   page is what the walk found above the last millisecond it read, and it carries a continuation below that time
    //   (SearchMatchCollection.ContinueBelow, a time cut that names no message): the next page walks on from there.
    // - a user in more than SearchWalkMaxConversations conversations: the same steps per chunk of that many conversations
    //   (SearchManyChunkedAsync), the probe's and the walk's rows shared out among the chunks, their pages merged.
    private const string ScopeAll = "AND $3::text IS NULL";
    private const string ScopeOne = "AND s.conversation_id = $3";
    private const string ScopeMany = "AND s.conversation_id = ANY($3)";


    // Rows a common word's walk reads at most, per row of the window.
    private const int SearchWalkFactor = 4;

    // A word with at most this many matches per row of the page asked for (or one per conversation of the user's, whichever
    // is more) is searched over all matches first.
    private const int SearchRareFactor = 4;

    // Most conversations whose walks one statement merges; a user with more is searched from the GIN index.
    private const int SearchWalkMaxConversations = 200;

    // Every statement names all nine parameters (the unused ones in a condition that is always true), so one list serves all.
    private const string Unused = "$1::text IS NOT NULL AND $7::bigint >= 0 AND $8::bigint >= 0 AND $9::bigint >= 0";

    private const string SearchJoin = """
        SELECT msg.conversation_id, msg.seq, msg.server_msg_id, msg.sender_id, msg.client_msg_id, msg.server_time, msg.content_kind, msg.content,
               msg.revoked, msg.version, msg.annotations, msg.reply_to_seq, w.body
        FROM win w
        JOIN messages msg ON msg.conversation_id = w.conversation_id AND msg.seq = w.seq
        WHERE NOT msg.revoked
          AND (EXISTS (SELECT 1 FROM conversation_keys vk CROSS JOIN LATERAL member_get(vk.conv_key, $1) vm
                       WHERE vk.conversation_id = msg.conversation_id AND vm.active AND msg.seq >= vm.visible_from)
               OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
          AND $9::bigint >= 0
        ORDER BY w.server_time DESC, w.conversation_id DESC, w.seq DESC
        LIMIT $7;
        """;

    // The window from the GIN index: every match below the cursor (in scope), the newest $8 of them.
    private static string SearchSql(string scope, int conversations) => $"""
        WITH win AS (
            SELECT s.conversation_id, s.seq, s.server_time, s.body FROM ({GinRows(scope, conversations)}) s
            ORDER BY s.server_time DESC, s.conversation_id DESC, s.seq DESC
            LIMIT $8)
        """ + SearchJoin;

    // The matches below the cursor in scope, from the GIN index. Its conversation column has collation "C", which no
    // B-tree of the table has, so the planner cannot take the primary key for the conversation and filter all its rows by
    // the text; the user's conversations are one equality per conversation (a UNION ALL, up to SearchWalkMaxConversations),
    // since the planner may leave an = ANY(array) out of a GIN scan and filter every match of the word by it instead.
    private static string GinRows(string scope, int conversations)
    {
        const string Columns = "s.conversation_id, s.seq, s.server_time, s.body";
        // The cursor is compared after the index (server_time + 0: no B-tree can take it and read every row below it).
        const string Match = "s.body ILIKE $2 ESCAPE '\\' AND ($4::bigint IS NULL OR (s.server_time + 0, s.conversation_id, s.seq) < ($4, $5, $6))";
        if (scope != ScopeMany || conversations > SearchWalkMaxConversations)
        {
            return $"SELECT {Columns} FROM message_search s WHERE {Match} {scope.Replace("s.conversation_id =", "s.conversation_id COLLATE \"C\" =", StringComparison.Ordinal)}";
        }

        return string.Join(" UNION ALL ", Enumerable.Range(1, conversations).Select(i => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"SELECT {Columns} FROM message_search s WHERE {Match} AND s.conversation_id COLLATE \"C\" = ($3::text[])[{i}]")));
    }

    // The walk: the newest $9 rows below the cursor (in scope), in order, their text compared; the window is the first $8
    // that match. Streams: it stops reading as soon as the page is full.
    private static string SearchWalkSql(string scope, int conversations) => $"""
        WITH walked AS ({WalkedRows(scope, conversations)}),
        win AS (
            SELECT * FROM walked w WHERE w.body ILIKE $2 ESCAPE '\'
            ORDER BY w.server_time DESC, w.conversation_id DESC, w.seq DESC
            LIMIT $8)
        """ + SearchJoin;

    // How far a walk that did not fill its page got: the rows it read, the matches among them, and the times of its first
    // and last row (at most $9 rows).
    private static string SearchWalkedSql(string scope, int conversations) => $"""
        SELECT count(*), count(*) FILTER (WHERE w.body ILIKE $2 ESCAPE '\'), coalesce(max(w.server_time), 0), coalesce(min(w.server_time), 0)
        FROM ({WalkedRows(scope, conversations)}) w
        WHERE {Unused};
        """;

    // The newest $9 rows below the cursor in scope, in order, read lazily along a B-tree: for the user's conversations
    // ($3 an array), one ordered index range per conversation merged (a Merge Append), so no other conversation's row is read.
    private static string WalkedRows(string scope, int conversations)
    {
        const string Columns = "s.conversation_id, s.seq, s.server_time, s.body";
        const string Below = "($4::bigint IS NULL OR (s.server_time, s.conversation_id, s.seq) < ($4, $5, $6))";
        const string Order = "ORDER BY s.server_time DESC, s.conversation_id DESC, s.seq DESC LIMIT $9";
        if (scope != ScopeMany)
        {
            return $"SELECT {Columns} FROM message_search s WHERE {Below} {scope} {Order}";
        }

        var branches = Enumerable.Range(1, conversations).Select(i => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"(SELECT {Columns} FROM message_search s WHERE s.conversation_id = ($3::text[])[{i}] AND {Below} {Order})"));
        return "SELECT * FROM (" + string.Join(" UNION ALL ", branches) + ") s " + Order;
    }

    // The probe: how many matches (at most $8 + 1, passed as $8 here) are below the cursor, from the GIN index, per
    // conversation: a window of every match (a rare word) is then read from the conversations that have one only (issue 18,
    // stop 32: one GIN scan per conversation of the user's costs in proportion to the word's matches everywhere, 320
    // buffers each at 10M stored messages, and the window ran them all again).
    private static string SearchProbeSql(string scope, int conversations) => $"""
        SELECT p.conversation_id, count(*) FROM (SELECT g.conversation_id FROM ({GinRows(scope, conversations)}) g LIMIT $8) p
        WHERE {Unused}
        GROUP BY p.conversation_id;
        """;

    private static (string Conversation, long Count) ReadProbe(Npgsql.NpgsqlDataReader r) => (r.GetString(0), r.GetInt64(1));

    // The plans, fixed per statement (estimates of a substring match are guesses): the probe and a rare word's window
    // through the GIN index (a bitmap scan, never a sequential or ordered scan that reads rows until it has enough); a
    // common word's walk along a B-tree in order (never a bitmap scan and a sort of every row).
    private const string RareSettings = "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off;";
    private const string WalkSettings = "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off;";

    /// <summary>Test hook: every search statement as run (planner settings, SQL, parameters), for EXPLAIN in the tests.</summary>
    internal Action<string, string, Npgsql.NpgsqlParameter[]>? SearchStatementObserver { get; set; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadThreadAsync(string conversationId, long rootSeq, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return await _database.QueryAsync(
            "SELECT " + MessageColumns + " FROM messages WHERE conversation_id = $1 AND reply_to_seq = $2 AND seq > $3 ORDER BY seq LIMIT $4;",
            ReadMessage,
            cancellationToken,
            P(conversationId),
            P(rootSeq),
            P(afterSeq),
            P((long)limit)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MessageRevision>> GetRevisionsAsync(string conversationId, long seq, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT revision, content, time FROM message_revisions WHERE conversation_id = $1 AND seq = $2 ORDER BY revision;",
            r => new MessageRevision(conversationId, seq, r.GetInt32(0), r.GetFieldValue<byte[]>(1), r.GetInt64(2)),
            cancellationToken,
            P(conversationId),
            P(seq)).ConfigureAwait(false);

    // One statement, its own transaction: takes queued texts (row-locked, so a concurrent edit or revoke of one of them
    // waits for this commit and then deletes what was indexed) and indexes them.
    private const string IndexPendingSql = """
        WITH taken AS (
            DELETE FROM search_pending p
            USING (SELECT conversation_id, seq FROM search_pending LIMIT $1 FOR UPDATE {0}) s
            WHERE p.conversation_id = s.conversation_id AND p.seq = s.seq
            RETURNING p.conversation_id, p.seq, p.server_time, p.body)
        INSERT INTO message_search (conversation_id, seq, server_time, body) SELECT conversation_id, seq, server_time, body FROM taken;
        """;

    private static readonly string IndexPendingSkipLocked = IndexPendingSql.Replace("{0}", "SKIP LOCKED", StringComparison.Ordinal);
    private static readonly string IndexPendingWaiting = IndexPendingSql.Replace("{0}", string.Empty, StringComparison.Ordinal);

    // A search that finds texts queued indexes them first, this many per statement.
    private const int CatchUpBatch = 1000;

    /// <inheritdoc />
    /// <remarks>Rows another node's indexer holds are skipped (it indexes them).</remarks>
    public Task<int> IndexPendingAsync(int maxRows, CancellationToken cancellationToken = default) =>
        IndexPendingAsync(IndexPendingSkipLocked, maxRows, cancellationToken);

    private async Task<int> IndexPendingAsync(string sql, int maxRows, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        _database.ThrowIfNotReady();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Command(connection, sql, P((long)maxRows));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<SearchMatchCollection> SearchAsync(string userId, string? conversationId, string query, SearchPosition? after, int limit, int maxScanned = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(query);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScanned, 1);

        // Everything committed before this search is searchable: index what is still queued first (on any node of a
        // cluster: the queue is in the database). Waits for rows another indexer holds instead of skipping them.
        while (await IndexPendingAsync(IndexPendingWaiting, CatchUpBatch, cancellationToken).ConfigureAwait(false) > 0)
        {
        }

        if (conversationId is not null)
        {
            // One conversation the user is or was a member of (else nothing: not even whether its window ran out, which
            // would say how common the word is there).
            var member = await _database.QueryAsync(
                "SELECT 1 FROM conversation_keys k CROSS JOIN LATERAL member_get(k.conv_key, $1) m WHERE k.conversation_id = $2;",
                r => r.GetInt32(0),
                cancellationToken,
                P(userId),
                P(conversationId)).ConfigureAwait(false);
            return member.Count == 0
                ? new SearchMatchCollection([], scanLimitReached: false)
                : await SearchWindowAsync(userId, ScopeOne, conversationId, query, after, limit, maxScanned, cancellationToken).ConfigureAwait(false);
        }

        // Every conversation of the user (a members row stays, inactive, after a leave): what his search may cost in
        // proportion to.
        var scope = (await _database.QueryAsync("SELECT k.conversation_id FROM members_of_user($1) m JOIN conversation_keys k ON k.conv_key = m.conv_key;", r => r.GetString(0), cancellationToken, P(userId)).ConfigureAwait(false))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (scope.Length == 0)
        {
            return new SearchMatchCollection([], scanLimitReached: false);
        }

        // The plan follows the user's data, not how common the word is elsewhere (issue 18): over all matches only when the
        // word has few below the cursor (at most `cap`, a page's worth or one per conversation of his: the probe stops at
        // cap + 1 rows), else over his conversations only, so other users' matches are neither counted up to the window
        // nor joined. Whatever page the first completes is the page the scoped window returns.
        var cap = (int)Math.Min(maxScanned, Math.Max(SearchRareFactor * (long)limit, scope.Length));
        var overall = (await QuerySearchAsync(RareSettings, SearchProbeSql(ScopeAll, 1), ReadProbe, SearchParameters(userId, query, null, after, limit, cap + 1L, 0), cancellationToken).ConfigureAwait(false)).Sum(p => p.Count);
        if (overall <= cap)
        {
            var matches = await QuerySearchAsync(RareSettings, SearchSql(ScopeAll, 1), ReadMatch, SearchParameters(userId, query, null, after, limit, cap, 0), cancellationToken).ConfigureAwait(false);
            return new SearchMatchCollection(matches, scanLimitReached: overall == maxScanned && matches.Count < limit);
        }

        return scope.Length <= SearchWalkMaxConversations
            ? await SearchWindowAsync(userId, ScopeMany, scope, query, after, limit, maxScanned, cancellationToken).ConfigureAwait(false)
            : await SearchManyChunkedAsync(userId, scope, query, after, limit, maxScanned, cancellationToken).ConfigureAwait(false);
    }

    private static Npgsql.NpgsqlParameter[] SearchParameters(string userId, string query, object? scopeValue, SearchPosition? after, int limit, long window, long walkRows) =>
    [
        P(userId),
        P("%" + EscapeLike(query) + "%"),
        scopeValue switch
        {
            string[] many => new Npgsql.NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, Value = many },
            string one => P(one),
            _ => Text(null),
        },
        Bigint(after?.ServerTime),
        P(after?.ConversationId ?? string.Empty),
        P(after?.Seq ?? 0L),
        P((long)limit),
        P(window),
        P(walkRows),
    ];

    private static SearchMatch ReadMatch(Npgsql.NpgsqlDataReader r) => new(ReadMessage(r), r.GetString(12));

    // The search order: server time, conversation, seq. The conversation is compared ordinally, which is PostgreSQL's
    // order under a C collation; under another database collation two hits of one millisecond in conversations of
    // different chunks (SearchManyChunkedAsync) may be merged in another order than the next page's cursor assumes.
    private static int ComparePosition(long time, string conversation, long seq, SearchPosition other)
    {
        var c = time.CompareTo(other.ServerTime);
        if (c == 0)
        {
            c = string.CompareOrdinal(conversation, other.ConversationId);
        }

        return c != 0 ? c : seq.CompareTo(other.Seq);
    }

    // A page the walk could not fill from its rows: the matches above the last millisecond it read (the rows of that
    // millisecond it did not reach come next), and a time cut to continue below. Null when that cut would not move the
    // search on (every row read in one millisecond, at or above the cursor's): the caller keeps the old page and its limit.
    private static SearchMatchCollection? CutAt(IEnumerable<SearchMatch> matches, long lastTime, SearchPosition? after)
    {
        var below = SearchPosition.Before(lastTime + 1);
        if (after is not null && ComparePosition(below.ServerTime, below.ConversationId, below.Seq, after) >= 0)
        {
            return null;
        }

        return new SearchMatchCollection([.. matches.Where(m => m.Message.ServerTime > lastTime)], scanLimitReached: true, continueBelow: below);
    }

    // A user in more conversations than one statement merges: the same steps per chunk of SearchWalkMaxConversations
    // conversations (ids in order), the rows a page may read shared out among the chunks: the probes count at most
    // maxScanned + 1 matches in all; a rare word's windows (GIN) hold what the probes counted; a common word's walks read
    // at most walkRows / chunks rows each (and at least a page). Every chunk's page is exact above its own boundary (its
    // last hit when it filled a page, the last millisecond it read when it ran out of rows); the merged page keeps the
    // matches above all of them, and when that is short, continues below the highest cut.
    private async Task<SearchMatchCollection> SearchManyChunkedAsync(string userId, string[] scope, string query, SearchPosition? after, int limit, int maxScanned, CancellationToken cancellationToken)
    {
        var chunks = scope.Chunk(SearchWalkMaxConversations).ToArray();
        var counted = new long[chunks.Length];
        var total = 0L;
        if (maxScanned < int.MaxValue)
        {
            for (var i = 0; i < chunks.Length && total <= maxScanned; i++)
            {
                var cap = maxScanned + 1L - total;
                counted[i] = (await QuerySearchAsync(RareSettings, SearchProbeSql(ScopeMany, chunks[i].Length), ReadProbe, SearchParameters(userId, query, chunks[i], after, limit, cap, 0), cancellationToken).ConfigureAwait(false)).Sum(p => p.Count);
                total += counted[i];
            }
        }

        var merged = new List<SearchMatch>();
        if (maxScanned == int.MaxValue || total <= maxScanned)
        {
            // Rare in the user's conversations: each chunk's window is every match it counted, from the GIN index.
            for (var i = 0; i < chunks.Length; i++)
            {
                if (maxScanned == int.MaxValue || counted[i] > 0)
                {
                    merged.AddRange(await QuerySearchAsync(RareSettings, SearchSql(ScopeMany, chunks[i].Length), ReadMatch, SearchParameters(userId, query, chunks[i], after, limit, maxScanned, 0), cancellationToken).ConfigureAwait(false));
                }
            }

            var page = Newest(merged).Take(limit).ToList();
            return new SearchMatchCollection(page, scanLimitReached: total == maxScanned && page.Count < limit);
        }

        // Common: walk each chunk's newest rows.
        var rows = Math.Max((long)maxScanned * SearchWalkFactor / chunks.Length, limit);
        SearchMatch? highestFull = null;
        long? highestCut = null;
        foreach (var chunk in chunks)
        {
            var parameters = SearchParameters(userId, query, chunk, after, limit, rows, rows);
            var walked = await QuerySearchAsync(WalkSettings, SearchWalkSql(ScopeMany, chunk.Length), ReadMatch, parameters, cancellationToken).ConfigureAwait(false);
            merged.AddRange(walked);
            if (walked.Count >= limit)
            {
                // A full page: this chunk is exact down to its last hit.
                var last = walked[^1];
                if (highestFull is null || CompareMatch(last, highestFull) > 0)
                {
                    highestFull = last;
                }

                continue;
            }

            var (read, _, _, lastTime) = (await QuerySearchAsync(WalkSettings, SearchWalkedSql(ScopeMany, chunk.Length), r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), SearchParameters(userId, query, chunk, after, limit, rows, rows), cancellationToken).ConfigureAwait(false))[0];
            if (read >= rows)
            {
                // Ran out of rows: exact above the last millisecond it read.
                highestCut = Math.Max(highestCut ?? long.MinValue, lastTime);
            }
        }

        var kept = Newest(merged.Where(m =>
            (highestFull is null || CompareMatch(m, highestFull) >= 0) && (highestCut is null || m.Message.ServerTime > highestCut.Value))).ToList();
        if (kept.Count >= limit || highestCut is null)
        {
            // A full page (the next starts after its last hit), or every chunk complete down to a full page or the end.
            return new SearchMatchCollection([.. kept.Take(limit)], scanLimitReached: false);
        }

        return CutAt(kept, highestCut.Value, after)
            ?? new SearchMatchCollection([.. kept.Take(limit)], scanLimitReached: true);
    }

    private static int CompareMatch(SearchMatch a, SearchMatch b) =>
        ComparePosition(a.Message.ServerTime, a.Message.ConversationId, a.Message.Seq, new SearchPosition(b.Message.ServerTime, b.Message.ConversationId, b.Message.Seq));

    private static IEnumerable<SearchMatch> Newest(IEnumerable<SearchMatch> matches) =>
        matches.OrderByDescending(m => m.Message.ServerTime).ThenByDescending(m => m.Message.ConversationId, StringComparer.Ordinal).ThenByDescending(m => m.Message.Seq);

    // One window in one scope (see the SQL above).
    private async Task<SearchMatchCollection> SearchWindowAsync(
        string userId, string scope, object? scopeValue, string query, SearchPosition? after, int limit, int maxScanned, CancellationToken cancellationToken)
    {
        var walkRows = (long)maxScanned * SearchWalkFactor;
        var conversations = scopeValue is string[] ids ? ids.Length : 1;
        Npgsql.NpgsqlParameter[] Parameters(long window) => SearchParameters(userId, query, scopeValue, after, limit, window, walkRows);

        // No window (maxScanned unbounded): every match, from the GIN index.
        var probed = long.MaxValue;
        if (maxScanned < int.MaxValue)
        {
            var found = await QuerySearchAsync(RareSettings, SearchProbeSql(scope, conversations), ReadProbe, Parameters(maxScanned + 1L), cancellationToken).ConfigureAwait(false);
            probed = found.Sum(p => p.Count);
            if (probed == 0)
            {
                return new SearchMatchCollection([], scanLimitReached: false);
            }

            if (probed <= maxScanned && scopeValue is string[] all)
            {
                // Every match below the cursor is in the conversations the probe found one in: the window is read from
                // those only (in the order of the user's list, as the probe's statement had them).
                var with = found.Select(p => p.Conversation).ToHashSet(StringComparer.Ordinal);
                string[] some = [.. all.Where(with.Contains)];
                var window = await QuerySearchAsync(
                    RareSettings, SearchSql(scope, some.Length), ReadMatch, SearchParameters(userId, query, some, after, limit, maxScanned, walkRows), cancellationToken).ConfigureAwait(false);
                return new SearchMatchCollection(window, scanLimitReached: probed == maxScanned && window.Count < limit);
            }
        }

        if (probed <= maxScanned || maxScanned == int.MaxValue)
        {
            var matches = await QuerySearchAsync(RareSettings, SearchSql(scope, conversations), ReadMatch, Parameters(maxScanned), cancellationToken).ConfigureAwait(false);
            return new SearchMatchCollection(matches, scanLimitReached: probed == maxScanned && matches.Count < limit);
        }

        // More than maxScanned matches (so the window is full): walk the newest rows.
        var walked = await QuerySearchAsync(WalkSettings, SearchWalkSql(scope, conversations), ReadMatch, Parameters(maxScanned), cancellationToken).ConfigureAwait(false);
        if (walked.Count >= limit)
        {
            return new SearchMatchCollection(walked, scanLimitReached: false);
        }

        var (rows, matched, _, lastTime) = (await QuerySearchAsync(WalkSettings, SearchWalkedSql(scope, conversations), r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), Parameters(maxScanned), cancellationToken).ConfigureAwait(false))[0];
        if (matched >= maxScanned || rows < walkRows)
        {
            // The walk saw the whole window (or every row below the cursor): its page is the window's.
            return new SearchMatchCollection(walked, scanLimitReached: matched >= maxScanned);
        }

        // The window reaches below the rows walked (common long ago): what the walk found, and a time cut to go on from.
        return CutAt(walked, lastTime, after) ?? new SearchMatchCollection(walked, scanLimitReached: true);
    }

    // One search statement in a transaction of its own whose planner settings fix its plan (see the SQL above).
    private async Task<List<T>> QuerySearchAsync<T>(string settings, string sql, Func<Npgsql.NpgsqlDataReader, T> read, Npgsql.NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        SearchStatementObserver?.Invoke(settings, sql, parameters);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var set = Command(connection, settings))
                {
                    await set.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                List<T> rows;
                using (var command = Command(connection, sql, parameters))
                {
                    rows = await ReadAllAsync(command, read, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return rows;
            }
        }
    }
}
