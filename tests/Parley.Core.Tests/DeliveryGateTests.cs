using Parley.Core.Delivery;

namespace Parley.Core.Tests;

/// <summary>
/// The cluster's release gate (ADR 0016): versioned events that reach a node out of version order are handed to its
/// connections in version order; a gap that never fills is reported once overdue and skipped only by the caller.
/// </summary>
public sealed class DeliveryGateTests
{
    [Fact]
    public void EventsReleasedOutOfOrder_AreHandedOutInVersionOrder_AndAcksNeverGetACursorAboveAGap()
    {
        var gate = new DeliveryGate(through: 10, nowMs: 0);
        var handed = new List<long>();
        Action Of(long v) => () => handed.Add(v);

        // Version 13 (another node's) arrives before 11 and 12 (this node's, still being dispatched).
        gate.Release(13, Of(13), 1);
        Assert.Empty(handed);
        Assert.Equal(10, gate.CursorFor(13)); // an ack of 13 may not carry 13 yet: 11 and 12 were not handed out
        Assert.Equal(11, gate.CursorFor(11));
        gate.Release(12, null, 2); // a version without an event
        Assert.Empty(handed);
        gate.Release(11, Of(11), 3);
        Assert.Equal([11L, 13L], handed);
        Assert.Equal(13, gate.Through);
        Assert.Equal(0, gate.Held);
        Assert.Equal(14, gate.CursorFor(14));

        // Late (already passed) versions are handed out at once.
        gate.Release(9, Of(9), 4);
        Assert.Equal([11L, 13L, 9L], handed);
    }

    [Fact]
    public void EveryPermutation_OfFiveVersions_IsHandedOutAscending()
    {
        var versions = new long[] { 1, 2, 3, 4, 5 };
        foreach (var order in Permutations(versions))
        {
            var gate = new DeliveryGate(0, 0);
            var handed = new List<long>();
            foreach (var v in order)
            {
                gate.Release(v, () => handed.Add(v), 0);
            }

            Assert.Equal(versions, handed);
        }
    }

    [Fact]
    public void AGapThatNeverFills_IsOverdueOnlyAfterTheTimeout_AndSkippingItHandsOutWhatWasHeld()
    {
        var gate = new DeliveryGate(through: 100, nowMs: 0);
        var handed = new List<long>();
        gate.Release(101, () => handed.Add(101), 1_000);
        Assert.Null(gate.OverdueGap(60_000, 3_000)); // nothing held: no gap, however long it was quiet

        // 102..103 were committed by a node that died before forwarding them; 104 and 105 arrive.
        gate.Release(104, () => handed.Add(104), 10_000);
        gate.Release(105, () => handed.Add(105), 10_500);
        Assert.Null(gate.OverdueGap(12_999, 3_000));
        Assert.Equal((102L, 103L), gate.OverdueGap(13_000, 3_000));
        Assert.Equal([101L], handed);
        Assert.Equal(101, gate.CursorFor(105));

        gate.Skip(103, 13_100);
        Assert.Equal([101L, 104L, 105L], handed);
        Assert.Equal(105, gate.Through);
        Assert.Null(gate.OverdueGap(100_000, 3_000));

        // A late forward of a skipped version is still handed out (its connections were made to resync anyway).
        gate.Release(102, () => handed.Add(102), 13_200);
        Assert.Equal([101L, 104L, 105L, 102L], handed);
    }

    [Fact]
    public void AGapThatFillsLate_IsNotOverdue_WhileTheGateKeepsMoving()
    {
        var gate = new DeliveryGate(0, 0);
        gate.Release(2, null, 0);
        gate.Release(1, null, 2_000); // the gap filled: the gate moved
        gate.Release(4, null, 2_500); // a new gap (3) opens
        Assert.Null(gate.OverdueGap(5_000, 3_000));
        Assert.Equal((3L, 3L), gate.OverdueGap(5_500, 3_000));
    }

    private static IEnumerable<long[]> Permutations(long[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Length; i++)
        {
            var rest = items.Where((_, k) => k != i).ToArray();
            foreach (var tail in Permutations(rest))
            {
                yield return [items[i], .. tail];
            }
        }
    }
}
