using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>Dedup of sends under client retries (same sender and client message id).</summary>
public sealed class SendDedupTests
{
    private static readonly MessageAck Ack = new("si_a_b", 7, "srv-7", 1_700_000_000_000, false, 42);

    [Fact]
    public async Task SendDedup_RetryWhileFirstAttemptCommits_GetsTheSameAckMarkedDuplicate()
    {
        var dedup = new SendDedup(16);
        var first = new TestPendingSend();
        dedup.Remember("a", "m1", first);

        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        var retry = SendDedup.AsDuplicateAsync(earlier);
        Assert.False(retry.IsCompleted);

        var ack = CoreResult.Success(Ack);
        dedup.Settle("a", "m1", first, ack);
        var result = await retry.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsOk);
        Assert.Equal(Ack with { Duplicate = true }, result.Value);

        // The key now holds the ack itself (not the send), unmarked.
        Assert.True(dedup.TryGet("a", "m1", out var later));
        Assert.True(later.IsCompletedSuccessfully);
        var kept = await later;
        Assert.Equal(ack.Value, kept.Value); // the same ack's fields, in an ack and result made again for the retry
        Assert.True(kept.IsOk);
        Assert.False(kept.Value!.Duplicate);
    }

    [Fact]
    public async Task SendDedup_RetriesWhileInFlight_ShareOneTaskCompletedBySettle()
    {
        var dedup = new SendDedup(16);
        var first = new TestPendingSend();
        dedup.Remember("a", "m1", first);
        dedup.Remember("b", "m1", CoreResult.Success(Ack)); // the dictionary holds both keys from here on

        Assert.True(dedup.TryGet("a", "m1", out var one));
        Assert.True(dedup.TryGet("a", "m1", out var two));
        Assert.Same(one, two);
        Assert.False(one.IsCompleted);

        var ack = CoreResult.Success(Ack with { Seq = 8 });
        dedup.Settle("a", "m1", first, ack);
        Assert.Same(ack, await one.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(dedup.TryGet("a", "m1", out var later));
        Assert.Equal(ack.Value, (await later).Value);
        Assert.Equal(2, dedup.Count);
    }

    [Fact]
    public async Task SendDedup_FailedAttemptSettledAfterItsRetryStarted_LeavesTheRetryInPlace()
    {
        var dedup = new SendDedup(16);
        var failed = new TestPendingSend();
        dedup.Remember("a", "m1", failed);
        Assert.True(dedup.TryGet("a", "m1", out var waiting));

        // The grain forgets a failed attempt, then completes it; a later retry is a new attempt under the same key.
        dedup.Forget("a", "m1");
        var retry = new TestPendingSend();
        dedup.Remember("a", "m1", retry);
        CoreResult<MessageAck> failure = CoreResult.Fail(CoreError.Unavailable, "not stored");
        dedup.Settle("a", "m1", failed, failure);

        Assert.Same(failure, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(dedup.TryGet("a", "m1", out var current));
        Assert.False(current.IsCompleted); // still the retry's, not the failure
        dedup.Settle("a", "m1", retry, CoreResult.Success(Ack));
        Assert.True(dedup.TryGet("a", "m1", out current));
        Assert.Equal(Ack, (await current).Value);
    }

    [Fact]
    public async Task SendDedup_RetryOfARefusal_GetsTheSameRefusal()
    {
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", (CoreResult<MessageAck>)CoreResult.Fail(CoreError.Blocked, "blocked"));
        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        var result = await SendDedup.AsDuplicateAsync(earlier);
        Assert.Equal(CoreError.Blocked, result.Error);
        Assert.Equal(default, result.Value); // a value since stop 47: the default ack
    }

    [Fact]
    public void SendDedup_FailedAttemptForgotten_RetryIsANewSend()
    {
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", CoreResult.Success(Ack));
        dedup.Forget("a", "m1");
        Assert.False(dedup.TryGet("a", "m1", out _));

        // Keys are per sender: another sender's identical client id is another message.
        dedup.Remember("a", "m1", CoreResult.Success(Ack));
        Assert.False(dedup.TryGet("b", "m1", out _));
    }

    [Fact]
    public void SendDedup_OverItsLimit_DropsCompletedKeysKeepsInFlightOnesAndAsksTheStoreAfterwards()
    {
        var dedup = new SendDedup(3) { AllKeysKnown = true };
        var inFlight = new TestPendingSend();
        dedup.Remember("a", "m1", CoreResult.Success(Ack));
        dedup.Remember("a", "m2", inFlight);
        dedup.Remember("a", "m3", CoreResult.Success(Ack));
        Assert.True(dedup.AllKeysKnown);

        dedup.Remember("a", "m4", CoreResult.Success(Ack));

        Assert.False(dedup.AllKeysKnown);
        Assert.False(dedup.TryGet("a", "m1", out _));
        Assert.True(dedup.TryGet("a", "m2", out var kept));
        Assert.False(kept.IsCompleted);
        Assert.True(dedup.TryGet("a", "m4", out _));
        Assert.Equal(2, dedup.Count);
    }

    [Fact]
    public async Task SendDedup_SecondKeyJoinsTheFirst_BothFoundAndForgottenApart()
    {
        var dedup = new SendDedup(16) { AllKeysKnown = true };
        var first = new TestPendingSend();
        var second = CoreResult.Success(Ack);
        dedup.Remember("a", "m1", first);
        Assert.Equal(1, dedup.Count);
        Assert.False(dedup.TryGet("a", "m2", out _));
        Assert.False(dedup.TryGet("b", "m1", out _));

        // The same key again replaces its outcome; it stays one key.
        dedup.Remember("a", "m1", first);
        Assert.Equal(1, dedup.Count);

        dedup.Remember("b", "m1", second);
        Assert.Equal(2, dedup.Count);
        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        Assert.False(earlier.IsCompleted);
        Assert.True(dedup.TryGet("b", "m1", out earlier));
        Assert.Equal(second, await earlier);

        dedup.Forget("a", "m1");
        Assert.False(dedup.TryGet("a", "m1", out _));
        Assert.True(dedup.TryGet("b", "m1", out _));
        Assert.True(dedup.AllKeysKnown);

        // A single key forgotten leaves nothing behind: a retry is a new send.
        var single = new SendDedup(16);
        single.Remember("a", "m1", second);
        single.Forget("a", "m2");
        Assert.True(single.TryGet("a", "m1", out _));
        single.Forget("a", "m1");
        Assert.False(single.TryGet("a", "m1", out _));
        Assert.Equal(0, single.Count);
    }

    [Fact]
    public async Task SendDedup_OneSend_AllocatesOnlyTheTable()
    {
        // Issue 17: most conversations of a random-pairs load see one send per activation. Bytes allocated on this
        // thread are deterministic (no timing): the table itself, but no dictionary with its entries and buckets (over
        // 200 B before), and no task source or task for the send in flight (about 100 B before).
        var outcome = CoreResult.Success(Ack);
        var pending = new TestPendingSend();
        var warm = new SendDedup(16);
        warm.Remember("a", "m1", pending);
        warm.Settle("a", "m1", pending, outcome);

        var send = new TestPendingSend();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", send);
        dedup.Settle("a", "m1", send, outcome);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        Assert.Equal(outcome.Value, (await earlier).Value);
        Assert.True(allocated <= 96, $"one send allocated {allocated} B of dedup state"); // the table, its first key's outcome inline
    }

    [Fact]
    public async Task SendDedup_SettledSend_KeepsNeitherTheResultNorTheAck_ARetryGetsTheSameAckFields()
    {
        // Issue 17's soak: a remembered success keeps the ack's fields in the table itself. The CoreResult (43 B, stop 41)
        // and the MessageAck (64 B, stop 43) of every remembered key lived as long as the key, past the young collections.
        // A full blocking collection frees what nothing references: both are gone, and a retry gets an equal ack (the
        // same conversation, seq, server id, time and version) in a result made again. Since stop 47 the ack is a value
        // inside the result (one object): the result's collection is the ack's.
        var dedup = new SendDedup(16);
        var result = SettleOne(dedup, "a", "m1", 9);
        var second = SettleOne(dedup, "b", "m2", 10); // the dictionary's entries too, not only the first key's fields
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(result.IsAlive, "the settled CoreResult (and its ack) is still referenced");
        Assert.False(second.IsAlive, "the second key's CoreResult (and its ack) is still referenced");
        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        var retried = await earlier;
        Assert.True(retried.IsOk);
        Assert.Equal(Ack with { Seq = 9 }, retried.Value);
        var duplicate = await SendDedup.AsDuplicateAsync(earlier);
        Assert.Equal(Ack with { Seq = 9, Duplicate = true }, duplicate.Value);
        Assert.True(dedup.TryGet("b", "m2", out earlier));
        Assert.Equal(Ack with { Seq = 10 }, (await earlier).Value);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference SettleOne(SendDedup dedup, string sender, string clientMsgId, long seq)
    {
        var pending = new TestPendingSend();
        dedup.Remember(sender, clientMsgId, pending);
        var outcome = CoreResult.Success(Ack with { Seq = seq });
        dedup.Settle(sender, clientMsgId, pending, outcome);
        return new WeakReference(outcome);
    }
}

/// <summary>A send in flight for the table alone (never queued to a commit pipeline).</summary>
internal sealed class TestPendingSend : PendingSend
{
    public override Parley.Core.Commit.ICommitWork Work => throw new NotSupportedException("not a commit's work");

    protected override void Completed(long version) => throw new NotSupportedException("never queued");

    protected override void Failed(Exception exception) => throw new NotSupportedException("never queued");
}
