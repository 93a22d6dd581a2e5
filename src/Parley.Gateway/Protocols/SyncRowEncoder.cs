using System.Buffers;
using System.Text;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Gateway.Protocols;

/// <summary>
/// <c>ServerFrame{sync_batch}</c> of the connect-time sync written from the store's rows (<see cref="ISyncRowSource"/>): each
/// row's <see cref="Parley.Protocol.V1.Message"/> (its head, then its stored content bytes) is encoded into one pooled buffer as the store
/// reads it, so a synced message costs no <see cref="StoredMessage"/>, no id strings and no copy of its content on the heap
/// (issue 17: they were about half of a fresh login's allocation). The frames are then written as
/// <see cref="SyncBatchEncoder"/> writes them from <see cref="StoredMessage"/>s, byte for byte: each conversation's head, then
/// its messages ascending by seq, each one's bytes copied from the buffer. A message with annotations (edits, reactions, a
/// reply count) gets its head through <see cref="ProtoMapper.ToProto(StoredMessage, bool, string?)"/> as before (its reactions
/// depend on the viewer); the others' heads are written here from the row's bytes, as <see cref="MessageHead"/> writes them.
/// Use: <see cref="Add(int, in SyncRow)"/> per row (the store calls it), <see cref="Complete"/> once, then
/// <see cref="Add(ConversationSync, int)"/> per conversation and <see cref="Encode"/> per batch; dispose to return the buffers.
/// </summary>
internal sealed class SyncRowEncoder(string viewer) : ISyncRowSink, ISyncBatch, IDisposable
{
    private Item[] _batch = [];
    private int _batchCount;
    private byte[] _bytes = SyncBuffers.Pool.Rent(16 * 1024);
    private int _used;
    private Entry[] _entries = ArrayPool<Entry>.Shared.Rent(256);
    private int _count;
    private bool _ordered = true;
    private int[]? _starts;

    /// <summary>The conversations added since the last <see cref="Encode"/>.</summary>
    public int Count => _batchCount;

    /// <summary>The sum of the added conversations' encoded sizes (what the batch size limit is compared with).</summary>
    public int Size { get; private set; }

    /// <summary>A row of the change at <paramref name="conversation"/>: its message encoded into the buffer (the store calls this).</summary>
    public void Add(int conversation, in SyncRow row)
    {
        var content = !row.Revoked && row.Content.Length > 0 ? row.Content : default;
        var contentSize = content.IsEmpty ? 0 : LengthDelimitedSize(Message.ContentFieldNumber, content.Length);
        int length;
        if (row.Annotations.Length > 0)
        {
            var head = ProtoMapper.ToProto(ToStoredMessage(row), withContent: false, viewer: viewer);
            var headSize = head.CalculateSize();
            length = headSize + contentSize;
            Reserve(length);
            head.WriteTo(_bytes.AsSpan(_used, headSize));
            WriteContent(_used + headSize, content);
        }
        else
        {
            var headSize = MessageHead.Size(row);
            length = headSize + contentSize;
            Reserve(length);
            WriteContent(MessageHead.Write(_bytes, _used, row), content);
        }

        if (_count == _entries.Length)
        {
            var entries = ArrayPool<Entry>.Shared.Rent(_count * 2);
            _entries.AsSpan(0, _count).CopyTo(entries);
            ArrayPool<Entry>.Shared.Return(_entries);
            _entries = entries;
        }

        var entry = new Entry(conversation, row.Seq, _used, length);
        if (_count > 0 && Compare(_entries[_count - 1], entry) >= 0)
        {
            _ordered = false;
        }

        _entries[_count++] = entry;
        _used += length;
    }

    /// <summary>After the store returned its <paramref name="conversations"/> changes: puts each conversation's rows in seq order.</summary>
    public void Complete(int conversations)
    {
        // SQLite returns them in this order (the conversations in view order, each one's seqs ascending), but its
        // statement has no ORDER BY (a sorter would copy every row, content included): sort only when they were not.
        if (!_ordered)
        {
            _entries.AsSpan(0, _count).Sort(static (a, b) => Compare(a, b));
        }

        // Rented, as the other arrays here: a list of the heads was ~2 KB of every fresh login's allocation (issue 17, stop 40).
        _batch = ArrayPool<Item>.Shared.Rent(Math.Max(conversations, 1));
        _starts = ArrayPool<int>.Shared.Rent(conversations + 1);
        var e = 0;
        for (var c = 0; c <= conversations; c++)
        {
            while (e < _count && _entries[e].Conversation < c)
            {
                e++;
            }

            _starts[c] = e;
        }
    }

    /// <summary>The messages the change at <paramref name="conversation"/> carries (the oldest row dropped when it is truncated).</summary>
    public int MessageCount(int conversation, bool truncated)
    {
        var (first, end) = Range(conversation, truncated);
        return end - first;
    }

    /// <summary>Adds the change at <paramref name="conversation"/> with <paramref name="head"/> (its conversation and truncated flag) to the batch.</summary>
    public void Add(ConversationSync head, int conversation) => Add(new SyncConversationHead(head), conversation);

