using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;
using Parley.Core.Social;

namespace Parley.Core.Tests;

/// <summary>
/// The node's cache of shed 1:1 conversations (ADR 0033): an entry serves one activation, a relation change of the pair
/// drops it and refuses what was read before the change, an entry holds at most 1 KB (the newest messages that fit, the
/// older ones' dedup keys as hashes), and the cache holds at most its capacity, the oldest evicted first. The grain's side
/// (what it puts, when it refuses) is tested on the real server by <c>ShedDirectConversationTests</c>.
/// </summary>
public sealed class ShedDirectConversationsTests
{
    private static readonly DirectRelation Friends = DirectRelation.Of(false, false, true);

    [Fact]
    public void TryTake_ReturnsThePutState_Once()
    {
        var shed = new ShedDirectConversations(1 << 20);
        var c = new Conversation("si_a_b", 2, contentBytes: 8, clientIds: "c");
        Assert.True(c.PutTo(shed, shed.Stamp(c.Id)));
        Assert.True(shed.Holds(c.Id));

        var entry = shed.TryTake(c.Id);
        Assert.NotNull(entry);
        var load = entry.ToLoad();
        Assert.Equal((c.Id, ConversationKind.Direct, 2L, "alice-0001"), (load.Record.ConversationId, load.Record.Kind, load.Record.MaxSeq, load.Record.CreatorId));
        Assert.Equal([("alice-0001", 2L), ("bob-0002", 1L)], load.Members!.Select(m => (m.UserId, m.ReadSeq)));
        Assert.Equal([1L, 2L], load.Newest!.Select(m => m.Seq));
        Assert.Equal([], entry.OlderKeys!);
        Assert.Same(Friends, entry.Relation);
        Assert.Equal(1, shed.Hits);

        Assert.Null(shed.TryTake(c.Id)); // taken out: the next activation reads the store
        Assert.Equal(1, shed.Misses);
        Assert.False(shed.Holds(c.Id));
    }

    [Fact]
    public void ARelationChange_DropsTheEntry_AndRefusesAStateReadBeforeIt()
    {
        var shed = new ShedDirectConversations(1 << 20);
        var c = new Conversation("si_a_b", 2);
        var before = shed.Stamp(c.Id);
        Assert.True(c.PutTo(shed, before));

        shed.RelationChanging(c.Id);
        Assert.False(shed.Holds(c.Id));
        Assert.Null(shed.TryTake(c.Id));

        // A grain that read its relation before the change (its SetRelationAsync may have failed) leaves nothing.
        Assert.False(c.PutTo(shed, before));
        Assert.Null(shed.TryTake(c.Id));

        // One that read it after the change does.
        Assert.True(c.PutTo(shed, shed.Stamp(c.Id)));
        Assert.NotNull(shed.TryTake(c.Id));
    }

    [Fact]
    public void AnEntry_KeepsTheNewestMessagesThatFitAKilobyte_AndTheOlderKeysAsHashes()
    {
        var shed = new ShedDirectConversations(1 << 20);
        var c = new Conversation("si_a_b", 40);
        Assert.True(c.PutTo(shed, shed.Stamp(c.Id)));
        Assert.True(shed.Bytes <= ShedDirectConversations.MaxEntryBytes, $"{shed.Bytes} B held");

        var entry = shed.TryTake(c.Id)!;
        Assert.InRange(entry.Newest.Length, 1, 39);
        Assert.Equal(Enumerable.Range(41 - entry.Newest.Length, entry.Newest.Length).Select(i => (long)i), entry.Newest.Select(m => m.Seq));
        Assert.Equal(
            c.Messages.Take(40 - entry.Newest.Length).Select(m => ShedDirectConversations.KeyHash(m.SenderId, m.ClientMsgId)),
            entry.OlderKeys!);

        // Without the older keys (the grain did not know them all) only the messages are kept, and no hashes; and so when
        // the hashes would not fit (a longer conversation).
        Assert.True(c.PutTo(shed, shed.Stamp(c.Id), withKeys: false));
        Assert.Null(shed.TryTake(c.Id)!.OlderKeys);
        var longer = new Conversation("si_a_c", 200);
        Assert.True(longer.PutTo(shed, shed.Stamp(longer.Id)));
        var kept = shed.TryTake(longer.Id)!;
        Assert.Null(kept.OlderKeys);
        Assert.Equal(200, kept.Newest[^1].Seq);
    }

