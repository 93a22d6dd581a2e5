using System.Buffers;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// <c>ServerFrame{sync_batch}</c> of the connect-time sync with every message's stored content bytes spliced in verbatim,
/// as <see cref="NativeProtocol.EncodeMessage"/> does for a live message: the content is never parsed into a
/// <see cref="Content"/> and serialised again (issue 17: a fresh device syncs hundreds of messages per login). Each
/// <see cref="ConversationSync"/> is written as its conversation and truncated flag, then its messages (field 2) after them,
/// each as its head (ids, times, and edits and reactions when it has any) followed by the content field; a parser accepts
/// fields in any order, so the frame parses to the same <see cref="SyncBatch"/> as one built from parsed content. A message
/// that never changed has its head written straight from the row (<see cref="MessageHead"/>); one with annotations through
/// <see cref="ProtoMapper.ToProto(StoredMessage, bool, string?)"/> without content.
/// </summary>
internal sealed class SyncBatchEncoder : ISyncBatch
{
    private readonly List<Item> _conversations = [];

    /// <summary>The conversations added since the last <see cref="Encode"/>.</summary>
    public int Count => _conversations.Count;

    /// <summary>The sum of the added conversations' encoded sizes (what the batch size limit is compared with).</summary>
    public int Size { get; private set; }

    /// <summary>
    /// Adds a conversation and its messages (ascending by seq), the messages as <paramref name="viewer"/> sees them. The list is
    /// read again by <see cref="Encode"/> and must not change before it.
    /// </summary>
    public void Add(ConversationSync head, IReadOnlyList<StoredMessage> messages, string viewer) => Add(new SyncConversationHead(head), messages, viewer);

    /// <summary>As <see cref="Add(ConversationSync, IReadOnlyList{StoredMessage}, string)"/>, with the head's last message written from its row.</summary>
    public void Add(SyncConversationHead head, IReadOnlyList<StoredMessage> messages, string viewer)
    {
        var headSize = head.Size;
        var inner = headSize;
        Message?[]? heads = null;
        for (var i = 0; i < messages.Count; i++)
        {
            // A Message object per synced message was ~0.16 KB of a fresh login's allocation per message, and an entry per
            // message in a list of this encoder's another ~0.07 KB (issue 17): only a message with annotations gets a head
            // object, and the sizes are computed again when the frame is written.
            var m = messages[i];
            if (!MessageHead.Applies(m))
            {
                (heads ??= new Message?[messages.Count])[i] = ProtoMapper.ToProto(m, withContent: false, viewer: viewer);
            }

            inner += LengthDelimitedSize(ConversationSync.MessagesFieldNumber, MessageSize(HeadSize(m, heads?[i]), Content(m)));
        }

        _conversations.Add(new Item(head, messages, heads, inner));
        Size += inner;
    }

    int ISyncBatch.Add(SyncConversationHead head, int index, ConversationChange change, string viewer)
    {
        Add(head, change.Messages, viewer);
        return change.Messages.Count;
    }

    /// <summary>
    /// The frame of everything added, in a buffer rented from <see cref="SyncBuffers.Pool"/> (the caller returns it there), and
    /// its length; then starts a new batch.
    /// </summary>
    public (byte[] Buffer, int Length) Encode()
    {
        var batch = 0;
        foreach (var c in _conversations)
        {
            batch += LengthDelimitedSize(SyncBatch.ConversationsFieldNumber, c.Inner);
        }

        var total = LengthDelimitedSize(ServerFrame.SyncBatchFieldNumber, batch);
        var buffer = SyncBuffers.Pool.Rent(total);
        try
        {
            var pos = NativeProtocol.WriteLengthDelimitedHead(buffer, 0, ServerFrame.SyncBatchFieldNumber, batch);
            foreach (var c in _conversations)
            {
                pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, SyncBatch.ConversationsFieldNumber, c.Inner);
                pos = c.Head.Write(buffer, pos);
                for (var i = 0; i < c.Messages.Count; i++)
                {
                    var row = c.Messages[i];
                    var head = c.Heads?[i];
                    var headSize = HeadSize(row, head);
                    var content = Content(row);
                    pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, ConversationSync.MessagesFieldNumber, MessageSize(headSize, content));
                    if (head is null)
                    {
                        pos = MessageHead.Write(buffer, pos, row);
                    }
                    else
                    {
                        head.WriteTo(buffer.AsSpan(pos, headSize));
                        pos += headSize;
                    }

                    if (content is not null)
                    {
                        pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, Message.ContentFieldNumber, content.Length);
                        content.CopyTo(buffer.AsSpan(pos));
                        pos += content.Length;
                    }
                }
            }

            if (pos != total)
            {
                throw new InvalidOperationException("The sync batch frame's size was miscalculated.");
            }
        }
        catch
        {
            SyncBuffers.Pool.Return(buffer);
            throw;
        }

        _conversations.Clear();
        Size = 0;
        return (buffer, total);
    }

    private static int HeadSize(StoredMessage m, Message? head) => head?.CalculateSize() ?? MessageHead.Size(m);

    private static byte[]? Content(StoredMessage m) => !m.Revoked && m.Content.Length > 0 ? m.Content : null;

    private static int MessageSize(int headSize, byte[]? content) =>
        content is null ? headSize : headSize + LengthDelimitedSize(Message.ContentFieldNumber, content.Length);

    private static int LengthDelimitedSize(int fieldNumber, int length) =>
        CodedOutputStream.ComputeTagSize(fieldNumber) + CodedOutputStream.ComputeLengthSize(length) + length;

    private readonly record struct Item(SyncConversationHead Head, IReadOnlyList<StoredMessage> Messages, Message?[]? Heads, int Inner);
}
