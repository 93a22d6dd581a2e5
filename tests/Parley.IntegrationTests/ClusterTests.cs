using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Parley.Abstractions.Messaging;
using Parley.Core.Delivery;
using Parley.Gateway.Cluster;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Storage.Postgres;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Three real server processes on loopback forming one Orleans cluster (Parley:Cluster:Mode=Redis) over one PostgreSQL
/// schema (PARLEY_TEST_POSTGRES) and one Redis (PARLEY_TEST_REDIS, .ci/setup.d/25-redis.sh); clients on different nodes.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output) : ClusterTest("cl", output)
{
    private readonly Dictionary<(string User, string Device), string> _tokenIds = [];

    private static string Postgres => ClusterHarness.Postgres;

    [ClusterFact]
    public async Task ThreeNodes_UsersOnDifferentNodes_ChatWithTheSameGaplessSeqs_AndKicksAndRevocationsReachOtherNodesWithinOneSecond()
    {
        await StartClusterAsync();
        var users = new[] { "alice", "bob", "carol" };
        foreach (var user in users)
        {
            await CreateUserAsync(user);
        }

        // alice on node 0, bob on node 1, carol on node 2.
        var clients = new List<Recorder>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(new Recorder(await ConnectAsync(users[i], i, "d1", Platform.Linux)));
        }

        await WaitForMeshAsync(clients);

        // No node warned at start that the node directory could not be renewed (Orleans' "No active nodes are compatible
        // with grain nodedirectory": the renewal ran before the node's own silo was active; ADR 0016, start-up warnings).
        for (var i = 0; i < 3; i++)
        {
            Assert.DoesNotContain("node directory could not be renewed", Cluster.Nodes[i].RecentOutput, StringComparison.Ordinal);
            Assert.DoesNotContain("No active nodes are compatible", Cluster.Nodes[i].RecentOutput, StringComparison.Ordinal);
        }

        var group = await clients[0].Client.CreateGroupAsync("trio", [users[1], users[2]]);
        const int PerSender = 20;
        var acks = new ConcurrentBag<SendReceipt>();
        await Task.WhenAll(clients.Select((c, i) => Task.Run(async () =>
        {
            for (var k = 0; k < PerSender; k++)
            {
                acks.Add(await c.Client.SendTextToConversationAsync(group.ConversationId, $"g-{i}-{k}", $"g-{i}-{k}"));
                acks.Add(await c.Client.SendTextAsync(users[(i + 1) % 3], $"d-{i}-{k}", $"d-{i}-{k}"));
            }
        })));

        // The group: stored gapless, and every member (each on its own node) received every other member's message live,
        // with the same seq and server id; each member's history is the same.
        var total = 3 * PerSender + 1; // + the creation notice
        var reference = await SendBurst.ReadAllAsync(clients[0].Client, group.ConversationId);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (ulong)i), reference.Select(m => m.Seq));
        for (var i = 0; i < 3; i++)
        {
            var c = clients[i];
            var expected = reference.Where(m => m.SenderId != users[i] && m.ClientMsgId.StartsWith("g-", StringComparison.Ordinal)).ToList();
            Assert.Equal(2 * PerSender, expected.Count);
            await Wait.UntilAsync(
                () => expected.All(m => c.MessagesIn(group.ConversationId).Any(l => l.Seq == m.Seq)),
                $"{users[i]} to receive the other members' group messages live",
                TimeSpan.FromSeconds(30));
            foreach (var m in expected)
            {
                Assert.Equal(m.ServerMsgId, c.MessagesIn(group.ConversationId).First(l => l.Seq == m.Seq).ServerMsgId);
            }

            var history = await SendBurst.ReadAllAsync(c.Client, group.ConversationId);
            Assert.Equal(reference.Select(m => (m.Seq, m.ServerMsgId)), history.Select(m => (m.Seq, m.ServerMsgId)));
        }

        // 1:1 across nodes: alice -> bob, bob -> carol, carol -> alice; the receiver got each live, seqs gapless.
        for (var i = 0; i < 3; i++)
        {
            var receiver = clients[(i + 1) % 3];
            var conversation = acks.First(a => a.ClientMsgId == $"d-{i}-0").ConversationId;
            await receiver.WaitForMessagesAsync(conversation, PerSender, TimeSpan.FromSeconds(30));
            var stored = await SendBurst.ReadAllAsync(receiver.Client, conversation);
            Assert.Equal(Enumerable.Range(1, PerSender).Select(k => (ulong)k), stored.Select(m => m.Seq));
            Assert.Equal(stored.Select(m => m.Content.Text.Text), Enumerable.Range(0, PerSender).Select(k => $"d-{i}-{k}"));
        }

        // Multi-login across nodes (OnePerPlatformClass): bob's second desktop login on node 2 displaces his node-1 login.
        var watch = Stopwatch.StartNew(); // includes the new login's own handshake
        var bob2 = await ConnectAsync("bob", 2, "d2", Platform.Windows);
        await Wait.UntilAsync(() => clients[1].Kicks.Any(k => k.Reason == KickReason.Displaced), "bob's node-1 login to be displaced", TimeSpan.FromSeconds(5));
        Output.WriteLine($"cross-node displace: {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the kick took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(ConnectionState.Connected, bob2.State);

        // Token revocation through node 0's admin API closes carol's session on node 2.
        watch.Restart();
        (await Cluster.Nodes[0].Admin.DeleteAsync($"/admin/v1/tokens/{_tokenIds[("carol", "d1")]}")).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => clients[2].Kicks.Any(k => k.Reason == KickReason.TokenRevoked), "carol's node-2 session to be closed", TimeSpan.FromSeconds(5));
        Output.WriteLine($"cross-node revocation: {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the revocation took {watch.ElapsedMilliseconds} ms");
    }

    // Revocation is cluster-wide (issue 11): tokens are checked against the shared store on every request, with no
    // node-local cache, so a token revoked through one node is refused by every node at once. An operator token revoked
    // through node 0 is refused by node 1's admin API on the next request; a device token revoked through node 0 cannot
    // sign in on node 1 (a live session of it is closed on every node: the three-node test above).
    [ClusterFact]
    public async Task ATokenRevokedThroughOneNode_IsRefusedByTheOtherNodeAtOnce()
    {
        await StartClusterAsync(count: 2);
        var issued = await Cluster.Nodes[0].Admin.PostAsJsonAsync("/admin/v1/operators", new { name = "ops", scopes = new[] { "read" } });
        issued.EnsureSuccessStatusCode();
        var body = await issued.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var operatorToken = body.GetProperty("token").GetString()!;
        var operatorId = body.GetProperty("info").GetProperty("tokenId").GetString()!;
        using var asOperator = new HttpClient { BaseAddress = Cluster.Nodes[1].BaseUri };
        asOperator.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", operatorToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await asOperator.GetAsync("/admin/v1/session")).StatusCode);
        (await Cluster.Nodes[0].Admin.DeleteAsync($"/admin/v1/operators/{operatorId}")).EnsureSuccessStatusCode();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await asOperator.GetAsync("/admin/v1/session")).StatusCode);

        await CreateUserAsync("dave");
        var dave = await Cluster.IssueTokenAsync("dave", 0, "d1", Platform.Linux);
        (await Cluster.Nodes[0].Admin.DeleteAsync($"/admin/v1/tokens/{dave.TokenId}")).EnsureSuccessStatusCode();
        await using var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Cluster.Nodes[1].WebSocketUri,
            Token = dave.Token,
            DeviceId = "d1",
            Platform = Platform.Linux,
            AutoReconnect = false,
        });
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync());
        Output.WriteLine($"node 1 refused the revoked device token: {refused.GetType().Name}: {refused.Message}");
        Assert.NotEqual(ConnectionState.Connected, client.State);
    }

    // The out-of-order case forced, not raced (ADR 0016): a "ghost" writer on the shared store commits a message to alice
    // at version v and never forwards it (a node that died right after its commit); then bob, on node 1, sends alice a
    // message (version > v) that reaches node 0 at once. Node 0 must not hand it to alice ahead of v: it holds it, and
    // once the gap is overdue it makes alice resync from her cursor (close 4012), which brings both messages. carol, on
    // node 0 too but with nothing in or after the gap, is not disturbed and then gets bob's next message live.
    [ClusterFact]
    public async Task AVersionNeverForwarded_HoldsLaterLiveEvents_ThenOnlyTheUsersItConcernsResync_AndMissNothing()
    {
        await StartClusterAsync(count: 2);
        foreach (var user in new[] { "alice", "bob", "carol", "ghost" })
        {
            await CreateUserAsync(user);
        }

        var alice = new Recorder(await ConnectAsync("alice", 0, "d1", Platform.Linux));
        var bob = new Recorder(await ConnectAsync("bob", 1, "d1", Platform.Linux));
        var carol = new Recorder(await ConnectAsync("carol", 0, "d1", Platform.Linux));
        var live = new ConcurrentQueue<(string ClientMsgId, bool FromSync)>();
        alice.Client.MessageReceived += (_, e) => live.Enqueue((e.Message.ClientMsgId, e.FromSync));
        await WaitForMeshAsync([alice, bob, carol]);

        // Versions committed while the nodes were still finding each other (the mesh's group) may never have been
        // forwarded: let such a startup gap close (after 3 s) before forcing one.
        await Task.Delay(TimeSpan.FromSeconds(4));
        await Wait.UntilAsync(() => new[] { alice, bob, carol }.All(c => c.Client.State == ConnectionState.Connected), "every client to be connected", TimeSpan.FromSeconds(20));
        var aliceStates = alice.States.Count;
        var carolStates = carol.States.Count;

        // The ghost's commit: a new 1:1 conversation ghost-alice with its first message, through the store's version order.
        var ghostVersion = (await GhostCommitAsync(("alice", "ghost-1")))[0].Version;

        var gapOpened = Stopwatch.StartNew();
        var first = await bob.Client.SendTextAsync("alice", "after the gap", "bob-1");

        // alice resyncs (4012) and has both, each once; bob's message came with the resync, never live ahead of the gap.
        await Wait.UntilAsync(() => live.Any(m => m.ClientMsgId == "ghost-1") && live.Any(m => m.ClientMsgId == "bob-1"), "alice to have both messages", TimeSpan.FromSeconds(20));
        Output.WriteLine($"gap closed and alice resynced in {gapOpened.ElapsedMilliseconds} ms");
        Assert.Contains(alice.States.Skip(aliceStates), s => s.CloseCode == CloseCodes.Resync);
        Assert.Single(live, m => m.ClientMsgId == "ghost-1");
        Assert.Single(live, m => m.ClientMsgId == "bob-1");

        // Never live ahead of the gap: alice had the ghost's message (from her resync) before bob's. Normally bob's
        // message is held behind the gap and comes with the resync too; on a starved machine bob's send can commit only
        // after the gap was already closed as a tail (3 s after the ghost's commit), and then it rightly comes live, after.
        var order = live.Select(m => m.ClientMsgId).ToList();
        Assert.True(live.Single(m => m.ClientMsgId == "bob-1").FromSync || order.IndexOf("ghost-1") < order.IndexOf("bob-1"), $"bob's message was handed to alice live ahead of the version below it: {string.Join(", ", order)}");
        Output.WriteLine(live.Single(m => m.ClientMsgId == "bob-1").FromSync ? "bob's message was held behind the gap and came with the resync" : "bob's message committed after the gap was closed and came live");
        Assert.True(alice.Client.Cursor >= (ulong)ghostVersion + 1);
        Assert.Equal(1UL, first.Seq);

        // carol: no change in or after the gap, so no resync; the gate moved on and she gets bob's message live.
        await bob.Client.SendTextAsync("carol", "hello carol", "bob-2");
        await carol.WaitForMessagesAsync(Ids.DirectConversationId("bob", "carol"), 1, TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(carol.States.Skip(carolStates), s => s.State != ConnectionState.Connected);
    }

    // Late is not lost (ADR 0016, progress marks): a version committed on a node whose forwards are slow (an overloaded
    // node) must be waited for, not closed as a gap after GapTimeout. The test is that slow node: a "ghost" on the shared
    // store commits a message to alice at version v, keeps telling both nodes on its stream (through their delivery
    // observers, as an Orleans client) that it has forwarded only up to v - 1, and forwards v itself only 7 s later.
    // Meanwhile bob's message to alice (version > v) reaches node 0 at once and is held behind v. Before the marks, node
    // 0 closed the gap after 3 s and made alice resync (4012, the storm of an overloaded cluster); now it waits, and
    // alice gets both live, each once, in version order, with no resync.
    [ClusterFact]
    public async Task AVersionForwardedLate_ByAPeerStillForwarding_IsWaitedFor_WithoutAResync()
    {
        await StartClusterAsync(count: 2);
        foreach (var user in new[] { "alice", "bob", "ghost" })
        {
            await CreateUserAsync(user);
        }

        var alice = new Recorder(await ConnectAsync("alice", 0, "d1", Platform.Linux));
        var bob = new Recorder(await ConnectAsync("bob", 1, "d1", Platform.Linux));
        var live = new ConcurrentQueue<(string ClientMsgId, bool FromSync)>();
        alice.Client.MessageReceived += (_, e) => live.Enqueue((e.Message.ClientMsgId, e.FromSync));
        await WaitForMeshAsync([alice, bob]);

        // Versions committed while the nodes were still finding each other may never have been forwarded: let such a
        // startup gap close (after 3 s) before forcing one.
        await Task.Delay(TimeSpan.FromSeconds(4));
        await Wait.UntilAsync(() => new[] { alice, bob }.All(c => c.Client.State == ConnectionState.Connected), "every client to be connected", TimeSpan.FromSeconds(20));
        var aliceStates = alice.States.Count;

        // The ghost joins as an Orleans client and finds the nodes' delivery observers in the directory (under a silo
        // address no node takes for a live peer, so no node forwards to it). Its marks name node 1's silo: a live one.
        using var host = await Cluster.StartOrleansClientAsync();
        var grains = host.Services.GetRequiredService<IClusterClient>();
        var ghostNode = "ghost-" + Guid.NewGuid().ToString("N");
        var directory = grains.GetGrain<INodeDirectoryGrain>(0);
        var entries = await directory.Renew(ghostNode, "ghost:0", grains.CreateObjectReference<INodeDeliveryObserver>(new IgnoringObserver()));
        var nodes = entries.Where(e => e.NodeId != ghostNode).ToList();
        Assert.Equal(2, nodes.Count);
        var liveSilo = nodes[0].SiloAddress;

        using var marking = new CancellationTokenSource();
        var markedThrough = 0L;
        async Task MarkAsync(long through)
        {
            var mark = new NodeDeliveryItem(NodeDeliveryOp.Progress, [], through, ghostNode, null, null, liveSilo);
            await Task.WhenAll(nodes.Select(n => n.Observer.Deliver([mark])));
        }

        await MarkAsync(0);
        var ghostMessage = (await GhostCommitAsync(("alice", "ghost-1")))[0];
        var ghostVersion = ghostMessage.Version;

        // Its stream keeps flowing (a mark every 500 ms), still below v: v may be in it.
        markedThrough = ghostVersion - 1;
        var marks = Task.Run(async () =>
        {
            while (!marking.IsCancellationRequested)
            {
                await MarkAsync(Volatile.Read(ref markedThrough));
                await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None); // the mark interval, not a wait for a condition
            }
        });

        await bob.Client.SendTextAsync("alice", "after the late one", "bob-1");

        // The lateness itself: more than twice GapTimeout before v is forwarded (a scenario step, not a wait for a condition).
        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.DoesNotContain(live, m => m.ClientMsgId == "bob-1"); // held behind v, not handed out ahead of it

        var publish = new NodeDeliveryItem(NodeDeliveryOp.Publish, ["alice", "ghost"], ghostVersion, null, null, ClusterEventCodec.Encode(new MessageCommitted(ghostMessage)));
        Volatile.Write(ref markedThrough, ghostVersion);
        await Task.WhenAll(nodes.Select(n => n.Observer.Deliver([publish, new NodeDeliveryItem(NodeDeliveryOp.Progress, [], ghostVersion, ghostNode, null, null, liveSilo)])));

        await Wait.UntilAsync(() => live.Any(m => m.ClientMsgId == "ghost-1") && live.Any(m => m.ClientMsgId == "bob-1"), "alice to have both messages", TimeSpan.FromSeconds(20));
        await marking.CancelAsync();
        await marks;
        Assert.DoesNotContain(alice.States.Skip(aliceStates), s => s.CloseCode == CloseCodes.Resync);
        Assert.Equal(new[] { "ghost-1", "bob-1" }, live.Where(m => m.ClientMsgId is "ghost-1" or "bob-1").Select(m => m.ClientMsgId));
        Assert.All(live.Where(m => m.ClientMsgId is "ghost-1" or "bob-1"), m => Assert.False(m.FromSync));
        Assert.True(alice.Client.Cursor > (ulong)ghostVersion);
        await directory.Remove(ghostNode);
        await host.StopAsync();
    }

    private sealed class IgnoringObserver : INodeDeliveryObserver
    {
        public Task Deliver(NodeDeliveryItem[] items) => Task.CompletedTask;
    }

    // The tail gap, forced (ADR 0016): a "ghost" writer on the shared store commits the cluster's LAST two versions, a
    // message to alice (node 0) and one to dave (node 1), and never forwards them (a node that died right after its
    // commit); nothing is committed after them, so no gate ever holds a later version that would reveal the gap. Each
    // node must still find it by comparing its gate with the store's committed version, make exactly the users it
    // concerns resync (close 4012) within a bound, and move on: carol (node 0, nothing in the gap) is not disturbed and
    // then gets a message live.
    [ClusterFact]
    public async Task TheLastVersionsNeverForwarded_WithNothingAfterThem_AreFoundByTheTailCheck_AndTheirUsersResyncWithinSeconds()
    {
        await StartClusterAsync(count: 2);
        foreach (var user in new[] { "alice", "bob", "carol", "dave", "ghost" })
        {
            await CreateUserAsync(user);
        }

        var alice = new Recorder(await ConnectAsync("alice", 0, "d1", Platform.Linux));
        var bob = new Recorder(await ConnectAsync("bob", 1, "d1", Platform.Linux));
        var carol = new Recorder(await ConnectAsync("carol", 0, "d1", Platform.Linux));
        var dave = new Recorder(await ConnectAsync("dave", 1, "d1", Platform.Linux));
        var carolLive = new ConcurrentBag<(string ClientMsgId, bool FromSync)>();
        carol.Client.MessageReceived += (_, e) => carolLive.Add((e.Message.ClientMsgId, e.FromSync));
        await WaitForMeshAsync([alice, bob, carol, dave]);

        // Let any startup gap (versions committed while the nodes were finding each other) close first.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await Wait.UntilAsync(() => new[] { alice, bob, carol, dave }.All(c => c.Client.State == ConnectionState.Connected), "every client to be connected", TimeSpan.FromSeconds(20));
        var aliceStates = alice.States.Count;
        var daveStates = dave.States.Count;
        var carolStates = carol.States.Count;
        var aliceConversation = Ids.DirectConversationId("ghost", "alice");
        var daveConversation = Ids.DirectConversationId("ghost", "dave");

        var firstVersion = (await GhostCommitAsync(("alice", "ghost-alice"), ("dave", "ghost-dave")))[0].Version;

        // Gap timeout 3 s + a tail check each second + the resync: well within 10 s.
        var committed = Stopwatch.StartNew();
        await Wait.UntilAsync(
            () => alice.MessagesIn(aliceConversation).Count > 0 && dave.MessagesIn(daveConversation).Count > 0,
            "alice (node 0) and dave (node 1) to have the tail messages",
            TimeSpan.FromSeconds(10));
        Output.WriteLine($"both resynced and had the tail messages {committed.ElapsedMilliseconds} ms after the commit");
        Assert.Contains(alice.States.Skip(aliceStates), s => s.CloseCode == CloseCodes.Resync);
        Assert.Contains(dave.States.Skip(daveStates), s => s.CloseCode == CloseCodes.Resync);
        Assert.Single(alice.MessagesIn(aliceConversation), m => m.ClientMsgId == "ghost-alice");
        Assert.Single(dave.MessagesIn(daveConversation), m => m.ClientMsgId == "ghost-dave");
        Assert.True(alice.Client.Cursor >= (ulong)firstVersion && dave.Client.Cursor >= (ulong)firstVersion + 1);

        // carol had nothing in the gap: not disturbed; the gate moved on, so bob's message reaches her live.
        await bob.Client.SendTextAsync("carol", "hello carol", "bob-1");
        await carol.WaitForMessagesAsync(Ids.DirectConversationId("bob", "carol"), 1, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(carol.States.Skip(carolStates), s => s.State != ConnectionState.Connected);
        Assert.False(carolLive.Single(m => m.ClientMsgId == "bob-1").FromSync, "carol's message came from a resync, not live");
    }

    // The spurious resync after a rejoin (issue 11), forced: versions a node never received live are closed as a gap
    // (ADR 0016), but a connection that was accepted AFTER they were committed had them in its connect-time sync and
    // missed nothing. It used to be closed with 4012 all the same (its user's feed changed since the gap's start), which
    // is what dropped a client and its request in flight right after a killed node rejoined: versions committed while
    // the nodes were still finding each other became a gap, and the clients that connected meanwhile were resynced.
    // Here a ghost writer commits a message to bob (connected before) and one to alice, never forwarded, and alice
    // connects right after: bob must resync (he missed his live), alice must not be disturbed.
    [ClusterFact]
    public async Task AGapSkipped_AfterAConnectionSyncedPastIt_ResyncsOnlyTheConnectionsThatMissedIt()
    {
        await StartClusterAsync(count: 1);
        foreach (var user in new[] { "alice", "bob", "ghost" })
        {
            await CreateUserAsync(user);
        }

        var bob = new Recorder(await ConnectAsync("bob", 0, "d1", Platform.Linux));
        var bobStates = bob.States.Count;
        var bobConversation = Ids.DirectConversationId("ghost", "bob");
        var aliceConversation = Ids.DirectConversationId("ghost", "alice");
        var firstVersion = (await GhostCommitAsync(("bob", "ghost-bob"), ("alice", "ghost-alice")))[0].Version;

        // alice connects after the ghost's commit: her sync contains it (and her cursor is past it).
        var alice = new Recorder(await ConnectAsync("alice", 0, "d1", Platform.Linux));
        Assert.True(alice.Client.Cursor >= (ulong)firstVersion + 1, $"alice's sync ended at {alice.Client.Cursor}, below the ghost's versions");
        var aliceStates = alice.States.Count;

        // The gap is closed by the tail check (3 s after it is first seen, checked each second): bob resyncs with 4012.
        var committed = Stopwatch.StartNew();
        await Wait.UntilAsync(() => bob.States.Skip(bobStates).Any(s => s.CloseCode == CloseCodes.Resync), "bob to be resynced (4012)", TimeSpan.FromSeconds(30));
        await bob.WaitForMessagesAsync(bobConversation, 1, TimeSpan.FromSeconds(20));
        Output.WriteLine($"bob resynced and had his message {committed.ElapsedMilliseconds} ms after the commit");

        // alice was never closed, and the node's gate moved on: a message to her arrives live.
        await bob.Client.SendTextAsync("alice", "after the gap", "bob-1");
        await alice.WaitForMessagesAsync(Ids.DirectConversationId("alice", "bob"), 1, TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(alice.States.Skip(aliceStates), s => s.State != ConnectionState.Connected);
        Assert.Equal(ConnectionState.Connected, alice.Client.State);
        Assert.Contains(await SendBurst.ReadAllAsync(alice.Client, aliceConversation), m => m.ClientMsgId == "ghost-alice");
    }

    // A gap that holds only an edit (a node died right after committing it, or its forward was dropped under overload)
    // must resync the conversation's members like any other gap. An edit raises the conversation's change version, not
    // the members' feed versions, and the gap close asked only for the latter: the gap was skipped with no resync, the
    // edit never came live, and the members' next live event moved their cursors past it, so no resume brought it either
    // (issue 11). Here a ghost writer edits bob's message to alice and never forwards it; alice (node 0) and bob (node 1)
    // must resync (4012) on their nodes and alice's resume brings the edited message; carol, on node 0 with nothing in
    // the gap, is not disturbed.
    [ClusterFact]
    public async Task AGapHoldingOnlyAnEdit_ResyncsTheConversationsMembersOnEveryNode_AndTheResumeBringsTheEditedMessage()
    {
        await StartClusterAsync(count: 2);
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            await CreateUserAsync(user);
        }

        var alice = new Recorder(await ConnectAsync("alice", 0, "d1", Platform.Linux));
        var bob = new Recorder(await ConnectAsync("bob", 1, "d1", Platform.Linux));
        var carol = new Recorder(await ConnectAsync("carol", 0, "d1", Platform.Linux));
        var conversation = Ids.DirectConversationId("alice", "bob");

        // Once alice has bob's first message, node 0's gate is past every version below it (a gap left while the nodes
        // were still finding each other has been closed by then, before the states are counted).
        await bob.Client.SendTextAsync("alice", "before the edit", "bob-1");
        await alice.WaitForMessagesAsync(conversation, 1, TimeSpan.FromSeconds(60));
        var updated = new ConcurrentQueue<Message>();
        alice.Client.MessageUpdated += (_, e) => updated.Enqueue(e.Message);
        var (aliceStates, bobStates, carolStates) = (alice.States.Count, bob.States.Count, carol.States.Count);

        const string Edited = "edited on a node that never forwarded it";
        var editVersion = await GhostEditAsync(conversation, 1, Edited);

        // Each node closes the gap GapTimeout (3 s) after it is first seen: the tail check, once a second. The timeouts are
        // for a loaded CI machine (load 20-80): the edit can reach alice only through a resync, so no wait passes without one.
        var committed = Stopwatch.StartNew();
        await Wait.UntilAsync(() => updated.Any(m => m.Seq == 1 && m.Content?.Text?.Text == Edited), "alice's resume to bring the edited message", TimeSpan.FromSeconds(60));
        Output.WriteLine($"alice resynced and had the edit {committed.ElapsedMilliseconds} ms after its commit");
        Assert.Contains(alice.States.Skip(aliceStates), s => s.CloseCode == CloseCodes.Resync);
        await Wait.UntilAsync(() => bob.States.Skip(bobStates).Any(s => s.CloseCode == CloseCodes.Resync), "bob to be resynced on node 1 (4012)", TimeSpan.FromSeconds(60));

        // The gates moved on: bob's next message reaches alice, past the edit.
        await Wait.UntilAsync(() => bob.Client.State == ConnectionState.Connected, "bob to be connected again", TimeSpan.FromSeconds(60));
        await bob.Client.SendTextAsync("alice", "after the edit", "bob-2");
        await alice.WaitForMessagesAsync(conversation, 2, TimeSpan.FromSeconds(60));
        Assert.True(alice.Client.Cursor > (ulong)editVersion, $"alice's cursor {alice.Client.Cursor} is not past the edit's version {editVersion}");
        Assert.DoesNotContain(carol.States.Skip(carolStates), s => s.State != ConnectionState.Connected);
    }

    // Rewrites message seq of a conversation with a new text through the store's version order and never forwards it (a
    // node that died right after committing an edit). Returns the edit's version.
    private async Task<long> GhostEditAsync(string conversationId, long seq, string text)
    {
        await using var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = Postgres, Schema = Cluster.Schema });
        var store = new PostgresMessageStore(database);
        await store.InitializeAsync();
        await using var commit = await store.BeginAsync(1);
        var batch = new CommitBatch();
        batch.MessageUpdates.Add(new MessageUpdate(conversationId, seq, [], commit.FirstVersion) { Content = new Content { Text = new TextContent { Text = text } }.ToByteArray() });
        await commit.CommitAsync(batch);
        return commit.FirstVersion;
    }

    // Commits one new 1:1 conversation ghost-recipient with one message per recipient (seq 1, at consecutive versions),
    // through the store's version order and never forwarded (a node that died right after its commit, or a slow one).
    // Returns the messages committed.
    private async Task<StoredMessage[]> GhostCommitAsync(params (string Recipient, string ClientMsgId)[] messages)
    {
        await using var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = Postgres, Schema = Cluster.Schema });
        var store = new PostgresMessageStore(database);
        await store.InitializeAsync();
        await using var commit = await store.BeginAsync(messages.Length);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var batch = new CommitBatch();
        for (var i = 0; i < messages.Length; i++)
        {
            var (recipient, clientMsgId) = messages[i];
            var version = commit.FirstVersion + i;
            var conversation = Ids.DirectConversationId("ghost", recipient);
            var content = new Content { Text = new TextContent { Text = "from a node that never forwarded it" } };
            batch.Conversations.Add(new NewConversation(conversation, Parley.Abstractions.Messaging.ConversationKind.Direct, null, "", "ghost", now, [recipient, "ghost"], version));
            batch.Messages.Add(new StoredMessage(conversation, 1, Guid.CreateVersion7().ToString("N"), "ghost", clientMsgId, now,
                (int)content.BodyCase, content.ToByteArray(), false, version));
        }

        await commit.CommitAsync(batch);
        return [.. batch.Messages];
    }

    // kill -9 of a random node at a random point of a burst from clients on all nodes, five times (issue 11). The
    // receiver sits on the node that dies, so it fails over; it must end with every 1:1 message (live or from its
    // resume: the release gate of ADR 0016 keeps its cursor exact whatever order live events came in), and every acked
    // message is stored exactly once at its acked seq, gapless, in every conversation (some had their grain on the dead
    // node and continue elsewhere). The killed node rejoins before the next iteration, whose clients connect at once.
    // History: a tail gap (fixed by the tail check) and then, 1 run in 3 on a quiet machine, a live node's client dropped
    // mid-CreateGroup right after the rejoin: versions committed while the rejoined node and its peers were still finding
    // each other (a peer learnt the new node only on its next 5 s directory renewal; a directory answer without a live
    // peer dropped that peer) became gaps, and closing a gap resynced (4012) even connections whose connect-time sync
    // already had it. Fixed by AGapSkipped_AfterAConnectionSyncedPastIt_... (its test) and the hello/peer-keeping of ADR 0016.
    // Timeouts are generous for a loaded CI machine; the failover bound (20 s) is the issue's.
    [ClusterFact]
    public async Task KillNine_OfOneNodeDuringABurstFromAllNodes_LosesNoAckedMessage_AndItsClientsResumeOnAnotherNodeWithEveryMessage()
    {
        await StartClusterAsync();
        var seed = Environment.TickCount;
        Output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var iteration = 0; iteration < 5; iteration++)
        {
            await KillIterationAsync(iteration, random);
        }
    }

    private async Task KillIterationAsync(int iteration, Random random)
    {
        const int PerSender = 40;
        var senders = Enumerable.Range(0, 3).Select(i => $"k{iteration}s{i}").ToList();
        var receiver = $"k{iteration}r";
        foreach (var user in senders.Append(receiver))
        {
            await CreateUserAsync(user);
        }

        // One sender per node; the receiver on the node that will die, so one client of each kind fails over.
        var victim = random.Next(3);
        var clients = new List<Recorder>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(new Recorder(await ConnectAsync(senders[i], i, "d1", Platform.Linux, failover: true, sendTimeout: TimeSpan.FromSeconds(90))));
        }

        var receiverClient = new Recorder(await ConnectAsync(receiver, victim, "d1", Platform.Linux, failover: true));
        // A request in flight when its connection drops fails with Unavailable (the SDK resends only messages); an
        // application asks again, here idempotently under the same group id. Said in the output: after the join fixes
        // of ADR 0016 no connection of a live node should drop here, and a retry is worth looking at.
        var groupId = $"burst{iteration}-{Guid.NewGuid():N}";
        CreateGroupResult group;
        try
        {
            group = await clients[0].Client.CreateGroupAsync($"burst{iteration}", senders.Skip(1).Append(receiver), groupId);
        }
        catch (ParleyException ex) when (ex.Code == ErrorCode.Unavailable)
        {
            Output.WriteLine($"iteration {iteration}: CreateGroup lost its connection ({ex.Message}; closes [{string.Join(", ", clients[0].States.Select(st => st.CloseCode))}]); asked again");
            try
            {
                group = await clients[0].Client.CreateGroupAsync($"burst{iteration}", senders.Skip(1).Append(receiver), groupId);
            }
            catch (ParleyException again) when (again.Code == ErrorCode.AlreadyExists)
            {
                group = new CreateGroupResult { GroupId = groupId, ConversationId = Ids.GroupConversationId(groupId) };
            }
        }

        var acked = new ConcurrentDictionary<string, SendReceipt>();
        var total = 3 * PerSender;
        var killAt = random.Next(total / 10, total * 6 / 10);
        var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = SendBurst.Start([.. clients.Select(c => c.Client)], PerSender, $"k{iteration}", group.ConversationId, receiver, acked, killAt, killNow);
        await Wait.ForAsync(killNow.Task.ContinueWith(_ => true, TaskScheduler.Default), $"{killAt} acks before the kill", TimeSpan.FromSeconds(120));

        // Counted before the kill: a client may fail over and resume before the kill call returns.
        var dead = clients.Where((_, i) => i == victim).Append(receiverClient).ToList();
        var syncsBefore = dead.Select(c => c.Syncs.Count).ToList();
        await Cluster.KillAsync(victim);
        var killed = Stopwatch.StartNew();
        var ackedBeforeKill = acked.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.True(ackedBeforeKill.Count < total, "the kill must land in the middle of the burst");
        Output.WriteLine($"iteration {iteration}: killed node {victim} after {ackedBeforeKill.Count} of {total} acks");

        // The dead node's clients reconnect to another node and resume (a sync completes there) within 20 s.
        await Wait.UntilAsync(
            () => dead.Select((c, i) => c.Client.State == ConnectionState.Connected && c.Syncs.Count > syncsBefore[i] && c.Client.CurrentServerUri != Cluster.Nodes[victim].WebSocketUri).All(x => x),
            "the dead node's clients to resume on another node",
            TimeSpan.FromSeconds(20));
        Output.WriteLine($"iteration {iteration}: failover and resume in {killed.ElapsedMilliseconds} ms");

        await Wait.ForAsync(Task.WhenAll(sends).ContinueWith(_ => true, TaskScheduler.Default), "every send to be acked after the kill", TimeSpan.FromSeconds(150));
        await Task.WhenAll(sends);
        Assert.Equal(total, acked.Count);

        // Every acked message is stored exactly once with its acked seq; every conversation is gapless.
        var verifier = clients[(victim + 1) % 3].Client;
        var storedIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var conversation in acked.Values.Select(a => a.ConversationId).Append(group.ConversationId).Distinct())
        {
            var reader = conversation == group.ConversationId ? verifier : receiverClient.Client;
            var stored = await SendBurst.ReadAllAsync(reader, conversation);
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
            foreach (var message in stored.Where(m => m.ClientMsgId.StartsWith($"k{iteration}-", StringComparison.Ordinal)))
            {
                Assert.True(storedIds.Add(message.ClientMsgId), $"{message.ClientMsgId} stored twice");
                Assert.Equal(acked[message.ClientMsgId].Seq, message.Seq);
            }
        }

        Assert.Equal(acked.Keys.Order(StringComparer.Ordinal), storedIds.Order(StringComparer.Ordinal));

        // The receiver (failed over) has every 1:1 message and every group message, through live delivery or its resume,
        // each once and in seq order.
        var receiverConversations = acked.Values.Where(a => a.ConversationId != group.ConversationId).Select(a => a.ConversationId).Append(group.ConversationId).Distinct().ToList();
        var missing = () => acked.Values.Where(a => !receiverClient.MessagesIn(a.ConversationId).Any(m => m.ClientMsgId == a.ClientMsgId)).Select(a => $"{a.ClientMsgId}@{a.Seq}").ToList();
        var watch = Stopwatch.StartNew();
        while (missing().Count > 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30),
                $"the receiver lacks {string.Join(", ", missing())} 30 s after the burst; state {receiverClient.Client.State}, kicks [{string.Join(", ", receiverClient.Kicks.Select(k => k.Reason))}], closes [{string.Join(", ", receiverClient.States.Select(s => s.CloseCode))}], cursor {receiverClient.Client.Cursor}");
            await Task.Delay(100);
        }
        foreach (var conversation in receiverConversations)
        {
            var seen = receiverClient.MessagesIn(conversation).Select(m => m.Seq).ToList();
            Assert.Equal(seen.Order(), seen);
            Assert.Equal(seen.Distinct().Count(), seen.Count);
        }

        foreach (var c in clients.Append(receiverClient))
        {
            await c.Client.DisposeAsync();
            Clients.Remove(c.Client);
        }

        // The node rejoins for the next iteration.
        await Cluster.RestartAsync(victim);
    }

    private Task StartClusterAsync(int count = 3) => Cluster.StartAsync(count);

    // Every node forwards to every other: each client's typing reaches the others live (retried until it does).
    private static async Task WaitForMeshAsync(List<Recorder> clients)
    {
        var probe = await clients[0].Client.CreateGroupAsync("mesh", clients.Skip(1).Select(c => UserOf(c)));
        var watch = Stopwatch.StartNew();
        while (true)
        {
            foreach (var c in clients)
            {
                await c.Client.SetTypingAsync(probe.ConversationId, true);
            }

            await Task.Delay(300);
            var complete = clients.All(c => clients.Where(o => o != c).All(o => c.Typing.Any(t => t.ConversationId == probe.ConversationId && t.UserId == UserOf(o))));
            if (complete)
            {
                return;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the nodes did not reach each other within 30 s");
        }
    }

    private static string UserOf(Recorder recorder) => recorder.Client.UserId!;

    private Task CreateUserAsync(string userId) => Cluster.CreateUserAsync(userId);

    private async Task<ParleyClient> ConnectAsync(string userId, int node, string deviceId, Platform platform, bool failover = false, TimeSpan? sendTimeout = null)
    {
        var issued = await Cluster.IssueTokenAsync(userId, node, deviceId, platform);
        var token = issued.Token;
        _tokenIds[(userId, deviceId)] = issued.TokenId;
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Cluster.Nodes[node].WebSocketUri,
            AlternateServerUris = failover ? [.. Cluster.Nodes.Where((_, i) => i != node).Select(n => n.WebSocketUri)] : [],
            Token = token,
            DeviceId = deviceId,
            Platform = platform,
            SendTimeout = sendTimeout ?? TimeSpan.FromSeconds(30),
            // Requests (CreateGroup, history) wait as long as sends where the test says so: a loaded CI machine runs
            // three silos that are still settling their grain directory right after a start or a rejoin.
            RequestTimeout = sendTimeout ?? TimeSpan.FromSeconds(10),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        Clients.Add(client);
        await client.ConnectAsync();
        return client;
    }

}
