using Parley.Abstractions.Messaging;

namespace Parley.Core.Messaging;

/// <summary>
/// The newest committed messages of one conversation, contiguous by seq. Written by the commit dispatch loop
/// (in seq order), read by the conversation's grain; hence the lock.
/// </summary>
internal sealed class ConversationTail
{
    // Locks on _items (private, never handed out): a Lock object of its own was 40 B of every active conversation (issue 17).
    private readonly int _capacity;
    private readonly List<StoredMessage> _items;
    private long _maxSeq;

    public ConversationTail(int capacity, long maxSeq, IReadOnlyList<StoredMessage> newest)
    {
        _capacity = capacity;
        // Room for what it holds now, not for its capacity: most conversations hold a few messages, and a list sized
        // to the capacity (256 by default) kept 2 KB per active conversation (the stop-31 soak). It grows on demand.
        _items = new List<StoredMessage>(Math.Min(capacity, Math.Max(4, newest.Count)));
        _maxSeq = maxSeq;
        // Only keep what is contiguous up to maxSeq.
        if (newest.Count > 0 && newest[^1].Seq == maxSeq)
        {
            var start = Math.Max(0, newest.Count - capacity);
            for (var i = start; i < newest.Count; i++)
            {
                if (_items.Count > 0 && newest[i].Seq != _items[^1].Seq + 1)
                {
                    _items.Clear();
                }

                _items.Add(newest[i]);
            }
        }
    }

    /// <summary>The slots the list has reserved (its capacity): what the tail costs in memory besides its messages.</summary>
    internal int ReservedSlots
    {
        get
        {
            lock (_items)
            {
                return _items.Capacity;
            }
        }
    }

    /// <summary>The highest committed seq.</summary>
    public long MaxSeq
    {
        get
        {
            lock (_items)
            {
                return _maxSeq;
            }
        }
    }

    public StoredMessage? Last
    {
        get
        {
            lock (_items)
            {
                return _items.Count > 0 && _items[^1].Seq == _maxSeq ? _items[^1] : null;
            }
        }
    }

    public void Append(StoredMessage message)
    {
        lock (_items)
        {
            if (message.Seq <= _maxSeq)
            {
                return;
            }

            if (message.Seq != _maxSeq + 1 || _capacity == 0)
            {
                _items.Clear();
            }

            _maxSeq = message.Seq;
            if (_capacity == 0)
            {
                return;
            }

            if (_items.Count >= _capacity)
            {
                _items.RemoveAt(0);
            }

            _items.Add(message);
        }
    }

    public void Revoke(long seq)
    {
        lock (_items)
        {
            var index = IndexOf(seq);
            if (index >= 0)
            {
                var m = _items[index];
                _items[index] = m with { Revoked = true, Content = [] };
            }
        }
    }

    /// <summary>Puts a changed row (an edit, reactions, a reply count; same seq) in place of the one held, if held.</summary>
    public void Replace(StoredMessage message)
    {
        lock (_items)
        {
            var index = IndexOf(message.Seq);
            if (index >= 0 && _items[index].Version <= message.Version)
            {
                _items[index] = message;
            }
        }
    }

    /// <summary>The messages held, ascending by seq (a copy): what a shed conversation's next activation starts from (ADR 0033).</summary>
    public StoredMessage[] ToArray()
    {
        lock (_items)
        {
            return [.. _items];
        }
    }

    public StoredMessage? Find(long seq)
    {
        lock (_items)
        {
            var index = IndexOf(seq);
            return index >= 0 ? _items[index] : null;
        }
    }

    /// <summary>Reads a page from memory when the tail covers it entirely.</summary>
    public bool TryRead(long fromSeq, ReadDirection direction, int limit, out List<StoredMessage> page, out bool hasMore)
    {
        page = [];
        hasMore = false;
        lock (_items)
        {
            if (_maxSeq == 0)
            {
                return true;
            }

            if (_items.Count == 0)
            {
                return false;
            }

            var first = _items[0].Seq;
            long from, to;
            if (direction == ReadDirection.Backward)
            {
                to = fromSeq == 0 || fromSeq > _maxSeq ? _maxSeq : fromSeq;
                from = Math.Max(1, to - limit + 1);
                hasMore = from > 1;
            }
            else
            {
                from = Math.Max(1, fromSeq);
                if (from > _maxSeq)
                {
                    return true;
                }

                to = Math.Min(_maxSeq, from + limit - 1);
                hasMore = to < _maxSeq;
            }

            if (from < first)
            {
                page = [];
                return false;
            }

            for (var seq = from; seq <= to; seq++)
            {
                page.Add(_items[(int)(seq - first)]);
            }

            return true;
        }
    }

    private int IndexOf(long seq)
    {
        if (_items.Count == 0)
        {
            return -1;
        }

        var index = seq - _items[0].Seq;
        return index >= 0 && index < _items.Count ? (int)index : -1;
    }
}
