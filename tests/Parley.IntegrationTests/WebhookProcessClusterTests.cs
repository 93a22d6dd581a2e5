using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15 and 20 across real processes: two server processes in Redis cluster mode on one PostgreSQL schema (the
/// <see cref="ClusterHarness"/>) with the same webhooks configured. Each send's before-hook is asked once by the node
/// that takes the send, and each after-hook is delivered exactly once from the shared outbox although both nodes'
/// dispatchers poll it; an operator's profile change through one node reaches the user's OpenIM session on the other as
/// 1303 (the cluster's ephemeral event path).
/// </summary>
public sealed class WebhookProcessClusterTests(ITestOutputHelper output) : ClusterTest("whp", output)
{
    [ClusterFact]
    public async Task TwoProcesses_EachHookFiresOnce_AndAProfileChangeReachesTheOpenImSessionOnTheOtherNode()
    {
        const int PerSender = 15;
        var receiver = await WebhookReceiver.StartAsync();
        Cluster.Track(receiver);
        await StartClusterAsync(receiver.BaseUrl);

        var alice = "wa" + Guid.NewGuid().ToString("N")[..10];
        var bob = "wb" + Guid.NewGuid().ToString("N")[..10];
        foreach (var user in new[] { alice, bob })
        {
            await Cluster.CreateUserAsync(user);
        }

        var aliceClient = await ConnectAsync(alice, 0);
        var bobClient = await ConnectAsync(bob, 1);
        var sent = new List<string>();
        for (var i = 0; i < PerSender; i++)
        {
            await aliceClient.SendTextAsync(bob, $"a{i}", $"wa-{alice}-{i}");
            await bobClient.SendTextAsync(alice, $"b{i}", $"wb-{bob}-{i}");
            sent.Add($"wa-{alice}-{i}");
            sent.Add($"wb-{bob}-{i}");
        }

        List<WebhookCall> Of(string hook) => [.. receiver.Calls.Where(c => c.Hook == hook)];
        await Wait.UntilAsync(() => Of("afterSendSingleMsg").Count >= sent.Count, $"every message's after-hook arrived (have {Of("afterSendSingleMsg").Count})", TimeSpan.FromSeconds(60));

        // Both nodes' outboxes (the shared one) drained: nothing more can come.
        foreach (var node in Cluster.Nodes)
        {
            await Wait.UntilAsync(() => OutboxPendingAsync(node).GetAwaiter().GetResult() == 0, "the shared outbox was drained", TimeSpan.FromSeconds(30));
        }

        var after = Of("afterSendSingleMsg").Select(c => c.Json.GetProperty("clientMsgID").GetString()!).ToList();
        Assert.Equal(sent.Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal));
        var before = Of("beforeSendSingleMsg").Select(c => c.Json.GetProperty("clientMsgID").GetString()!).ToList();
        Assert.Equal(sent.Order(StringComparer.Ordinal), before.Order(StringComparer.Ordinal));
        var online = Of("afterUserOnline").Select(c => c.Json.GetProperty("userID").GetString()).ToList();
        Assert.Equal(1, online.Count(u => u == alice));
        Assert.Equal(1, online.Count(u => u == bob));
        Assert.All(receiver.Calls, c => Assert.False(string.IsNullOrEmpty(c.Header("X-Parley-Signature")), "every call is signed"));

        // Issue 20: an operator's profile change through node 0 reaches bob's OpenIM session on node 1 as 1303.
        using var socket = await OpenImSessionAsync(bob, 1);
        (await Cluster.Nodes[0].Admin.PatchAsJsonAsync($"/admin/v1/users/{bob}", new { nickname = "Bob renamed" })).EnsureSuccessStatusCode();
        var notice = await ReceiveUntilAsync(socket, text => text.Contains("n_" + bob, StringComparison.Ordinal) && text.Contains("userID", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(notice);
    }

    private Task StartClusterAsync(string hooksUrl) => Cluster.StartAsync(2, (_, node) =>
    {
        node.Settings["Parley__Webhooks__Url"] = hooksUrl;
        node.Settings["Parley__Webhooks__Secret"] = WebhookFixture.Secret;
        node.Settings["Parley__Webhooks__Delivery__PollIntervalMs"] = "50";
        node.Settings["Parley__Webhooks__Delivery__InitialBackoffMs"] = "50";
        foreach (var hook in new[] { "beforeSendSingleMsg", "afterSendSingleMsg", "afterUserOnline" })
        {
            node.Settings[$"Parley__Webhooks__Hooks__{hook}__Enabled"] = "true";
            node.Settings[$"Parley__Webhooks__Hooks__{hook}__TimeoutMs"] = "2000";
        }

        Cluster.EnableOpenIm(node);
    });

    private static async Task<long> OutboxPendingAsync(ServerProcess node)
    {
        using var document = JsonDocument.Parse(await node.Admin.GetStringAsync("/admin/v1/webhooks/outbox"));
        return document.RootElement.GetProperty("pending").GetInt64();
    }

    private Task<ParleyClient> ConnectAsync(string userId, int node) => Cluster.ConnectAsync(userId, node, "d-" + userId);

    private Task<ClientWebSocket> OpenImSessionAsync(string userId, int node) => Cluster.OpenImSessionAsync(userId, node);

    private static Task<string?> ReceiveUntilAsync(ClientWebSocket socket, Func<string, bool> match, TimeSpan timeout) => OpenImSocket.ReceiveUntilAsync(socket, match, timeout);
}