    [Fact]
    public void AnEntryOverAKilobyteEvenWithOnlyTheNewestMessage_IsNotKept()
    {
        var shed = new ShedDirectConversations(1 << 20);
        var c = new Conversation("si_a_b", 3, contentBytes: 900);
        Assert.False(c.PutTo(shed, shed.Stamp(c.Id)));
        Assert.Equal(1, shed.Refused);
        Assert.Equal(0, shed.Count);
    }

    [Fact]
    public void TheCache_HoldsAtMostItsCapacity_EvictingTheOldestFirst()
    {
        var shed = new ShedDirectConversations(8 * 1024);
        for (var i = 0; i < 100; i++)
        {
            var c = new Conversation($"si_a_{i:D3}", 2);
            Assert.True(c.PutTo(shed, shed.Stamp(c.Id)));
            Assert.True(shed.Bytes <= shed.CapacityBytes, $"{shed.Bytes} B held after {i + 1} puts");
        }

        Assert.True(shed.Evicted > 80, $"{shed.Evicted} evicted");
        Assert.True(shed.Holds("si_a_099"));
        Assert.False(shed.Holds("si_a_000"));

        // Taken entries leave their shells to the eviction queue: takes and puts in turn stay bounded too.
        for (var i = 0; i < 1_000; i++)
        {
            var c = new Conversation($"si_b_{i % 7}", 2);
            c.PutTo(shed, shed.Stamp(c.Id));
            Assert.NotNull(shed.TryTake(c.Id));
            Assert.True(shed.Bytes <= shed.CapacityBytes, $"{shed.Bytes} B held");
        }
    }

    [Fact]
    public void KeyHash_TellsTheSenderFromTheClientMessageId()
    {
        Assert.Equal(ShedDirectConversations.KeyHash("alice", "c-1"), ShedDirectConversations.KeyHash("alice", "c-1"));
        Assert.NotEqual(ShedDirectConversations.KeyHash("alice", "c-1"), ShedDirectConversations.KeyHash("alice", "c-2"));
        Assert.NotEqual(ShedDirectConversations.KeyHash("alic", "ec-1"), ShedDirectConversations.KeyHash("alice", "c-1"));
        Assert.NotEqual(ShedDirectConversations.KeyHash("bob", "c-1"), ShedDirectConversations.KeyHash("alice", "c-1"));
    }

    [Theory]
    [InlineData(false, false, true, 1000)]
    [InlineData(true, false, true, 0)] // a cluster: another node may own the grain
    [InlineData(false, true, true, 0)] // friends-only: the notification-account exemption is read at activation
    [InlineData(false, false, false, 0)] // no 1:1 idle age: no slot counting sends in flight
    public void TheCapacity_IsOffInAClusterOnAFriendsOnlyServerAndWithoutTheDirectIdleAge(bool clustered, bool friendsOnly, bool directIdleAge, long expected)
    {
        Assert.Equal(expected, ShedDirectConversations.CapacityFor(1000, clustered, friendsOnly, directIdleAge));
        var off = new ShedDirectConversations(0);
        Assert.False(new Conversation("si_a_b", 1).PutTo(off, 0));
        Assert.Null(off.TryTake("si_a_b"));
    }

    private sealed class Conversation
    {
        public Conversation(string id, int messages, int contentBytes = 20, string? clientIds = null)
        {
            Id = id;
            Messages = [.. Enumerable.Range(1, messages)
                .Select(seq => new StoredMessage(
                    id, seq, $"srv-{seq:D16}", "alice-0001", clientIds is null ? Guid.NewGuid().ToString() : clientIds + seq, 1_000 + seq, 1, new byte[contentBytes], false, seq))];
        }

        public string Id { get; }

        public StoredMessage[] Messages { get; }

        public bool PutTo(ShedDirectConversations shed, long stamp, bool withKeys = true) =>
            shed.TryPut(Id, "alice-0001", 1_000, Messages.Length, ("alice-0001", Messages.Length, false, false), ("bob-0002", 1, false, false), Messages, withKeys ? [] : null, Friends, stamp);
    }
}
