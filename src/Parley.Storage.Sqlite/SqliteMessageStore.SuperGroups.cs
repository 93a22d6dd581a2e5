using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>Member queries of large groups (ADR 0017): indexed, paged, never the whole roster.</summary>
public sealed partial class SqliteMessageStore : ISuperGroupStore
{
    /// <inheritdoc />
    public async Task<SuperGroupMemberships> GetSuperGroupMembershipsAsync(string userId, CancellationToken cancellationToken = default)
    {
        // Runs on every connect (issue 17): one statement, so one read snapshot without BEGIN/COMMIT, and the version comes
        // with the memberships (the row whose conversation_id is NULL). Indexed by members(user_id, ...); the key of each
        // membership (migration 26) is one rowid probe of conversations (conversation_keys until migration 30). Prepared once per pooled connection (it was
        // parsed and planned on every connect).
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            const string Sql = """
                SELECT max_version, NULL FROM feed_state WHERE id = 1
                UNION ALL
                SELECT 0, c.conversation_id FROM members m JOIN conversations c ON c.conv_key = m.conv_key
                WHERE m.user_id = $user AND m.active = 1 AND c.read_diffusion = 1;
                """;
            var statement = _database.Prepared(connection, Sql, UserParameter);
            try
            {
                statement.Bind(0, userId);
                long version = 0;
                List<string>? ids = null;
                while (statement.Read())
                {
                    if (statement.IsDBNull(1))
                    {
                        version = statement.GetInt64(0);
                    }
                    else
                    {
                        (ids ??= []).Add(statement.GetString(1));
                    }
                }

                return new SuperGroupMemberships(version, ids ?? []);
            }
            finally
            {
                statement.Reset();
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberWithPeriods>> GetMembersByIdsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false); // read seqs (ADR 0028)
        if (userIds.Count == 0)
        {
            return [];
        }

        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var json = System.Text.Json.JsonSerializer.Serialize(userIds.ToArray(), SqliteJsonContext.Default.StringArray);
            var members = new List<MemberRecord>();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "SELECT " + SqliteRows.MemberColumns + " FROM members WHERE conv_key = " + SqliteRows.ConvKey + " AND user_id IN (SELECT value FROM json_each($ids));";
                command.Parameters.AddWithValue("$conv", conversationId);
                command.Parameters.AddWithValue("$ids", json);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    members.Add(SqliteRows.ReadMember(reader));
                }
            }

            var periods = new List<MemberPeriod>();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = "SELECT user_id, from_seq, to_seq FROM member_periods WHERE conversation_id = $conv AND user_id IN (SELECT value FROM json_each($ids));";
                command.Parameters.AddWithValue("$conv", conversationId);
                command.Parameters.AddWithValue("$ids", json);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    periods.Add(new MemberPeriod(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
                }
            }

            transaction.Commit();
            var byUser = periods.ToLookup(p => p.UserId, StringComparer.Ordinal);
            return [.. members.Select(m => new MemberWithPeriods(m, [.. byUser[m.UserId]]))];
        }
    }

    /// <inheritdoc />
    public async Task<MemberSearchPage> SearchMembersAsync(string conversationId, MemberQuery query, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false); // read seqs (ADR 0028)
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 500);
        var filter = "conv_key = " + SqliteRows.ConvKey + " AND active = 1"
            + (query.MinRole > MemberRole.Member ? " AND role >= $role" : string.Empty)
            + (query.Query.Length > 0 ? " AND (user_id LIKE $prefix ESCAPE '\\' OR nickname LIKE $contains ESCAPE '\\')" : string.Empty);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            void Bind(SqliteCommand command)
            {
                command.Transaction = transaction;
                command.Parameters.AddWithValue("$conv", conversationId);
                command.Parameters.AddWithValue("$role", (int)query.MinRole);
                command.Parameters.AddWithValue("$prefix", EscapeLike(query.Query) + "%");
                command.Parameters.AddWithValue("$contains", "%" + EscapeLike(query.Query) + "%");
                command.Parameters.AddWithValue("$after", query.After);
                command.Parameters.AddWithValue("$limit", limit + 1);
                command.Parameters.AddWithValue("$offset", Math.Max(0, query.Offset));
            }

            int total;
            using (var count = connection.CreateCommand())
            {
                Bind(count);
                count.CommandText = query.MinRole == MemberRole.Member && query.Query.Length == 0
                    ? "SELECT member_count FROM conversations WHERE conversation_id = $conv;"
                    : "SELECT COUNT(*) FROM members WHERE " + filter + ";";
                total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0, System.Globalization.CultureInfo.InvariantCulture);
            }

            var members = new List<MemberRecord>(limit + 1);
            using (var command = connection.CreateCommand())
            {
                Bind(command);
                command.CommandText = "SELECT " + SqliteRows.MemberColumns + " FROM members WHERE " + filter + " AND user_id > $after ORDER BY user_id LIMIT $limit OFFSET $offset;";
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    members.Add(SqliteRows.ReadMember(reader));
                }
            }

            transaction.Commit();
            string? next = null;
            if (members.Count > limit)
            {
                members.RemoveAt(members.Count - 1);
                next = members[^1].UserId;
            }

            return new MemberSearchPage(members, total, next);
        }
    }

    /// <inheritdoc />
    public async Task<DigestPage> GetDigestPageAsync(string conversationId, string after, int limit, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(cancellationToken).ConfigureAwait(false); // unread counts (ADR 0028)
        limit = Math.Clamp(limit, 1, 500);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One statement per page (it replaced three reads per member with a device): the page of members by the
            // primary key, a device probe and the settings row each, and the badge total only for those pushed.
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT q.user_id, q.unread, q.muted, q.mentions_only, q.has_device, q.dnd, q.privacy,
                       CASE WHEN q.has_device = 1 AND q.unread > 0 THEN
                           (SELECT COALESCE(SUM(MAX(c.max_seq - m.read_seq, 0)), 0)
                            FROM members m JOIN conversations c ON c.conv_key = m.conv_key
                            WHERE m.user_id = q.user_id AND m.active = 1 AND m.muted = 0)
                       ELSE 0 END
                FROM (
                    SELECT p.user_id,
                           MAX((SELECT max_seq FROM conversations WHERE conversation_id = $conv) - p.read_seq, 0) AS unread,
                           p.muted, p.mentions_only,
                           EXISTS (SELECT 1 FROM push_devices d WHERE d.user_id = p.user_id) AS has_device,
                           COALESCE(s.do_not_disturb, 0) AS dnd, COALESCE(s.privacy, 0) AS privacy
                    FROM (SELECT user_id, read_seq, muted, mentions_only FROM members
                          WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND user_id > $after AND active = 1
                          ORDER BY user_id LIMIT $limit) p
                    LEFT JOIN push_settings s ON s.user_id = p.user_id
                ) q
                ORDER BY q.user_id;
                """;
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$after", after);
            command.Parameters.AddWithValue("$limit", limit);
            var recipients = new List<DigestRecipient>();
            string? last = null;
            var scanned = 0;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                scanned++;
                last = reader.GetString(0);
                if (reader.GetInt64(4) != 0 && reader.GetInt64(1) > 0)
                {
                    recipients.Add(new DigestRecipient(
                        last, reader.GetInt64(1), reader.GetInt64(7), reader.GetInt64(2) != 0, reader.GetInt64(3) != 0, reader.GetInt64(5) != 0, reader.GetInt32(6)));
                }
            }

            return new DigestPage(recipients, scanned < limit ? null : last);
        }
    }
}
