using System.Data;
using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Member queries of large groups (ADR 0017): indexed, paged, never the whole roster.</summary>
public sealed partial class PostgresMessageStore : ISuperGroupStore, ISuperGroupCompaction
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
                    SELECT c.conversation_id FROM members_of_user($1) m JOIN conversation_keys k ON k.conv_key = m.conv_key
                    JOIN conversations c ON c.conversation_id = k.conversation_id
                    WHERE m.active AND c.read_diffusion;
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
                using (var command = Command(
                    connection,
                    "SELECT " + MemberColumns + " FROM conversation_keys k CROSS JOIN unnest($2::text[]) AS q(u) CROSS JOIN LATERAL member_get(k.conv_key, q.u) m WHERE k.conversation_id = $1;",
                    P(conversationId),
                    P(ids.Distinct(StringComparer.Ordinal).ToArray())))
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
        var offset = Math.Max(0, query.Offset);
        var filter = "m.active"
            + (query.MinRole > MemberRole.Member ? " AND m.role >= $2" : string.Empty)
            + (query.Query.Length > 0 ? " AND (m.user_id ILIKE $3 ESCAPE '\\' OR m.nickname ILIKE $4 ESCAPE '\\')" : string.Empty);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                int total;
                var countSql = query.MinRole == MemberRole.Member && query.Query.Length == 0
                    ? "SELECT member_count::bigint FROM conversations WHERE conversation_id = $1 AND $2 >= 0 AND $3 <> $4;"
                    : "SELECT COUNT(*) FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) m WHERE k.conversation_id = $1 AND "
                        + filter + " AND $2 >= 0 AND $3 IS NOT NULL AND $4 IS NOT NULL;";
                using (var count = Command(
                    connection, countSql, P(conversationId), P((int)query.MinRole), P(EscapeLike(query.Query) + "%"), P("%" + EscapeLike(query.Query) + "%")))
                {
                    total = (int)Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
                }

                // Keyset order (collation "C"), a row else its slot: ranges of at most a few packed pages each (a group
                // without pages is one range), until the page (after the offset, plus one to tell there is more) is full.
                var need = offset + limit + 1;
                var found = new List<MemberRecord>();
                var low = query.After;
                while (true)
                {
                    var high = await RangeEndAsync(connection, conversationId, low, need - found.Count, cancellationToken).ConfigureAwait(false);
                    using (var command = Command(
                        connection,
                        "SELECT " + MemberColumns + " FROM conversation_keys k CROSS JOIN LATERAL members_in_range(k.conv_key, $5, $6) m WHERE k.conversation_id = $1 AND "
                            + filter + " AND $2 >= 0 AND $3 IS NOT NULL AND $4 IS NOT NULL ORDER BY m.user_id COLLATE \"C\" LIMIT $7;",
                        P(conversationId), P((int)query.MinRole), P(EscapeLike(query.Query) + "%"), P("%" + EscapeLike(query.Query) + "%"),
                        P(low), Text(high), P((long)(need - found.Count))))
                    {
                        found.AddRange(await ReadAllAsync(command, ReadMember, cancellationToken).ConfigureAwait(false));
                    }

                    if (found.Count >= need || high is null)
                    {
                        break;
                    }

                    low = high;
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                var members = found.Skip(offset).ToList();
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

    // The end (inclusive) of the next keyset range after `low` of a group's members: the first user of the packed page a
    // few pages on (enough pages for `wanted` members when half full), or null when fewer pages follow (the range then
    // runs to the end). A group with no pages has no end: one range.
    private static async Task<string?> RangeEndAsync(Npgsql.NpgsqlConnection connection, string conversationId, string low, int wanted, CancellationToken cancellationToken)
    {
        using var command = Command(
            connection,
            """
            SELECT p.first_user FROM member_pages p
            WHERE p.conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1) AND p.first_user > $2 COLLATE "C"
            ORDER BY p.first_user OFFSET $3 LIMIT 1;
            """,
            P(conversationId),
            P(low),
            P((long)Math.Max(2, (wanted / 64) + 2)));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <inheritdoc />
    public async Task<DigestPage> GetDigestPageAsync(string conversationId, string after, int limit, CancellationToken cancellationToken = default)
    {
        limit = Math.Clamp(limit, 1, 500);

        // As SQLite's: one statement per page (per range of packed pages, migration 25); the badge total only for the
        // members pushed.
        var rows = new List<(string UserId, long Unread, bool Muted, bool MentionsOnly, bool HasDevice, bool Dnd, int Privacy, long Total)>();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var low = after;
                while (true)
                {
                    var high = await RangeEndAsync(connection, conversationId, low, limit - rows.Count, cancellationToken).ConfigureAwait(false);
                    using (var command = Command(connection, DigestPageSql, P(conversationId), P(low), P((long)(limit - rows.Count)), Text(high)))
                    {
                        rows.AddRange(await ReadAllAsync(
                            command,
                            r => (UserId: r.GetString(0), Unread: r.GetInt64(1), Muted: r.GetBoolean(2), MentionsOnly: r.GetBoolean(3), HasDevice: r.GetBoolean(4),
                                Dnd: r.GetBoolean(5), Privacy: r.GetInt32(6), Total: r.GetInt64(7)),
                            cancellationToken).ConfigureAwait(false));
                    }

                    if (rows.Count >= limit || high is null)
                    {
                        break;
                    }

                    low = high;
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var recipients = rows.Where(r => r.HasDevice && r.Unread > 0)
            .Select(r => new DigestRecipient(r.UserId, r.Unread, r.Total, r.Muted, r.MentionsOnly, r.Dnd, r.Privacy))
            .ToList();
        return new DigestPage(recipients, rows.Count < limit ? null : rows[^1].UserId);
    }

    private const string DigestPageSql = """
        SELECT q.user_id, q.unread, q.muted, q.mentions_only, q.has_device, q.dnd, q.privacy,
               CASE WHEN q.has_device AND q.unread > 0 THEN
                   (SELECT COALESCE(SUM(GREATEST(c.max_seq - m.read_seq, 0)), 0)::bigint
                    FROM members_of_user(q.user_id) m JOIN conversation_keys k ON k.conv_key = m.conv_key
                    JOIN conversations c ON c.conversation_id = k.conversation_id
                    WHERE m.active AND NOT m.muted)
               ELSE 0 END
        FROM (
            SELECT p.user_id,
                   GREATEST((SELECT max_seq FROM conversations WHERE conversation_id = $1) - p.read_seq, 0)::bigint AS unread,
                   p.muted, p.mentions_only,
                   EXISTS (SELECT 1 FROM push_devices d WHERE d.user_id = p.user_id) AS has_device,
                   COALESCE(s.do_not_disturb, false) AS dnd, COALESCE(s.privacy, 0) AS privacy
            FROM (SELECT m.user_id, m.read_seq, m.muted, m.mentions_only
                  FROM conversation_keys ck CROSS JOIN LATERAL members_in_range(ck.conv_key, $2, $4) m
                  WHERE ck.conversation_id = $1 AND m.active
                  ORDER BY m.user_id COLLATE "C" LIMIT $3) p
            LEFT JOIN push_settings s ON s.user_id = p.user_id
        ) q
        ORDER BY q.user_id COLLATE "C";
        """;
}
