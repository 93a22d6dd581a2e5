using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteMessageStore
{
    private const string ChangedViewsSql = SqliteRows.ViewSelect
        + " AND (m.feed_version > $since OR (m.active = 1 AND c.change_version > $since)) ORDER BY MAX(m.feed_version, c.change_version), m.conversation_id;";
    private const string OneViewSql = SqliteRows.ViewSelect + " AND m.conversation_id = $conv;";
    private const string PageViewsSql = SqliteRows.ViewSelect + " ORDER BY m.pinned DESC, c.updated_at DESC, c.conversation_id LIMIT $limit OFFSET $offset;";

    // Read diffusion (ADR 0017): the super groups that advanced since the cursor, found from the groups' head versions
    // (partial index, cost proportional to the advanced groups), kept where the user is an active member whose own row
    // did not change (those come with ChangedViewsSql). CROSS JOIN keeps SQLite from starting at the user's memberships.
    private const string AdvancedSuperGroupsSql = """
        SELECT c.conversation_id FROM conversations c CROSS JOIN members m
        WHERE c.read_diffusion = 1 AND c.head_version > $since
          AND m.conversation_id = c.conversation_id AND m.user_id = $user AND m.active = 1 AND m.feed_version <= $since
        ORDER BY c.head_version;
        """;

    private const string ChangedMessagesSql =
        "SELECT " + SqliteRows.MessageColumns + " FROM messages msg WHERE conversation_id = $conv AND version > $since AND "
        + SqliteRows.VisibleToUser + " ORDER BY seq DESC LIMIT $limit;";

    /// <inheritdoc />
    public async Task<long> GetMaxVersionAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadMaxVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<ConversationRecord?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT conversation_id, kind, group_id, name, creator_id, created_at, max_seq FROM conversations WHERE conversation_id = $conv;";
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new ConversationRecord(
                reader.GetString(0),
                (ConversationKind)reader.GetInt32(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.GetInt64(5),
                reader.GetInt64(6));
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MemberColumns + " FROM members WHERE conversation_id = $conv ORDER BY user_id;";
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var members = new List<MemberRecord>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                members.Add(SqliteRows.ReadMember(reader));
            }

            return members;
        }
    }

    /// <inheritdoc />
    public async Task<StoredMessage?> GetMessageAsync(string conversationId, long seq, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conversation_id = $conv AND seq = $seq;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$seq", seq);
            return await ReadSingleMessageAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<StoredMessage?> FindByClientMsgIdAsync(string conversationId, string senderId, string clientMsgId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conversation_id = $conv AND sender_id = $sender AND client_msg_id = $cmid;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$sender", senderId);
            command.Parameters.AddWithValue("$cmid", clientMsgId);
            return await ReadSingleMessageAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string conversationId, long fromSeq, ReadDirection direction, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }

        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            var backward = direction == ReadDirection.Backward;
            command.CommandText = backward
                ? "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conversation_id = $conv AND seq <= $from ORDER BY seq DESC LIMIT $limit;"
                : "SELECT " + SqliteRows.MessageColumns + " FROM messages WHERE conversation_id = $conv AND seq >= $from ORDER BY seq LIMIT $limit;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$from", backward && fromSeq <= 0 ? long.MaxValue : fromSeq);
            command.Parameters.AddWithValue("$limit", limit);
            var messages = await ReadMessageListAsync(command, cancellationToken).ConfigureAwait(false);
            if (backward)
            {
                messages.Reverse();
            }

            return messages;
        }
    }

    /// <inheritdoc />
    public async Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessagesPerConversation);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One deferred read transaction: every statement below sees the same WAL snapshot, so the version matches the changes.
            using var transaction = connection.BeginTransaction(deferred: true);
            var version = await ReadMaxVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);

            var views = new List<ConversationView>();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = ChangedViewsSql;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$since", sinceVersion);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    views.Add(SqliteRows.ReadView(reader));
                }
            }

            // A fresh sync (cursor 0) has every membership in ChangedViewsSql (a member row's feed version is the version
            // of the commit that wrote it, never 0), so the advanced super groups (feed_version <= cursor) are none.
            var advanced = new List<string>();
            if (sinceVersion > 0)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = AdvancedSuperGroupsSql;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$since", sinceVersion);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    advanced.Add(reader.GetString(0));
                }
            }

            if (advanced.Count > 0)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = OneViewSql;
                command.Parameters.AddWithValue("$user", userId);
                var conv = command.Parameters.AddWithValue("$conv", "");
                foreach (var id in advanced)
                {
                    conv.Value = id;
                    using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        views.Add(SqliteRows.ReadView(reader));
                    }
                }
            }

            var changes = new List<ConversationChange>(views.Count);
            using (var messagesCommand = connection.CreateCommand())
            {
                messagesCommand.Transaction = transaction;
                messagesCommand.CommandText = ChangedMessagesSql;
                var conv = messagesCommand.Parameters.AddWithValue("$conv", "");
                messagesCommand.Parameters.AddWithValue("$since", sinceVersion);
                messagesCommand.Parameters.AddWithValue("$limit", maxMessagesPerConversation + 1L);
                messagesCommand.Parameters.AddWithValue("$user", userId);
                messagesCommand.Prepare();
                foreach (var view in views)
                {
                    conv.Value = view.ConversationId;
                    var messages = await ReadMessageListAsync(messagesCommand, cancellationToken).ConfigureAwait(false);
                    var truncated = messages.Count > maxMessagesPerConversation;
                    if (truncated)
                    {
                        messages.RemoveAt(messages.Count - 1);
                    }

                    messages.Reverse();
                    changes.Add(new ConversationChange(view, messages, truncated));
                }
            }

            transaction.Commit();
            return new SyncSnapshot(version, changes);
        }
    }

    /// <inheritdoc />
    public async Task<(IReadOnlyList<ConversationView> Page, int Total)> ListConversationsAsync(string userId, int offset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // The page and the total come from one snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            int total;
            using (var count = connection.CreateCommand())
            {
                count.Transaction = transaction;
                count.CommandText = "SELECT COUNT(*) FROM members WHERE user_id = $user;";
                count.Parameters.AddWithValue("$user", userId);
                total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            }

            var page = new List<ConversationView>(Math.Min(limit, 256));
            if (limit > 0 && offset < total)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = PageViewsSql;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$limit", limit);
                command.Parameters.AddWithValue("$offset", offset);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(SqliteRows.ReadView(reader));
                }
            }

            transaction.Commit();
            return (page, total);
        }
    }

    /// <inheritdoc />
    public async Task<long> GetUnreadTotalAsync(string userId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT COALESCE(SUM(MAX(c.max_seq - m.read_seq, 0)), 0)
                FROM members m JOIN conversations c ON c.conversation_id = m.conversation_id
                WHERE m.user_id = $user AND m.active = 1 AND m.muted = 0;
                """;
            command.Parameters.AddWithValue("$user", userId);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc />
    public async Task<ConversationView?> GetConversationViewAsync(string userId, string conversationId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = OneViewSql;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? SqliteRows.ReadView(reader) : null;
        }
    }

    private static async Task<long> ReadMaxVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT max_version FROM feed_state WHERE id = 1;";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task<StoredMessage?> ReadSingleMessageAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? SqliteRows.ReadMessage(reader) : null;
    }

    private static async Task<List<StoredMessage>> ReadMessageListAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var messages = new List<StoredMessage>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(SqliteRows.ReadMessage(reader));
        }

        return messages;
    }
}
