using Npgsql;
using NpgsqlTypes;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Postgres.Internal;

/// <summary>Column lists, row readers and parameter helpers shared by the stores' statements, so a column order is written once.</summary>
internal static class PostgresRows
{
    public const string MessageColumns =
        "conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq";

    /// <summary>
    /// A conversation as one member sees it; the caller appends WHERE/ORDER. $1 is the viewing member. A member who left
    /// sees the conversation as it was at the end of their last period (max seq, last message), nothing after. The
    /// member is a row, else a packed slot (migration 25, <c>members_of_user</c>); the peer of a 1:1 conversation is a row
    /// (only super groups are packed). A former member's last visible seq is a correlated subquery on member_periods' key,
    /// run for an inactive member only: as a LEFT JOIN on a subquery grouping member_periods, every execution scanned the
    /// whole table (stop 38: a sequential scan of 50,000 periods, 368 buffers, for 10 memberships; now 3 buffers).
    /// </summary>
    public const string ViewSelect = """
        SELECT c.conversation_id, c.kind, c.group_id, c.name,
               CASE WHEN m.active THEN c.max_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END,
               c.updated_at, c.member_count,
               m.read_seq, m.pinned, m.muted,
               p.user_id, p.read_seq,
               l.conversation_id, l.seq, l.server_msg_id, l.sender_id, l.client_msg_id, l.server_time, l.content_kind, l.content, l.revoked, l.version, l.annotations, l.reply_to_seq,
               m.mentions_only,
               CASE WHEN GREATEST(m.mention_seq, c.mention_all_seq) > m.read_seq THEN GREATEST(m.mention_seq, c.mention_all_seq) ELSE 0 END
        FROM members_of_user($1) m
        JOIN conversation_keys k ON k.conv_key = m.conv_key
        JOIN conversations c ON c.conversation_id = k.conversation_id
        LEFT JOIN members p ON p.conv_key = CASE WHEN c.kind = 1 THEN m.conv_key END AND p.user_id <> m.user_id
        LEFT JOIN messages l ON l.conversation_id = c.conversation_id
               AND l.seq = CASE WHEN m.active THEN c.last_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = k.conversation_id AND v.user_id = m.user_id), 0) END
        WHERE m.user_id = $1
        """;

    /// <summary>
    /// The integer key of the conversation named by parameter $1 in <c>members</c> (migration 23): members name their
    /// conversation by <c>conversation_keys.conv_key</c>. An uncorrelated scalar subquery (an InitPlan): evaluated once per
    /// statement, and an index condition on the members' primary key.
    /// </summary>
    public const string ConvKey1 = "(SELECT conv_key FROM conversation_keys WHERE conversation_id = $1)";

    public const string MemberColumns =
        "user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at, inviter_id, active, visible_from, info_version";

    /// <summary>Escapes LIKE's wildcards (the statements say <c>ESCAPE '\'</c>).</summary>
    public static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    public static NpgsqlParameter P<T>(T value) => new NpgsqlParameter<T> { TypedValue = value };

    public static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Bigint(long? value) => new() { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Bool(bool? value) => new() { NpgsqlDbType = NpgsqlDbType.Boolean, Value = (object?)value ?? DBNull.Value };

    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static async Task<List<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public static MemberRecord ReadMember(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetBoolean(2), reader.GetBoolean(3), reader.GetInt64(4))
        {
            Role = (MemberRole)reader.GetInt32(5),
            Nickname = reader.GetString(6),
            MutedUntil = reader.GetInt64(7),
            JoinedAt = reader.GetInt64(8),
            InviterId = reader.GetString(9),
            Active = reader.GetBoolean(10),
            VisibleFrom = reader.GetInt64(11),
            InfoVersion = reader.GetInt64(12),
        };

    public static StoredMessage ReadMessage(NpgsqlDataReader reader) => ReadMessage(reader, 0);

    public static StoredMessage ReadMessage(NpgsqlDataReader reader, int offset) =>
        new(
            reader.GetString(offset),
            reader.GetInt64(offset + 1),
            reader.GetString(offset + 2),
            reader.GetString(offset + 3),
            reader.GetString(offset + 4),
            reader.GetInt64(offset + 5),
            reader.GetInt32(offset + 6),
            reader.IsDBNull(offset + 7) ? [] : reader.GetFieldValue<byte[]>(offset + 7),
            reader.GetBoolean(offset + 8),
            reader.GetInt64(offset + 9))
        {
            Annotations = reader.IsDBNull(offset + 10) ? null : reader.GetFieldValue<byte[]>(offset + 10),
            ReplyToSeq = reader.GetInt64(offset + 11),
        };

    public static ConversationView ReadView(NpgsqlDataReader reader)
    {
        var hasPeer = !reader.IsDBNull(10);
        return new ConversationView(
            ConversationId: reader.GetString(0),
            Kind: (ConversationKind)reader.GetInt32(1),
            GroupId: reader.IsDBNull(2) ? null : reader.GetString(2),
            Name: reader.GetString(3),
            PeerUserId: hasPeer ? reader.GetString(10) : null,
            MaxSeq: reader.GetInt64(4),
            ReadSeq: reader.GetInt64(7),
            Pinned: reader.GetBoolean(8),
            Muted: reader.GetBoolean(9),
            LastMessage: reader.IsDBNull(12) ? null : ReadMessage(reader, 12),
            PeerReadSeq: hasPeer ? reader.GetInt64(11) : 0,
            MemberCount: reader.GetInt32(6),
            UpdatedAt: reader.GetInt64(5))
        {
            MentionsOnly = reader.GetBoolean(24),
            MentionSeq = reader.GetInt64(25),
        };
    }
}
