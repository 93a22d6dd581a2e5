namespace Parley.Core.Messaging;

/// <summary>
/// Recently used conversation grain references of one grain factory, in a fixed table of two-entry sets: a set per hash of
/// the conversation id; a new reference goes first in its set and moves the first one second (the second is dropped). A
/// grain reference is immutable and only names the grain (it keeps nothing active), so handing one out to many callers at
/// once is safe.
/// </summary>
/// <remarks>
/// Building a reference was 1.2 % of the server's CPU on the warm 1:1 send (the generated proxy resolves a copier per
/// argument type through <c>ActivatorUtilities</c> in its constructor) and about 0.11 KB of its allocation (issue 17). Two
/// entries per set: with one, two busy conversations on one slot (a fifth of 1,000 conversations in 4,096 slots) replaced
/// each other on every send. Per grain factory, not process-wide: a reference is bound to its silo's runtime, and tests run
/// several silos in one process.
/// </remarks>
public sealed class ConversationReferenceCache
{
    /// <summary>References kept at most by default: about 0.2 KB each (the entry, the proxy and its copiers), ~1.6 MB when full.</summary>
    public const int DefaultCapacity = 8192;

    private readonly IGrainFactory _grains;
    private readonly Entry?[] _entries;
    private readonly int _setMask;

    /// <param name="grains">The factory whose references this cache keeps.</param>
    /// <param name="capacity">How many references are kept at most (rounded up to a power of two, at least 2).</param>
    public ConversationReferenceCache(IGrainFactory grains, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _grains = grains;
        _entries = new Entry?[Math.Max(2, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity))];
        _setMask = (_entries.Length / 2) - 1;
    }

    /// <summary>How many references are kept at most.</summary>
    public int Capacity => _entries.Length;

    /// <summary>The reference of conversation <paramref name="conversationId"/>'s grain.</summary>
    public IConversationGrain Get(string conversationId)
    {
        ArgumentNullException.ThrowIfNull(conversationId);
        var first = (conversationId.GetHashCode() & _setMask) * 2;

        // An entry is immutable and published by one reference write: a reader sees a whole entry or another one. Two
        // callers that miss at once may each build a reference and one entry may be lost: a later miss, never a wrong grain.
        var head = Volatile.Read(ref _entries[first]);
        if (head is not null && string.Equals(head.ConversationId, conversationId, StringComparison.Ordinal))
        {
            return head.Grain;
        }

        var second = Volatile.Read(ref _entries[first + 1]);
        if (second is not null && string.Equals(second.ConversationId, conversationId, StringComparison.Ordinal))
        {
            return second.Grain;
        }

        var grain = _grains.Conversation(conversationId);
        if (head is not null)
        {
            Volatile.Write(ref _entries[first + 1], head);
        }

        Volatile.Write(ref _entries[first], new Entry(conversationId, grain));
        return grain;
    }

    /// <summary>
    /// The reference of the 1:1 conversation of <paramref name="userA"/> and <paramref name="userB"/> (either order; valid
    /// user ids, at most <see cref="Parley.Protocol.Ids.MaxLength"/> characters each), whose id is
    /// <see cref="Parley.Protocol.Ids.DirectConversationId"/>'s: written into a buffer on the stack and compared there, so a
    /// send to a conversation already in the table builds no id string (that string was about 0.11 KB of every 1:1 send,
    /// issue 17). One table with <see cref="Get"/>: the same id hashes to the same set either way.
    /// </summary>
    public IConversationGrain GetDirect(string userA, string userB)
    {
        ArgumentNullException.ThrowIfNull(userA);
        ArgumentNullException.ThrowIfNull(userB);
        if (userA.Length > Parley.Protocol.Ids.MaxLength || userB.Length > Parley.Protocol.Ids.MaxLength)
        {
            return Get(Parley.Protocol.Ids.DirectConversationId(userA, userB));
        }

        Span<char> buffer = stackalloc char[Parley.Protocol.Ids.MaxConversationIdLength];
        var id = buffer[..WriteDirectId(buffer, userA, userB)];
        var first = (string.GetHashCode(id) & _setMask) * 2;
        var head = Volatile.Read(ref _entries[first]);
        if (head is not null && id.SequenceEqual(head.ConversationId))
        {
            return head.Grain;
        }

        var second = Volatile.Read(ref _entries[first + 1]);
        if (second is not null && id.SequenceEqual(second.ConversationId))
        {
            return second.Grain;
        }

        return Get(new string(id));
    }

    // si_{escape(min)}_{escape(max)} as Ids.DirectConversationId writes it (':' as "::", '_' as ":_"); returns the length.
    private static int WriteDirectId(Span<char> buffer, string userA, string userB)
    {
        var (low, high) = string.CompareOrdinal(userA, userB) <= 0 ? (userA, userB) : (userB, userA);
        "si_".CopyTo(buffer);
        var pos = WriteEscaped(buffer, 3, low);
        buffer[pos++] = '_';
        return WriteEscaped(buffer, pos, high);
    }

    private static int WriteEscaped(Span<char> buffer, int pos, string userId)
    {
        foreach (var c in userId)
        {
            if (c is ':' or '_')
            {
                buffer[pos++] = ':';
            }

            buffer[pos++] = c;
        }

        return pos;
    }

    private sealed record Entry(string ConversationId, IConversationGrain Grain);
}
