using System.Data;
using Npgsql;
using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    private const string GroupColumns = """
        g.group_id, g.conversation_id, g.name, g.avatar_url, g.introduction, g.announcement, g.ex, g.owner_id, g.join_policy,
        g.history_visible, g.mute_all, g.searchable, g.dismissed, g.created_at, g.updated_at,
        (SELECT member_count FROM conversations c WHERE c.conversation_id = g.conversation_id), g.info_version, g.kind, g.member_notices
        """;

    private const string RequestColumns = "group_id, user_id, inviter_id, kind, message, state, created_at, handled_at, handler_id";

    /// <inheritdoc />
    public async Task<GroupRecord?> GetGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync("SELECT " + GroupColumns + " FROM groups g WHERE g.group_id = $1;", r => ReadGroup(r, 0), cancellationToken, P(groupId))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRecord>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        if (groupIds.Count == 0)
        {
            return [];
        }

        return await _database.QueryAsync(
            "SELECT " + GroupColumns + " FROM groups g WHERE g.group_id = ANY($1) ORDER BY g.group_id;",
            r => ReadGroup(r, 0),
            cancellationToken,
            P(groupIds.ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRecord>> SearchGroupsAsync(string query, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + GroupColumns + """
                 FROM groups g WHERE NOT g.dismissed AND g.searchable
                   AND (g.group_id = $1 OR g.name ILIKE '%' || $2 || '%' ESCAPE '\')
                 ORDER BY (g.group_id = $1) DESC, g.name, g.group_id LIMIT $3;
                """,
            r => ReadGroup(r, 0),
            cancellationToken,
            P(query),
            P(EscapeLike(query)),
            P((long)limit)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberPeriod>> GetMemberPeriodsAsync(string conversationId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT user_id, from_seq, to_seq FROM member_periods WHERE conversation_id = $1 ORDER BY user_id, from_seq;",
            r => new MemberPeriod(r.GetString(0), r.GetInt64(1), r.GetInt64(2)),
            cancellationToken,
            P(conversationId)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRequestRecord>> GetPendingGroupRequestsAsync(string groupId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + RequestColumns + " FROM group_requests WHERE group_id = $1 AND state = 0 ORDER BY created_at, user_id;",
            ReadGroupRequest,
            cancellationToken,
            P(groupId)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRequestRecord>> GetUserGroupRequestsAsync(string userId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + RequestColumns + " FROM group_requests WHERE user_id = $1 ORDER BY state <> 0, created_at DESC, group_id LIMIT $2;",
            ReadGroupRequest,
            cancellationToken,
            P(userId),
            P((long)limit)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<MembersDeltaData> GetMembersDeltaAsync(string conversationId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        // Write-diffusion rows through the partial ix_members_conv_info (rows with an info version only, migration 30: the
        // term info_version > 0 lets the planner use it); a super group's rows are not in it (migration 15), so its delta
        // scans the group's key range, O(members): super-group rosters are paged (ADR 0017).
        var (version, members) = await SnapshotAsync(
            "SELECT " + MemberColumns + """
                 FROM members WHERE conv_key = (SELECT conv_key FROM conversation_keys WHERE conversation_id = $1)
                   AND NOT read_diffusion AND info_version > 0 AND info_version > $2 AND ($2 > 0 OR active)
                UNION ALL
                SELECT
                """ + " " + MemberColumns + """
                 FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) m
                 WHERE k.conversation_id = $1 AND m.read_diffusion AND m.info_version > $2 AND ($2 > 0 OR m.active)
                   AND EXISTS (SELECT 1 FROM conversations WHERE conversation_id = $1 AND read_diffusion);
                """,
            ReadMember,
            cancellationToken,
            P(conversationId),
            P(sinceVersion)).ConfigureAwait(false);
        return new MembersDeltaData(version, members.Where(m => m.Active).ToList(), members.Where(m => !m.Active).Select(m => m.UserId).ToList());
    }

    /// <inheritdoc />
    public async Task<GroupsDeltaData> GetGroupsDeltaAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        // Write-diffusion memberships through the partial ix_members_user_info (rows with an info version only, migration
        // 30); the user's own super-group membership changes through ix_members_user_feed (a member change raises
        // feed_version with info_version); super groups whose info changed through ix_groups_super_info, kept where the
        // user is an active member. First row wins.
        var (version, rows) = await SnapshotAsync(
            "SELECT m.active, " + GroupColumns + """
                 FROM members m JOIN conversation_keys k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
                 WHERE m.user_id = $1 AND NOT m.read_diffusion AND m.info_version > 0 AND m.info_version > $2 AND ($2 > 0 OR m.active)
                UNION ALL
                SELECT m.active,
                """ + GroupColumns + """
                 FROM members_of_user($1) m JOIN conversation_keys k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
                 WHERE m.user_id = $1 AND m.read_diffusion AND m.feed_version > $2 AND m.info_version > $2 AND ($2 > 0 OR m.active)
                UNION ALL
                SELECT true,
                """ + GroupColumns + """
                 FROM groups g JOIN conversation_keys k ON k.conversation_id = g.conversation_id
                 CROSS JOIN LATERAL member_get(k.conv_key, $1) m
                 WHERE $2 > 0 AND g.kind <> 0 AND g.info_version > $2 AND m.active;
                """,
            r => (Active: r.GetBoolean(0), Group: ReadGroup(r, 1)),
            cancellationToken,
            P(userId),
            P(sinceVersion)).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        rows = rows.Where(r => seen.Add(r.Group.GroupId)).ToList();
        return new GroupsDeltaData(version, rows.Where(r => r.Active).Select(r => r.Group).ToList(), rows.Where(r => !r.Active).Select(r => r.Group.GroupId).ToList());
    }

    // The feed version and one query's rows from one snapshot.
    private async Task<(long Version, List<T> Rows)> SnapshotAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var version = await ReadMaxVersionAsync(connection, cancellationToken).ConfigureAwait(false);
                using var command = Command(connection, sql, parameters);
                var rows = await ReadAllAsync(command, read, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (version, rows);
            }
        }
    }

    private static GroupRequestRecord ReadGroupRequest(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetInt32(5), r.GetInt64(6), r.GetInt64(7), r.GetString(8));

    private static GroupRecord ReadGroup(NpgsqlDataReader r, int o) =>
        new(
            r.GetString(o), r.GetString(o + 1), r.GetString(o + 2), r.GetString(o + 3), r.GetString(o + 4), r.GetString(o + 5), r.GetString(o + 6),
            r.GetString(o + 7), (GroupJoinPolicy)r.GetInt32(o + 8), r.GetBoolean(o + 9), r.GetBoolean(o + 10), r.GetBoolean(o + 11),
            r.GetBoolean(o + 12), r.GetInt64(o + 13), r.GetInt64(o + 14), r.IsDBNull(o + 15) ? 0 : r.GetInt32(o + 15), r.GetInt64(o + 16))
        {
            Kind = (GroupKind)r.GetInt32(o + 17),
            MemberNotices = (MemberNoticeMode)r.GetInt32(o + 18),
        };
}
