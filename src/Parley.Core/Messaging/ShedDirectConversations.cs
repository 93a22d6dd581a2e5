using System.Collections.Concurrent;
using Parley.Abstractions.Messaging;
using Parley.Core.Social;

namespace Parley.Core.Messaging;

/// <summary>
/// What a shed 1:1 conversation's next activation needs, kept by this node for a while so that the activation reads nothing
/// (ADR 0033): its row with the seq it reached, its two members, its newest messages (those that fit an entry's
/// <see cref="MaxEntryBytes"/>) and the pair's relation. Late in issue 17's random-pair soak ~78 % of messages reload a
/// conversation whose grain was shed (stop 47), and each reload read ~14 pages from a read cache the last commit's snapshot
/// had emptied.
/// </summary>
/// <remarks>
/// Safe by construction on one node, and only there (the host turns it off in a cluster, where another node may own the
/// grain and commit meanwhile):
/// <list type="bullet">
/// <item>Only the grain's own deactivation puts an entry (<see cref="TryPut"/>), from its state once every write of that
/// activation is durable and applied (no seq handed out and not committed, no read/settings/change write in flight, no commit
/// failure); every write of a 1:1 conversation goes through its grain, the one activation on this node.</item>
/// <item>An activation takes the entry out (<see cref="TryTake"/>): an entry serves one activation at most, and the next
/// entry is that activation's own state at its deactivation.</item>
/// <item>A relation change (friends, blocks) outside the grain: <see cref="RelationChanging"/> before the relation store's
/// write drops the entry and moves the pair's stamp, and neither an entry nor a grain that read its relation before the move
/// can put one again (the grain's relation may be stale if its <c>SetRelationAsync</c> failed).</item>
/// </list>
/// Bounded by <see cref="CapacityBytes"/> (an estimate of what entries hold), the oldest puts evicted first.
/// </remarks>
public sealed class ShedDirectConversations
{
    /// <summary>
    /// The most an entry may hold (estimated): issue 17's budget of retained memory per idle conversation. Newest messages
    /// past it are left out (the tail starts shorter and reads older pages from the store), and an entry whose row and
    /// members alone exceed it is not kept.
    /// </summary>
    public const int MaxEntryBytes = 1024;

    // What a taken entry's shell still counts until the eviction queue drops it (the entry object and its queue slot).
    private const int ShellBytes = 64;
    private const int Stripes = 4096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<Entry> _order = new(); // puts in order; guarded by itself
    private readonly long[] _stamps = new long[Stripes];
    private long _bytes;
    private long _hits;
    private long _misses;
    private long _stale;
    private long _puts;
    private long _refused;
    private long _evicted;

    /// <param name="capacityBytes">The most the entries may hold (estimated); 0 or less: off.</param>
    public ShedDirectConversations(long capacityBytes)
    {
        CapacityBytes = Math.Max(0, capacityBytes);
    }

    /// <summary>The most the entries may hold (estimated bytes); 0: off.</summary>
    public long CapacityBytes { get; }

    /// <summary>
    /// The capacity a node runs with (ADR 0033): the setting's, except 0 (off) in a cluster (another node may own a grain and
    /// commit, and a relation change may be written on another node), on a friends-only server (an activation reads whether
    /// either user is a notification account) and without the 1:1 idle age (the grain's slot counts its sends in flight).
    /// </summary>
    public static long CapacityFor(long settingBytes, bool clustered, bool friendsOnly, bool directIdleAge) =>
        clustered || friendsOnly || !directIdleAge ? 0 : Math.Max(0, settingBytes);

    /// <summary>Whether an entry of <paramref name="conversationId"/> is held (tests).</summary>
    public bool Holds(string conversationId) => _entries.ContainsKey(conversationId);

    /// <summary>Whether shed 1:1 conversations are kept at all.</summary>
    public bool Enabled => CapacityBytes > 0;

    /// <summary>What the entries hold now (estimated bytes, taken entries' shells included until evicted).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Entries held now.</summary>
    public int Count => _entries.Count;

    /// <summary>Activations of a 1:1 conversation that found its entry (and read nothing).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Activations that found none (they read the store).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Entries found but dropped: the pair's relation changed after the entry's relation was read.</summary>
    public long Stale => Interlocked.Read(ref _stale);

    /// <summary>Entries put (deactivations that left one).</summary>
    public long Puts => Interlocked.Read(ref _puts);

    /// <summary>Deactivations that could not leave one (work in flight, a failed commit, a moved stamp, too large).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Entries evicted for room before any activation took them.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>The stamp of a conversation's relation: read it before reading the relation, put it with the entry.</summary>
    public long Stamp(string conversationId) => Volatile.Read(ref _stamps[StripeOf(conversationId)]);

    /// <summary>
    /// A relation change of the pair of <paramref name="conversationId"/> is about to be written: drop its entry and move its
    /// stamp, so that nothing read before the write is kept (called before the write, and whatever its outcome).
    /// </summary>
    public void RelationChanging(string conversationId)
    {
        if (!Enabled)
        {
            return;
        }

        Interlocked.Increment(ref _stamps[StripeOf(conversationId)]);
        Drop(conversationId);
    }

