using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Runtime;
using Parley.Core.Messaging;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// The one-way send (ADR 0022) on a two-process cluster (Redis membership, PostgreSQL): the sender's connection on node 0,
/// its conversations' grains placed by Orleans on either node (each conversation is opened from node 1 first), so the
/// answers of the sends whose grain is on node 1 cross to node 0 on node 1's ordered stream (NodeDeliveryItem field 13).
/// </summary>
public sealed class OneWaySendClusterTests(ITestOutputHelper output) : ClusterTest("ow", output)
{
    private const int Peers = 12;
    private const int PerPeer = 5;

    [ClusterFact]
    public async Task OneWaySend_SenderAndGrainOnDifferentNodes_TheAckCrossesNodes_StoredGaplessAndDeliveredLive()
    {
        await Cluster.StartAsync(2, (_, node) => node.Configure([new("Parley:Messaging:OneWaySend", "true")]));
        await Cluster.CreateUserAsync("ow-sender");
        var peers = Enumerable.Range(0, Peers).Select(i => $"ow-peer{i}").ToList();
        foreach (var peer in peers)
        {
            await Cluster.CreateUserAsync(peer);
        }

        var sender = await ConnectAsync("ow-sender", 0);
        var senderRecorder = new Recorder(sender);
        var recorders = new List<Recorder>();
        foreach (var peer in peers)
        {
            recorders.Add(new Recorder(await ConnectAsync(peer, 1)));
        }

        // Each conversation opened from node 1 (its grain placed from there), then the sender on node 0 writes to it.
        var conversations = new List<string>();
        foreach (var recorder in recorders)
        {
            conversations.Add((await recorder.Client.SendTextAsync("ow-sender", "open", "open")).ConversationId);
        }

        // Node 1's stream to node 0 flows (the answers ride on it): the sender received every opening message live.
        foreach (var conversation in conversations)
        {
            await senderRecorder.WaitForMessagesAsync(conversation, 1, TimeSpan.FromSeconds(30));
        }

        using var host = await Cluster.StartOrleansClientAsync();
        var grains = host.Services.GetRequiredService<IClusterClient>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var remote = new List<int>();
        for (var i = 0; i < Peers; i++)
        {
            var silo = await management.GetActivationAddress(grains.Conversation(conversations[i]));
            if (silo is not null && silo.Endpoint.Port != Cluster[0].SiloPort)
            {
                remote.Add(i);
            }
        }

        Output.WriteLine($"{remote.Count} of {Peers} conversation grains on node 1");
        Assert.True(remote.Count > 0, "no conversation grain was placed on node 1: no answer crossed nodes");

        var acks = new List<SendReceipt>();
        for (var k = 0; k < PerPeer; k++)
        {
            for (var i = 0; i < Peers; i++)
            {
                acks.Add(await sender.SendTextAsync(peers[i], $"m-{i}-{k}", $"m-{i}-{k}"));
            }
        }

        // Every ack is the stored message at its seq (2..PerPeer+1 after the opening message), and each peer on node 1
        // received the sender's messages live.
        for (var i = 0; i < Peers; i++)
        {
            var mine = acks.Where(a => a.ClientMsgId.StartsWith($"m-{i}-", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(2, PerPeer).Select(s => (ulong)s), mine.Select(a => a.Seq));
            Assert.All(mine, a => Assert.False(a.Duplicate));
            var stored = await SendBurst.ReadAllAsync(recorders[i].Client, conversations[i]);
            Assert.Equal(Enumerable.Range(1, PerPeer + 1).Select(s => (ulong)s), stored.Select(m => m.Seq));
            Assert.Equal(mine.Select(a => a.ServerMsgId), stored.Skip(1).Select(m => m.ServerMsgId));
            await recorders[i].WaitForMessagesAsync(conversations[i], PerPeer, TimeSpan.FromSeconds(30)); // its own opening message is not echoed
        }

        // A retry of an acked send through node 0 of a conversation whose grain is on node 1: the first ack, marked duplicate.
        var crossed = remote[0];
        var retry = await sender.SendTextAsync(peers[crossed], "again", $"m-{crossed}-0");
        Assert.True(retry.Duplicate);
        Assert.Equal(2UL, retry.Seq);
        await host.StopAsync();
    }

    private async Task<ParleyClient> ConnectAsync(string userId, int node)
    {
        var issued = await Cluster.IssueTokenAsync(userId, node, "d1", Platform.Linux);
        var client = Cluster.Track(new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Cluster.Nodes[node].WebSocketUri,
            Token = issued.Token,
            DeviceId = "d1",
            Platform = Platform.Linux,
            SendTimeout = TimeSpan.FromSeconds(60),
            RequestTimeout = TimeSpan.FromSeconds(30),
        }));
        await client.ConnectAsync();
        return client;
    }
}
