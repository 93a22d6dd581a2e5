using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Delivery;
using Parley.Core.Internal;
using Parley.Gateway.Connections;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// Parley's native protocol v1: binary protobuf <c>ServerFrame</c>s. A committed message's content goes out as the bytes
/// the store holds, spliced into the frame without parsing them.
/// </summary>
internal sealed class NativeProtocol(Parley.Core.Business.NotificationAccountIds? notificationAccounts = null) : IWireProtocol
{
    public const int ProtocolSlot = 0;

    /// <summary>The protocol without the notification-account marks (tests, connections made outside the endpoint).</summary>
    public static readonly NativeProtocol Instance = new();

    public string Name => "native";

    public int Slot => ProtocolSlot;

    public bool Accepts(DeliveryEvent @event, ClientConnection recipient) => true;

    public EncodedEvent Encode(DeliveryEvent @event) => @event switch
    {
        MessageCommitted m => EncodedEvent.Of(Binary(EncodeMessage(m.Message))),
        ReceiptChanged r => Of(new ServerFrame
        {
            Receipt = new ReceiptEvent { ConversationId = r.ConversationId, UserId = r.UserId, ReadSeq = (ulong)r.ReadSeq, Version = (ulong)r.Version },
        }),
        TypingChanged t => Of(new ServerFrame { Typing = new TypingEvent { ConversationId = t.ConversationId, UserId = t.UserId, Typing = t.Typing } }),
        SettingsChanged s => Of(new ServerFrame
        {
            ConversationUpdated = new ConversationUpdatedEvent { Conversation = ProtoMapper.ToProto(s.View, accounts: notificationAccounts), Version = (ulong)s.Version },
        }),
        RelationsChanged r => Of(new ServerFrame { RelationsChanged = new RelationsChangedEvent { Version = (ulong)r.Version } }),
        DirectoryChanged d => Of(new ServerFrame { DirectoryChanged = new DirectoryChangedEvent { Version = (ulong)d.Version } }),
        SessionKicked k => Of(new ServerFrame { Kick = new KickEvent { Reason = k.Reason } }),
        MessageEdited e => Of(new ServerFrame
        {
            MessageEdited = new MessageEditedEvent
            {
                ConversationId = e.Message.ConversationId,
                Seq = (ulong)e.Message.Seq,
                Content = Content.Parser.ParseFrom(e.Message.Content),
                EditCount = (uint)e.EditCount,
                EditedTime = e.EditedAt,
                Version = (ulong)e.Message.Version,
                EditedBy = e.EditedBy,
            },
        }),
        ReactionChanged r => Of(new ServerFrame
        {
            Reaction = new ReactionEvent
            {
                ConversationId = r.ConversationId, Seq = (ulong)r.Seq, Emoji = r.Emoji, UserId = r.UserId, Added = r.Added, Count = (uint)r.Count, Version = (ulong)r.Version,
            },
        }),
        MembershipChanged m => Of(new ServerFrame { GroupMembership = EncodeMembership(m) }),
        _ => EncodedEvent.None,
    };

    private static GroupMembershipEvent EncodeMembership(MembershipChanged m)
    {
        var notice = Content.Parser.ParseFrom(m.Notice);
        var frame = new GroupMembershipEvent
        {
            ConversationId = m.ConversationId,
            GroupId = m.Group.GroupId,
            MemberCount = (uint)Math.Max(0, m.Group.MemberCount),
            MaxSeq = (ulong)Math.Max(0, m.MaxSeq),
            Time = m.Time,
            Version = (ulong)m.Version,
        };
        if (notice.BodyCase == Content.BodyOneofCase.MembersRemoved)
        {
            frame.Removed = notice.MembersRemoved;
        }
        else
        {
            frame.Added = notice.MembersAdded;
        }

        return frame;
    }

    /// <summary>A native frame as a binary WebSocket message.</summary>
    public static WireFrame Binary(IMessage frame) => new(frame.ToByteArray(), Text: false);

    private static WireFrame Binary(byte[] bytes) => new(bytes, Text: false);

    private static EncodedEvent Of(ServerFrame frame) => EncodedEvent.Of(Binary(frame));

