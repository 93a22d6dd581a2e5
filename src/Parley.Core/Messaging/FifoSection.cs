namespace Parley.Core.Messaging;

/// <summary>
/// A first-in-first-out section of a reentrant grain: callers pass through in the order they entered, even across
/// awaits inside the section. Entered only from grain turns (one thread at a time), so it needs no lock.
/// </summary>
internal sealed class FifoSection
{
    private Task _tail = Task.CompletedTask;

    /// <summary>
    /// Enters the section; the returned task completes once every earlier caller released. <paramref name="release"/>
    /// lets the next caller in (idempotent: call it from a finally, and earlier where the section may end early).
    /// </summary>
    public Task EnterAsync(out Action release)
    {
        var previous = _tail;
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _tail = mine.Task;
        var released = 0;
        release = () =>
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                mine.TrySetResult();
            }
        };
        return previous;
    }
}
