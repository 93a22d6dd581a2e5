namespace Parley.Core.Delivery;

/// <summary>A reader whose wake-up can be held back while a committed batch is fanned out (<see cref="DeferredWakes"/>).</summary>
internal interface IDeferredWake
{
    /// <summary>Wakes the reader now; called exactly once for each <see cref="DeferredWakes.TryDefer"/> that returned true.</summary>
    void Wake();
}

/// <summary>
/// Holds back the wake-ups of the connections' send loops while the commit pipeline's dispatch loop fans out the entries of
/// one committed batch, and wakes each of them once at the end (or every <c>Parley:Messaging:FanOutWakeEntries</c> entries;
/// 1, the default, does not defer). Without it the
/// first message of a batch woke a 500-member group's 499 send loops, one thread-pool work item each, and those ran
/// beside the fan-out of the batch's next messages (on one core: time-sliced with it), writing one or two frames each,
/// contending for the outboxes' locks the fan-out was taking, and being woken again by the next message (issue 17, stop
/// 43). Per thread: only the dispatch loop's thread defers, and only between <see cref="Begin"/> and <see cref="Flush"/>;
/// everything else (a request's answer, a sync, a cluster peer's stream) wakes at once as before. What is queued and in
/// which order is unchanged; only when each send loop is told.
/// </summary>
internal static class DeferredWakes
{
    [ThreadStatic]
    private static List<IDeferredWake>? t_pending;

    [ThreadStatic]
    private static bool t_active;

    /// <summary>From now on this thread's wake-ups are held until <see cref="Flush"/>.</summary>
    public static void Begin()
    {
        t_pending ??= new List<IDeferredWake>(512);
        t_active = true;
    }

    /// <summary>True: the caller's reader is woken by the next <see cref="Flush"/> on this thread; false: wake it now.</summary>
    public static bool TryDefer(IDeferredWake reader)
    {
        if (!t_active)
        {
            return false;
        }

        t_pending!.Add(reader);
        return true;
    }

    /// <summary>Wakes every reader held since <see cref="Begin"/> (each once) and stops holding.</summary>
    public static void Flush()
    {
        t_active = false;
        var pending = t_pending;
        if (pending is null || pending.Count == 0)
        {
            return;
        }

        for (var i = 0; i < pending.Count; i++)
        {
            try
            {
                pending[i].Wake();
            }
            catch (InvalidOperationException)
            {
                // A reader already woken: nothing more to do for it; the others are still woken.
            }
        }

        pending.Clear();
    }
}
