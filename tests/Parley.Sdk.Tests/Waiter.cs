using System.Collections.Concurrent;

namespace Parley.Sdk.Tests;

/// <summary>Collects items raised by events and awaits conditions on them, with a timeout and a message.</summary>
public sealed class Recorder<T>
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly Lock _lock = new();
    private readonly List<(Func<IReadOnlyList<T>, bool> Condition, TaskCompletionSource Done)> _waiters = [];

    public IReadOnlyList<T> Items => _items.ToArray();

    public void Add(T item)
    {
        _items.Enqueue(item);
        lock (_lock)
        {
            var snapshot = _items.ToArray();
            foreach (var waiter in _waiters.ToArray())
            {
                if (waiter.Condition(snapshot))
                {
                    waiter.Done.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
        }
    }

    public async Task WaitAsync(Func<IReadOnlyList<T>, bool> condition, string what)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (condition(_items.ToArray()))
            {
                return;
            }

            _waiters.Add((condition, done));
        }

        try
        {
            await done.Task.WaitAsync(ScriptedServer.Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out waiting for: {what}. Recorded: {string.Join(", ", _items)}");
        }
    }
}
