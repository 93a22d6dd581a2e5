using Parley.Abstractions.Messaging;
using Parley.Core.Messaging;

namespace Parley.Core.Tests;

public sealed class ConversationTailTests
{
    private static StoredMessage Message(long seq) => new("c", seq, $"c-{seq}", "u", $"m{seq}", 0, 1, [], false, seq);

    [Fact]
    public void ANewTail_ReservesRoomForWhatItHolds_NotForItsCapacity()
    {
        var loaded = new ConversationTail(256, 1, [Message(1)]);
        Assert.True(loaded.ReservedSlots <= 4, $"reserved {loaded.ReservedSlots} slots for one message");
        Assert.True(new ConversationTail(256, 0, []).ReservedSlots <= 4);
        Assert.Equal(1, loaded.Find(1)?.Seq);
    }

    [Fact]
    public void ATail_GrowsOnDemand_ThenKeepsOnlyTheNewestUpToItsCapacity()
    {
        var tail = new ConversationTail(256, 0, []);
        for (long seq = 1; seq <= 300; seq++)
        {
            tail.Append(Message(seq));
        }

        Assert.Equal(300, tail.MaxSeq);
        Assert.Null(tail.Find(44));
        Assert.Equal(45, tail.Find(45)?.Seq);
        Assert.True(tail.TryRead(0, ReadDirection.Backward, 256, out var page, out var hasMore));
        Assert.Equal(Enumerable.Range(45, 256).Select(i => (long)i), page.Select(m => m.Seq));
        Assert.True(hasMore);
        Assert.False(tail.TryRead(0, ReadDirection.Backward, 257, out _, out _));
        Assert.InRange(tail.ReservedSlots, 256, 512);
    }
}