    /// <summary>Drops a conversation's entry, if any (a failed commit, a test).</summary>
    public void Drop(string conversationId)
    {
        if (_entries.TryRemove(conversationId, out var entry))
        {
            Release(entry);
        }
    }

    /// <summary>
    /// An activation's load: the entry of <paramref name="conversationId"/>, taken out (null: none, or dropped as stale).
    /// </summary>
    public Entry? TryTake(string conversationId)
    {
        if (!Enabled)
        {
            return null;
        }

        if (!_entries.TryRemove(conversationId, out var entry))
        {
            Interlocked.Increment(ref _misses);
            return null;
        }

        if (!Release(entry) || entry.Stamp != Stamp(conversationId))
        {
            Interlocked.Increment(ref _stale);
            Interlocked.Increment(ref _misses);
            return null;
        }

        Interlocked.Increment(ref _hits);
        return entry;
    }

    /// <summary>
    /// A deactivating 1:1 conversation's state (called by its grain only, in its last turn, only with every write durable):
    /// kept unless <paramref name="stamp"/> (read before the grain's relation was) has moved since or it does not fit
    /// <see cref="MaxEntryBytes"/>. The newest messages that fit are kept whole (at least the newest one, which the
    /// conversation's view shows); of the older ones only a 64-bit hash of each dedup key (sender, client message id) when
    /// <paramref name="olderKeys"/> is given: every message's key below the kept ones, so that the next activation knows
    /// every key without reading them (a hash that matches is checked against the store).
    /// </summary>
    public bool TryPut(
        string conversationId,
        string creatorId,
        long createdAt,
        long maxSeq,
        (string UserId, long ReadSeq, bool Pinned, bool Muted) a,
        (string UserId, long ReadSeq, bool Pinned, bool Muted) b,
        StoredMessage[] newest,
        IReadOnlyList<long>? olderKeys,
        DirectRelation relation,
        long stamp)
    {
        if (!Enabled)
        {
            return false;
        }

        var bytes = FixedBytes + StringBytes(conversationId) + StringBytes(a.UserId) + StringBytes(b.UserId)
            + (ReferenceEquals(creatorId, a.UserId) || ReferenceEquals(creatorId, b.UserId) ? 0 : StringBytes(creatorId));
        var olderCount = olderKeys?.Count ?? 0;
        var keep = 0;
        for (var i = newest.Length - 1; i >= 0; i--)
        {
            // Kept whole, message i needs no hash; the ones below it do (when keys are kept). The newest is always kept.
            var size = MessageBytes(newest[i], a.UserId, b.UserId);
            var keyBytes = olderKeys is null ? 0 : 24 + (8 * (olderCount + i));
            if (keep > 0 && bytes + size + keyBytes > MaxEntryBytes)
            {
                break;
            }

            bytes += size;
            keep++;
        }

        long[]? keys = null;
        if (olderKeys is not null)
        {
            keys = new long[olderCount + newest.Length - keep];
            for (var i = 0; i < olderCount; i++)
            {
                keys[i] = olderKeys[i];
            }

            for (var i = 0; i < newest.Length - keep; i++)
            {
                keys[olderCount + i] = KeyHash(newest[i].SenderId, newest[i].ClientMsgId);
            }

            bytes += 24 + (8 * keys.Length);
        }

        if (bytes > MaxEntryBytes && olderKeys is not null)
        {
            // Too many keys to keep as hashes: the messages alone (the next activation reads the older keys from the store).
            return TryPut(conversationId, creatorId, createdAt, maxSeq, a, b, newest, null, relation, stamp);
        }

        if (bytes > MaxEntryBytes || stamp != Stamp(conversationId) || (maxSeq > 0 && keep == 0))
        {
            Interlocked.Increment(ref _refused);
            return false;
        }

        var kept = keep == newest.Length ? newest : newest[(newest.Length - keep)..];
        var entry = new Entry(conversationId, creatorId, createdAt, maxSeq, a, b, kept, keys, relation, stamp, bytes);
        lock (_order)
        {
            if (_entries.TryGetValue(conversationId, out var earlier))
            {
                // Not expected (an activation takes its entry out), but never two: the later state wins.
                _entries.TryRemove(new KeyValuePair<string, Entry>(conversationId, earlier));
                Release(earlier);
            }

            _entries[conversationId] = entry;
            _order.Enqueue(entry);
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Increment(ref _puts);
            while (Interlocked.Read(ref _bytes) > CapacityBytes && _order.TryDequeue(out var oldest))
            {
                if (_entries.TryRemove(new KeyValuePair<string, Entry>(oldest.Id, oldest)))
                {
                    Interlocked.Increment(ref _evicted);
                    Release(oldest);
                }

                Interlocked.Add(ref _bytes, -ShellBytes); // its shell leaves with its queue slot
            }
        }

        // A relation change that came between the check and the put: it may have missed this entry, so it goes now.
        if (stamp != Stamp(conversationId))
        {
            Drop(conversationId);
        }

        return true;
    }

