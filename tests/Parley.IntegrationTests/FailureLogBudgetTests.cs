using Parley.Gateway.Connections;

namespace Parley.IntegrationTests;

public sealed class FailureLogBudgetTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    [Fact]
    public void AStormOfOneFailure_IsLoggedOncePerWindow_WithWhatWasLeftOut()
    {
        var time = new ManualTime();
        var budget = new FailureLogBudget(time, TimeSpan.FromSeconds(10));

        Assert.True(budget.TryLog(typeof(TimeoutException), out var skipped));
        Assert.Equal(0, skipped);
        for (var i = 0; i < 500; i++)
        {
            time.Ticks += TimeSpan.FromMilliseconds(10).Ticks;
            Assert.False(budget.TryLog(typeof(TimeoutException), out _));
        }

        // Another exception type has a budget of its own.
        Assert.True(budget.TryLog(typeof(InvalidOperationException), out skipped));
        Assert.Equal(0, skipped);

        time.Ticks += TimeSpan.FromSeconds(5).Ticks; // 10 s after the first entry
        Assert.True(budget.TryLog(typeof(TimeoutException), out skipped));
        Assert.Equal(500, skipped);
        Assert.False(budget.TryLog(typeof(TimeoutException), out _));
    }
}
