using System.Diagnostics;
using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Core.Telemetry;

namespace Parley.Core.Commit;

/// <summary>
/// Group commit: every write of the node goes through one writer loop that takes all queued work, applies it in one
/// transaction and only then completes it. Versions are assigned at submission, so commit order, version order and
/// dispatch order are the same; <see cref="ICommitWork.OnCommitted"/> runs in that order on one dispatch loop,
/// which is what lets clients resume from a single cursor. In a cluster (an <see cref="IOrderedCommitStore"/> is given)
/// the versions come from the shared store instead, reserved inside each batch's transaction under the store's order lock,
/// so version order is commit order across every node (ADR 0016).
/// </summary>
public sealed partial class CommitPipeline : IHostedService, IAsyncDisposable
{
    private readonly IMessageStore _store;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<CommitPipeline> _logger;
    private readonly int _maxBatch;
    private readonly IOrderedCommitStore? _ordered;
    private readonly Webhooks.AfterHooks? _afterHooks;
    private readonly Lock _submitLock = new();
    private readonly Channel<CommitEntry> _queue = Channel.CreateUnbounded<CommitEntry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _wakeEntries;
    private readonly Channel<List<CommitEntry>> _committed = Channel.CreateUnbounded<List<CommitEntry>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly HashSet<(string Conversation, Guid Epoch)> _poisoned = [];
    private long _version;
    private int _undispatched; // batches between the start of their commit and the end of their dispatch
    private bool _started;
    private Task? _writer;
    private Task? _dispatcher;

    public CommitPipeline(IMessageStore store, ParleyMetrics metrics, IOptions<MessagingOptions> options, ILogger<CommitPipeline> logger)
        : this(store, metrics, options, logger, ordered: null)
    {
    }

    /// <param name="ordered">The shared store's version order (a cluster), or null for this node's own counter.</param>
    public CommitPipeline(IMessageStore store, ParleyMetrics metrics, IOptions<MessagingOptions> options, ILogger<CommitPipeline> logger, IOrderedCommitStore? ordered)
        : this(store, metrics, options, logger, ordered, afterHooks: null)
    {
    }

    /// <param name="afterHooks">Adds each batch's after-hook events to the batch (same transaction), or null when none is enabled.</param>
    public CommitPipeline(IMessageStore store, ParleyMetrics metrics, IOptions<MessagingOptions> options, ILogger<CommitPipeline> logger, IOrderedCommitStore? ordered, Webhooks.AfterHooks? afterHooks)
    {
        _afterHooks = afterHooks is { FromCommits: true } ? afterHooks : null;
        _ordered = ordered;
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _maxBatch = options.Value.MaxCommitBatch;
        _wakeEntries = options.Value.FanOutWakeEntries;
    }

    /// <summary>
    /// Raised on the dispatch loop with each committed version once its work was dispatched (its events handed to the
    /// delivery hub), in version order for this node. A cluster's delivery watermark counts it done (ADR 0016).
    /// </summary>
    public event Action<long>? VersionDispatched;

    /// <summary>
    /// True while a batch is being committed (its versions may be reserved already) or its committed versions are not
    /// all dispatched yet. When false, every version this node committed was dispatched, and any version it commits from
    /// now on is above every version committed in the cluster so far (a cluster node's progress mark, ADR 0016).
    /// </summary>
    public bool HasUndispatched => Volatile.Read(ref _undispatched) > 0;

    /// <summary>The highest version handed out so far.</summary>
    public long CurrentVersion => Volatile.Read(ref _version);

