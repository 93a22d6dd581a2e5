using Parley.Abstractions.Push;

namespace Parley.Push.Pipeline;

/// <summary>
/// Holds pushes whose not-before time is in the future (quiet hours, coalescing windows, retry backoff, vendor pauses)
/// and moves them into the lanes when due. One timer on the injected <see cref="TimeProvider"/>, re-armed for the
/// earliest item, so tests drive it with a fake clock.
/// </summary>
internal sealed class PushScheduler : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Action<PushRecord> _due;
    private readonly PriorityQueue<PushRecord, long> _queue = new();
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;

    public PushScheduler(TimeProvider time, Action<PushRecord> due)
    {
        _time = time;
        _due = due;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public void Schedule(PushRecord record)
    {
        if (record.NotBefore <= _time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            _due(record);
            return;
        }

        lock (_lock)
        {
            _queue.Enqueue(record, record.NotBefore);
            ArmLocked();
        }
    }

    /// <summary>Removes a scheduled push (a digest being rewritten); returns it if it was there.</summary>
    public PushRecord? Remove(string pushId)
    {
        lock (_lock)
        {
            PushRecord? found = null;
            var keep = new List<(PushRecord, long)>(_queue.Count);
            while (_queue.TryDequeue(out var r, out var p))
            {
                if (found is null && r.PushId == pushId)
                {
                    found = r;
                }
                else
                {
                    keep.Add((r, p));
                }
            }

            _queue.EnqueueRange(keep);
            return found;
        }
    }

    private void Fire()
    {
        var due = new List<PushRecord>();
        lock (_lock)
        {
            _armedFor = long.MaxValue;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            while (_queue.TryPeek(out var r, out var at) && at <= now)
            {
                _queue.Dequeue();
                due.Add(r);
            }

            ArmLocked();
        }

        foreach (var r in due)
        {
            _due(r);
        }
    }

    private void ArmLocked()
    {
        if (!_queue.TryPeek(out _, out var at) || at >= _armedFor)
        {
            return;
        }

        _armedFor = at;
        var delay = TimeSpan.FromMilliseconds(Math.Max(0, at - _time.GetUtcNow().ToUnixTimeMilliseconds()));
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _timer.Dispose();
}
