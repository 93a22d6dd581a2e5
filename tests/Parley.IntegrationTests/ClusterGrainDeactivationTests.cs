using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Parley.Core.Messaging;
using Parley.Gateway.Cluster;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// A conversation grain that goes away mid-traffic (issue 11): what a node's death, a rebalance or idle collection does to
/// a busy conversation, forced here again and again through Orleans' management grain while two members send. The grain's
/// next activation reloads the conversation from the store; every acked message must be stored once at its acked seq,
/// the seqs must continue gapless across activations, and a member receiving live must get each message once, ascending.
/// Once on one in-process node, once on a two-process cluster (Redis membership, PostgreSQL) where the test is an Orleans
/// client of the cluster and also deactivates the node directory grain, so the conversation grain is placed anew (on
/// either node) and the directory is rebuilt by the nodes' renewals while members on both nodes send and receive.
/// </summary>
public sealed class ClusterGrainDeactivationTests(ITestOutputHelper output)
{
    /// <summary>Messages each sender sends (in a row, each waiting for its ack) while the grain is deactivated.</summary>
    private const int PerSender = 60;

    /// <summary>
    /// Issue 17's soak: a conversation nobody calls is deactivated after Parley:Orleans:IdleAge by Orleans itself (no
    /// management call), and its next send reloads it: the seq continues, a retried send is still recognised as a duplicate,
    /// and a member receives the new message live.
    /// </summary>
    [Fact]
    public async Task AnIdleConversationGrain_IsDeactivatedAfterTheIdleAge_AndItsNextSendReloadsIt()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Orleans:IdleAge"] = "00:00:03" });
        var alice = await server.CreateUserAsync("ia");
        var bob = await server.CreateUserAsync("ib");
        var carol = await server.CreateUserAsync("ic");
        var sender = await server.ConnectAsync(alice);
        var receiver = new Recorder(await server.ConnectAsync(carol));
        var group = await sender.CreateGroupAsync("idle", [bob, carol]);
        var first = await sender.SendTextToConversationAsync(group.ConversationId, "before idle", clientMsgId: "idle-1");
        await sender.SendTextToConversationAsync(group.ConversationId, "before idle 2");

        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var waited = await WaitUntilDeactivatedAsync(grains, group.ConversationId, TimeSpan.FromSeconds(90));
        output.WriteLine($"deactivated after {waited.TotalSeconds:F1} s idle");

