using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// The budget that bounds the search index's background merge steps to a share of the writer's time (ADR 0019, stop 37),
/// driven with explicit timestamps (1 tick = 1 µs here), so nothing depends on the machine's speed.
/// </summary>
public sealed class BackgroundWriteBudgetTests
{
    private const long Ms = 1_000;
    private const long Second = 1_000 * Ms;

    [Fact]
    public void StartsFull_AStepsTimeIsPaidBackAtTheShareOfTheWallTime()
    {
        // 1 %, bursts of 100 ms, idle after 1 s without another write.
        var budget = new BackgroundWriteBudget(0.01, 100 * Ms, Second, now: 0);
        var busy = 0L; // another write just finished: not idle
        Assert.True(budget.MayRun(0, busy));

        // Held the writer 150 ms: the full balance (100 ms, the cap) minus 150 ms.
        budget.Charge(150 * Ms, now: 150 * Ms, lastOtherWrite: 150 * Ms);
        Assert.Equal(-50 * Ms, budget.Balance, 3);
        Assert.False(budget.MayRun(151 * Ms, 151 * Ms));

        // The 50 ms are paid back at 1 % of the wall time: 5 s later, at 5.15 s.
        Assert.False(budget.MayRun(5_100 * Ms, 5_100 * Ms));
        Assert.True(budget.MayRun(5_200 * Ms, 5_200 * Ms));
    }

    [Fact]
    public void WhileTheWriterIsIdle_StepsRunAndAreNotCharged()
    {
        var budget = new BackgroundWriteBudget(0.01, 100 * Ms, Second, now: 0);
        budget.Charge(500 * Ms, now: 500 * Ms, lastOtherWrite: 500 * Ms);
        Assert.False(budget.MayRun(600 * Ms, 600 * Ms));

        // No other write since 600 ms: from 1.6 s on the writer is idle; steps run whatever the balance, uncharged.
        Assert.True(budget.MayRun(1_700 * Ms, 600 * Ms));
        var before = budget.Balance;
        budget.Charge(800 * Ms, now: 2_500 * Ms, lastOtherWrite: 600 * Ms);
        Assert.True(budget.Balance >= before);

        // A write comes: the debt of the loaded stretch is still owed.
        Assert.False(budget.MayRun(2_600 * Ms, 2_600 * Ms));
    }

    [Fact]
    public void AfterAQuietStretch_TheBurstIsTheCap()
    {
        var budget = new BackgroundWriteBudget(0.01, 100 * Ms, Second, now: 0);

        // An hour without merge steps (but with writes): the balance holds at most the cap.
        Assert.True(budget.MayRun(3_600 * Second, 3_600 * Second));
        Assert.Equal(100 * Ms, budget.Balance, 3);
    }

    [Fact]
    public void UnderASteadyLoad_StepsHoldTheWriterForAtMostTheShareOfTheTime_PlusTheCapAndOneStep()
    {
        foreach (var share in new[] { 0.005, 0.01, 0.05, 0.2 })
        {
            var budget = new BackgroundWriteBudget(share, 100 * Ms, Second, now: 0);
            var random = new Random(37);
            long held = 0, longest = 0, now = 0;
            while (now < 600 * Second)
            {
                // A write every 0–10 ms; the merge loop asks in between, as the indexer does.
                now += random.Next(0, 10 * (int)Ms);
                if (budget.MayRun(now, now))
                {
                    var step = random.Next(1 * (int)Ms, 40 * (int)Ms);
                    now += step;
                    held += step;
                    longest = Math.Max(longest, step);
                    budget.Charge(step, now, now);
                }
            }

            Assert.True(held <= (share * now) + (100 * Ms) + longest, $"share {share}: held {held} µs of {now} µs");
            Assert.True(held >= share * now * 0.9, $"share {share}: held only {held} µs of {now} µs (the budget should be used)");
        }
    }

