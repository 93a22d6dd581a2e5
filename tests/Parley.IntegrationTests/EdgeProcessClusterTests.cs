using System.Net.Http.Json;
using System.Net.WebSockets;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Issues 18, 19 and 20 across real processes: two server processes in Redis cluster mode on one PostgreSQL schema, with
/// friends-only 1:1s and the OpenIM edge. A notification account created through one node is one on the other at once
/// (its messages reach an OpenIM session there in the notification conversation <c>sn_…</c>, and friends-only does not
/// refuse them); an OpenIM connection that dropped on one node and reconnects to the other is replayed what it missed (the
/// position is in the shared database); a reply to an edited message shows the latest revision in the quote on every node.
/// </summary>
public sealed class EdgeProcessClusterTests(ITestOutputHelper output) : ClusterTest("edge", output)
{
    [ClusterFact]
    public async Task TwoProcesses_NotificationAccountsReplayPositionsAndQuotes_AreTheSameOnEveryNode()
    {
        await StartClusterAsync();
        var alice = "ea" + Guid.NewGuid().ToString("N")[..10];
        var bob = "eb" + Guid.NewGuid().ToString("N")[..10];
        foreach (var user in new[] { alice, bob })
        {
            await Cluster.CreateUserAsync(user);
        }

        // Issue 19: an account created through node 0 is a notification account on node 1 at once (not after node 1's
        // 5 s re-read): its first message, sent through node 1, reaches bob's OpenIM session there in sn_…, and
        // friends-only lets it through.
        using var bobOpenIm = await OpenImSessionAsync(bob, 1);
        var account = "sys" + Guid.NewGuid().ToString("N")[..10];
        (await Cluster[0].Admin.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "Orders" })).EnsureSuccessStatusCode();
        var sent = await Cluster[1].Admin.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = account, recipientId = bob, content = new { text = "order shipped" } });
        Assert.True(sent.IsSuccessStatusCode, "the account's send on a friends-only cluster: " + await sent.Content.ReadAsStringAsync());
        var notice = await ReceiveUntilAsync(bobOpenIm, text => text.Contains("order shipped", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(notice);
        var (first, second) = string.CompareOrdinal(account, bob) < 0 ? (account, bob) : (bob, account);
        Assert.Contains($"sn_{first}_{second}", notice, StringComparison.Ordinal);
        Assert.DoesNotContain($"si_{first}_{second}", notice, StringComparison.Ordinal);

        // Issue 20: alice's OpenIM connection on node 0 drops; what she misses is replayed when she reconnects to node 1.
        await MakeFriendsAsync(alice, bob);
        var bobClient = await ConnectAsync(bob, 1);
        var dropped = await OpenImSessionAsync(alice, 0);
        dropped.Abort();
        dropped.Dispose();
        await Wait.UntilAsync(() => PositionSavedAsync(alice).GetAwaiter().GetResult(), "node 0 saved the dropped connection's position", TimeSpan.FromSeconds(30));
        await bobClient.SendTextAsync(alice, "missed on node 0");
        using var resumed = await OpenImSessionAsync(alice, 1);
        Assert.NotNull(await ReceiveUntilAsync(resumed, text => text.Contains("missed on node 0", StringComparison.Ordinal), TimeSpan.FromSeconds(20)));

        // Issue 18: a reply to an edited message quotes its latest revision, whichever node encodes it.
        var root = await bobClient.SendTextAsync(alice, "first draft");
        await bobClient.EditAsync(root.ConversationId, root.Seq, new TextContent { Text = "second draft" });
        using var aliceOnNode0 = await OpenImSessionAsync(alice, 0, platform: 3);
        await bobClient.SendAsync(new Target { UserId = alice }, new Content { Text = new TextContent { Text = "about that" }, ReplyTo = new ReplyTo { Seq = root.Seq } });
        foreach (var socket in new[] { resumed, aliceOnNode0 })
        {
            var quote = await ReceiveUntilAsync(socket, text => text.Contains("about that", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            Assert.NotNull(quote);
            Assert.Contains("second draft", quote, StringComparison.Ordinal);
            Assert.DoesNotContain("first draft", quote, StringComparison.Ordinal);
        }
    }

    private async Task MakeFriendsAsync(string a, string b)
    {
        var aClient = await ConnectAsync(a, 0, "friend-" + a);
        var bClient = await ConnectAsync(b, 0, "friend-" + b);
        await aClient.SendFriendRequestAsync(b);
        await bClient.RespondFriendRequestAsync(a, accept: true);
    }

    private async Task<bool> PositionSavedAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(ClusterHarness.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM \"{Cluster.Schema}\".resume_positions WHERE user_id = $1", connection);
        command.Parameters.AddWithValue(userId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private Task StartClusterAsync() => Cluster.StartAsync(2, (_, node) =>
    {
        node.Settings["Parley__Social__FriendsOnlyDirectMessages"] = "true";
        Cluster.EnableOpenIm(node);
    });

    private Task<ParleyClient> ConnectAsync(string userId, int node, string? deviceId = null) => Cluster.ConnectAsync(userId, node, deviceId ?? "d-" + userId);

    private Task<ClientWebSocket> OpenImSessionAsync(string userId, int node, int platform = 5) => Cluster.OpenImSessionAsync(userId, node, platform);

    private static Task<string?> ReceiveUntilAsync(ClientWebSocket socket, Func<string, bool> match, TimeSpan timeout) => OpenImSocket.ReceiveUntilAsync(socket, match, timeout);
}
