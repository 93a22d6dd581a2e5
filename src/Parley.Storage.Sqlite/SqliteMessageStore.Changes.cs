using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>Threads, revisions and full-text search (ADR 0018).</summary>
public sealed partial class SqliteMessageStore
{
    // The FTS5 trigram index finds the candidates; the join keeps only what the user may see (membership periods), not revoked.
    private const string SearchSql = """
        SELECT msg.conversation_id, msg.seq, msg.server_msg_id, msg.sender_id, msg.client_msg_id, msg.server_time, msg.content_kind, msg.content,
               msg.revoked, msg.version, msg.annotations, msg.reply_to_seq, s.body
        FROM message_search s
        JOIN messages msg ON msg.conversation_id = s.conversation_id AND msg.seq = s.seq
        WHERE message_search MATCH $query
          AND ($conv IS NULL OR s.conversation_id = $conv)
          AND msg.revoked = 0
          AND (EXISTS (SELECT 1 FROM members vm WHERE vm.conversation_id = msg.conversation_id AND vm.user_id = $user AND vm.active = 1 AND msg.seq >= vm.visible_from)
               OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = msg.conversation_id AND vp.user_id = $user AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
          AND ($after IS NULL OR (msg.server_time, msg.conversation_id, msg.seq) < ($aftertime, $afterconv, $afterseq))
        ORDER BY msg.server_time DESC, msg.conversation_id DESC, msg.seq DESC
        LIMIT $limit;
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadThreadAsync(string conversationId, long rootSeq, long afterSeq, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns
                + " FROM messages WHERE conversation_id = $conv AND reply_to_seq = $root AND seq > $after ORDER BY seq LIMIT $limit;";
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
    public async Task<IReadOnlyList<SearchMatch>> SearchAsync(string userId, string? conversationId, string query, SearchPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(query);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = SearchSql;

            // One FTS5 phrase: the trigram tokenizer matches it as a substring of the body (case-insensitive).
            command.Parameters.AddWithValue("$query", "\"" + query.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
            command.Parameters.AddWithValue("$conv", (object?)conversationId ?? DBNull.Value);
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$after", after is null ? DBNull.Value : 1);
            command.Parameters.AddWithValue("$aftertime", after?.ServerTime ?? 0);
            command.Parameters.AddWithValue("$afterconv", after?.ConversationId ?? string.Empty);
            command.Parameters.AddWithValue("$afterseq", after?.Seq ?? 0);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var matches = new List<SearchMatch>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                matches.Add(new SearchMatch(SqliteRows.ReadMessage(reader), reader.GetString(12)));
            }

            return matches;
        }
    }
}