    [Fact]
    public void ShareOne_NeverDefers()
    {
        var budget = new BackgroundWriteBudget(1.0, 0, Second, now: 0);
        budget.Charge(10 * Second, now: 10 * Second, lastOtherWrite: 10 * Second);
        Assert.True(budget.MayRun(10 * Second, 10 * Second));
    }

    [Fact]
    public void WorkBound_AStepNeedsItsWorkInTheBalance_WhichStartsFullAndIsEarned()
    {
        // No time bound (share 1); 64 pages a step; the balance holds 4 steps and starts full. Busy throughout.
        var budget = new BackgroundWriteBudget(1.0, 0, Second, now: 0, workCap: 256);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(budget.MayRun(i * Ms, i * Ms, work: 64));
            budget.Charge(5 * Ms, now: i * Ms, lastOtherWrite: i * Ms, work: 64);
        }

        Assert.Equal(0, budget.Work, 6);
        Assert.False(budget.MayRun(10 * Ms, 10 * Ms, work: 64));
        budget.Earn(63.5);
        Assert.False(budget.MayRun(11 * Ms, 11 * Ms, work: 64));
        budget.Earn(0.5);
        Assert.True(budget.MayRun(12 * Ms, 12 * Ms, work: 64));

        // Earned work beyond the cap is not kept: after a long stretch without steps at most 4 run back to back.
        budget.Earn(10_000);
        Assert.Equal(256, budget.Work, 6);
    }

    [Fact]
    public void WorkBound_WhileTheWriterIsIdle_StepsRunAndSpendNothing()
    {
        var budget = new BackgroundWriteBudget(1.0, 0, Second, now: 0, workCap: 64);
        budget.Charge(1 * Ms, now: 1 * Ms, lastOtherWrite: 1 * Ms, work: 64);
        Assert.False(budget.MayRun(2 * Ms, 2 * Ms, work: 64));

        // No other write for a second: idle, so steps run without work in the balance, and spend none.
        Assert.True(budget.MayRun(1_100 * Ms, 2 * Ms, work: 64));
        budget.Earn(10);
        budget.Charge(50 * Ms, now: 1_200 * Ms, lastOtherWrite: 2 * Ms, work: 64);
        Assert.Equal(10, budget.Work, 6);
    }

    [Fact]
    public void WorkAndTime_BothBound_UnderASteadyLoadTheWorkDoneIsAtMostTheWorkEarnedPlusTheCap()
    {
        foreach (var perRow in new[] { 0.0, 0.05, 0.1, 1.0 })
        {
            // 1 % of the time, 64 pages a step, balance of 4 steps; a write of 1–20 rows every 0–10 ms, each row earning perRow.
            var budget = new BackgroundWriteBudget(0.01, 100 * Ms, Second, now: 0, workCap: 256);
            var random = new Random(39);
            double earned = 0, done = 0;
            long held = 0, now = 0;
            while (now < 600 * Second)
            {
                now += random.Next(0, 10 * (int)Ms);
                var rows = random.Next(1, 21);
                budget.Earn(rows * perRow);
                earned += rows * perRow;
                if (budget.MayRun(now, now, work: 64))
                {
                    var step = random.Next(1 * (int)Ms, 40 * (int)Ms);
                    now += step;
                    held += step;
                    done += 64;
                    budget.Charge(step, now, now, work: 64);
                }
            }

            Assert.True(done <= earned + 256, $"{perRow} per row: {done} pages done, {earned} earned");
            Assert.True(held <= (0.01 * now) + (100 * Ms) + (40 * Ms), $"{perRow} per row: held {held} µs of {now} µs");
            if (perRow == 0)
            {
                Assert.Equal(256, done); // the starting balance only
            }
        }
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void WorkCapNegativeOrNotFinite_IsRefused(double cap) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new BackgroundWriteBudget(0.01, 100 * Ms, Second, now: 0, workCap: cap));

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void ShareOutsideZeroToOne_IsRefused(double share) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new BackgroundWriteBudget(share, 100 * Ms, Second, now: 0));
}