    /// <summary>True once the pipeline runs (readiness).</summary>
    public bool IsRunning => _started && _writer is { IsCompleted: false };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _version = await _store.GetMaxVersionAsync(cancellationToken).ConfigureAwait(false);
        _started = true;
        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
        _dispatcher = Task.Run(DispatchLoopAsync, CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_writer is not null && _dispatcher is not null)
        {
            await Task.WhenAll(_writer, _dispatcher).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    /// <summary>Queues work; the task completes with its version once it is durable and dispatched.</summary>
    /// <exception cref="CommitFailedException">The work was refused or its commit failed.</exception>
    public Task<long> SubmitAsync(ICommitWork work) => Submit(work).AsTask();

    /// <summary>
    /// Queues work, as <see cref="SubmitAsync"/>, for a caller that awaits the result once (a grain's send): the value task
    /// is the pipeline's own entry, not a task source and its task per submission (issue 17).
    /// </summary>
    /// <exception cref="CommitFailedException">The work was refused or its commit failed.</exception>
    public ValueTask<long> Submit(ICommitWork work)
    {
        var entry = new Entry(work);
        return Enqueue(entry) is { } refused ? ValueTask.FromException<long>(refused) : entry.Task;
    }

    /// <summary>
    /// Queues an entry that is its own work and completion (a grain's one-way send, issue 17): no entry, task source or
    /// awaiting state machine of the pipeline's per submission. Returns the refusal when it was not queued (then the entry
    /// is never completed); otherwise the writer or the dispatch loop completes it exactly once.
    /// </summary>
    public CommitFailedException? Enqueue(CommitEntry entry)
    {
        lock (_submitLock)
        {
            if (!_started)
            {
                return new CommitFailedException("The commit pipeline is not running.");
            }

            var work = entry.Work;
            if (_poisoned.Count > 0 && _poisoned.Contains((work.ConversationId, work.Epoch)))
            {
                return new CommitFailedException("An earlier write of this conversation failed; the conversation reloads.");
            }

            entry.Version = _ordered is null ? ++_version : 0;
            entry.Trace = ParleyActivities.CurrentContext();
            if (!_queue.Writer.TryWrite(entry))
            {
                return new CommitFailedException("The commit pipeline is shutting down.");
            }

            return null;
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new CommitBatch();
        var reader = _queue.Reader;
        var taken = new List<CommitEntry>(Math.Min(_maxBatch, 64));
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (taken.Count < _maxBatch && reader.TryRead(out var entry))
                {
                    if (IsPoisoned(entry.Work))
                    {
                        entry.TrySetException(new CommitFailedException("An earlier write of this conversation failed."));
                        continue;
                    }

                    taken.Add(entry);
                }

                if (taken.Count == 0)
                {
                    continue;
                }

                // The batch's list goes on to the dispatch loop, so it is new each time: sized to the batch (a list sized for
                // 64 was half a kilobyte per batch, that is per message when batches are small; issue 17).
                var entries = new List<CommitEntry>(taken);
                taken.Clear();

                List<CommitEntry> committed;
                Interlocked.Increment(ref _undispatched); // before the versions are reserved; the dispatch loop ends it
                var spans = StartCommitSpans(entries);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await CommitAsync(entries, batch).ConfigureAwait(false);
                    var durable = Stopwatch.GetTimestamp();
                    foreach (var entry in entries)
                    {
                        entry.Work.Timed(started, durable);
                    }

                    StopCommitSpans(spans, failed: false);
                    committed = entries;
                    _metrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started, durable).TotalSeconds);
                    _metrics.BatchSize.Record(entries.Count);
                }
                catch (Exception ex)
                {
                    _metrics.CommitFailures.Add(1);
                    StopCommitSpans(spans, failed: true);
                    LogBatchFailed(_logger, ex, entries.Count);
                    committed = await CommitOneByOneAsync(entries, batch).ConfigureAwait(false);
                }

