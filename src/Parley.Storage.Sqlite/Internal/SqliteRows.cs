using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>Column lists and row readers shared by the store's queries, so a column order is written once.</summary>
internal static class SqliteRows
{
    /// <summary>
    /// A message row's columns after its conversation id (not aliased). Messages name their conversation by its integer key
    /// (migration 30, ADR 0025), so the text id comes from elsewhere: the statement's $conv (<see cref="MessageColumns"/>),
    /// the caller's list or a join to <c>conversations</c>.
    /// </summary>
    public const string MessageColumnsAfterId =
        "seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq";

    /// <summary>A message row's columns, for a statement of ONE conversation that binds its text id as $conv.</summary>
    public const string MessageColumns = "$conv, " + MessageColumnsAfterId;

    /// <summary>
    /// A conversation as one member sees it; the caller appends WHERE/ORDER. $user is the viewing member. A member who left
    /// sees the conversation as it was at the end of their last period (max seq, last message), nothing after.
    /// </summary>
    /// <remarks>
    /// The peer join (<c>p</c>) names the key only for a direct conversation: with <c>c.kind = 1 AND p.conv_key = m.conv_key</c>
    /// SQLite walked a group's whole primary-key range testing the kind on every row (a member of a 1,000,000-member
    /// channel read the whole group on every connect, issue 12); a NULL key ends the index search at once.
    /// A former member's last visible seq is a correlated subquery on member_periods' key, evaluated only for an inactive
    /// member row: as a LEFT JOIN on a grouped subquery, SQLite materialised the whole member_periods table (and an automatic
    /// index on it) in every execution that reached a row, i.e. on every sync with a changed conversation (stop 38:
    /// 1,800,000 VM steps instead of 1,190 for a fresh sync of 10 conversations with 50,000 periods in the database).
    /// </remarks>
    public const string ViewSelect = """
        SELECT c.conversation_id, c.kind, c.group_id, c.name,
               CASE WHEN m.active = 1 THEN c.max_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = c.conversation_id AND v.user_id = m.user_id), 0) END,
               c.updated_at, c.member_count,
               m.read_seq, m.pinned, m.muted,
               p.user_id, p.read_seq,
               CASE WHEN l.seq IS NOT NULL THEN c.conversation_id END, l.seq, l.server_msg_id, l.sender_id, l.client_msg_id, l.server_time, l.content_kind, l.content, l.revoked, l.version, l.annotations, l.reply_to_seq,
               m.mentions_only,
               CASE WHEN MAX(m.mention_seq, c.mention_all_seq) > m.read_seq THEN MAX(m.mention_seq, c.mention_all_seq) ELSE 0 END
        FROM members m
        JOIN conversations c ON c.conv_key = m.conv_key
        LEFT JOIN members p ON p.conv_key = CASE WHEN c.kind = 1 THEN m.conv_key END AND p.user_id <> m.user_id
        LEFT JOIN messages l ON l.conv_key = c.conv_key
               AND l.seq = CASE WHEN m.active = 1 THEN c.last_seq ELSE COALESCE((SELECT MAX(v.to_seq) FROM member_periods v WHERE v.conversation_id = c.conversation_id AND v.user_id = m.user_id), 0) END
        WHERE m.user_id = $user
        """;

    /// <summary>
    /// The integer key of conversation $conv (migration 26 for <c>members</c>, migration 30 for <c>messages</c>; since
    /// migration 30 the rowid of <c>conversations</c>, found through its unique index on the text id). An uncorrelated scalar
    /// subquery: evaluated once per statement, and usable as the first column of the members' and messages' primary keys.
    /// </summary>
    public const string ConvKey = "(SELECT conv_key FROM conversations WHERE conversation_id = $conv)";

    /// <summary>True when the viewing member ($user) may see the message row aliased <c>msg</c> of conversation $conv.</summary>
    public const string VisibleToUser = """
        (EXISTS (SELECT 1 FROM members vm WHERE vm.conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv) AND vm.user_id = $user AND vm.active = 1 AND msg.seq >= vm.visible_from)
         OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = $conv AND vp.user_id = $user AND msg.seq BETWEEN vp.from_seq AND vp.to_seq))
        """;

    /// <summary>
    /// A member row's columns, from <c>members</c> (not aliased). The inviter is interned (migration 23): a row holds its
    /// key in <c>member_inviters</c>; rows of a database older than that may still hold the id itself.
    /// </summary>
    public const string MemberColumns =
        "user_id, read_seq, pinned, muted, feed_version, role, nickname, muted_until, joined_at, "
        + "CASE WHEN members.inviter_key = 0 THEN members.inviter_id ELSE (SELECT mi.user_id FROM member_inviters mi WHERE mi.inviter_key = members.inviter_key) END, "
        + "active, visible_from, info_version";

