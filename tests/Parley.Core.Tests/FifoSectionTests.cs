using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>The FIFO section that keeps a reentrant conversation's sends in arrival order across awaits.</summary>
public sealed class FifoSectionTests
{
    [Fact]
    public async Task FifoSection_ConcurrentCallersAwaitingInside_PassInArrivalOrderOneAtATime()
    {
        var section = new FifoSection();
        var order = new List<int>();
        var inside = 0;
        var overlapped = false;

        async Task RunAsync(int caller, Task entry, FifoSection.Ticket release)
        {
            try
            {
                await entry;
                if (Interlocked.Increment(ref inside) > 1)
                {
                    overlapped = true;
                }

                lock (order)
                {
                    order.Add(caller);
                }

                // Later callers get the thread pool meanwhile; the section must still hold them back.
                for (var i = 0; i < (caller % 3) + 1; i++)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref inside);
            }
            finally
            {
                release.Release();
            }
        }

        var runs = new List<Task>();
        for (var caller = 0; caller < 50; caller++)
        {
            var entry = section.EnterAsync(out var release);
            var arrival = caller;
            runs.Add(Task.Run(() => RunAsync(arrival, entry, release)));
        }

        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(overlapped, "two callers were inside the section at once");
        Assert.Equal(Enumerable.Range(0, 50), order);
    }

    [Fact]
    public async Task FifoSection_ReleaseTwice_LetsOnlyTheNextCallerIn()
    {
        var section = new FifoSection();
        await section.EnterAsync(out var first);
        var second = section.EnterAsync(out var releaseSecond);
        var third = section.EnterAsync(out _);

        first.Release();
        first.Release();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(third.IsCompleted);
        releaseSecond.Release();
        await third.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
