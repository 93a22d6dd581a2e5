using Parley.Abstractions.Push;
using Parley.Push.Pipeline;

namespace Parley.Push.Tests;

/// <summary>
/// The scheduler's timer callback runs on a thread-pool thread, where an exception ends the process (a test host dies
/// with "Test Run Aborted" and no output). A shutdown racing the timer must therefore not throw from it: pushes falling
/// due after the lanes were disposed stay pending in the journal for the next start.
/// </summary>
public sealed class PushSchedulerTests
{
    [Fact]
    public void PushesFallingDueAfterTheLanesWereDisposed_DoNotThrowFromTheTimer_AndNothingIsScheduledAfterDispose()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 5, 7, 0, 0, TimeSpan.Zero));
        var lanes = new PushLanes(new PushOptions());
        var handedOver = new List<string>();
        var scheduler = new PushScheduler(clock, r =>
        {
            lanes.Enqueue(r, holdsSlot: false);
            handedOver.Add(r.PushId);
        });

        scheduler.Schedule(Held("due-first", clock.GetUtcNow().AddSeconds(1)));
        clock.Advance(TimeSpan.FromSeconds(1)); // the timer's callback, as the system timer would run it
        Assert.Equal(["due-first"], handedOver);

        // The pipeline shuts down: its lanes are disposed while two pushes wait for their time, and the timer fires.
        scheduler.Schedule(Held("due-during-shutdown", clock.GetUtcNow().AddSeconds(1)));
        scheduler.Schedule(Held("due-later", clock.GetUtcNow().AddSeconds(2)));
        lanes.Dispose();
        var fire = Record.Exception(() => clock.Advance(TimeSpan.FromSeconds(5)));
        Assert.Null(fire);
        Assert.Equal(["due-first"], handedOver);

        // After the scheduler itself is disposed nothing is held, armed or handed over, and a late Schedule is a no-op.
        scheduler.Dispose();
        Assert.Null(Record.Exception(() => scheduler.Schedule(Held("after-dispose", clock.GetUtcNow().AddSeconds(1)))));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, scheduler.Count);
        Assert.Equal(["due-first"], handedOver);
    }

    private static PushRecord Held(string pushId, DateTimeOffset notBefore) =>
        new(pushId, "m-" + pushId, "trace", "u1", "phone", PushVendor.Fcm, PushCategory.Marketing, PushState.Pending, "{}", notBefore.ToUnixTimeMilliseconds() - 1000, notBefore.ToUnixTimeMilliseconds(), 0, "quiet_hours", null, null, null, null);
}
