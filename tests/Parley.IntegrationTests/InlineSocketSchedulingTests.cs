using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Testing;

namespace Parley.IntegrationTests;

/// <summary>A server with <c>Parley:Gateway:InlineSocketScheduling</c> on (issue 17, stop 44).</summary>
public sealed class InlineSocketSchedulingFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:InlineSocketScheduling"] = "true" });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Kestrel's inline scheduling (<c>Parley:Gateway:InlineSocketScheduling</c>): the connection code runs on the socket
/// engine's thread. This checks the setting reaches Kestrel's socket transport. Over real sockets through the SDK it also
/// checks that pipelined sends from both sides of a pair are acked once each, stored gapless at their acked seqs and
/// delivered, and that a retry is a duplicate.
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
