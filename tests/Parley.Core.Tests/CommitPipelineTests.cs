using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Telemetry;

namespace Parley.Core.Tests;

/// <summary>The group commit pipeline on a faulting store: the "no gaps after a failure" rule, epochs, ordering.</summary>
public sealed class CommitPipelineTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly FaultingMessageStore _store = new();
    private readonly ConcurrentQueue<(string Conversation, long Seq, long Version)> _dispatched = new();
    private readonly CommitPipeline _pipeline;

    public CommitPipelineTests()
    {
        _pipeline = new CommitPipeline(_store, new ParleyMetrics(new TestMeterFactory()), Options.Create(new MessagingOptions()), NullLogger<CommitPipeline>.Instance);
    }

    public Task InitializeAsync() => _pipeline.StartAsync(CancellationToken.None);

    public async Task DisposeAsync() => await _pipeline.DisposeAsync();

    [Fact]
    public async Task CommitPipeline_FailedItemInBatch_IsolatesItAndNeverCommitsALaterSeqOfItsEpoch()
    {
        var epochA = Guid.NewGuid();
        var epochB = Guid.NewGuid();
        _store.FailsOn = m => m.ConversationId == "a" && m.Seq == 2;

        // Hold the writer on a first commit so the next four queue up and are written as one batch.
        var hold = _store.HoldNextCommit(out var entered);
        var warmUp = Submit("w", Guid.NewGuid(), 1);
        await entered.WaitAsync(Timeout);
        var a1 = Submit("a", epochA, 1);
        var a2 = Submit("a", epochA, 2);
        var a3 = Submit("a", epochA, 3);
        var b1 = Submit("b", epochB, 1);
        hold.SetResult();

        await warmUp.WaitAsync(Timeout);
        await a1.WaitAsync(Timeout);
        await b1.WaitAsync(Timeout);
        await Assert.ThrowsAsync<CommitFailedException>(() => a2.WaitAsync(Timeout));
        await Assert.ThrowsAsync<CommitFailedException>(() => a3.WaitAsync(Timeout));

        // Seq 3 was refused although the store would have taken it: it must not exist without seq 2.
        Assert.Equal([1L], _store.Committed.Where(m => m.ConversationId == "a").Select(m => m.Seq));
        Assert.Equal([1L], _store.Committed.Where(m => m.ConversationId == "b").Select(m => m.Seq));
        Assert.DoesNotContain(_dispatched, d => d.Conversation == "a" && d.Seq > 1);
    }

    [Fact]
    public async Task CommitPipeline_AfterAFailure_RefusesTheEpochAtSubmissionAndAcceptsAFreshActivation()
    {
        var epoch = Guid.NewGuid();
        _store.FailsOn = m => m.ConversationId == "a" && m.Seq == 1;
        await Assert.ThrowsAsync<CommitFailedException>(() => Submit("a", epoch, 1).WaitAsync(Timeout));
        var callsAfterFailure = _store.CommitCalls;

        // The activation that lost seq 1 may not write seq 2: refused before it reaches the store.
        var refused = Submit("a", epoch, 2);
        Assert.True(refused.IsFaulted);
        await Assert.ThrowsAsync<CommitFailedException>(() => refused);
        Assert.Equal(callsAfterFailure, _store.CommitCalls);

        // Another conversation, and the same conversation's next activation (new epoch, reloaded seqs), go on.
        _store.FailsOn = _ => false;
        await Submit("c", epoch, 1).WaitAsync(Timeout);
        await Submit("a", Guid.NewGuid(), 1).WaitAsync(Timeout);
        Assert.Equal(["c", "a"], _store.Committed.Select(m => m.ConversationId));
    }

    [Fact]
    public async Task CommitPipeline_ConcurrentSubmissions_CommitAndDispatchInVersionOrder()
    {
        const int Writers = 4;
        const int PerWriter = 250;
        var submitted = new ConcurrentBag<(string Conversation, long Seq, Task<long> Version)>();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            var epoch = Guid.NewGuid();
            for (var seq = 1; seq <= PerWriter; seq++)
            {
                submitted.Add(("c" + w, seq, Submit("c" + w, epoch, seq)));
            }
        })));
        await Task.WhenAll(submitted.Select(s => s.Version)).WaitAsync(Timeout);

        var versions = submitted.Select(s => s.Version.Result).Order().ToList();
        Assert.Equal(Enumerable.Range(1, Writers * PerWriter).Select(v => (long)v), versions);

        // The store saw versions ascending, dispatch ran in the same order, and each conversation's seqs stayed in order.
        var committedVersions = _store.Committed.Select(m => m.Version).ToList();
        Assert.Equal(committedVersions.Order(), committedVersions);
        Assert.Equal(committedVersions, _dispatched.Select(d => d.Version));
        foreach (var group in _store.Committed.GroupBy(m => m.ConversationId))
        {
            Assert.Equal(Enumerable.Range(1, PerWriter).Select(s => (long)s), group.Select(m => m.Seq));
        }
    }

    [Fact]
    public async Task Submit_TheValueTask_CompletesAfterDispatch_NotOnTheDispatchLoop_AndFailsAsSubmitAsync()
    {
        var epoch = Guid.NewGuid();

        // Two submissions in one batch: the first one's continuation waits for the second, which the dispatch loop
        // completes after the first. Were the continuation run on the dispatch loop, the second could never complete.
        var hold = _store.HoldNextCommit(out var entered);
        var warmUp = Submit("w", Guid.NewGuid(), 1);
        await entered.WaitAsync(Timeout);
        var first = _pipeline.Submit(new TestWork("v", epoch, 1, _dispatched));
        var second = _pipeline.Submit(new TestWork("v", epoch, 2, _dispatched)).AsTask();
        hold.SetResult();
        await warmUp.WaitAsync(Timeout);

        var (version, secondCompleted) = await ContinueAndBlockUntil(first, second);
        Assert.Contains(_dispatched, d => d.Conversation == "v" && d.Seq == 1 && d.Version == version);
        Assert.True(secondCompleted, "the second submission was not completed while the first's continuation ran");
        Assert.Equal(version + 1, await second);
        Assert.Equal([1L, 2L], _store.Committed.Where(m => m.ConversationId == "v").Select(m => m.Seq));

        // A failed commit fails the awaited value with the same exception, and the epoch is refused at submission after it.
        _store.FailsOn = m => m.ConversationId == "v" && m.Seq == 3;
        await Assert.ThrowsAsync<CommitFailedException>(async () => await _pipeline.Submit(new TestWork("v", epoch, 3, _dispatched)));
        var refused = _pipeline.Submit(new TestWork("v", epoch, 4, _dispatched));
        Assert.True(refused.IsFaulted);
        await Assert.ThrowsAsync<CommitFailedException>(async () => await refused);
        Assert.DoesNotContain(_dispatched, d => d.Conversation == "v" && d.Seq > 2);
    }

    // Awaits the first submission where the pipeline continues it (not the test's context), then blocks that thread until
    // the second completes or the timeout passes: only a continuation on the dispatch loop itself could stop the second.
    private static async Task<(long Version, bool SecondCompleted)> ContinueAndBlockUntil(ValueTask<long> first, Task<long> second)
    {
        var version = await first.ConfigureAwait(false);
        return (version, second.Wait(Timeout));
    }

    [Fact]
    public async Task CommitPipeline_EntryThatIsItsOwnWork_CompletedOnceAfterDispatch_FailedOnce_RefusedWhenPoisoned()
    {
        // Stop 45 (issue 17): a grain's one-way send is queued as its own entry (Enqueue), with no task source or awaiting
        // state machine: its completion must come exactly once, after its OnCommitted, with its version; a failed commit
        // fails it once; and its epoch's next entry is refused at submission (never completed, never written).
        var epoch = Guid.NewGuid();
        var ok = new TestEntry("e", epoch, 1, _dispatched);
        Assert.Null(_pipeline.Enqueue(ok));
        var version = await ok.Done.Task.WaitAsync(Timeout);
        Assert.Contains(_dispatched, d => d.Conversation == "e" && d.Seq == 1 && d.Version == version);
        Assert.True(ok.DispatchedBeforeCompletion);

        _store.FailsOn = m => m.ConversationId == "e" && m.Seq == 2;
        var failed = new TestEntry("e", epoch, 2, _dispatched);
        Assert.Null(_pipeline.Enqueue(failed));
        await Assert.ThrowsAsync<CommitFailedException>(() => failed.Done.Task.WaitAsync(Timeout));

        var callsAfterFailure = _store.CommitCalls;
        var refused = new TestEntry("e", epoch, 3, _dispatched);
        Assert.IsType<CommitFailedException>(_pipeline.Enqueue(refused));
        _store.FailsOn = _ => false;
        await Submit("f", Guid.NewGuid(), 1).WaitAsync(Timeout); // a later batch: the refused entry was never queued
        Assert.False(refused.Done.Task.IsCompleted);
        Assert.DoesNotContain(_store.Committed, m => m.ConversationId == "e" && m.Seq > 1);
        Assert.Equal((1, 1, 0), (ok.Completions, failed.Completions, refused.Completions));
        Assert.True(_store.CommitCalls > callsAfterFailure);
    }

    private Task<long> Submit(string conversation, Guid epoch, long seq) =>
        _pipeline.SubmitAsync(new TestWork(conversation, epoch, seq, _dispatched));

    private sealed class TestEntry(string conversation, Guid epoch, long seq, ConcurrentQueue<(string, long, long)> dispatched) : CommitEntry, ICommitWork
    {
        private int _dispatchedCount;
        private int _completions;

        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Completions => Volatile.Read(ref _completions);

        public bool DispatchedBeforeCompletion { get; private set; }

        public override ICommitWork Work => this;

        public string ConversationId => conversation;

        public Guid Epoch => epoch;

        public void AddTo(CommitBatch batch, long version) =>
            batch.Messages.Add(new StoredMessage(conversation, seq, $"{conversation}-{seq}", "u", $"m{seq}", 0, 1, [], false, version));

        public void OnCommitted(long version)
        {
            Interlocked.Increment(ref _dispatchedCount);
            dispatched.Enqueue((conversation, seq, version));
        }

        protected override void Completed(long version)
        {
            Interlocked.Increment(ref _completions);
            DispatchedBeforeCompletion = Volatile.Read(ref _dispatchedCount) == 1;
            Done.TrySetResult(version);
        }

        protected override void Failed(Exception exception)
        {
            Interlocked.Increment(ref _completions);
            Done.TrySetException(exception);
        }
    }

    private sealed class TestWork(string conversation, Guid epoch, long seq, ConcurrentQueue<(string, long, long)> dispatched) : ICommitWork
    {
        public string ConversationId => conversation;

        public Guid Epoch => epoch;

        public void AddTo(CommitBatch batch, long version) =>
            batch.Messages.Add(new StoredMessage(conversation, seq, $"{conversation}-{seq}", "u", $"m{seq}", 0, 1, [], false, version));

        public void OnCommitted(long version) => dispatched.Enqueue((conversation, seq, version));
    }
}

internal sealed class TestMeterFactory : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}
