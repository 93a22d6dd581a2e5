using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class SyncTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Reconnect_After5000MessagesOver50Conversations_ReceivesAllGaplessWithOneSyncComplete()
    {
        const int Conversations = 50;
        const int PerConversation = 100;
        var recipient = await Server.CreateUserAsync("rcpt");
        var senders = new List<ParleyClient>();
        for (var i = 0; i < Conversations; i++)
        {
            senders.Add(await Server.ConnectAsync(await Server.CreateUserAsync("snd" + i)));
        }

        var state = new InMemoryParleyClientState();
        var online = new Recorder(await Server.CreateClientAsync(recipient, "phone", Platform.Android, state));
        await online.Client.ConnectAsync();
        // Every conversation exists and is known to the device before it goes offline.
        var conversations = await Task.WhenAll(senders.Select(async s => (await s.SendTextAsync(recipient, "first")).ConversationId));
        await Wait.UntilAsync(() => online.Messages.Count == Conversations, "the device saw the first message of each conversation");
        await online.Client.DisposeAsync();

        await Task.WhenAll(senders.Select(async s =>
        {
            for (var k = 0; k < PerConversation; k += 10)
            {
                await Task.WhenAll(Enumerable.Range(k, 10).Select(n => s.SendTextAsync(recipient, "offline " + n)));
            }
        }));

        var back = new Recorder(await Server.CreateClientAsync(recipient, "phone", Platform.Android, state));
        await back.Client.ConnectAsync();

        Assert.Single(back.Syncs);
        Assert.Equal(Conversations * PerConversation, back.Messages.Count);
        foreach (var conversation in conversations)
        {
            var seqs = back.MessagesIn(conversation).Select(m => m.Seq).ToList();
            Assert.Equal(Enumerable.Range(2, PerConversation).Select(i => (ulong)i), seqs);
        }
    }

    [Fact]
    public async Task Reconnect_With1000Conversations10Changed_ResumeReturnsExactlyThose10()
    {
        var me = await Server.CreateUserAsync("busy");
        var peers = new List<string>();
        for (var i = 0; i < 1000; i++)
        {
            peers.Add(await Server.CreateUserAsync("peer" + i));
        }

        var state = new InMemoryParleyClientState();
        var client = await Server.CreateClientAsync(me, "d1", Platform.Linux, state);
        await client.ConnectAsync();
        for (var i = 0; i < peers.Count; i += 50)
        {
            await Task.WhenAll(peers.Skip(i).Take(50).Select(p => client.SendTextAsync(p, "hello")));
        }

        Assert.Equal(1000U, (await client.GetConversationsAsync(limit: 1)).Total);
        await client.DisposeAsync();

        var changed = peers.Where((_, i) => i % 100 == 7).ToList();
        foreach (var p in changed)
        {
            var peerClient = await Server.ConnectAsync(p);
            await peerClient.SendTextAsync(me, "news");
        }

        var back = new Recorder(await Server.CreateClientAsync(me, "d1", Platform.Linux, state));
        await back.Client.ConnectAsync();
        var sync = Assert.Single(back.Syncs);
        Assert.Equal(10U, sync.ConversationCount);
        Assert.Equal(10, back.Messages.Count);
        Assert.Equal(changed.Order(), back.Messages.Select(m => m.SenderId).Order());
        Assert.All(back.Messages, m => Assert.Equal(2UL, m.Seq));
    }

    [Fact]
    public async Task Reconnect_WhenSyncIsTruncated_ClientPullsTheGapAndStaysGapless()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Gateway:SyncMessagesPerConversation"] = "10" });
        var me = await server.CreateUserAsync("me");
        var peer = await server.ConnectAsync(await server.CreateUserAsync("peer"));
        var state = new InMemoryParleyClientState();
        var first = new Recorder(await server.CreateClientAsync(me, "d1", Platform.Linux, state));
        await first.Client.ConnectAsync();
        var conversation = (await peer.SendTextAsync(me, "seed")).ConversationId;
        await first.WaitForMessagesAsync(conversation, 1);
        await first.Client.DisposeAsync();

        for (var i = 0; i < 75; i++)
        {
            await peer.SendTextAsync(me, "m" + i);
        }

        var back = new Recorder(await server.CreateClientAsync(me, "d1", Platform.Linux, state));
        await back.Client.ConnectAsync();
        Assert.Equal(Enumerable.Range(2, 75).Select(i => (ulong)i), back.MessagesIn(conversation).Select(m => m.Seq));
        Assert.Single(back.Syncs);
    }

    [Fact]
    public async Task LiveEvents_DuringAndAfterSync_AreNeitherLostNorDuplicated()
    {
        var me = await Server.CreateUserAsync("me");
        var peer = await Server.ConnectAsync(await Server.CreateUserAsync("peer"));
        var state = new InMemoryParleyClientState();
        var first = new Recorder(await Server.CreateClientAsync(me, "d1", Platform.Linux, state));
        await first.Client.ConnectAsync();
        var conversation = (await peer.SendTextAsync(me, "seed")).ConversationId;
        await first.WaitForMessagesAsync(conversation, 1);
        await first.Client.DisposeAsync();

        // Keep sending while the device reconnects, so live events race the sync snapshot.
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && sent < 400)
            {
                await peer.SendTextAsync(me, "live");
                Interlocked.Increment(ref sent);
            }
        });
        await Wait.UntilAsync(() => Volatile.Read(ref sent) >= 50, "some messages were sent while offline");
        var back = new Recorder(await Server.CreateClientAsync(me, "d1", Platform.Linux, state));
        await back.Client.ConnectAsync();
        await Wait.UntilAsync(() => Volatile.Read(ref sent) >= 150, "more messages were sent after reconnecting");
        await stop.CancelAsync();
        await sender;

        var total = Volatile.Read(ref sent);
        await back.WaitForMessagesAsync(conversation, total);
        Assert.Equal(Enumerable.Range(2, total).Select(i => (ulong)i), back.MessagesIn(conversation).Select(m => m.Seq));
    }
}