    /// <summary>
    /// For an event that goes to one connection only (<see cref="ConnectionRegistry"/>'s 1:1 delivery): a committed message's
    /// frame, as <see cref="Encode"/> makes it, in an array rented from <see cref="FramePool.Live"/> that the caller
    /// hands to that connection's outbox (which returns it after the write) or returns itself. Null for every other event
    /// (they take <see cref="Encode"/>'s shared frame). The shared frame cached on the event was a new array and two
    /// objects per delivered 1:1 message (0.50 KB of every fixed-pair send; issue 17).
    /// </summary>
    public byte[]? RentFrame(DeliveryEvent @event, out int length)
    {
        if (@event is not MessageCommitted m)
        {
            length = 0;
            return null;
        }

        var layout = MessageFrame.Of(m.Message);
        var bytes = FramePool.Live.Rent(layout.Total);
        length = layout.Write(bytes, m.Message);
        return bytes;
    }

    /// <summary>
    /// <c>ServerFrame{message}</c> with the stored content bytes copied verbatim into field 7 after the other fields: an
    /// embedded message and a bytes field share one wire encoding and a parser accepts fields in any order, so the content
    /// is never parsed on its way from the store to the socket.
    /// </summary>
    internal static byte[] EncodeMessage(StoredMessage m)
    {
        var layout = MessageFrame.Of(m);
        var bytes = new byte[layout.Total];
        layout.Write(bytes, m);
        return bytes;
    }

    // A message frame's sizes, measured once, and its writer (EncodeMessage's array or RentFrame's larger rented one).
    private readonly record struct MessageFrame(Message? Head, int HeadSize, int Inner, bool WithContent, int Total)
    {
        public static MessageFrame Of(StoredMessage m)
        {
            // A message that never changed (every new one) has its head written from the row: no Message object (issue 17).
            var head = MessageHead.Applies(m) ? null : ProtoMapper.ToProto(m, withContent: false);
            var withContent = !m.Revoked && m.Content.Length > 0;
            var headSize = head?.CalculateSize() ?? MessageHead.Size(m);
            var inner = headSize;
            if (withContent)
            {
                inner += CodedOutputStream.ComputeTagSize(Message.ContentFieldNumber) + CodedOutputStream.ComputeLengthSize(m.Content.Length) + m.Content.Length;
            }

            var total = CodedOutputStream.ComputeTagSize(ServerFrame.MessageFieldNumber) + CodedOutputStream.ComputeLengthSize(inner) + inner;
            return new MessageFrame(head, headSize, inner, withContent, total);
        }

        // Writes the frame at the start of bytes (at least Total long); returns its length, Total.
        public int Write(byte[] bytes, StoredMessage m)
        {
            // Written into the array directly: a CodedOutputStream over it was one more object per delivered message (issue 17).
            var pos = WriteLengthDelimitedHead(bytes, 0, ServerFrame.MessageFieldNumber, Inner);
            if (Head is null)
            {
                pos = MessageHead.Write(bytes, pos, m);
            }
            else
            {
                Head.WriteTo(bytes.AsSpan(pos, HeadSize));
                pos += HeadSize;
            }

            if (WithContent)
            {
                pos = WriteLengthDelimitedHead(bytes, pos, Message.ContentFieldNumber, m.Content.Length);
                m.Content.CopyTo(bytes.AsSpan(pos));
                pos += m.Content.Length;
            }

            if (pos != Total)
            {
                throw new InvalidOperationException("The message frame's size was miscalculated.");
            }

            return pos;
        }
    }

    // A length-delimited field's tag and length as varints at pos; returns the position after them.
    internal static int WriteLengthDelimitedHead(byte[] bytes, int pos, int fieldNumber, int length)
    {
        pos = WriteVarint(bytes, pos, WireFormat.MakeTag(fieldNumber, WireFormat.WireType.LengthDelimited));
        return WriteVarint(bytes, pos, (uint)length);
    }

    private static int WriteVarint(byte[] bytes, int pos, uint value)
    {
        while (value >= 0x80)
        {
            bytes[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        bytes[pos++] = (byte)value;
        return pos;
    }
}
