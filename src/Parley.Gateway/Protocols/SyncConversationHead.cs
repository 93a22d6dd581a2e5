using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Business;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// One conversation's <see cref="ConversationSync"/> of a sync batch without its messages: the conversation (as
/// <see cref="ProtoMapper.ToProto(ConversationView, string?, NotificationAccountIds?, bool)"/> maps it) and the truncated flag.
/// A last message that never changed (<see cref="MessageHead.Applies"/>) is written from its stored row: its head as
/// <see cref="MessageHead"/> writes it and its stored content bytes verbatim, appended to the conversation as field 11,
/// instead of a <see cref="Parley.Protocol.V1.Message"/> whose content is parsed (a <see cref="Content"/>, its text and a parser per
/// conversation: ~5.7 KB of a fresh login's ~37 KB, issue 17 stop 39). A parser accepts the fields in any order, so it parses
/// to the same <see cref="ConversationSync"/>. A last message with annotations (its reactions depend on the viewer) stays
/// in the mapped conversation.
/// </summary>
internal readonly struct SyncConversationHead
{
    private const byte ConversationTag = (ConversationSync.ConversationFieldNumber << 3) | 2;
    private const byte LastMessageTag = (Conversation.LastMessageFieldNumber << 3) | 2;
    private const byte TruncatedTag = ConversationSync.TruncatedFieldNumber << 3;

    private readonly Conversation? _conversation;
    private readonly StoredMessage? _last;
    private readonly int _conversationSize;
    private readonly int _lastSize;

    /// <summary>A head written as <paramref name="sync"/> itself (its messages, if any, are written too).</summary>
    public SyncConversationHead(ConversationSync sync)
    {
        ArgumentNullException.ThrowIfNull(sync);
        Sync = sync;
        Truncated = sync.Truncated;
        Size = sync.CalculateSize();
    }

    private SyncConversationHead(Conversation conversation, StoredMessage last, bool truncated)
    {
        _conversation = conversation;
        _last = last;
        Truncated = truncated;
        _lastSize = MessageHead.Size(last) + ContentSize(last);
        _conversationSize = conversation.CalculateSize() + 1 + CodedOutputStream.ComputeLengthSize(_lastSize) + _lastSize;
        Size = 1 + CodedOutputStream.ComputeLengthSize(_conversationSize) + _conversationSize + (truncated ? 2 : 0);
    }

    /// <summary>The change's head as <paramref name="viewer"/> sees it.</summary>
    public static SyncConversationHead For(ConversationChange change, string viewer, NotificationAccountIds? accounts)
    {
        ArgumentNullException.ThrowIfNull(change);
        var last = change.Conversation.LastMessage;
        return last is not null && MessageHead.Applies(last)
            ? new SyncConversationHead(ProtoMapper.ToProto(change.Conversation, viewer, accounts, withLastMessage: false), last, change.Truncated)
            : new SyncConversationHead(new ConversationSync { Conversation = ProtoMapper.ToProto(change.Conversation, viewer, accounts), Truncated = change.Truncated });
    }

    /// <summary>The head as a <see cref="ConversationSync"/> when it is written as one; null when its last message is spliced.</summary>
    public ConversationSync? Sync { get; }

    public bool Truncated { get; }

    /// <summary>The encoded size.</summary>
    public int Size { get; }

    /// <summary>Writes the head at <paramref name="pos"/>; returns the position after it.</summary>
    public int Write(byte[] buffer, int pos)
    {
        if (Sync is not null)
        {
            Sync.WriteTo(buffer.AsSpan(pos, Size));
            return pos + Size;
        }

        var start = pos;
        buffer[pos++] = ConversationTag;
        pos = MessageHead.WriteVarint(buffer, pos, (uint)_conversationSize);
        var conversation = _conversationSize - 1 - CodedOutputStream.ComputeLengthSize(_lastSize) - _lastSize;
        _conversation!.WriteTo(buffer.AsSpan(pos, conversation));
        pos += conversation;
        buffer[pos++] = LastMessageTag;
        pos = MessageHead.WriteVarint(buffer, pos, (uint)_lastSize);
        pos = MessageHead.Write(buffer, pos, _last!);
        if (!_last!.Revoked && _last.Content.Length > 0)
        {
            pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, Message.ContentFieldNumber, _last.Content.Length);
            _last.Content.CopyTo(buffer.AsSpan(pos));
            pos += _last.Content.Length;
        }

        if (Truncated)
        {
            buffer[pos++] = TruncatedTag;
            buffer[pos++] = 1;
        }

        return pos - start == Size ? pos : throw new InvalidOperationException("The conversation head's size was miscalculated.");
    }

    private static int ContentSize(StoredMessage m) =>
        !m.Revoked && m.Content.Length > 0
            ? CodedOutputStream.ComputeTagSize(Message.ContentFieldNumber) + CodedOutputStream.ComputeLengthSize(m.Content.Length) + m.Content.Length
            : 0;
}