    /// <summary>The 64-bit hash of a dedup key that an entry keeps for a message it does not hold (FNV-1a over both strings).</summary>
    public static long KeyHash(string senderId, string clientMsgId)
    {
        var h = 14695981039346656037UL;
        foreach (var c in senderId)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h = (h ^ 0xFFFF) * 1099511628211UL; // a separator (a collision costs only a store lookup)
        foreach (var c in clientMsgId)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (long)h;
    }

    /// <summary>A deactivation that could not leave an entry (work in flight, a failed commit, friends-only).</summary>
    public void Refuse()
    {
        if (Enabled)
        {
            Interlocked.Increment(ref _refused);
        }
    }

    // Lets go of an entry once (whoever removed it from the dictionary): its bytes but its shell's are free, and the eviction
    // queue's slot no longer holds its messages.
    private bool Release(Entry entry)
    {
        if (Interlocked.Exchange(ref entry.Released, 1) != 0)
        {
            return false;
        }

        Interlocked.Add(ref _bytes, -(entry.Bytes - ShellBytes));
        return true;
    }

    private static int StripeOf(string conversationId) => (int)((uint)StringComparer.Ordinal.GetHashCode(conversationId) % Stripes);

    // Estimated sizes (x64): an object's header and fields, a string's 22 B + 2 B a char rounded up to 8.
    private static int StringBytes(string? s) => s is null || s.Length == 0 ? 0 : (22 + (2 * s.Length) + 7) & ~7;

    // The entry (its fields), its dictionary node and queue slot, the relation (shared instances), the messages' array.
    private const int FixedBytes = 136 + 48 + 8 + 24;

    // A message held whole: the row (x64: header, eight references, four longs, an int, two bools), its array slot, its ids
    // and content; the sender's id when it is not one of the members' strings.
    private static int MessageBytes(StoredMessage m, string a, string b) =>
        120 + 8 + StringBytes(m.ServerMsgId) + StringBytes(m.ClientMsgId) + ((24 + m.Content.Length + 7) & ~7)
        + (ReferenceEquals(m.SenderId, a) || ReferenceEquals(m.SenderId, b) ? 0 : StringBytes(m.SenderId))
        + (m.Annotations is { } x ? (24 + x.Length + 7) & ~7 : 0);

    /// <summary>One shed conversation's state (see <see cref="TryPut"/>), compact: the activation makes its records from it.</summary>
    public sealed class Entry
    {
        internal int Released;

        internal Entry(
            string id,
            string creatorId,
            long createdAt,
            long maxSeq,
            (string UserId, long ReadSeq, bool Pinned, bool Muted) a,
            (string UserId, long ReadSeq, bool Pinned, bool Muted) b,
            StoredMessage[] newest,
            long[]? olderKeys,
            DirectRelation relation,
            long stamp,
            int bytes)
        {
            Id = id;
            CreatorId = creatorId;
            CreatedAt = createdAt;
            MaxSeq = maxSeq;
            A = a;
            B = b;
            Newest = newest;
            OlderKeys = olderKeys;
            Relation = relation;
            Stamp = stamp;
            Bytes = bytes;
        }

        public string CreatorId { get; }

        public long CreatedAt { get; }

        /// <summary>The conversation's highest seq, committed: the next activation's next seq is one more.</summary>
        public long MaxSeq { get; }

        public (string UserId, long ReadSeq, bool Pinned, bool Muted) A { get; }

        public (string UserId, long ReadSeq, bool Pinned, bool Muted) B { get; }

        /// <summary>The newest messages, ascending and contiguous up to <see cref="MaxSeq"/> (at least one when it is above 0).</summary>
        public StoredMessage[] Newest { get; }

        /// <summary>
        /// The <see cref="KeyHash"/> of every older message's dedup key (seqs 1 to the first of <see cref="Newest"/> less
        /// one), or null: those keys are not known (read them from the store).
        /// </summary>
        public long[]? OlderKeys { get; }

        /// <summary>The pair's relation as the grain held it.</summary>
        public DirectRelation Relation { get; }

        /// <summary>The relation's stamp when it was read (<see cref="ShedDirectConversations.Stamp"/>).</summary>
        public long Stamp { get; }

        internal string Id { get; }

        internal int Bytes { get; }

        /// <summary>What <see cref="IMessageStore.LoadConversationAsync"/> would have returned.</summary>
        public ConversationLoad ToLoad() => new(
            new ConversationRecord(Id, ConversationKind.Direct, null, string.Empty, CreatorId, CreatedAt, MaxSeq),
            [Member(A), Member(B)],
            Newest);

        private static MemberRecord Member((string UserId, long ReadSeq, bool Pinned, bool Muted) m) => new(m.UserId, m.ReadSeq, m.Pinned, m.Muted, 0);
    }
}
