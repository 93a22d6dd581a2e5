namespace Parley.Core.Messaging;

/// <summary>
/// A first-in-first-out section of a reentrant grain: callers pass through in the order they entered, even across
/// awaits inside the section. Entered and released from grain turns; the lock is for callers elsewhere (tests).
/// Entering a free section allocates nothing (issue 17: a task source, a closure and a delegate per send before); a
/// caller that has to wait gets a task source, completed when the caller before it releases.
/// </summary>
internal sealed class FifoSection
{
    // Locks on itself (internal, never handed out): a Lock object of its own was 40 B of every active conversation (issue 17).
    private long _lastTicket;
    private long _owner; // the ticket inside the section; 0: free
    private Queue<(long Ticket, TaskCompletionSource Entered)>? _waiting;

    /// <summary>
    /// Enters the section; the returned task completes once every earlier caller released. Call
    /// <see cref="Ticket.Release"/> of <paramref name="ticket"/> once the task completed, from a finally, and earlier where
    /// the section may end early (it is idempotent: only the first call of a ticket lets the next caller in).
    /// </summary>
    public Task EnterAsync(out Ticket ticket)
    {
        lock (this)
        {
            var mine = ++_lastTicket;
            ticket = new Ticket(this, mine);
            if (_owner == 0)
            {
                _owner = mine;
                return Task.CompletedTask;
            }

            var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (_waiting ??= new()).Enqueue((mine, entered));
            return entered.Task;
        }
    }

    private void Exit(long ticket)
    {
        TaskCompletionSource? next = null;
        lock (this)
        {
            if (_owner != ticket)
            {
                return; // released before
            }

            if (_waiting is { Count: > 0 } waiting)
            {
                (_owner, next) = waiting.Dequeue();
            }
            else
            {
                _owner = 0;
            }
        }

        next?.TrySetResult();
    }

    /// <summary>One caller's pass through the section.</summary>
    internal readonly struct Ticket(FifoSection section, long id)
    {
        /// <summary>Lets the next caller in; later calls of the same ticket do nothing.</summary>
        public void Release() => section.Exit(id);
    }
}
