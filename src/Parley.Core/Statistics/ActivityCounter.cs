using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Statistics;
using Parley.Core.Push;
using Parley.Protocol;

namespace Parley.Core.Statistics;

/// <summary>
/// Counts user messages per UTC day, per sender (1:1 and group apart) and per group, for OpenIM's
/// <c>/statistics/user/active</c> and <c>/statistics/group/active</c>. Hears every committed message on the commit
/// dispatch loop (a dictionary increment), and adds the coalesced counts to the store every
/// <see cref="FlushInterval"/> and at shutdown, so the send path writes nothing more. A node that dies loses at most
/// its last interval's counts (statistics, not messages).
/// </summary>
public sealed partial class ActivityCounter(IActivityStore store, TimeProvider time, ILogger<ActivityCounter> logger) : BackgroundService, IMessageCommittedObserver
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private const long MillisecondsPerDay = 86_400_000;

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private Dictionary<(int Day, ActivityKind Kind, string Subject), long> _pending = [];

    // The dictionary of the last flush that stored its counts, emptied: the next interval counts into it. A new one per
    // interval grew from empty to every sender of the interval again (its resizes were ~0.06 KB of every message at
    // 300 msg/s, issue 17). Under _lock.
    private Dictionary<(int Day, ActivityKind Kind, string Subject), long>? _spare;

    public void OnMessageCommitted(StoredMessage message, IReadOnlyList<string> recipients, ConversationKind kind, string conversationName)
    {
        if (!ContentKinds.IsUserContent(message.ContentKind))
        {
            return;
        }

        var day = (int)(message.ServerTime / MillisecondsPerDay);
        var group = kind == ConversationKind.Group;
        lock (_lock)
        {
            Add((day, group ? ActivityKind.GroupSender : ActivityKind.DirectSender, message.SenderId));
            if (group)
            {
                Add((day, ActivityKind.Group, message.ConversationId[3..]));
            }
        }
    }

    /// <summary>Writes the counts gathered so far (the statistics calls flush first, so this node's counts are exact).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Dictionary<(int Day, ActivityKind Kind, string Subject), long> taken;
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                taken = _pending;
                _pending = _spare ?? new(taken.Count);
                _spare = null;
            }

            try
            {
                var counts = new ActivityCount[taken.Count];
                var i = 0;
                foreach (var (key, count) in taken)
                {
                    counts[i++] = new ActivityCount(key.Day, key.Kind, key.Subject, count);
                }

                await store.AddAsync(counts, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Put them back: the next flush tries again.
                lock (_lock)
                {
                    foreach (var (key, count) in taken)
                    {
                        _pending[key] = _pending.GetValueOrDefault(key) + count;
                    }
                }

                throw;
            }

            taken.Clear(); // keeps its capacity
            lock (_lock)
            {
                _spare = taken;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await TryFlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await TryFlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _flushing.Dispose();
        base.Dispose();
    }

    private async Task TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFlushFailed(logger, ex);
        }
    }

    private void Add((int, ActivityKind, string) key) =>
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pending, key, out _)++;

    [LoggerMessage(EventId = 5501, Level = LogLevel.Warning, Message = "Activity counts could not be stored; kept for the next flush")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
