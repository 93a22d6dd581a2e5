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

    [Fact]
    public void ATailGap_CommittedButNeverReleasedWithNothingHeld_IsOverdueOnlyAfterTheTimeout_AndSkippingItCatchesUp()
    {
        var gate = new DeliveryGate(through: 50, nowMs: 0);
        Assert.Null(gate.OverdueTail(committed: 50, nowMs: 10_000, timeoutMs: 3_000)); // caught up
        Assert.Null(gate.OverdueGap(10_000, 3_000)); // the ordinary check cannot see it: nothing is held

        // 51..53 were committed (the store says 53 at 10 s); none of them ever arrives here.
        Assert.Null(gate.OverdueTail(53, 10_000, 3_000)); // first seen behind: the lag starts now
        Assert.Null(gate.OverdueTail(53, 12_999, 3_000));
        Assert.Equal((51L, 53L), gate.OverdueTail(53, 13_000, 3_000));

        // Versions committed after the first sighting do not extend the gap: they are not overdue yet.
        Assert.Equal((51L, 53L), gate.OverdueTail(60, 13_500, 3_000));
        gate.Skip(53, 13_600);
        Assert.Equal(53, gate.Through);
        Assert.Null(gate.OverdueTail(60, 13_700, 3_000)); // 54..60: a new lag, seen now
        Assert.Null(gate.OverdueTail(60, 16_699, 3_000));
        Assert.Equal((54L, 60L), gate.OverdueTail(60, 16_700, 3_000));
    }

    [Fact]
    public void ALagThatCatchesUp_IsNeverATailGap_AndATailBehindHeldVersionsIsLeftToTheOrdinaryGap()
    {
        var gate = new DeliveryGate(through: 0, nowMs: 0);
        var handed = new List<long>();

        // Ordinary forwarding latency: 1..3 committed, seen behind at 0 s, arrive at 2.9 s.
        Assert.Null(gate.OverdueTail(3, 0, 3_000));
        for (var v = 1L; v <= 3; v++)
        {
            var version = v;
            gate.Release(version, () => handed.Add(version), 2_900);
        }

        Assert.Null(gate.OverdueTail(3, 5_000, 3_000));
        Assert.Equal([1L, 2L, 3L], handed);

        // Partly caught up: 4..6 seen behind at 10 s, 4 arrives, 5 and 6 never do; overdue from 10 s, not from 4's arrival.
        Assert.Null(gate.OverdueTail(6, 10_000, 3_000));
        gate.Release(4, () => handed.Add(4), 12_000);
        Assert.Null(gate.OverdueTail(6, 12_500, 3_000));
        Assert.Equal((5L, 6L), gate.OverdueTail(6, 13_000, 3_000));

        // 8 arrives (7 missing): an ordinary gap; the tail check stays out of it while something is held.
        gate.Release(8, () => handed.Add(8), 13_100);
        Assert.Null(gate.OverdueTail(9, 20_000, 3_000));
        Assert.Equal((5L, 7L), gate.OverdueGap(20_000, 3_000));
        gate.Skip(7, 20_000);
        Assert.Equal([1L, 2L, 3L, 4L, 8L], handed);

        // Only 9 is left behind; its lag was first seen when the tail check could look again.
        Assert.Null(gate.OverdueTail(9, 20_100, 3_000));
        Assert.Equal((9L, 9L), gate.OverdueTail(9, 23_100, 3_000));
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

    [Fact]
    public void AGapALivePeerMayStillFill_IsWaitedForUpToTheMaximum_ThenOverdue()
    {
        var gate = new DeliveryGate(through: 10, nowMs: 0);
        gate.Release(13, () => { }, 0); // 11 and 12 are late
        var progress = new PeerProgress();
        progress.Report("b", "silo-b", through: 9, nowMs: 0); // b has not forwarded past 10: 11 and 12 may be in its stream
        progress.Report("c", "silo-c", through: 20, nowMs: 0);
        var live = new HashSet<string> { "silo-b", "silo-c" };
        bool MayStillArrive(long to) => progress.MayStillForward(to, 5_000, silenceMs: 15_000, live.Contains);

        Assert.Equal((11L, 12L), gate.OverdueGap(5_000, 3_000)); // the plain timeout alone would close it
        Assert.Null(gate.OverdueGap(5_000, 3_000, 60_000, MayStillArrive));
        Assert.Equal((11L, 12L), gate.OverdueGap(60_000, 3_000, 60_000, _ => true)); // never longer than the maximum

        // b's stream moves past the gap (it forwarded past 12, or dropped what it had): the gap is lost, not late.
        progress.Report("b", "silo-b", through: 14, nowMs: 5_000);
        Assert.Equal((11L, 12L), gate.OverdueGap(5_000, 3_000, 60_000, MayStillArrive));
        progress.Report("b", "silo-b", through: 5, nowMs: 5_000); // marks only rise
        Assert.False(progress.MayStillForward(12, 5_000, 15_000, live.Contains));
    }

    [Fact]
    public void APeerThatIsDeadOrSilent_OrNeverHeardFrom_IsNotWaitedFor()
    {
        var progress = new PeerProgress();
        Assert.False(progress.MayStillForward(12, 0, 15_000, _ => true)); // nobody heard from
        progress.Report("b", "silo-b", through: 9, nowMs: 1_000);
        Assert.True(progress.MayStillForward(12, 16_000, 15_000, _ => true));
        Assert.False(progress.MayStillForward(12, 16_001, 15_000, _ => true)); // its marks stopped: its stream is not flowing
        Assert.False(progress.MayStillForward(12, 2_000, 15_000, silo => silo != "silo-b")); // membership says it is not live
        progress.Forget(silo => silo == "silo-b");
        Assert.Equal(0, progress.Count);
        Assert.False(progress.MayStillForward(12, 2_000, 15_000, _ => true));
    }

    [Fact]
    public void ATailALivePeerMayStillForward_IsWaitedFor_UntilItsMarksPassIt()
    {
        var gate = new DeliveryGate(through: 10, nowMs: 0);
        var progress = new PeerProgress();
        progress.Report("b", "silo-b", through: 10, nowMs: 0);
        bool MayStillArrive(long to) => progress.MayStillForward(to, 4_000, 15_000, _ => true);
        Assert.Null(gate.OverdueTail(committed: 12, nowMs: 0, timeoutMs: 3_000, maxWaitMs: 60_000, MayStillArrive)); // first seen
        Assert.Null(gate.OverdueTail(committed: 12, nowMs: 4_000, timeoutMs: 3_000, maxWaitMs: 60_000, MayStillArrive));
        progress.Report("b", "silo-b", through: 12, nowMs: 4_000);
        Assert.Equal((11L, 12L), gate.OverdueTail(committed: 12, nowMs: 4_000, timeoutMs: 3_000, maxWaitMs: 60_000, MayStillArrive));
    }
}
