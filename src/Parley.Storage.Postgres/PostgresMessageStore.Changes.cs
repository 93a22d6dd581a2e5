using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Threads, revisions and full-text search (ADR 0018).</summary>
public sealed partial class PostgresMessageStore
{
    // The pg_trgm GIN index finds the candidates (ILIKE); only the newest $8 of them after the cursor (a top-N over the
    // index's narrow rows) are joined, and the join keeps only what the user may see, not revoked.
    private const string SearchWindow = """
        SELECT s.conversation_id, s.seq, s.server_time, s.body FROM message_search s
        WHERE s.body ILIKE $2 ESCAPE '\'
          AND ($3::text IS NULL OR s.conversation_id = $3)
          AND ($4::bigint IS NULL OR (s.server_time, s.conversation_id, s.seq) < ($4, $5, $6))
        ORDER BY s.server_time DESC, s.conversation_id DESC, s.seq DESC
        LIMIT $8
        """;

    private const string SearchSql = "WITH win AS (" + SearchWindow + """
        )
        SELECT msg.conversation_id, msg.seq, msg.server_msg_id, msg.sender_id, msg.client_msg_id, msg.server_time, msg.content_kind, msg.content,
               msg.revoked, msg.version, msg.annotations, msg.reply_to_seq, w.body
        FROM win w
        JOIN messages msg ON msg.conversation_id = w.conversation_id AND msg.seq = w.seq
        WHERE NOT msg.revoked
          AND (EXISTS (SELECT 1 FROM conversation_keys vk JOIN members vm ON vm.conv_key = vk.conv_key
                       WHERE vk.conversation_id = msg.conversation_id AND vm.user_id = $1 AND vm.active AND msg.seq >= vm.visible_from)
               OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $1 AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
        ORDER BY w.server_time DESC, w.conversation_id DESC, w.seq DESC
        LIMIT $7;
        """;

    // Whether the window was full (asked only when a page came back short). $1 and $7 are unused here but keep the numbering.
    private const string SearchWindowFullSql = "SELECT count(*) FROM (" + SearchWindow + ") w WHERE $1::text IS NOT NULL AND $7::bigint >= 0;";

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

        Npgsql.NpgsqlParameter[] Parameters() =>
        [
            P(userId),
            P("%" + EscapeLike(query) + "%"),
            Text(conversationId),
            Bigint(after?.ServerTime),
            P(after?.ConversationId ?? string.Empty),
            P(after?.Seq ?? 0L),
            P((long)limit),
            P((long)maxScanned),
        ];
        var matches = await _database.QueryAsync(SearchSql, r => new SearchMatch(ReadMessage(r), r.GetString(12)), cancellationToken, Parameters()).ConfigureAwait(false);
        var windowFull = false;
        if (matches.Count < limit && maxScanned < int.MaxValue)
        {
            var counted = await _database.QueryAsync(SearchWindowFullSql, r => r.GetInt64(0), cancellationToken, Parameters()).ConfigureAwait(false);
            windowFull = counted.Count == 1 && counted[0] >= maxScanned;
        }

        return new SearchMatchCollection(matches, windowFull);
    }
}