    /// <summary>Runs <paramref name="command"/> and reads every row (synchronously: for a writer callback, whose statements run on the writer queue).</summary>
    public static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var rows = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public static MemberRecord ReadMember(SqliteDataReader reader) => ReadMemberRow(new DataReaderRow(reader));

    /// <summary>A member from a reader or a prepared <see cref="RawStatement"/> (columns as <see cref="MemberColumns"/>).</summary>
    public static MemberRecord ReadMemberRow<TRow>(TRow reader)
        where TRow : ISqliteRow =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2) != 0, reader.GetInt64(3) != 0, reader.GetInt64(4))
        {
            Role = (MemberRole)reader.GetInt32(5),
            Nickname = reader.GetString(6),
            MutedUntil = reader.GetInt64(7),
            JoinedAt = reader.GetInt64(8),
            InviterId = reader.GetString(9),
            Active = reader.GetInt64(10) != 0,
            VisibleFrom = reader.GetInt64(11),
            InfoVersion = reader.GetInt64(12),
        };

    public static StoredMessage ReadMessage(SqliteDataReader reader, int offset = 0) => ReadMessageRow(new DataReaderRow(reader), offset);

    public static ConversationView ReadView(SqliteDataReader reader) => ReadViewRow(new DataReaderRow(reader));

    /// <summary>A message from a reader or a prepared <see cref="RawStatement"/> (columns as <see cref="MessageColumns"/>).</summary>
    public static StoredMessage ReadMessageRow<TRow>(TRow reader, int offset = 0)
        where TRow : ISqliteRow =>
        new(
            reader.GetString(offset),
            reader.GetInt64(offset + 1),
            reader.GetString(offset + 2),
            reader.GetString(offset + 3),
            reader.GetString(offset + 4),
            reader.GetInt64(offset + 5),
            reader.GetInt32(offset + 6),
            reader.IsDBNull(offset + 7) ? [] : reader.GetBlob(offset + 7),
            reader.GetInt64(offset + 8) != 0,
            reader.GetInt64(offset + 9))
        {
            Annotations = reader.IsDBNull(offset + 10) ? null : reader.GetBlob(offset + 10),
            ReplyToSeq = reader.GetInt64(offset + 11),
        };

    /// <summary>A conversation view from a reader or a prepared <see cref="RawStatement"/> (columns as <see cref="ViewSelect"/>).</summary>
    public static ConversationView ReadViewRow<TRow>(TRow reader)
        where TRow : ISqliteRow
    {
        var kind = (ConversationKind)reader.GetInt32(1);
        var hasPeer = !reader.IsDBNull(10);
        return new ConversationView(
            ConversationId: reader.GetString(0),
            Kind: kind,
            GroupId: reader.IsDBNull(2) ? null : reader.GetString(2),
            Name: reader.GetString(3),
            PeerUserId: hasPeer ? reader.GetString(10) : null,
            MaxSeq: reader.GetInt64(4),
            ReadSeq: reader.GetInt64(7),
            Pinned: reader.GetInt64(8) != 0,
            Muted: reader.GetInt64(9) != 0,
            LastMessage: reader.IsDBNull(12) ? null : ReadMessageRow(reader, 12),
            PeerReadSeq: hasPeer ? reader.GetInt64(11) : 0,
            MemberCount: reader.GetInt32(6),
            UpdatedAt: reader.GetInt64(5))
        {
            MentionsOnly = reader.GetInt64(24) != 0,
            MentionSeq = reader.GetInt64(25),
        };
    }
}

/// <summary>The columns of the current row, from a <see cref="SqliteDataReader"/> or a prepared <see cref="RawStatement"/>.</summary>
internal interface ISqliteRow
{
    bool IsDBNull(int column);

    long GetInt64(int column);

    int GetInt32(int column);

    string GetString(int column);

    byte[] GetBlob(int column);
}

/// <summary><see cref="ISqliteRow"/> over a data reader (a struct: the generic row readers are specialised, no box).</summary>
internal readonly struct DataReaderRow(SqliteDataReader reader) : ISqliteRow
{
    public bool IsDBNull(int column) => reader.IsDBNull(column);

    public long GetInt64(int column) => reader.GetInt64(column);

    public int GetInt32(int column) => reader.GetInt32(column);

    public string GetString(int column) => reader.GetString(column);

    public byte[] GetBlob(int column) => reader.GetFieldValue<byte[]>(column);
}
