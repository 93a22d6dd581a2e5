using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Parley.Core.Messaging;

/// <summary>
/// A conversation's members by user id (ordinal): the first two in fields, a dictionary from the third on. Every 1:1
/// conversation has two members at most, and a <c>Dictionary</c> for them was its object, buckets and entries (200 B)
/// on every activation: most of a random-pair message's conversation opens one (issue 17, stop 47). Enumerates in
/// insertion order while nothing was removed, as the dictionary did; after a removal the remaining keys keep their order
/// and a new key comes last (the dictionary put it in the freed entry's place: no caller depends on the order).
/// </summary>
/// <remarks>Not thread-safe: one grain's turns only.</remarks>
internal sealed class MemberTable<TValue> : IEnumerable<KeyValuePair<string, TValue>>
    where TValue : class
{
    private string? _key0;
    private string? _key1;
    private TValue? _value0;
    private TValue? _value1;
    private Dictionary<string, TValue>? _map; // from the third key on: holds them all

    public int Count => _map?.Count ?? ((_key0 is null ? 0 : 1) + (_key1 is null ? 0 : 1));

    public TValue this[string key]
    {
        get => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The member '{key}' is not in the table.");
        set => Set(key, value, overwrite: true);
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_map is { } map)
        {
            return map.TryGetValue(key, out value);
        }

        if (_key0 is not null && string.Equals(_key0, key, StringComparison.Ordinal))
        {
            value = _value0!;
            return true;
        }

        if (_key1 is not null && string.Equals(_key1, key, StringComparison.Ordinal))
        {
            value = _value1!;
            return true;
        }

        value = null;
        return false;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    /// <summary>Adds <paramref name="key"/> unless it is there: false, and the value kept, when it is.</summary>
    public bool TryAdd(string key, TValue value) => Set(key, value, overwrite: false);

    public bool Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_map is { } map)
        {
            return map.Remove(key);
        }

        if (_key0 is not null && string.Equals(_key0, key, StringComparison.Ordinal))
        {
            // The second (if any) becomes the first: the second place is used only while the first is.
            (_key0, _value0, _key1, _value1) = (_key1, _value1, null, null);
            return true;
        }

        if (_key1 is not null && string.Equals(_key1, key, StringComparison.Ordinal))
        {
            (_key1, _value1) = (null, null);
            return true;
        }

        return false;
    }

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, TValue>> IEnumerable<KeyValuePair<string, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private bool Set(string key, TValue value, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_map is { } map)
        {
            if (overwrite)
            {
                map[key] = value;
                return true;
            }

            return map.TryAdd(key, value);
        }

        if (_key0 is not null && string.Equals(_key0, key, StringComparison.Ordinal))
        {
            if (overwrite)
            {
                _value0 = value;
            }

            return overwrite;
        }

        if (_key1 is not null && string.Equals(_key1, key, StringComparison.Ordinal))
        {
            if (overwrite)
            {
                _value1 = value;
            }

            return overwrite;
        }

        if (_key0 is null)
        {
            (_key0, _value0) = (key, value);
        }
        else if (_key1 is null)
        {
            (_key1, _value1) = (key, value);
        }
        else
        {
            // A third key: from here on the dictionary holds them all, in the same order.
            _map = new Dictionary<string, TValue>(StringComparer.Ordinal) { [_key0] = _value0!, [_key1] = _value1!, [key] = value };
            (_key0, _value0, _key1, _value1) = (null, null, null, null);
        }

        return true;
    }

    /// <summary>Enumerates the members without allocating (a <c>foreach</c> over the table).</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<string, TValue>>
    {
        private readonly MemberTable<TValue> _table;
        private readonly bool _inMap;
        private Dictionary<string, TValue>.Enumerator _map;
        private int _position;

        internal Enumerator(MemberTable<TValue> table)
        {
            _table = table;
            _inMap = table._map is not null;
            _map = _inMap ? table._map!.GetEnumerator() : default;
            _position = -1;
            Current = default;
        }

        public KeyValuePair<string, TValue> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_inMap)
            {
                if (_map.MoveNext())
                {
                    Current = _map.Current;
                    return true;
                }

                return false;
            }

            while (++_position < 2)
            {
                var (key, value) = _position == 0 ? (_table._key0, _table._value0) : (_table._key1, _table._value1);
                if (key is not null)
                {
                    Current = new(key, value!);
                    return true;
                }
            }

            return false;
        }

        public void Reset() => throw new NotSupportedException();

        public readonly void Dispose()
        {
        }
    }
}