    /// <summary>As <see cref="Add(ConversationSync, int)"/>, with the head's last message written from its row.</summary>
    public void Add(SyncConversationHead head, int conversation)
    {
        var (first, end) = Range(conversation, head.Truncated);
        var inner = head.Size;
        for (var i = first; i < end; i++)
        {
            inner += LengthDelimitedSize(ConversationSync.MessagesFieldNumber, _entries[i].Length);
        }

        if (_batchCount == _batch.Length)
        {
            var batch = ArrayPool<Item>.Shared.Rent(Math.Max(_batchCount * 2, 4));
            _batch.AsSpan(0, _batchCount).CopyTo(batch);
            ReturnBatch();
            _batch = batch;
        }

        _batch[_batchCount++] = new Item(head, first, end, inner);
        Size += inner;
    }

    int ISyncBatch.Add(SyncConversationHead head, int index, ConversationChange change, string viewer)
    {
        Add(head, index);
        return MessageCount(index, head.Truncated);
    }

    /// <summary>
    /// The frame of everything added, in a buffer rented from <see cref="SyncBuffers.Pool"/> (the caller returns it there), and
    /// its length; then starts a new batch.
    /// </summary>
    public (byte[] Buffer, int Length) Encode()
    {
        var batch = 0;
        foreach (var c in _batch.AsSpan(0, _batchCount))
        {
            batch += LengthDelimitedSize(SyncBatch.ConversationsFieldNumber, c.Inner);
        }

        var total = LengthDelimitedSize(ServerFrame.SyncBatchFieldNumber, batch);
        var buffer = SyncBuffers.Pool.Rent(total);
        try
        {
            var pos = NativeProtocol.WriteLengthDelimitedHead(buffer, 0, ServerFrame.SyncBatchFieldNumber, batch);
            foreach (var c in _batch.AsSpan(0, _batchCount))
            {
                pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, SyncBatch.ConversationsFieldNumber, c.Inner);
                pos = c.Head.Write(buffer, pos);
                for (var i = c.First; i < c.End; i++)
                {
                    var entry = _entries[i];
                    pos = NativeProtocol.WriteLengthDelimitedHead(buffer, pos, ConversationSync.MessagesFieldNumber, entry.Length);
                    _bytes.AsSpan(entry.Offset, entry.Length).CopyTo(buffer.AsSpan(pos));
                    pos += entry.Length;
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

        _batch.AsSpan(0, _batchCount).Clear(); // the heads' references
        _batchCount = 0;
        Size = 0;
        return (buffer, total);
    }

    public void Dispose()
    {
        if (_bytes.Length == 0)
        {
            return;
        }

        SyncBuffers.Pool.Return(_bytes);
        ArrayPool<Entry>.Shared.Return(_entries);
        if (_starts is not null)
        {
            ArrayPool<int>.Shared.Return(_starts);
        }

        ReturnBatch();
        _bytes = [];
        _entries = [];
        _starts = null;
    }

    // Returned cleared: an item holds a head's objects.
    private void ReturnBatch()
    {
        if (_batch.Length > 0)
        {
            ArrayPool<Item>.Shared.Return(_batch, clearArray: true);
        }

        _batch = [];
    }

    private (int First, int End) Range(int conversation, bool truncated)
    {
        var starts = _starts ?? throw new InvalidOperationException("Complete was not called.");
        var first = starts[conversation];
        var end = starts[conversation + 1];
        return (truncated && end > first ? first + 1 : first, end);
    }

    private void Reserve(int length)
    {
        if (_bytes.Length - _used >= length)
        {
            return;
        }

        var bytes = SyncBuffers.Pool.Rent(Math.Max(_bytes.Length * 2, _used + length));
        _bytes.AsSpan(0, _used).CopyTo(bytes);
        SyncBuffers.Pool.Return(_bytes);
        _bytes = bytes;
    }

    private void WriteContent(int pos, ReadOnlySpan<byte> content)
    {
        if (!content.IsEmpty)
        {
            pos = NativeProtocol.WriteLengthDelimitedHead(_bytes, pos, Message.ContentFieldNumber, content.Length);
            content.CopyTo(_bytes.AsSpan(pos));
        }
    }

    // A row with annotations (rare) takes the protobuf way, as SyncBatchEncoder does for the StoredMessage the store used to build.
    private static StoredMessage ToStoredMessage(in SyncRow row) =>
        new(
            Encoding.UTF8.GetString(row.ConversationId),
            row.Seq,
            Encoding.UTF8.GetString(row.ServerMsgId),
            Encoding.UTF8.GetString(row.SenderId),
            Encoding.UTF8.GetString(row.ClientMsgId),
            row.ServerTime,
            0, // the content kind is not part of the head (nor the reply seq below)
            [],
            row.Revoked,
            row.Version)
        {
            Annotations = row.Annotations.ToArray(),
        };

    private static int LengthDelimitedSize(int fieldNumber, int length) =>
        CodedOutputStream.ComputeTagSize(fieldNumber) + CodedOutputStream.ComputeLengthSize(length) + length;

    private static int Compare(Entry a, Entry b) =>
        a.Conversation != b.Conversation ? a.Conversation.CompareTo(b.Conversation) : a.Seq.CompareTo(b.Seq);

    private readonly record struct Entry(int Conversation, long Seq, int Offset, int Length);

    private readonly record struct Item(SyncConversationHead Head, int First, int End, int Inner);
}
