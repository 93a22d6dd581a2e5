using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteMessageStore
{
    private const string GroupColumns = """
        g.group_id, g.conversation_id, g.name, g.avatar_url, g.introduction, g.announcement, g.ex, g.owner_id, g.join_policy,
        g.history_visible, g.mute_all, g.searchable, g.dismissed, g.created_at, g.updated_at,
        (SELECT member_count FROM conversations c WHERE c.conversation_id = g.conversation_id), g.info_version, g.kind, g.member_notices
        """;

    // A user's group-list delta (migration 17): write-diffusion memberships through the partial ix_members_user_info (which
    // holds only rows with an info version, migration 29: the term info_version > 0 lets SQLite use it);
    // the user's own super-group membership changes through ix_members_user_feed (a member change raises feed_version
    // with info_version); super groups whose info changed through ix_groups_super_info, kept where the user is an
    // active member (one primary-key probe each). A group found twice is answered once (the first row wins).
    internal const string GroupsDeltaSql = "SELECT m.active, " + GroupColumns + """
         FROM members m JOIN conversations k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
         WHERE m.user_id = $user AND m.read_diffusion = 0 AND m.info_version > 0 AND m.info_version > $since AND ($since > 0 OR m.active = 1)
        UNION ALL
        SELECT m.active,
        """ + GroupColumns + """
         FROM members m JOIN conversations k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
         WHERE m.user_id = $user AND m.read_diffusion = 1 AND m.feed_version > $since AND m.info_version > $since
           AND ($since > 0 OR m.active = 1)
        UNION ALL
        SELECT 1,
        """ + GroupColumns + """
         FROM groups g CROSS JOIN conversations k CROSS JOIN members m
         WHERE $since > 0 AND g.kind <> 0 AND g.info_version > $since
           AND k.conversation_id = g.conversation_id AND m.conv_key = k.conv_key AND m.user_id = $user AND m.active = 1;
        """;

    /// <inheritdoc />
    public async Task<GroupRecord?> GetGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var groups = await GetGroupsAsync([groupId], cancellationToken).ConfigureAwait(false);
        return groups.Count == 0 ? null : groups[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRecord>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken cancellationToken = default)
    {
        if (groupIds.Count == 0)
        {
            return [];
        }

        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + GroupColumns + " FROM groups g WHERE g.group_id IN (SELECT value FROM json_each($ids)) ORDER BY g.group_id;";
            command.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(groupIds.ToArray(), SqliteJsonContext.Default.StringArray));
            return await ReadGroupsAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRecord>> SearchGroupsAsync(string query, int limit, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT " + GroupColumns + """
                 FROM groups g WHERE g.dismissed = 0 AND g.searchable = 1
                   AND (g.group_id = $q OR g.name LIKE '%' || $like || '%' ESCAPE '\')
                 ORDER BY (g.group_id = $q) DESC, g.name, g.group_id LIMIT $limit;
                """;
            command.Parameters.AddWithValue("$q", query);
            command.Parameters.AddWithValue("$like", EscapeLike(query));
            command.Parameters.AddWithValue("$limit", limit);
            return await ReadGroupsAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<MemberPeriod>> GetMemberPeriodsAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT user_id, from_seq, to_seq FROM member_periods WHERE conversation_id = $conv ORDER BY user_id, from_seq;";
            command.Parameters.AddWithValue("$conv", conversationId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var periods = new List<MemberPeriod>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                periods.Add(new MemberPeriod(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }

            return periods;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRequestRecord>> GetPendingGroupRequestsAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT group_id, user_id, inviter_id, kind, message, state, created_at, handled_at, handler_id
                FROM group_requests WHERE group_id = $group AND state = 0 ORDER BY created_at, user_id;
                """;
            command.Parameters.AddWithValue("$group", groupId);
            return await ReadGroupRequestsAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupRequestRecord>> GetUserGroupRequestsAsync(string userId, int limit, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT group_id, user_id, inviter_id, kind, message, state, created_at, handled_at, handler_id
                FROM group_requests WHERE user_id = $user ORDER BY state <> 0, created_at DESC, group_id LIMIT $limit;
                """;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$limit", limit);
            return await ReadGroupRequestsAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<MembersDeltaData> GetMembersDeltaAsync(string conversationId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        await FlushIfPendingAsync(conversationId, cancellationToken).ConfigureAwait(false); // read seqs (ADR 0028)
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var version = await ReadMaxVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            bool readDiffusion;
            using (var kind = connection.CreateCommand())
            {
                kind.Transaction = transaction;
                kind.CommandText = "SELECT read_diffusion FROM conversations WHERE conversation_id = $conv;";
                kind.Parameters.AddWithValue("$conv", conversationId);
                readDiffusion = await kind.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long flag && flag != 0;
            }

            using var command = connection.CreateCommand();
            command.Transaction = transaction;

            // A super group's rows are not in ix_members_conv_info (migration 17): its delta scans the group's key range,
            // O(members); clients page super-group rosters with ListMembers instead (ADR 0017).
            command.CommandText = "SELECT " + SqliteRows.MemberColumns
                + (readDiffusion
                    ? " FROM members WHERE conv_key = " + SqliteRows.ConvKey + " AND info_version > $since AND ($since > 0 OR active = 1)"
                    : " FROM members WHERE conv_key = " + SqliteRows.ConvKey + " AND read_diffusion = 0 AND info_version > 0 AND info_version > $since AND ($since > 0 OR active = 1)")
                + " ORDER BY info_version, user_id;";
            command.Parameters.AddWithValue("$conv", conversationId);
            command.Parameters.AddWithValue("$since", sinceVersion);
            var upserts = new List<MemberRecord>();
            var removed = new List<string>();
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var member = SqliteRows.ReadMember(reader);
                    if (member.Active)
                    {
                        upserts.Add(member);
                    }
                    else
                    {
                        removed.Add(member.UserId);
                    }
                }
            }

            transaction.Commit();
            return new MembersDeltaData(version, upserts, removed);
        }
    }

    /// <inheritdoc />
    public async Task<GroupsDeltaData> GetGroupsDeltaAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var version = await ReadMaxVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var left = new List<string>();
            var upserts = new List<GroupRecord>();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = GroupsDeltaSql;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$since", sinceVersion);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!seen.Add(reader.GetString(1)))
                    {
                        continue;
                    }

                    if (reader.GetInt64(0) != 0)
                    {
                        upserts.Add(ReadGroup(reader, 1));
                    }
                    else
                    {
                        left.Add(reader.GetString(1));
                    }
                }
            }

            transaction.Commit();
            return new GroupsDeltaData(version, upserts, left);
        }
    }

    private static async Task<List<GroupRecord>> ReadGroupsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var groups = new List<GroupRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groups.Add(ReadGroup(reader, 0));
        }

        return groups;
    }

    private static async Task<List<GroupRequestRecord>> ReadGroupRequestsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var requests = new List<GroupRequestRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            requests.Add(new GroupRequestRecord(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
                reader.GetInt32(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetString(8)));
        }

        return requests;
    }

    private static GroupRecord ReadGroup(SqliteDataReader r, int o) =>
        new(
            r.GetString(o), r.GetString(o + 1), r.GetString(o + 2), r.GetString(o + 3), r.GetString(o + 4), r.GetString(o + 5), r.GetString(o + 6),
            r.GetString(o + 7), (GroupJoinPolicy)r.GetInt32(o + 8), r.GetInt64(o + 9) != 0, r.GetInt64(o + 10) != 0, r.GetInt64(o + 11) != 0,
            r.GetInt64(o + 12) != 0, r.GetInt64(o + 13), r.GetInt64(o + 14), r.IsDBNull(o + 15) ? 0 : r.GetInt32(o + 15), r.GetInt64(o + 16))
        {
            Kind = (GroupKind)r.GetInt32(o + 17),
            MemberNotices = (MemberNoticeMode)r.GetInt32(o + 18),
        };

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
