using System.Text;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// A <see cref="Parley.Protocol.V1.Message"/>'s fields other than its content, written straight from a <see cref="StoredMessage"/> that never
/// changed (no edits, reactions or replies: <see cref="StoredMessage.Annotations"/> null), byte for byte what
/// <c>ProtoMapper.ToProto(m, withContent: false).WriteTo</c> writes, without building the <see cref="Parley.Protocol.V1.Message"/> (an object and
/// its reactions list per live delivery and per synced message, issue 17). A message with annotations goes through
/// <see cref="ProtoMapper.ToProto(StoredMessage, bool, string?)"/> (its reactions depend on the viewer). The same head from a
/// store's row (<see cref="SyncRow"/>, UTF-8 spans) for the connect-time sync (<see cref="SyncRowEncoder"/>): the two writers
/// sit side by side so a field added to the head is added to both.
/// </summary>
internal static class MessageHead
{
    // Fields 1..9 have one-byte tags.
    private const byte ConversationIdTag = (Message.ConversationIdFieldNumber << 3) | 2;
    private const byte SeqTag = Message.SeqFieldNumber << 3;
    private const byte ServerMsgIdTag = (Message.ServerMsgIdFieldNumber << 3) | 2;
    private const byte ClientMsgIdTag = (Message.ClientMsgIdFieldNumber << 3) | 2;
    private const byte SenderIdTag = (Message.SenderIdFieldNumber << 3) | 2;
    private const byte ServerTimeTag = Message.ServerTimeFieldNumber << 3;
    private const byte RevokedTag = Message.RevokedFieldNumber << 3;
    private const byte VersionTag = Message.VersionFieldNumber << 3;

    /// <summary>True when <paramref name="m"/>'s head can be written here (it has no annotations).</summary>
    public static bool Applies(StoredMessage m) => m.Annotations is not { Length: > 0 };

    /// <summary>The encoded size of <paramref name="m"/>'s head (only when <see cref="Applies"/>).</summary>
    public static int Size(StoredMessage m)
    {
        var size = StringSize(m.ConversationId) + StringSize(m.ServerMsgId) + StringSize(m.ClientMsgId) + StringSize(m.SenderId);
        if (m.Seq != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)m.Seq);
        }

        if (m.ServerTime != 0)
        {
            size += 1 + CodedOutputStream.ComputeInt64Size(m.ServerTime);
        }

        if (m.Revoked)
        {
            size += 2;
        }

        if (m.Version != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)m.Version);
        }

        return size;
    }

    /// <summary>Writes <paramref name="m"/>'s head at <paramref name="pos"/> (in field order, as the generated code does); returns the position after it.</summary>
    public static int Write(byte[] buffer, int pos, StoredMessage m)
    {
        pos = WriteString(buffer, pos, ConversationIdTag, m.ConversationId);
        if (m.Seq != 0)
        {
            buffer[pos++] = SeqTag;
            pos = WriteVarint(buffer, pos, (ulong)m.Seq);
        }

        pos = WriteString(buffer, pos, ServerMsgIdTag, m.ServerMsgId);
        pos = WriteString(buffer, pos, ClientMsgIdTag, m.ClientMsgId);
        pos = WriteString(buffer, pos, SenderIdTag, m.SenderId);
        if (m.ServerTime != 0)
        {
            buffer[pos++] = ServerTimeTag;
            pos = WriteVarint(buffer, pos, (ulong)m.ServerTime);
        }

        if (m.Revoked)
        {
            buffer[pos++] = RevokedTag;
            buffer[pos++] = 1;
        }

        if (m.Version != 0)
        {
            buffer[pos++] = VersionTag;
            pos = WriteVarint(buffer, pos, (ulong)m.Version);
        }

        return pos;
    }

    /// <summary>The encoded size of a stored row's head (only when it has no annotations): <see cref="Size(StoredMessage)"/> from its UTF-8 bytes.</summary>
    public static int Size(in SyncRow row)
    {
        var size = BytesSize(row.ConversationId) + BytesSize(row.ServerMsgId) + BytesSize(row.ClientMsgId) + BytesSize(row.SenderId);
        if (row.Seq != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)row.Seq);
        }

        if (row.ServerTime != 0)
        {
            size += 1 + CodedOutputStream.ComputeInt64Size(row.ServerTime);
        }

        if (row.Revoked)
        {
            size += 2;
        }

        if (row.Version != 0)
        {
            size += 1 + CodedOutputStream.ComputeUInt64Size((ulong)row.Version);
        }

        return size;
    }

    /// <summary>Writes a stored row's head as <see cref="Write(byte[], int, StoredMessage)"/> writes it, from the row's UTF-8 bytes.</summary>
    public static int Write(byte[] buffer, int pos, in SyncRow row)
    {
        pos = WriteBytes(buffer, pos, ConversationIdTag, row.ConversationId);
        if (row.Seq != 0)
        {
            buffer[pos++] = SeqTag;
            pos = WriteVarint(buffer, pos, (ulong)row.Seq);
        }

        pos = WriteBytes(buffer, pos, ServerMsgIdTag, row.ServerMsgId);
        pos = WriteBytes(buffer, pos, ClientMsgIdTag, row.ClientMsgId);
        pos = WriteBytes(buffer, pos, SenderIdTag, row.SenderId);
        if (row.ServerTime != 0)
        {
            buffer[pos++] = ServerTimeTag;
            pos = WriteVarint(buffer, pos, (ulong)row.ServerTime);
        }

        if (row.Revoked)
        {
            buffer[pos++] = RevokedTag;
            buffer[pos++] = 1;
        }

        if (row.Version != 0)
        {
            buffer[pos++] = VersionTag;
            pos = WriteVarint(buffer, pos, (ulong)row.Version);
        }

        return pos;
    }

    /// <summary>Writes <paramref name="value"/> as a base-128 varint at <paramref name="pos"/>; returns the position after it.</summary>
    public static int WriteVarint(byte[] buffer, int pos, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[pos++] = (byte)value;
        return pos;
    }

    private static int BytesSize(ReadOnlySpan<byte> value) =>
        value.IsEmpty ? 0 : 1 + CodedOutputStream.ComputeLengthSize(value.Length) + value.Length;

    private static int WriteBytes(byte[] buffer, int pos, byte tag, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return pos;
        }

        buffer[pos++] = tag;
        pos = WriteVarint(buffer, pos, (ulong)value.Length);
        value.CopyTo(buffer.AsSpan(pos));
        return pos + value.Length;
    }

    internal static int StringSize(string value) => value.Length == 0 ? 0 : 1 + CodedOutputStream.ComputeStringSize(value);

    internal static int WriteString(byte[] buffer, int pos, byte tag, string value)
    {
        if (value.Length == 0)
        {
            return pos;
        }

        buffer[pos++] = tag;
        var length = Encoding.UTF8.GetByteCount(value);
        pos = WriteVarint(buffer, pos, (ulong)length);
        return pos + Encoding.UTF8.GetBytes(value, buffer.AsSpan(pos, length));
    }
}
