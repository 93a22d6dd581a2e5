using Parley.Protocol.V1;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0032's remaining gap (stop 47): Orleans' own idle collection (<c>Parley:Orleans:IdleAge</c>) sees an activation whose
/// one-way commit runs as idle (the send's turn returned; the commit's completion resumes it with a work item, not a
/// call), so it can deactivate a conversation with a commit in flight; the next call then goes to a new activation that
/// reads the store before that commit. Here every 1:1 grain keeps Orleans' idle age (2 s, collected within a 1-s quantum;
/// the node's own 1:1 sweep is off), and the first message's commit (which writes the conversation) waits 20 s: the activation
/// is idle to Orleans long before it ends. A second message sent meanwhile must take seq 2 and both must be stored once.
/// Without the wait (stop 47's code) the second message went to a new activation that read the store before the first's
/// commit: it took seq 1 again and its commit failed (answered "The send failed on the server; retry").
/// </summary>
[Collection(Alone)]
public sealed class OrleansIdleCollectionTests
{
    /// <summary>
    /// Run with no other test class beside it: it sets <see cref="SlowCommitStore.Delay"/> (process-wide), and beside other
    /// classes' servers Orleans' collector collected nothing in its window (cold's runs, stop 48's CI 2 and the lead's runs
    /// beside OneWaySendTests: 3 of 3 failed "nothing was tested"; alone it passes).
    /// </summary>
    public const string Alone = "orleans idle collection, alone";

    [Fact]
    public async Task OrleansIdleCollection_OfAGrainWithACommitInFlight_WaitsForIt_NextSendTakesTheNextSeq()
    {
        await using var server = await SlowCommitStore.StartServerAsync(
            new Dictionary<string, string?>
            {
                ["Parley:Messaging:OneWaySend"] = "true",
                ["Parley:Messaging:AckTimeout"] = "00:00:30",
                ["Parley:Orleans:IdleAge"] = "00:00:02",
                ["Parley:Orleans:DirectIdleAge"] = "00:00:00",
            });
        var alice = await server.CreateUserAsync("oia");
        var bob = await server.CreateUserAsync("oib");
        await using var bobClient = await server.ConnectAsync(bob);
        await using var raw = await RawClient.ConnectAsync(server.WebSocketUri);
        await raw.HelloAsync(await server.IssueTokenAsync(alice, "raw"), "raw");
        var first = $"oi-1-{Guid.NewGuid():N}"[..30];
        var second = $"oi-2-{Guid.NewGuid():N}"[..30];

        // The first message (a new conversation) commits in 20 s; the commit takes the delay when it starts.
        SlowCommitStore.Delay = TimeSpan.FromSeconds(20);
        try
        {
            await raw.SendAsync(OneWaySendTests.Send(1, bob, first));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            SlowCommitStore.Delay = null;
        }

        // Past Orleans' idle age and its quantum, the commit still running (up to 17 s after it started: a loaded CI once collected nothing within 8 s, stop 48):
        // Orleans collects the activation. With ADR 0040 its deactivation waits for the commit (counted); stop 47's code let it go.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(16) && await WaitedAsync(server) == 0)
        {
            await Task.Delay(250);
        }

        if (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(TimeSpan.FromSeconds(3) - watch.Elapsed); // stop 47's code: past the idle age and a quantum
        }

        await raw.SendAsync(OneWaySendTests.Send(2, bob, second));
        var answers = await OneWaySendTests.ReceiveAnswersAsync(raw, 2);
        Assert.All(answers.Values, a => Assert.Equal(ServerFrame.BodyOneofCase.SendAck, a.BodyCase));
        Assert.Equal(1UL, answers[1].SendAck.Seq);
        Assert.Equal(2UL, answers[2].SendAck.Seq);
        var history = await bobClient.GetHistoryAsync(answers[1].SendAck.ConversationId, 0, Direction.Forward, 10);
        Assert.Equal([first, second], history.Messages.Select(m => m.ClientMsgId));
        Assert.Equal([1UL, 2UL], history.Messages.Select(m => m.Seq));

        // Orleans did collect the activation with its commit in flight, and the deactivation waited for it (ADR 0040).
        Assert.True(await WaitedAsync(server) >= 1, "no deactivation waited for a commit: Orleans did not collect the grain in time, nothing was tested");
    }

    // parley_conversation_deactivations_waited_total (0 until the first).
    private static async Task<long> WaitedAsync(TestServer server)
    {
        var metrics = await (await server.Admin.GetAsync("/metrics")).Content.ReadAsStringAsync();
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("parley_conversation_deactivations_waited_total", StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}

[CollectionDefinition(OrleansIdleCollectionTests.Alone, DisableParallelization = true)]
public sealed class OrleansIdleCollectionAlone;
