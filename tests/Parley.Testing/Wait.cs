using System.Diagnostics;

namespace Parley.Testing;

/// <summary>Awaits a condition with a timeout and a message; no sleeps as synchronisation.</summary>
public static class Wait
{
    public static Task UntilAsync(Func<bool> condition, string because, TimeSpan? timeout = null) =>
        UntilAsync(condition, () => because, timeout);

    /// <summary>As above; <paramref name="describe"/> runs when the wait times out, so the failure says what the test saw then.</summary>
    public static async Task UntilAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var watch = Stopwatch.StartNew();
        var delay = 5;
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting until {describe()}.");
            }

            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    public static async Task<T> ForAsync<T>(Task<T> task, string because, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Timed out waiting for {because}.");
            throw;
        }
    }
}
