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
        var first = new TaskCompletionSource<CoreResult<MessageAck>>(TaskCreationOptions.RunContinuationsAsynchronously);
        dedup.Remember("a", "m1", first.Task);

        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        var retry = SendDedup.AsDuplicateAsync(earlier);
        Assert.False(retry.IsCompleted);

        first.SetResult(CoreResult.Success(Ack));
        var result = await retry.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsOk);
        Assert.Equal(Ack with { Duplicate = true }, result.Value);
        Assert.False((await first.Task).Value!.Duplicate);
    }

    [Fact]
    public async Task SendDedup_RetryOfARefusal_GetsTheSameRefusal()
    {
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", Task.FromResult<CoreResult<MessageAck>>(CoreResult.Fail(CoreError.Blocked, "blocked")));
        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        var result = await SendDedup.AsDuplicateAsync(earlier);
        Assert.Equal(CoreError.Blocked, result.Error);
        Assert.Null(result.Value);
    }

    [Fact]
    public void SendDedup_FailedAttemptForgotten_RetryIsANewSend()
    {
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", Task.FromResult(CoreResult.Success(Ack)));
        dedup.Forget("a", "m1");
        Assert.False(dedup.TryGet("a", "m1", out _));

        // Keys are per sender: another sender's identical client id is another message.
        dedup.Remember("a", "m1", Task.FromResult(CoreResult.Success(Ack)));
        Assert.False(dedup.TryGet("b", "m1", out _));
    }

    [Fact]
    public void SendDedup_OverItsLimit_DropsCompletedKeysKeepsInFlightOnesAndAsksTheStoreAfterwards()
    {
        var dedup = new SendDedup(3) { AllKeysKnown = true };
        var inFlight = new TaskCompletionSource<CoreResult<MessageAck>>();
        dedup.Remember("a", "m1", Task.FromResult(CoreResult.Success(Ack)));
        dedup.Remember("a", "m2", inFlight.Task);
        dedup.Remember("a", "m3", Task.FromResult(CoreResult.Success(Ack)));
        Assert.True(dedup.AllKeysKnown);

        dedup.Remember("a", "m4", Task.FromResult(CoreResult.Success(Ack)));

        Assert.False(dedup.AllKeysKnown);
        Assert.False(dedup.TryGet("a", "m1", out _));
        Assert.True(dedup.TryGet("a", "m2", out var kept));
        Assert.Same(inFlight.Task, kept);
        Assert.True(dedup.TryGet("a", "m4", out _));
        Assert.Equal(2, dedup.Count);
    }

    [Fact]
    public void SendDedup_SecondKeyJoinsTheFirst_BothFoundAndForgottenApart()
    {
        var dedup = new SendDedup(16) { AllKeysKnown = true };
        var first = new TaskCompletionSource<CoreResult<MessageAck>>();
        var second = Task.FromResult(CoreResult.Success(Ack));
        dedup.Remember("a", "m1", first.Task);
        Assert.Equal(1, dedup.Count);
        Assert.False(dedup.TryGet("a", "m2", out _));
        Assert.False(dedup.TryGet("b", "m1", out _));

        // The same key again replaces its outcome; it stays one key.
        dedup.Remember("a", "m1", first.Task);
        Assert.Equal(1, dedup.Count);

        dedup.Remember("b", "m1", second);
        Assert.Equal(2, dedup.Count);
        Assert.True(dedup.TryGet("a", "m1", out var earlier));
        Assert.Same(first.Task, earlier);
        Assert.True(dedup.TryGet("b", "m1", out earlier));
        Assert.Same(second, earlier);

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
    public void SendDedup_OneSend_AllocatesNoDictionary()
    {
        // Issue 17: most conversations of a random-pairs load see one send per activation. Bytes allocated on this
        // thread are deterministic (no timing): the table itself, but no dictionary with its entries and buckets (over
        // 200 B before).
        var outcome = Task.FromResult(CoreResult.Success(Ack));
        var warm = new SendDedup(16);
        warm.Remember("a", "m1", outcome);
        Assert.True(warm.TryGet("a", "m1", out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var dedup = new SendDedup(16);
        dedup.Remember("a", "m1", outcome);
        var found = dedup.TryGet("a", "m1", out var earlier);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(found);
        Assert.Same(outcome, earlier);
        Assert.True(allocated <= 64, $"one send allocated {allocated} B of dedup state");
    }
}
