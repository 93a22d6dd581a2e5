using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Abstractions.Messaging;
using Parley.Core.Delivery;
using Parley.Protocol.V1;

namespace Parley.Gateway.Cluster;

/// <summary>
/// Encodes a domain event once for the other nodes (JSON of the stored records it carries) and decodes it there. The
/// receiving node encodes it for its wire protocols as the sending node would have.
/// </summary>
internal static class ClusterEventCodec
{
    public static byte[] Encode(DeliveryEvent @event)
    {
        var wire = @event switch
        {
            MessageRevoked r => new WireEvent(WireKind.Revoked) { Message = r.Message, TargetSeq = r.TargetSeq, Text = r.TargetClientMsgId, UserId = r.RevokedBy },
            MembersChanged m => new WireEvent(WireKind.Members) { Message = m.Message, Group = m.Group, Members = [.. m.Members] },
            MessageCommitted c => new WireEvent(WireKind.Message) { Message = c.Message, Group = c.Group, Quoted = c.ReplyTo },
            ReceiptChanged r => new WireEvent(WireKind.Receipt) { ConversationId = r.ConversationId, UserId = r.UserId, ReadSeq = r.ReadSeq, PreviousReadSeq = r.PreviousReadSeq, Version = r.Version },
            TypingChanged t => new WireEvent(WireKind.Typing) { ConversationId = t.ConversationId, UserId = t.UserId, Flag = t.Typing },
            SettingsChanged s => new WireEvent(WireKind.Settings) { UserId = s.UserId, View = s.View, Version = s.Version },
            RelationsChanged r => new WireEvent(WireKind.Relations) { Version = r.Version },
            DirectoryChanged d => new WireEvent(WireKind.Directory) { Version = d.Version },
            ProfileChanged p => new WireEvent(WireKind.Profile) { UserId = p.UserId, Text = p.OperationId },
            EdgeNotice n => new WireEvent(WireKind.EdgeNotice) { ConversationId = n.Protocol, UserId = n.UserId, Content = n.Payload, Text = n.OperationId },
            NotificationAccountAdded a => new WireEvent(WireKind.NotificationAccount) { UserId = a.UserId },
            SessionKicked k => new WireEvent(WireKind.Kicked) { Version = (long)k.Reason },
            MessageEdited e => new WireEvent(WireKind.Edited) { Message = e.Message, ReadSeq = e.EditCount, PreviousReadSeq = e.EditedAt, UserId = e.EditedBy },
            ReactionChanged r => new WireEvent(WireKind.Reaction)
            {
                ConversationId = r.ConversationId, TargetSeq = r.Seq, Text = r.Emoji, UserId = r.UserId, Flag = r.Added, ReadSeq = r.Count, Version = r.Version,
            },
            MembershipChanged m => new WireEvent(WireKind.Membership)
            {
                ConversationId = m.ConversationId, Group = m.Group, Content = m.Notice, Members = [.. m.Members], Audience = m.Audience?.ToArray(),
                TargetSeq = m.MaxSeq, ReadSeq = m.Time, Version = m.Version,
            },
            _ => throw new NotSupportedException($"No cluster encoding for {@event.GetType().Name}."),
        };
        return JsonSerializer.SerializeToUtf8Bytes(wire, ClusterJsonContext.Default.WireEvent);
    }

    public static DeliveryEvent Decode(byte[] bytes)
    {
        var w = JsonSerializer.Deserialize(bytes, ClusterJsonContext.Default.WireEvent) ?? throw new JsonException("empty cluster event");
        return w.Kind switch
        {
            WireKind.Message => new MessageCommitted(w.Message!, w.Group) { ReplyTo = w.Quoted },
            WireKind.Revoked => new MessageRevoked(w.Message!, w.TargetSeq, w.Text ?? "", w.UserId ?? ""),
            WireKind.Members => new MembersChanged(w.Message!, w.Group, w.Members ?? []),
            WireKind.Receipt => new ReceiptChanged(w.ConversationId!, w.UserId!, w.ReadSeq, w.PreviousReadSeq, w.Version),
            WireKind.Typing => new TypingChanged(w.ConversationId!, w.UserId!, w.Flag),
            WireKind.Settings => new SettingsChanged(w.UserId!, w.View!, w.Version),
            WireKind.Relations => new RelationsChanged(w.Version),
            WireKind.Directory => new DirectoryChanged(w.Version),
            WireKind.Profile => new ProfileChanged(w.UserId!, w.Text),
            WireKind.EdgeNotice => new EdgeNotice(w.ConversationId ?? "", w.UserId ?? "", w.Content ?? [], w.Text ?? ""),
            WireKind.NotificationAccount => new NotificationAccountAdded(w.UserId!),
            WireKind.Kicked => new SessionKicked((KickReason)w.Version),
            WireKind.Edited => new MessageEdited(w.Message!, (int)w.ReadSeq, w.PreviousReadSeq, w.UserId ?? ""),
            WireKind.Reaction => new ReactionChanged(w.ConversationId!, w.TargetSeq, w.Text ?? "", w.UserId ?? "", w.Flag, (int)w.ReadSeq, w.Version),
            WireKind.Membership => new MembershipChanged(w.ConversationId!, w.Group!, w.Content ?? [], w.Members ?? [], w.Audience, w.TargetSeq, w.ReadSeq, w.Version),
            _ => throw new JsonException($"unknown cluster event kind {w.Kind}"),
        };
    }
}

internal enum WireKind
{
    Message = 1,
    Revoked = 2,
    Members = 3,
    Receipt = 4,
    Typing = 5,
    Settings = 6,
    Relations = 7,
    Directory = 8,
    Kicked = 9,
    Edited = 10,
    Reaction = 11,
    Profile = 12,
    NotificationAccount = 13,
    Membership = 14,

    /// <summary>An <see cref="EdgeNotice"/>: its protocol in ConversationId, its payload in Content, its operation id in Text.</summary>
    EdgeNotice = 15,
}

internal sealed record WireEvent(WireKind Kind)
{
    public StoredMessage? Message { get; init; }

    public GroupRecord? Group { get; init; }

    public StoredMessage? Quoted { get; init; }

    public MemberChange[]? Members { get; init; }

    public ConversationView? View { get; init; }

    public string? ConversationId { get; init; }

    public string? UserId { get; init; }

    public string? Text { get; init; }

    public long TargetSeq { get; init; }

    public long ReadSeq { get; init; }

    public long PreviousReadSeq { get; init; }

    public long Version { get; init; }

    public bool Flag { get; init; }

    public byte[]? Content { get; init; }

    public string[]? Audience { get; init; }
}

[JsonSerializable(typeof(WireEvent))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
