using System.Data;
using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Member queries of large groups (ADR 0017): indexed, paged, never the whole roster.</summary>
public sealed partial class PostgresMessageStore : ISuperGroupStore
{
    /// <inheritdoc />
    public async Task<SuperGroupMemberships> GetSuperGroupMembershipsAsync(string userId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var version = await ReadMaxVersionAsync(connection, cancellationToken).ConfigureAwait(false);
                using var command = Command(
                    connection,
                    """
                    SELECT c.conversation_id FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key
                    JOIN conversations c ON c.conversation_id = k.conversation_id
                    WHERE m.user_id = $1 AND m.active AND c.read_diffusion;
                    """,
                    P(userId));
                var ids = await ReadAllAsync(command, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new SuperGroupMemberships(version, ids);
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberWithPeriods>> GetMembersByIdsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        if (userIds.Count == 0)
        {
            return [];
        }

        var ids = userIds.ToArray();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                List<MemberRecord> members;
                using (var command = Command(connection, "SELECT " + MemberColumns + " FROM members WHERE conv_key = " + ConvKey1 + " AND user_id = ANY($2);", P(conversationId), P(ids)))
                {
                    members = await ReadAllAsync(command, ReadMember, cancellationToken).ConfigureAwait(false);
                }

                List<MemberPeriod> periods;
                using (var command = Command(
                    connection,
                    "SELECT user_id, from_seq, to_seq FROM member_periods WHERE conversation_id = $1 AND user_id = ANY($2);",
                    P(conversationId),
                    P(ids)))
                {
                    periods = await ReadAllAsync(command, r => new MemberPeriod(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                var byUser = periods.ToLookup(p => p.UserId, StringComparer.Ordinal);
                return [.. members.Select(m => new MemberWithPeriods(m, [.. byUser[m.UserId]]))];
            }
        }
    }

    /// <inheritdoc />
    public async Task<MemberSearchPage> SearchMembersAsync(string conversationId, MemberQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 500);
        var filter = "conv_key = " + ConvKey1 + " AND active"
            + (query.MinRole > MemberRole.Member ? " AND role >= $2" : string.Empty)
            + (query.Query.Length > 0 ? " AND (user_id ILIKE $3 ESCAPE '\\' OR nickname ILIKE $4 ESCAPE '\\')" : string.Empty);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                Npgsql.NpgsqlParameter[] Parameters() =>
                [
                    P(conversationId), P((int)query.MinRole), P(EscapeLike(query.Query) + "%"), P("%" + EscapeLike(query.Query) + "%"),
                    P(query.After), P(limit + 1), P(Math.Max(0, query.Offset)),
                ];

                int total;
                var countSql = query.MinRole == MemberRole.Member && query.Query.Length == 0
                    ? "SELECT member_count::bigint FROM conversations WHERE conversation_id = $1 AND $2 >= 0 AND $3 <> $4 AND $5 IS NOT NULL AND $6 > 0 AND $7 >= 0;"
                    : "SELECT COUNT(*) FROM members WHERE " + filter + " AND $5 IS NOT NULL AND $6 > 0 AND $2 >= 0 AND $3 IS NOT NULL AND $4 IS NOT NULL AND $7 >= 0;";
                using (var count = Command(connection, countSql, Parameters()))
                {
                    total = (int)Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
                }

                List<MemberRecord> members;
                using (var command = Command(
                    connection,
                    "SELECT " + MemberColumns + " FROM members WHERE " + filter + " AND user_id COLLATE \"C\" > $5 AND $2 >= 0 AND $3 IS NOT NULL AND $4 IS NOT NULL ORDER BY user_id COLLATE \"C\" LIMIT $6 OFFSET $7;",
                    Parameters()))
                {
                    members = await ReadAllAsync(command, ReadMember, cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                string? next = null;
                if (members.Count > limit)
                {
                    members.RemoveAt(members.Count - 1);
                    next = members[^1].UserId;
                }

                return new MemberSearchPage(members, total, next);
            }
        }
    }

    /// <inheritdoc />
    public async Task<DigestPage> GetDigestPageAsync(string conversationId, string after, int limit, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, 500);

        // As SQLite's: one statement per page; the badge total only for the members pushed.
        var rows = await _database.QueryAsync(
            """
            SELECT q.user_id, q.unread, q.muted, q.mentions_only, q.has_device, q.dnd, q.privacy,
                   CASE WHEN q.has_device AND q.unread > 0 THEN
                       (SELECT COALESCE(SUM(GREATEST(c.max_seq - m.read_seq, 0)), 0)::bigint
                        FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key
                        JOIN conversations c ON c.conversation_id = k.conversation_id
                        WHERE m.user_id = q.user_id AND m.active AND NOT m.muted)
                   ELSE 0 END
            FROM (
                SELECT p.user_id,
                       GREATEST((SELECT max_seq FROM conversations WHERE conversation_id = $1) - p.read_seq, 0)::bigint AS unread,
                       p.muted, p.mentions_only,
                       EXISTS (SELECT 1 FROM push_devices d WHERE d.user_id = p.user_id) AS has_device,
                       COALESCE(s.do_not_disturb, false) AS dnd, COALESCE(s.privacy, 0) AS privacy
                FROM (SELECT user_id, read_seq, muted, mentions_only FROM members
                      WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND user_id COLLATE "C" > $2 AND active
                      ORDER BY user_id COLLATE "C" LIMIT $3) p
                LEFT JOIN push_settings s ON s.user_id = p.user_id
            ) q
            ORDER BY q.user_id COLLATE "C";
            """,
            r => (UserId: r.GetString(0), Unread: r.GetInt64(1), Muted: r.GetBoolean(2), MentionsOnly: r.GetBoolean(3), HasDevice: r.GetBoolean(4),
                Dnd: r.GetBoolean(5), Privacy: r.GetInt32(6), Total: r.GetInt64(7)),
            cancellationToken,
            P(conversationId),
            P(after),
            P(limit)).ConfigureAwait(false);
        var recipients = rows.Where(r => r.HasDevice && r.Unread > 0)
            .Select(r => new DigestRecipient(r.UserId, r.Unread, r.Total, r.Muted, r.MentionsOnly, r.Dnd, r.Privacy))
            .ToList();
        return new DigestPage(recipients, rows.Count < limit ? null : rows[^1].UserId);
    }
}