                if (committed.Count == 0 || !_committed.Writer.TryWrite(committed))
                {
                    Interlocked.Decrement(ref _undispatched);
                }
            }
        }
        finally
        {
            _committed.Writer.TryComplete();
        }
    }

    // Isolates the failing item(s) of a failed batch; everything after a failure in the same conversation fails too.
    private async Task<List<CommitEntry>> CommitOneByOneAsync(List<CommitEntry> entries, CommitBatch batch)
    {
        var committed = new List<CommitEntry>(entries.Count);
        foreach (var entry in entries)
        {
            if (IsPoisoned(entry.Work))
            {
                entry.TrySetException(new CommitFailedException("An earlier write of this conversation failed."));
                continue;
            }

            try
            {
                await CommitAsync([entry], batch).ConfigureAwait(false);
                committed.Add(entry);
            }
            catch (Exception ex)
            {
                LogItemFailed(_logger, ex, entry.Work.ConversationId);
                lock (_submitLock)
                {
                    _poisoned.Add((entry.Work.ConversationId, entry.Work.Epoch));
                }

                entry.TrySetException(new CommitFailedException("The write could not be committed.", ex));
            }
        }

        return committed;
    }

    // Builds and commits one batch: versions from this node's counter (assigned at submission), or reserved in the
    // shared store's transaction under its order lock (then a failed batch's versions are handed out again).
    private async Task CommitAsync(List<CommitEntry> entries, CommitBatch batch)
    {
        batch.Clear();
        if (_ordered is null)
        {
            foreach (var entry in entries)
            {
                entry.Work.AddTo(batch, entry.Version);
            }

            var events = _afterHooks?.AddTo(batch) == true;
            await _store.CommitAsync(batch).ConfigureAwait(false);
            if (events)
            {
                _afterHooks!.Committed();
            }

            return;
        }

        var commit = await _ordered.BeginAsync(entries.Count).ConfigureAwait(false);
        await using (commit.ConfigureAwait(false))
        {
            var version = commit.FirstVersion;
            foreach (var entry in entries)
            {
                entry.Version = version++;
                entry.Work.AddTo(batch, entry.Version);
            }

            var events = _afterHooks?.AddTo(batch) == true;
            await commit.CommitAsync(batch).ConfigureAwait(false);
            InterlockedMax(ref _version, version - 1);
            if (events)
            {
                _afterHooks!.Committed();
            }
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private bool IsPoisoned(ICommitWork work)
    {
        lock (_submitLock)
        {
            return _poisoned.Count > 0 && _poisoned.Contains((work.ConversationId, work.Epoch));
        }
    }

    private async Task DispatchLoopAsync()
    {
        await foreach (var entries in _committed.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_wakeEntries <= 1)
            {
                DispatchBatch(entries);
            }
            else
            {
                // The batch's frames are queued for every recipient before their send loops are woken, once each (issue 17).
                Delivery.DeferredWakes.Begin();
                try
                {
                    DispatchBatch(entries);
                }
                finally
                {
                    Delivery.DeferredWakes.Flush();
                }
            }

            Interlocked.Decrement(ref _undispatched);
        }
    }

    // Synchronous, on the dispatch loop's thread; with FanOutWakeEntries > 1 inside a DeferredWakes scope, flushed every
    // FanOutWakeEntries entries.
    private void DispatchBatch(List<CommitEntry> entries)
    {
        var sinceFlush = 0;
        foreach (var entry in entries)
        {
            if (++sinceFlush > _wakeEntries && _wakeEntries > 1)
            {
                Delivery.DeferredWakes.Flush();
                Delivery.DeferredWakes.Begin();
                sinceFlush = 1;
            }

            try
            {
                using var fanOut = ParleyActivities.StartChild("fan-out", entry.Trace);
                entry.Work.OnCommitted(entry.Version);
            }
            catch (Exception ex)
            {
                // Delivery is a hint; storage is the truth. The work is durable, so it still succeeds.
                LogDispatchFailed(_logger, ex, entry.Work.ConversationId);
            }

            try
            {
                VersionDispatched?.Invoke(entry.Version);
            }
            catch (Exception ex)
            {
                LogDispatchFailed(_logger, ex, entry.Work.ConversationId);
            }

            entry.TrySetResult();
        }
    }

    // One "commit" span per traced item (a batch serves many messages, each in its own trace); Current is left as it was.
    private static List<Activity>? StartCommitSpans(List<CommitEntry> entries)
    {
        if (!ParleyActivities.Source.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        List<Activity>? spans = null;
        foreach (var entry in entries)
        {
            if (ParleyActivities.StartChild("commit", entry.Trace) is { } span)
            {
                span.SetTag("parley.commit.batch_size", entries.Count);
                (spans ??= []).Add(span);
            }
        }

        Activity.Current = previous;
        return spans;
    }

    private static void StopCommitSpans(List<Activity>? spans, bool failed)
    {
        if (spans is null)
        {
            return;
        }

        var previous = Activity.Current;
        foreach (var span in spans)
        {
            if (failed)
            {
                span.SetStatus(ActivityStatusCode.Error, "group commit failed; retried item by item");
            }

            span.Stop();
        }

        Activity.Current = previous;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Group commit of {Count} items failed; retrying item by item")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Commit failed for conversation {ConversationId}; its activation must reload")]
    private static partial void LogItemFailed(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Dispatch after commit failed for conversation {ConversationId}")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception, string conversationId);

    /// <summary>
    /// One submission, and the completion its submitter awaits: a single-use value-task source (completed once, by the
    /// writer or the dispatch loop; awaited once). Continuations run asynchronously, as the task source's did: on the
    /// awaiter's scheduler (a grain's activation) when it has one, else on the thread pool, never on the pipeline's loops.
    /// </summary>
    private sealed class Entry(ICommitWork work) : CommitEntry, IValueTaskSource<long>
    {
        private ManualResetValueTaskSourceCore<long> _completion = new() { RunContinuationsAsynchronously = true };

        public override ICommitWork Work { get; } = work;

        public ValueTask<long> Task => new(this, _completion.Version);

        protected override void Completed(long version) => _completion.SetResult(version);

        protected override void Failed(Exception exception) => _completion.SetException(exception);

        long IValueTaskSource<long>.GetResult(short token) => _completion.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<long>.GetStatus(short token) => _completion.GetStatus(token);

        void IValueTaskSource<long>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>
/// One submission to the <see cref="CommitPipeline"/>: its work, version and trace, and its completion, called exactly once
/// by the writer (a refusal or failed commit) or the dispatch loop (after <see cref="ICommitWork.OnCommitted"/>). A work
/// that derives from it is queued as itself (<see cref="CommitPipeline.Enqueue"/>, issue 17); single use.
/// </summary>
public abstract class CommitEntry
{
    private int _completed;

    /// <summary>What is committed (the entry itself when it is its own work).</summary>
    public abstract ICommitWork Work { get; }

    // The submitter's span when it was recorded, boxed: null for nearly every entry (a 40 B struct in each, issue 17).
    private System.Runtime.CompilerServices.StrongBox<ActivityContext>? _trace;

    /// <summary>Assigned at submission (node counter) or by the writer inside the commit (ordered store).</summary>
    public long Version { get; internal set; }

    internal ActivityContext Trace
    {
        get => _trace?.Value ?? default;
        set => _trace = value == default ? null : new(value);
    }

    /// <summary>Completes the submission with its <see cref="Version"/>, unless it was completed already.</summary>
    internal void TrySetResult()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            Completed(Version);
        }
    }

    /// <summary>Fails the submission, unless it was completed already.</summary>
    internal void TrySetException(Exception exception)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            Failed(exception);
        }
    }

    /// <summary>The work is durable and dispatched; called once, on the dispatch loop. Must not block or throw.</summary>
    protected abstract void Completed(long version);

    /// <summary>The work was refused or its commit failed (a <see cref="CommitFailedException"/>); called once, on the
    /// writer's loop. Must not block or throw.</summary>
    protected abstract void Failed(Exception exception);
}
