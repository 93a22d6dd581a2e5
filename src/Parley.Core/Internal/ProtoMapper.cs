using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;

namespace Parley.Core.Internal;

/// <summary>Maps stored records to protocol frames.</summary>
public static class ProtoMapper
{
    /// <summary>
    /// The message as a protocol record; <paramref name="withContent"/> false leaves the content out (not parsed). Its edits,
    /// reply count and reactions are included, "reacted by me" for <paramref name="viewer"/> (none: false).
    /// </summary>
    public static Message ToProto(StoredMessage m, bool withContent = true, string? viewer = null)
    {
        var message = new Message
        {
            ConversationId = m.ConversationId,
            Seq = (ulong)m.Seq,
            ServerMsgId = m.ServerMsgId,
            ClientMsgId = m.ClientMsgId,
            SenderId = m.SenderId,
            ServerTime = m.ServerTime,
            Revoked = m.Revoked,
            Version = (ulong)m.Version,
        };
        if (withContent && !m.Revoked && m.Content.Length > 0)
        {
            message.Content = Content.Parser.ParseFrom(m.Content);
        }

        Messaging.MessageChanges.Annotate(message, m, viewer);
        return message;
    }

    /// <summary>
    /// The conversation as its member <paramref name="viewer"/> sees it (their reactions on the last message); with
    /// <paramref name="accounts"/>, a 1:1 with a notification account is flagged <c>notification</c>. Without
    /// <paramref name="withLastMessage"/>, no last message (the connect-time sync writes it from the stored row).
    /// </summary>
    public static Conversation ToProto(ConversationView v, string? viewer = null, Business.NotificationAccountIds? accounts = null, bool withLastMessage = true) => new()
    {
        ConversationId = v.ConversationId,
        Kind = v.Kind == ConversationKind.Group ? Protocol.V1.ConversationKind.Group : Protocol.V1.ConversationKind.Direct,
        Name = v.Name,
        PeerUserId = v.PeerUserId ?? string.Empty,
        GroupId = v.GroupId ?? string.Empty,
        MaxSeq = (ulong)v.MaxSeq,
        ReadSeq = (ulong)v.ReadSeq,
        Unread = (ulong)v.Unread,
        Pinned = v.Pinned,
        Muted = v.Muted,
        LastMessage = v.LastMessage is null || !withLastMessage ? null : ToProto(v.LastMessage, viewer: viewer),
        PeerReadSeq = (ulong)v.PeerReadSeq,
        MemberCount = (uint)v.MemberCount,
        UpdatedTime = v.UpdatedAt,
        MentionsOnly = v.MentionsOnly,
        MentionSeq = (ulong)v.MentionSeq,
        Notification = accounts?.IsNotificationConversation(v.ConversationId) ?? false,
    };

    public static byte[] Serialize(Content content)
    {
        // Written into an array of the exact size through a span: ToByteArray makes a CodedOutputStream per call, one more
        // object on every send (issue 17). The generated code writes the same bytes either way.
        var bytes = new byte[content.CalculateSize()];
        content.WriteTo(bytes.AsSpan());
        return bytes;
    }
}
