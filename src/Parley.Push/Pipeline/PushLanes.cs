using Parley.Abstractions.Push;

namespace Parley.Push.Pipeline;

/// <summary>
/// Three bounded lanes drained in strict priority: IM, then service, then content/marketing. A push is journaled before
/// it enters a lane, so the lanes are only a memory of what is due; capacity bounds memory and gives back-pressure.
/// </summary>
internal sealed class PushLanes : IDisposable
{
    private readonly Queue<(PushRecord Record, bool HoldsSlot)>[] _queues = [new(), new(), new()];
    private readonly SemaphoreSlim[] _space;
    private readonly SemaphoreSlim _items = new(0);
    private readonly Lock _lock = new();

    public PushLanes(PushOptions options)
    {
        _space = [new(options.ImLaneCapacity), new(options.ServiceLaneCapacity), new(options.MarketingLaneCapacity)];
    }

    public static int LaneOf(PushCategory category) => category switch
    {
        PushCategory.Im => 0,
        PushCategory.Service => 1,
        _ => 2,
    };

    public int Depth(int lane)
    {
        lock (_lock)
        {
            return _queues[lane].Count;
        }
    }

    /// <summary>Reserves room in the lane: waits for IM/service, fails at once for content/marketing.</summary>
    public async ValueTask<bool> ReserveAsync(PushCategory category, CancellationToken cancellationToken)
    {
        var lane = LaneOf(category);
        if (lane == 2)
        {
            return _space[lane].Wait(0, cancellationToken);
        }

        await _space[lane].WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public void ReleaseReservation(PushCategory category) => _space[LaneOf(category)].Release();

    /// <summary>Slots a reservation could take now without waiting (under the submit gate this only grows).</summary>
    public int FreeSlots(PushCategory category) => _space[LaneOf(category)].CurrentCount;

    /// <summary>Enqueues; <paramref name="holdsSlot"/> says a reservation was taken (due retries and restarts enter without one).</summary>
    public void Enqueue(PushRecord record, bool holdsSlot)
    {
        lock (_lock)
        {
            _queues[LaneOf(record.Category)].Enqueue((record, holdsSlot));
        }

        _items.Release();
    }

    public async ValueTask<PushRecord> DequeueAsync(CancellationToken cancellationToken)
    {
        await _items.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            return TakeLocked();
        }
    }

    /// <summary>
    /// Waits for one push, then takes up to <paramref name="max"/> of those waiting, highest priority first, into
    /// <paramref name="into"/> (a send loop's batch: it does not wait for a batch to fill).
    /// </summary>
    public async ValueTask DequeueBatchAsync(List<PushRecord> into, int max, CancellationToken cancellationToken)
    {
        await _items.WaitAsync(cancellationToken).ConfigureAwait(false);
        var taken = 1;
        while (taken < max && _items.Wait(0, CancellationToken.None))
        {
            taken++;
        }

        lock (_lock)
        {
            for (var i = 0; i < taken; i++)
            {
                into.Add(TakeLocked());
            }
        }
    }

    private PushRecord TakeLocked()
    {
        for (var lane = 0; lane < _queues.Length; lane++)
        {
            if (_queues[lane].TryDequeue(out var item))
            {
                if (item.HoldsSlot)
                {
                    _space[lane].Release();
                }

                return item.Record;
            }
        }

        throw new InvalidOperationException("Lane item count and queues disagree.");
    }

    public void Dispose()
    {
        _items.Dispose();
        foreach (var s in _space)
        {
            s.Dispose();
        }
    }
}
