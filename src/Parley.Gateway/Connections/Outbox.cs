using System.Threading.Tasks.Sources;
using Parley.Core.Delivery;

namespace Parley.Gateway.Connections;

/// <summary>
/// A connection's bounded queue of frames to write, with one reader (its send loop) and any number of writers: what the
/// connection used a <c>BoundedChannel</c> for, under one <see cref="Lock"/>. In a 500-member group's fan-out (1M
/// deliveries/s) the channel's <c>TryWrite</c> and <c>TryRead</c> were 15–22 % of the server's samples, most of it in the
/// runtime's monitor that guards the channel (issue 17). <see cref="TryWrite"/> never waits; <see cref="WriteAsync"/> waits for
/// room; after <see cref="Complete"/> nothing more is taken and the reader drains what is left.
/// </summary>
internal sealed class Outbox<T> : IValueTaskSource<bool>, IDeferredWake
{
    private readonly Lock _lock;
    private readonly Queue<T> _items = new();
    private readonly int _capacity;
    private ManualResetValueTaskSourceCore<bool> _reader = new() { RunContinuationsAsynchronously = true };
    private bool _readerWaiting;
    private bool _completed;
    private TaskCompletionSource? _room;

    /// <param name="capacity">Most items queued at once.</param>
    /// <param name="sharedLock">The owner's lock, when it queues under its own lock anyway (<see cref="TryWriteLocked"/>: one
    /// lock per item instead of two); null: a lock of its own.</param>
    public Outbox(int capacity, Lock? sharedLock = null)
    {
        _capacity = capacity;
        _lock = sharedLock ?? new Lock();
    }

    /// <summary>Queues <paramref name="item"/> if there is room; false when full or completed.</summary>
    public bool TryWrite(T item)
    {
        bool wake;
        bool queued;
        lock (_lock)
        {
            queued = TryWriteLocked(item, out wake);
        }

        if (wake)
        {
            WakeReader();
        }

        return queued;
    }

    /// <summary>
    /// <see cref="TryWrite"/> for an owner that holds the shared lock: queues <paramref name="item"/> if there is room; when
    /// <paramref name="wake"/> comes back true the caller calls <see cref="WakeReader"/> once it released the lock.
    /// </summary>
    public bool TryWriteLocked(T item, out bool wake)
    {
        System.Diagnostics.Debug.Assert(_lock.IsHeldByCurrentThread, "the outbox's lock is held");
        wake = false;
        if (_completed || _items.Count >= _capacity)
        {
            return false;
        }

        _items.Enqueue(item);
        wake = _readerWaiting;
        _readerWaiting = false;
        return true;
    }

    /// <summary>Wakes the waiting reader after a write that said so (outside the lock).</summary>
    public void WakeReader()
    {
        // In the commit pipeline's dispatch of a batch the reader is woken once at its end (DeferredWakes): until then it
        // is not waiting any more as far as other writers know, so it is woken exactly once.
        if (!DeferredWakes.TryDefer(this))
        {
            _reader.SetResult(true);
        }
    }

    void IDeferredWake.Wake() => _reader.SetResult(true);

    /// <summary>Queues <paramref name="item"/>, waiting for room; false once completed (then it was not queued).</summary>
    public async ValueTask<bool> WriteAsync(T item, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task room;
            var wake = false;
            lock (_lock)
            {
                if (_completed)
                {
                    return false;
                }

                if (_items.Count < _capacity)
                {
                    _items.Enqueue(item);
                    room = Task.CompletedTask;
                    wake = _readerWaiting;
                    _readerWaiting = false;
                }
                else
                {
                    room = (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                }
            }

            if (room.IsCompleted)
            {
                if (wake)
                {
                    _reader.SetResult(true);
                }

                return true;
            }

            await room.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The reader's next item, if any; frees room for a waiting writer.</summary>
    public bool TryRead(out T item)
    {
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (!_items.TryDequeue(out item!))
            {
                return false;
            }

            room = _room;
            _room = null;
        }

        room?.TrySetResult();
        return true;
    }

    /// <summary>True when an item can be read; false once completed and drained. One reader only.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_lock)
        {
            if (_items.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _reader.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _reader.Version);
        }
    }

    /// <summary>Takes no more items; waiting writers return false, the reader drains what is queued.</summary>
    public void Complete()
    {
        bool wake;
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            wake = _readerWaiting;
            _readerWaiting = false;
            room = _room;
            _room = null;
        }

        if (wake)
        {
            _reader.SetResult(false); // it waited, so nothing was queued
        }

        room?.TrySetResult();
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _reader.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _reader.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _reader.OnCompleted(continuation, state, token, flags);
}
