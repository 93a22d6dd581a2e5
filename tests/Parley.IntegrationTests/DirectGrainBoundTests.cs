using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Messaging;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 17, stop 46: the node's bound on 1:1 conversation grains (Parley:Orleans:DirectMaxActive) when the node is seconds
/// behind. A one-way send (ADR 0022) returns to Orleans once its message is queued for the commit, so Orleans sees the grain
/// idle while the commit runs; stop 45's bound shed such grains a second after their call, and the next call went to a new
/// activation that read the store before the commit (activations ran ahead of messages in the soak: 1.64 per message).
/// Here the server's SQLite writer is held by another connection (about two seconds, under its 5 s busy timeout), so every
/// commit of a burst to 24 new peers waits longer than the bound's "just called" second while the bound is 4. With the
/// pending check switched off (a local mutant of the fix), this test's first version failed: 44 activations for the 24.
/// </summary>
public sealed class DirectGrainBoundTests(ITestOutputHelper output)
{
    private const int Peers = 24;

    [Fact]
    public async Task PastASmallDirectMaxActive_ABurstWhoseCommitsWait_LosesNothing_StoresNothingTwice_KeepsSeqsGapless_AndActivatesEachConversationOnce()
    {
        // A data directory of the test's own, to open the server's SQLite file beside it (deleted at the end).
        var data = Path.Combine(Path.GetTempPath(), "parley-test-bound-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RunAsync(data);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task RunAsync(string data)
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Storage:DataDirectory"] = data,
            ["Parley:Orleans:IdleAge"] = "00:20:00",
            ["Parley:Orleans:DirectIdleAge"] = "00:10:00",
            ["Parley:Orleans:DirectMaxActive"] = "4",
        });
        var alice = await server.CreateUserAsync("bb");
        var sender = await server.ConnectAsync(alice);
        var peers = new List<string>();
        for (var i = 0; i < Peers; i++)
        {
            peers.Add(await server.CreateUserAsync($"bp{i}"));
        }

        var idle = server.Services.GetRequiredService<IdleDirectConversations>();
        var registeredBefore = idle.Registered;

        List<Task<Parley.Sdk.SendReceipt>> first, second;
        await using (var writer = new SqliteConnection($"Data Source={Path.Combine(data, "parley.db")};Pooling=false"))
        {
            await writer.OpenAsync();
            await using (var begin = writer.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE";
                await begin.ExecuteNonQueryAsync();
            }

            // Each first message opens its conversation; its commit waits for the writer. Once all 24 grains ran their
            // turn and their calls are more than the bound's "just called" second old, a sweep (the test's own, besides
            // the timer's) meets 24 grains past the bound of 4, every one with its commit still waiting. Then each
            // conversation's second message: to the same activation unless its grain was shed.
            first = peers.Select((peer, i) => sender.SendTextAsync(peer, $"first {i}", clientMsgId: $"bound-1-{i}")).ToList();
            await Wait.UntilAsync(() => idle.Registered - registeredBefore >= Peers, () => $"{idle.Registered - registeredBefore} of {Peers} 1:1 grains registered");
            await Task.Delay(TimeSpan.FromMilliseconds(1_100));
            idle.Sweep();
            await Wait.UntilAsync(() => idle.KeptBusy > 0 || idle.Shed > 0, "a sweep past the bound");
            second = peers.Select((peer, i) => sender.SendTextAsync(peer, $"second {i}", clientMsgId: $"bound-2-{i}")).ToList();
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            await using var rollback = writer.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        var firstAcks = await Task.WhenAll(first);
        var secondAcks = await Task.WhenAll(second);
        var registered = idle.Registered - registeredBefore;
        output.WriteLine($"{registered} 1:1 activations registered for {Peers} conversations; {idle.Shed} shed, {idle.KeptBusy} kept with a commit running");

        // One activation per conversation (distinct pairs) for both messages: none was shed with its commit running and
        // activated again (read now: the history reads below may activate grains the bound sheds after their commits).
        Assert.Equal(Peers, registered);
        Assert.True(idle.KeptBusy > 0, "no sweep met a grain with its commit running: the writer was not held long enough to test anything");

        for (var i = 0; i < Peers; i++)
        {
            // Acked once each at seqs 1 and 2 of one conversation; stored once each at those seqs, nothing else.
            Assert.False(firstAcks[i].Duplicate);
            Assert.False(secondAcks[i].Duplicate);
            Assert.Equal(firstAcks[i].ConversationId, secondAcks[i].ConversationId);
            Assert.Equal(1UL, firstAcks[i].Seq);
            Assert.Equal(2UL, secondAcks[i].Seq);
            var history = await sender.GetHistoryAsync(firstAcks[i].ConversationId);
            Assert.Equal(
                [(1UL, $"first {i}"), (2UL, $"second {i}")],
                history.Messages.Where(m => m.Content?.Text is not null).OrderBy(m => m.Seq).Select(m => (m.Seq, m.Content.Text.Text)));
        }

        // Once the commits are done the bound applies again: the grains beyond it go (their last use is their commit's end).
        await Wait.UntilAsync(() => idle.Active <= 4, () => $"{idle.Active} 1:1 grains still registered past the bound of 4", TimeSpan.FromSeconds(30));
    }
}
