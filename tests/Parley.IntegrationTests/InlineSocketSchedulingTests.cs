using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>A server with <c>Parley:Gateway:InlineSocketScheduling</c> on (issue 17, stop 44; ADR 0023's question).</summary>
public sealed class InlineSocketSchedulingFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:InlineSocketScheduling"] = "true" });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Kestrel's inline scheduling (<c>Parley:Gateway:InlineSocketScheduling</c>, off by default): the code a socket's read
/// wakes runs on the pool item that completed the read, a connection's writes reach its socket on the writer's thread. This
/// checks the setting and the default reach Kestrel's socket transport. Over real sockets through the SDK, with the setting
/// on, it also checks that pipelined sends from both sides of a pair are acked once each, stored gapless at
/// their acked seqs and delivered, that a retry is a duplicate, that one connection's sends get their seqs in the order it
/// sent them, and that a burst from many connections at once loses nothing.
/// </summary>
public sealed class InlineSocketSchedulingTests(InlineSocketSchedulingFixture fixture) : IClassFixture<InlineSocketSchedulingFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public void Setting_ReachesKestrelsSocketTransport()
    {
        var sockets = Server.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.True(sockets.UnsafePreferInlineScheduling);
    }

    [Fact]
    public async Task Default_KestrelsDefaultSchedulers()
    {
        await using var server = await TestServer.StartAsync();
        var sockets = server.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        Assert.False(sockets.UnsafePreferInlineScheduling);
    }

    [Fact]
    public async Task OneConnectionsPipelinedSends_SeqsInSendOrder_AllDeliveredOnce()
    {
        var alice = await Server.CreateUserAsync("iso");
        var bob = await Server.CreateUserAsync("isp");
        await using var aliceClient = await Server.ConnectAsync(alice);
        await using var bobClient = await Server.ConnectAsync(bob);
        var bobSeqs = new System.Collections.Concurrent.ConcurrentQueue<ulong>();
        bobClient.MessageReceived += (_, e) => { if (e.Message.SenderId == alice) { bobSeqs.Enqueue(e.Message.Seq); } };

        // One awaited send first: the client is then ready, and its later sends reach the socket in the order they were made
        // (sends made before its first sync completes are released together and written in no particular order).
        Assert.Equal(1UL, (await aliceClient.SendTextAsync(bob, "first", clientMsgId: "is-o-first")).Seq);

        // 200 sends written back to back on one connection, none awaited before the last is written: the server reads them
        // in that order, so the conversation's seqs follow it (the ack of send i carries seq i + 2).
        const int Count = 200;
        var sends = new Task<SendReceipt>[Count];
        for (var i = 0; i < Count; i++)
        {
            sends[i] = aliceClient.SendTextAsync(bob, $"o{i}", clientMsgId: $"is-o-{i}");
        }

        var receipts = await Task.WhenAll(sends);
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Equal(Enumerable.Range(2, Count).Select(i => (ulong)i), receipts.Select(r => r.Seq));

        await Wait.UntilAsync(() => bobSeqs.Count >= Count + 1, "bob receives alice's 201 messages");
        Assert.Equal(Enumerable.Range(1, Count + 1).Select(i => (ulong)i), bobSeqs.Order());
    }

    [Fact]
    public async Task BurstFromManyConnections_NothingLost_EachConversationGapless()
    {
        // 6 pairs, both sides sending 30 at once (360 sends in flight together), none awaited until all are written.
        const int Pairs = 6;
        const int PerSide = 30;
        var users = new List<(string Id, ParleyClient Client)>();
        var got = new int[Pairs * 2];
        try
        {
            for (var i = 0; i < Pairs * 2; i++)
            {
                var id = await Server.CreateUserAsync($"isq{i}");
                users.Add((id, await Server.ConnectAsync(id)));
            }

            for (var i = 0; i < Pairs * 2; i++)
            {
                var me = i;
                var peer = users[i ^ 1].Id;
                users[i].Client.MessageReceived += (_, e) => { if (e.Message.SenderId == peer) { Interlocked.Increment(ref got[me]); } };
            }

            // One awaited send per user first (the clients are then ready: see above): seqs 1 and 2 of each pair.
            for (var i = 0; i < Pairs * 2; i++)
            {
                await users[i].Client.SendTextAsync(users[i ^ 1].Id, $"q{i}-first", clientMsgId: $"is-q-{i}-first");
            }

            var sends = new List<(int User, int N, Task<SendReceipt> Task)>();
            for (var n = 0; n < PerSide; n++)
            {
                for (var i = 0; i < Pairs * 2; i++)
                {
                    sends.Add((i, n, users[i].Client.SendTextAsync(users[i ^ 1].Id, $"q{i}-{n}", clientMsgId: $"is-q-{i}-{n}")));
                }
            }

            await Task.WhenAll(sends.Select(s => s.Task));
            for (var pair = 0; pair < Pairs; pair++)
            {
                var mine = sends.Where(s => s.User / 2 == pair).Select(s => s.Task.Result).ToList();
                Assert.Single(mine.Select(r => r.ConversationId).Distinct());
                Assert.Equal(Enumerable.Range(3, 2 * PerSide).Select(i => (ulong)i), mine.Select(r => r.Seq).Order());
                foreach (var side in new[] { 2 * pair, 2 * pair + 1 })
                {
                    // each connection's own sends: seqs in the order it wrote them
                    var own = sends.Where(s => s.User == side).OrderBy(s => s.N).Select(s => s.Task.Result.Seq).ToList();
                    Assert.Equal(own.Order(), own);
                }

                var history = await users[2 * pair].Client.GetHistoryAsync(mine[0].ConversationId, 0, Direction.Forward, 2 * PerSide + 10);
                Assert.Equal(Enumerable.Range(1, 2 * PerSide + 2).Select(i => (ulong)i), history.Messages.Select(m => m.Seq));
            }

            await Wait.UntilAsync(() => Enumerable.Range(0, got.Length).All(i => Volatile.Read(ref got[i]) >= PerSide + 1), "every user receives its peer's 31 messages");
            Assert.All(got, g => Assert.Equal(PerSide + 1, g));
        }
        finally
        {
            foreach (var (_, client) in users)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task PipelinedSends_FromBothSides_AckedOnce_StoredGapless_Delivered_RetryIsDuplicate()
    {
        var alice = await Server.CreateUserAsync("isa");
        var bob = await Server.CreateUserAsync("isb");
        await using var aliceClient = await Server.ConnectAsync(alice);
        await using var bobClient = await Server.ConnectAsync(bob);
        var bobGot = 0;
        var aliceGot = 0;
        bobClient.MessageReceived += (_, e) => { if (e.Message.SenderId == alice) { Interlocked.Increment(ref bobGot); } };
        aliceClient.MessageReceived += (_, e) => { if (e.Message.SenderId == bob) { Interlocked.Increment(ref aliceGot); } };

        // 40 sends from each side, 10 in flight per connection at a time, into the one conversation of the pair.
        const int PerSide = 40;
        var receipts = new List<SendReceipt>();
        for (var wave = 0; wave < PerSide / 10; wave++)
        {
            var sends = new List<Task<SendReceipt>>();
            for (var i = 0; i < 10; i++)
            {
                var n = wave * 10 + i;
                sends.Add(aliceClient.SendTextAsync(bob, $"a{n}", clientMsgId: $"is-a-{n}"));
                sends.Add(bobClient.SendTextAsync(alice, $"b{n}", clientMsgId: $"is-b-{n}"));
            }

            receipts.AddRange(await Task.WhenAll(sends));
        }

        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Single(receipts.Select(r => r.ConversationId).Distinct());
        Assert.Equal(Enumerable.Range(1, 2 * PerSide).Select(i => (ulong)i), receipts.Select(r => r.Seq).Order());

        var history = await aliceClient.GetHistoryAsync(receipts[0].ConversationId, 0, Direction.Forward, 2 * PerSide + 10);
        Assert.Equal(receipts.OrderBy(r => r.Seq).Select(r => (r.Seq, r.ServerMsgId)), history.Messages.Select(m => (m.Seq, m.ServerMsgId)));

        Assert.Equal(PerSide, history.Messages.Count(m => m.SenderId == alice));
        Assert.Equal(PerSide, history.Messages.Count(m => m.SenderId == bob));

        await Wait.UntilAsync(() => Volatile.Read(ref bobGot) == PerSide && Volatile.Read(ref aliceGot) == PerSide, "each side receives the other's 40 messages");

        var first = receipts[0]; // alice's "is-a-0" (Task.WhenAll keeps the order the sends were made in)
        var retry = await aliceClient.SendTextAsync(bob, "a0", clientMsgId: "is-a-0");
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
    }
}