        await AssertTheNextSendsReloadItAsync(
            sender, receiver, group.ConversationId, first, (text, clientMsgId) => sender.SendTextToConversationAsync(group.ConversationId, text, clientMsgId), "carol");
    }

    /// <summary>
    /// Issue 17's soak, stop 41: a 1:1 conversation nobody calls is deactivated after Parley:Orleans:DirectIdleAge (here
    /// 2 s), long before Orleans' idle age (here 10 minutes), which a group conversation used at the same time keeps; the
    /// 1:1 conversation's next send reloads it: the seq continues, a retried send is still a duplicate, the peer receives
    /// the new message live.
    /// </summary>
    [Fact]
    public async Task AnIdle1To1ConversationGrain_IsDeactivatedAfterTheDirectIdleAge_AGroupKeepsTheIdleAge_AndTheNextSendReloadsIt()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Orleans:IdleAge"] = "00:10:00",
            ["Parley:Orleans:DirectIdleAge"] = "00:00:02",
        });
        var alice = await server.CreateUserAsync("da");
        var bob = await server.CreateUserAsync("db");
        var carol = await server.CreateUserAsync("dc");
        var sender = await server.ConnectAsync(alice);
        var receiver = new Recorder(await server.ConnectAsync(bob));
        var group = await sender.CreateGroupAsync("kept", [bob, carol]);
        await sender.SendTextToConversationAsync(group.ConversationId, "group message");
        var first = await sender.SendTextAsync(bob, "before idle", clientMsgId: "direct-1");
        await sender.SendTextAsync(bob, "before idle 2");

        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var waited = await WaitUntilDeactivatedAsync(grains, first.ConversationId, TimeSpan.FromSeconds(60));
        output.WriteLine($"1:1 conversation deactivated after {waited.TotalSeconds:F1} s idle");
        var management = grains.GetGrain<IManagementGrain>(0);
        Assert.Equal(1, await management.GetGrainActivationCount((GrainReference)(object)grains.Conversation(group.ConversationId)));
        Assert.True(server.Services.GetRequiredService<IdleDirectConversations>().Deactivated >= 1);

        await AssertTheNextSendsReloadItAsync(sender, receiver, first.ConversationId, first, (text, clientMsgId) => sender.SendTextAsync(bob, text, clientMsgId), "bob");
    }

    /// <summary>
    /// Issue 17's soak, stop 45: past Parley:Orleans:DirectMaxActive (here 5) the node deactivates the least recently used
    /// 1:1 conversation grains long before their DirectIdleAge (here 10 minutes): of 12 conversations opened one after the
    /// other the first goes and the last stays, at most 5 remain (no send runs meanwhile), and the first's next send
    /// reloads it (the seq continues, a retried send is still a duplicate, the peer receives the new message live).
    /// </summary>
    [Fact]
    public async Task PastDirectMaxActive_TheLeastRecentlyUsed1To1Grains_AreDeactivatedBeforeTheirAge_AndTheNextSendReloadsOne()
    {
        const int Conversations = 12;
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Orleans:IdleAge"] = "00:20:00",
            ["Parley:Orleans:DirectIdleAge"] = "00:10:00",
            ["Parley:Orleans:DirectMaxActive"] = "5",
        });
        var alice = await server.CreateUserAsync("ma");
        var sender = await server.ConnectAsync(alice);
        var bob = await server.CreateUserAsync("mb");
        var receiver = new Recorder(await server.ConnectAsync(bob));
        var first = await sender.SendTextAsync(bob, "before idle", clientMsgId: "max-1");
        await sender.SendTextAsync(bob, "before idle 2");
        var conversations = new List<string> { first.ConversationId };
        for (var i = 1; i < Conversations; i++)
        {
            conversations.Add((await sender.SendTextAsync(await server.CreateUserAsync($"mp{i}"), "hello")).ConversationId);
        }

        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var waited = await WaitUntilDeactivatedAsync(grains, first.ConversationId, TimeSpan.FromSeconds(60));
        output.WriteLine($"the first 1:1 conversation deactivated after {waited.TotalSeconds:F1} s");
        var idle = server.Services.GetRequiredService<IdleDirectConversations>();
        var management = grains.GetGrain<IManagementGrain>(0);
        async Task<int> ActiveAsync()
        {
            var count = 0;
            foreach (var conversation in conversations)
            {
                count += await management.GetGrainActivationCount((GrainReference)(object)grains.Conversation(conversation));
            }

            return count;
        }

        // A sweep runs every second: the last ones registered may wait for the next one.
        var active = await ActiveAsync();
        for (var polls = 0; active > 5 && polls < 150; polls++)
        {
            await Task.Delay(200);
            active = await ActiveAsync();
        }

        output.WriteLine($"{active} of {Conversations} active, {idle.Shed} shed, {idle.Active} registered");
        Assert.InRange(active, 1, 5);
        Assert.Equal(1, await management.GetGrainActivationCount((GrainReference)(object)grains.Conversation(conversations[^1])));
        Assert.True(idle.Shed >= Conversations - 5, $"{idle.Shed} shed");

        await AssertTheNextSendsReloadItAsync(sender, receiver, first.ConversationId, first, (text, clientMsgId) => sender.SendTextAsync(bob, text, clientMsgId), "bob");
    }

    /// <summary>
    /// Issue 17's soak, stop 41: on one node Orleans' directory cache is off by default (Parley:Orleans:DirectoryCacheSize),
    /// so it keeps no address of the 1:1 conversations deactivated (20 here, after 1 s idle). With Orleans' own cache of a
    /// million, it keeps them all: a grain deactivated in a batch of unregistrations leaves its address in the cache until
    /// evicted (Orleans 10.4), ~0.25 KB each, for every conversation the node ever activated up to the million.
    /// </summary>
    [Theory]
    [InlineData(null, false)]
    [InlineData("1000000", true)]
    public async Task OnOneNode_TheDirectoryCache_KeepsTheAddressesOfDeactivatedConversationsOnlyWhenConfigured(string? cacheSize, bool kept)
    {
        const int Conversations = 20;
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Orleans:DirectIdleAge"] = "00:00:01",
            ["Parley:Orleans:DirectoryCacheSize"] = cacheSize,
        });
        var sender = await server.ConnectAsync(await server.CreateUserAsync("ca"));
        var conversations = new List<string>();
        for (var i = 0; i < Conversations; i++)
        {
            conversations.Add((await sender.SendTextAsync(await server.CreateUserAsync($"cp{i}"), "hello")).ConversationId);
        }

        var grains = server.Services.GetRequiredService<IGrainFactory>();
        foreach (var conversation in conversations)
        {
            await WaitUntilDeactivatedAsync(grains, conversation, TimeSpan.FromSeconds(60));
        }

        var metrics = await (await server.Admin.GetAsync("/metrics")).Content.ReadAsStringAsync();
        var line = metrics.Split('\n').Single(l => l.StartsWith("orleans_directory_cache_size", StringComparison.Ordinal));
        var cached = long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"{line} after {Conversations} conversations deactivated");
        if (kept)
        {
            Assert.True(cached >= Conversations, line);
        }
        else
        {
            Assert.True(cached < Conversations, line);
        }
    }

    /// <summary>Waits until the conversation's grain has no activation (asserted, within <paramref name="limit"/>); the time waited.</summary>
    private static async Task<TimeSpan> WaitUntilDeactivatedAsync(IGrainFactory grains, string conversationId, TimeSpan limit)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var grain = (GrainReference)(object)grains.Conversation(conversationId);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await management.GetGrainActivationCount(grain) > 0 && waited.Elapsed < limit)
        {
            await Task.Delay(200);
        }

        Assert.Equal(0, await management.GetGrainActivationCount(grain));
        return waited.Elapsed;
    }

    /// <summary>
    /// After the grain of a conversation holding "before idle" (<paramref name="first"/>, client message id of its own) and
    /// "before idle 2" was deactivated: the retry of the first is a duplicate at its seq, the next message takes the seq after
    /// the two, the history has the three in order, and <paramref name="who"/> receives the new one live.
    /// </summary>
    private static async Task AssertTheNextSendsReloadItAsync(
        ParleyClient sender, Recorder receiver, string conversationId, SendReceipt first, Func<string, string?, Task<SendReceipt>> send, string who)
    {
        var retried = await send("before idle", first.ClientMsgId);
        Assert.True(retried.Duplicate);
        Assert.Equal(first.Seq, retried.Seq);
        var after = await send("after idle", null);
        Assert.Equal(conversationId, after.ConversationId);
        Assert.Equal(first.Seq + 2, after.Seq);
        var history = await sender.GetHistoryAsync(conversationId);
        Assert.Equal(
            ["before idle", "before idle 2", "after idle"],
            history.Messages.Where(m => m.Content?.Text is not null).OrderBy(m => m.Seq).Select(m => m.Content.Text.Text));
        await Wait.UntilAsync(
            () => receiver.MessagesIn(conversationId).Any(m => m.Seq == after.Seq),
            () => $"{who} received seq {after.Seq} live ({receiver.Describe(conversationId)})");
    }

    [Fact]
    public async Task AConversationGrainDeactivatedAgainAndAgainMidBurst_LosesNothing_DuplicatesNothing_AndItsSeqsContinue()
    {
        await using var server = await TestServer.StartAsync();
        var alice = await server.CreateUserAsync("ga");
        var bob = await server.CreateUserAsync("gb");
        var carol = await server.CreateUserAsync("gc");
        var senders = new[] { await server.ConnectAsync(alice), await server.ConnectAsync(bob) };
        var receiver = new Recorder(await server.ConnectAsync(carol));
        var group = await senders[0].CreateGroupAsync("deactivated", [bob, carol]);

        var grains = server.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var grain = grains.Conversation(group.ConversationId);

        // Deactivate the grain every few milliseconds until the burst is over; a round counts when the grain was active
        // when asked (each is a new activation for the next send).
        var burst = await SendWhileAsync(senders, group.ConversationId, "m", TimeSpan.FromMilliseconds(15), async _ =>
        {
            var live = await management.GetGrainActivationCount((GrainReference)(object)grain) > 0;
            await management.DeactivateGrain(grain.GetGrainId());
            return live;
        });
        output.WriteLine($"{burst.Rounds} deactivations asked, {burst.OfALiveActivation} of a live activation, during the burst");

        var stored = await AssertStoredOnceAtTheAckedSeqsAsync(senders[0], group.ConversationId, burst.Acked);
        await AssertReceivedLiveOnceAscendingAsync(receiver, group.ConversationId, burst.Acked, stored);

        // The seq continues after the burst in yet another activation.
        await management.DeactivateGrain(grain.GetGrainId());
        var next = await senders[1].SendTextToConversationAsync(group.ConversationId, "after", "after");
        Assert.Equal((ulong)(2 * PerSender) + 2, next.Seq);
    }

    [ClusterFact]
    public async Task InACluster_TheConversationAndNodeDirectoryGrainsDeactivatedMidBurst_LoseNothing_AndMembersOnBothNodesGetEveryMessageOnce()
    {
        await using var cluster = new ClusterHarness("gd", output.WriteLine);
        await cluster.StartAsync(2);
        var users = new[] { "ga", "gb", "gc", "gd" };
        foreach (var user in users)
        {
            await cluster.CreateUserAsync(user);
        }

        // ga and gd on node 0, gb and gc on node 1; ga and gb send, gc and gd receive live.
        var clients = new List<ParleyClient>();
        var recorders = new List<Recorder>();
        try
        {
            for (var i = 0; i < users.Length; i++)
            {
                var node = i is 0 or 3 ? 0 : 1;
                var issued = await cluster.IssueTokenAsync(users[i], node, "d1", Platform.Linux);
                var client = new ParleyClient(new ParleyClientOptions
                {
                    ServerUri = cluster[node].WebSocketUri,
                    Token = issued.Token,
                    DeviceId = "d1",
                    Platform = Platform.Linux,
                    SendTimeout = TimeSpan.FromSeconds(60),
                    RequestTimeout = TimeSpan.FromSeconds(30),
                });
                clients.Add(client);
                recorders.Add(new Recorder(client));
                await client.ConnectAsync();
            }

            var group = await clients[0].CreateGroupAsync("moving", users.Skip(1));

            // The test joins the cluster as an Orleans client (membership in the same Redis, the nodes' gateways).
            using var host = await cluster.StartOrleansClientAsync();
            var grains = host.Services.GetRequiredService<IClusterClient>();
            var management = grains.GetGrain<IManagementGrain>(0);
            var conversation = grains.Conversation(group.ConversationId);
            var directory = grains.GetGrain<INodeDirectoryGrain>(0);

            // Every few tens of milliseconds until the burst is over: note where the conversation grain lives, then
            // deactivate it and (every other round) the node directory.
            var silos = new HashSet<string>(StringComparer.Ordinal);
            var burst = await SendWhileAsync([clients[0], clients[1]], group.ConversationId, "c", TimeSpan.FromMilliseconds(30), async round =>
            {
                var silo = await management.GetActivationAddress(conversation);
                if (silo is not null)
                {
                    silos.Add(silo.ToString());
                }

                await management.DeactivateGrain(conversation.GetGrainId());
                if (round % 2 == 0)
                {
                    await management.DeactivateGrain(directory.GetGrainId());
                }

                return silo is not null;
            });
            output.WriteLine($"{burst.Rounds} rounds; the conversation grain was live in {burst.OfALiveActivation} of them, on {silos.Count} silo(s): {string.Join(", ", silos)}");

            // Stored once at the acked seqs, gapless; received live on both nodes: gc (node 1) and gd (node 0).
            var stored = await AssertStoredOnceAtTheAckedSeqsAsync(clients[2], group.ConversationId, burst.Acked);
            foreach (var receiver in new[] { recorders[2], recorders[3] })
            {
                await AssertReceivedLiveOnceAscendingAsync(receiver, group.ConversationId, burst.Acked, stored);
            }

            // Afterwards (directory rebuilt by the renewals), a message from node 1 still reaches node 0 live, at the next seq.
            var next = await clients[1].SendTextToConversationAsync(group.ConversationId, "after", "after");
            Assert.Equal((ulong)(2 * PerSender) + 2, next.Seq);
            await Wait.UntilAsync(() => recorders[3].MessagesIn(group.ConversationId).Any(m => m.Seq == next.Seq), "gd on node 0 to receive the message sent after the burst", TimeSpan.FromSeconds(10));
            await host.StopAsync();
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Each sender sends <see cref="PerSender"/> messages into the conversation (client ids <c>{prefix}-{sender}-{k}</c>)
    /// while <paramref name="round"/> (given its number; true when the grain was active when the round began) runs every
    /// <paramref name="interval"/> until every send is acked. The burst is paced by the rounds, not by the clock: before
    /// each of its last three chunks a sender waits until one more round has found the grain active, so however fast the
    /// server acks, the grain is deactivated mid-burst at least 3 times while active (asserted), and every send is acked.
    /// </summary>
    private static async Task<Burst> SendWhileAsync(ParleyClient[] senders, string conversationId, string prefix, TimeSpan interval, Func<int, Task<bool>> round)
    {
        const int Chunks = 4; // the first chunk, then one more live round before each of the other three
        var acked = new ConcurrentDictionary<string, SendReceipt>(StringComparer.Ordinal);
        var live = new int[1];
        var sending = Task.WhenAll(senders.Select((client, i) => Task.Run(async () =>
        {
            for (var k = 0; k < PerSender; k++)
            {
                var chunk = k * Chunks / PerSender;
                if (chunk > 0 && k == (chunk * PerSender + Chunks - 1) / Chunks)
                {
                    await Wait.UntilAsync(
                        () => Volatile.Read(ref live[0]) >= chunk,
                        () => $"round {chunk} of a live activation before chunk {chunk} ({Volatile.Read(ref live[0])} so far)",
                        TimeSpan.FromSeconds(30));
                }

                var id = $"{prefix}-{i}-{k}";
                acked[id] = await client.SendTextToConversationAsync(conversationId, id, id);
            }
        })));

        var rounds = 0;
        var ofALiveActivation = 0;
        while (!sending.IsCompleted)
        {
            if (await round(rounds))
            {
                ofALiveActivation++;
                Volatile.Write(ref live[0], ofALiveActivation);
            }

            rounds++;
            await Task.Delay(interval); // pacing the rounds, not waiting for anything
        }

        await sending;
        Assert.True(ofALiveActivation >= 3, $"the grain was not deactivated mid-burst ({ofALiveActivation} times while active, {rounds} rounds)");
        Assert.Equal(senders.Length * PerSender, acked.Count);
        return new Burst(acked, rounds, ofALiveActivation);
    }

    /// <summary>Stored: the creation notice and every acked message once, at its acked seq; the seqs gapless and each acked once.</summary>
    private static async Task<HashSet<ulong>> AssertStoredOnceAtTheAckedSeqsAsync(ParleyClient reader, string conversationId, IReadOnlyDictionary<string, SendReceipt> acked)
    {
        var stored = await SendBurst.ReadAllAsync(reader, conversationId);
        Assert.Equal(Enumerable.Range(1, acked.Count + 1).Select(i => (ulong)i), stored.Select(m => m.Seq));
        foreach (var (id, receipt) in acked)
        {
            Assert.Equal(receipt.Seq, Assert.Single(stored, m => m.ClientMsgId == id).Seq);
        }

        Assert.Equal(acked.Values.Select(r => r.Seq).Distinct().Count(), acked.Count);
        return [.. stored.Select(m => m.Seq)];
    }

    /// <summary>Live: the receiver got every acked message, each once, in ascending seq order, and nothing that is not stored.</summary>
    private static async Task AssertReceivedLiveOnceAscendingAsync(Recorder receiver, string conversationId, IReadOnlyDictionary<string, SendReceipt> acked, HashSet<ulong> stored)
    {
        await Wait.UntilAsync(
            () => acked.Values.All(r => receiver.MessagesIn(conversationId).Any(m => m.Seq == r.Seq)),
            $"{receiver.Client.UserId} to receive every acked message live",
            TimeSpan.FromSeconds(30));
        var live = receiver.MessagesIn(conversationId).Select(m => m.Seq).ToList();
        Assert.Equal(live.Distinct().Count(), live.Count);
        Assert.Equal(live.Order(), live);
        Assert.Subset(stored, live.ToHashSet());
    }

    private sealed record Burst(IReadOnlyDictionary<string, SendReceipt> Acked, int Rounds, int OfALiveActivation);
}
