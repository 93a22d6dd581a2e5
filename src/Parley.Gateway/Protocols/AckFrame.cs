using System.Buffers;
using Google.Protobuf;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// A send's ack, <c>ServerFrame{request_id, send_ack}</c>, written straight from its fields into a pooled buffer: byte for
/// byte what the generated code writes for the same frame (fields in number order, defaults left out, the oneof's message
/// always present), without the <see cref="ServerFrame"/> and <see cref="SendAck"/> objects (about 0.1 KB of every
/// message, issue 17).
/// </summary>
internal static class AckFrame
{
    private const byte RequestIdTag = ServerFrame.RequestIdFieldNumber << 3;
    private const byte SendAckTag = (ServerFrame.SendAckFieldNumber << 3) | 2;
    private const byte ConversationIdTag = (SendAck.ConversationIdFieldNumber << 3) | 2;
    private const byte SeqTag = SendAck.SeqFieldNumber << 3;
    private const byte ServerMsgIdTag = (SendAck.ServerMsgIdFieldNumber << 3) | 2;
    private const byte ServerTimeTag = SendAck.ServerTimeFieldNumber << 3;
    private const byte DuplicateTag = SendAck.DuplicateFieldNumber << 3;
    private const byte VersionTag = SendAck.VersionFieldNumber << 3;

    /// <summary>
    /// The frame in a buffer rented from <see cref="ArrayPool{T}.Shared"/> (the connection returns it once written);
    /// <paramref name="length"/> is its size.
    /// </summary>
    public static byte[] Rent(uint requestId, string conversationId, ulong seq, string serverMsgId, long serverTime, bool duplicate, ulong version, out int length)
    {
        var inner = MessageHead.StringSize(conversationId) + MessageHead.StringSize(serverMsgId);
        if (seq != 0)
        {
            inner += 1 + CodedOutputStream.ComputeUInt64Size(seq);
        }

        if (serverTime != 0)
        {
            inner += 1 + CodedOutputStream.ComputeInt64Size(serverTime);
        }

        if (duplicate)
        {
            inner += 2;
        }

        if (version != 0)
        {
            inner += 1 + CodedOutputStream.ComputeUInt64Size(version);
        }

        length = 1 + CodedOutputStream.ComputeLengthSize(inner) + inner;
        if (requestId != 0)
        {
            length += 1 + CodedOutputStream.ComputeUInt32Size(requestId);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var pos = 0;
        if (requestId != 0)
        {
            buffer[pos++] = RequestIdTag;
            pos = MessageHead.WriteVarint(buffer, pos, requestId);
        }

        buffer[pos++] = SendAckTag;
        pos = MessageHead.WriteVarint(buffer, pos, (ulong)inner);
        pos = MessageHead.WriteString(buffer, pos, ConversationIdTag, conversationId);
        if (seq != 0)
        {
            buffer[pos++] = SeqTag;
            pos = MessageHead.WriteVarint(buffer, pos, seq);
        }

        pos = MessageHead.WriteString(buffer, pos, ServerMsgIdTag, serverMsgId);
        if (serverTime != 0)
        {
            buffer[pos++] = ServerTimeTag;
            pos = MessageHead.WriteVarint(buffer, pos, (ulong)serverTime);
        }

        if (duplicate)
        {
            buffer[pos++] = DuplicateTag;
            buffer[pos++] = 1;
        }

        if (version != 0)
        {
            buffer[pos++] = VersionTag;
            pos = MessageHead.WriteVarint(buffer, pos, version);
        }

        if (pos != length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new InvalidOperationException("The ack frame's size was miscalculated.");
        }

        return buffer;
    }
}
