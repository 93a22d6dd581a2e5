using Parley.Abstractions.Push;

namespace Parley.Push.Pipeline;

/// <summary>
/// Holds pushes whose not-before time is in the future (quiet hours, coalescing windows, retry backoff, vendor pauses)
/// and moves them into the lanes when due. One timer on the injected <see cref="TimeProvider"/>, re-armed for the
/// earliest item, so tests drive it with a fake clock.
/// Its timer callback never throws: an exception there is unhandled on a thread-pool thread and ends the process (in a
/// test run, "Test Run Aborted" with no output). A push that falls due while the pipeline shuts down (the lanes already
/// disposed) stays pending in the journal and is scheduled again by the next start's recovery.
/// </summary>
internal sealed class PushScheduler : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Action<PushRecord> _due;
    private readonly PriorityQueue<PushRecord, long> _queue = new();
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

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
            if (_disposed)
            {
                return; // shut down: the push is pending in the journal, the next start schedules it
            }

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
            if (_disposed)
            {
                return;
            }

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
            try
            {
                _due(r);
            }
            catch (ObjectDisposedException)
            {
                // The pipeline was disposed between the dequeue and this hand-over (a shutdown racing the timer): the
                // due pushes are still pending in the journal.
                return;
            }
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

    public void Dispose()
    {
        lock (_lock)
        {
            // Under the lock: no Fire or Schedule re-arms the timer after it is disposed (Change would throw).
            _disposed = true;
            _queue.Clear();
        }

        _timer.Dispose();
    }
}
