using System.Net.Http.Json;
using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.Push.Tests;

/// <summary>
/// Offline push in a cluster (issue 11): whether a recipient is in the foreground is decided by the node that commits
/// the message (its push bridge), which is wherever the conversation's grain lives, not where the recipient's socket is.
/// Two real server processes (PostgreSQL + Redis) and the loopback FCM simulator.
/// </summary>
public sealed class PushClusterPresenceTests(ITestOutputHelper output) : ClusterTest("pcl", output)
{
    // bob's phone is connected to node 1, in the foreground; ten senders on node 0 each write to him in their own 1:1
    // conversation, so the grains (and the push decisions) are spread over both nodes. Every one of those pushes must be
    // filtered as foreground, whichever node decided it; once the phone goes to the background, every next message is
    // pushed exactly once. The admin API on node 0 signs bob out and counts his session on node 1.
    [ClusterFact]
    public async Task ARecipientInTheForegroundOnAnotherNode_GetsNoOfflinePush_AndOneInTheBackground_AndAKickCountsIt()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await Cluster.StartAsync(2, (_, node) => PushServerProcesses.UseFcm(node, fcm));

        const int Senders = 10;
        var senders = Enumerable.Range(0, Senders).Select(i => $"s{i}").ToList();
        foreach (var user in senders.Append("bob"))
        {
            await Cluster.CreateUserAsync(user);
        }

        var phone = await ConnectAsync("bob", 1, "phone", Platform.Android);
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-bob-phone", AppId = "com.example.chat", NotificationsEnabled = true });
        var clients = new List<ParleyClient>();
        foreach (var sender in senders)
        {
            clients.Add(await ConnectAsync(sender, 0, "d1", Platform.Linux));
        }

        // The nodes forward to each other (probes reach the other node live, both ways); a node reports who is connected
        // to it to a peer as soon as it adds the peer.
        var bobGot = new Recorder(phone);
        var s0Got = new Recorder(clients[0]);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (bobGot.Messages.Count == 0 || s0Got.Messages.Count == 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the nodes did not forward to each other within 60 s");
            await clients[0].SendTextAsync("bob", "probe");
            await phone.SendTextAsync("s0", "probe");
            await Task.Delay(500);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));

        // Foreground on node 1: every push is filtered, wherever its conversation's grain committed it.
        var foreground = new List<SendReceipt>();
        for (var i = 0; i < Senders; i++)
        {
            foreground.Add(await clients[i].SendTextAsync("bob", $"while you look {i}", $"fg-{i}"));
        }

        foreach (var receipt in foreground)
        {
            var rows = await PushesAsync(receipt.ServerMsgId);
            var row = Assert.Single(rows, r => r.DeviceId == "phone");
            Assert.True(row.State == "Filtered", $"{receipt.ClientMsgId}: bob's foreground phone got a push decision {row.State} ({row.Reason})");
        }


        // Background: the same conversations push exactly once per message.
        await phone.SetBackgroundAsync(true);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var background = new List<string>();
        for (var i = 0; i < Senders; i++)
        {
            var receipt = await clients[i].SendTextAsync("bob", $"while you are away {i}", $"bg-{i}");
            var row = Assert.Single(await PushesAsync(receipt.ServerMsgId), r => r.DeviceId == "phone");
            Assert.Equal("Accepted", row.State);
            background.Add(row.PushId);
        }

        await Wait.UntilAsync(() => background.All(fcm.RequestsByPushId.ContainsKey), "every background push reached FCM", TimeSpan.FromSeconds(30));
        Assert.All(background, id => Assert.Equal(1, fcm.RequestsByPushId[id]));

        // Signing bob out through node 0 counts his session on node 1 (closed there on arrival).
        var logout = await Cluster.Nodes[0].Admin.PostAsJsonAsync("/admin/v1/users/bob/logout", new { });
        logout.EnsureSuccessStatusCode();
        var body = await logout.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, body.GetProperty("closedConnections").GetInt32());
        await Wait.UntilAsync(() => phone.State != ConnectionState.Connected, "bob's session on node 1 to be closed", TimeSpan.FromSeconds(5));
    }

    private async Task<ParleyClient> ConnectAsync(string userId, int node, string deviceId, Platform platform)
    {
        var token = (await Cluster.IssueTokenAsync(userId, node, deviceId, platform)).Token;
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Cluster.Nodes[node].WebSocketUri,
            Token = token,
            DeviceId = deviceId,
            Platform = platform,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        Cluster.Track(client);
        await client.ConnectAsync();
        return client;
    }

    private async Task<List<PushEndToEndTests.PushRow>> PushesAsync(string messageId)
    {
        List<PushEndToEndTests.PushRow> rows = [];
        await Wait.UntilAsync(
            () =>
            {
                rows = Cluster.Nodes[0].Admin.GetFromJsonAsync<List<PushEndToEndTests.PushRow>>($"/admin/v1/push/messages/{messageId}/pushes", new JsonSerializerOptions(JsonSerializerDefaults.Web)).GetAwaiter().GetResult() ?? [];
                return rows.Count >= 1 && rows.All(r => r.State is not ("Pending" or "Sending"));
            },
            $"the pushes of message {messageId} were planned and settled",
            TimeSpan.FromSeconds(30));
        return rows;
    }
}
