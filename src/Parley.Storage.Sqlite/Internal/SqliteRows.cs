using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>Column lists and row readers shared by the store's queries, so a column order is written once.</summary>
internal static class SqliteRows
{
    public const string MessageColumns =
        "conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version";

    /// <summary>A conversation as one member sees it; the caller appends WHERE/ORDER. $user is the viewing member.</summary>
    public const string ViewSelect = """
        SELECT c.conversation_id, c.kind, c.group_id, c.name, c.max_seq, c.updated_at, c.member_count,
               m.read_seq, m.pinned, m.muted,
               p.user_id, p.read_seq,
               l.conversation_id, l.seq, l.server_msg_id, l.sender_id, l.client_msg_id, l.server_time, l.content_kind, l.content, l.revoked, l.version
        FROM members m
        JOIN conversations c ON c.conversation_id = m.conversation_id
        LEFT JOIN members p ON c.kind = 1 AND p.conversation_id = m.conversation_id AND p.user_id <> m.user_id
        LEFT JOIN messages l ON l.conversation_id = c.conversation_id AND l.seq = c.last_seq
        WHERE m.user_id = $user
        """;

    public static StoredMessage ReadMessage(SqliteDataReader reader, int offset = 0) =>
        new(
            reader.GetString(offset),
            reader.GetInt64(offset + 1),
            reader.GetString(offset + 2),
            reader.GetString(offset + 3),
            reader.GetString(offset + 4),
            reader.GetInt64(offset + 5),
            reader.GetInt32(offset + 6),
            reader.IsDBNull(offset + 7) ? [] : reader.GetFieldValue<byte[]>(offset + 7),
            reader.GetInt64(offset + 8) != 0,
            reader.GetInt64(offset + 9));

    public static ConversationView ReadView(SqliteDataReader reader)
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
            LastMessage: reader.IsDBNull(12) ? null : ReadMessage(reader, 12),
            PeerReadSeq: hasPeer ? reader.GetInt64(11) : 0,
            MemberCount: reader.GetInt32(6),
            UpdatedAt: reader.GetInt64(5));
    }
}
