using System.Text.Json;
using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// OpenIM presence subscriptions (WS 2005) across the nodes of a cluster (issue 11): two real server processes
/// (<see cref="ClusterHarness"/>) with the OpenIM edge on. A subscriber's OpenIM session on node 0 is answered with, and
/// told of every change to, the online platforms of users whose connections are on node 1.
/// </summary>
public sealed class OpenImClusterPresenceTests(ITestOutputHelper output) : ClusterTest("oicp", output)
{
    [ClusterFact]
    public async Task ASubscriberOnOneNode_IsAnsweredAndToldTheStatusOfUsersConnectedToTheOtherNode()
    {
        await StartAsync();
        var ann = "pa" + Guid.NewGuid().ToString("N")[..10];
        var bob = "pb" + Guid.NewGuid().ToString("N")[..10];
        var cat = "pc" + Guid.NewGuid().ToString("N")[..10];
        foreach (var user in new[] { ann, bob, cat })
        {
            await Cluster.CreateUserAsync(user);
        }

        // ann's OpenIM web session on node 0; cat online on node 1 (native Android) before anyone subscribes.
        var subscriber = await OpenImWsClient.LoginAsync(Cluster, 0, ann);
        await ConnectAsync(cat, 1, Platform.Android);

        // The answer to a subscription lists cat's platform on node 1 (2 = Android), once node 1's report has reached
        // node 0 (asked again until it has: the nodes find each other right after start).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var answer = await subscriber.RequestAsync(2005, new SubUserOnlineStatus { SubscribeUserID = { cat, bob } }, SubUserOnlineStatusTips.Parser);
            if (answer.Subscribers.Single(s => s.UserID == cat).OnlinePlatformIDs.SequenceEqual([2]))
            {
                Assert.Empty(answer.Subscribers.Single(s => s.UserID == bob).OnlinePlatformIDs);
                break;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "node 0 never learnt cat's connection on node 1");
            await Task.Delay(200);
        }

        Output.WriteLine($"cat's connection on node 1 known on node 0 after {watch.ElapsedMilliseconds} ms");

        // bob comes online on node 1 (Linux = 7), then on node 0 too (iOS = 1), then leaves node 1, then node 0: ann is
        // pushed each change of his set of platforms.
        var bobLinux = await ConnectAsync(bob, 1, Platform.Linux);
        await UntilToldAsync(subscriber, bob, [7]);
        var bobPhone = await ConnectAsync(bob, 0, Platform.Ios);
        await UntilToldAsync(subscriber, bob, [1, 7]);
        await bobLinux.DisposeAsync();
        await UntilToldAsync(subscriber, bob, [1]);
        await bobPhone.DisposeAsync();
        await UntilToldAsync(subscriber, bob, []);
    }

    // The app server's presence queries (admin token) on node 0 answer for connections on node 1: /user/get_users_online_status
    // with each connection's platform, id and background state, /user/get_users_online_token_detail with the token ids per
    // platform; a token revoked through node 0 counts the connection it closes on node 1; a user who left node 1 is
    // reported offline by node 0.
    [ClusterFact]
    public async Task OnlineStatusQueriesOnOneNode_AnswerForConnectionsOnTheOtherNode_AndOfflineOnceTheyLeave()
    {
        await StartAsync();
        var cat = "qc" + Guid.NewGuid().ToString("N")[..10];
        var dan = "qd" + Guid.NewGuid().ToString("N")[..10];
        await Cluster.CreateUserAsync(cat);
        await Cluster.CreateUserAsync(dan);
        var admin = await OpenImSocket.AdminTokenAsync(Cluster[0], Cluster.OpenImSecret);

        // cat on node 1 from an Android phone (OpenIM platform 2) and a Linux desktop (7), the desktop in the background.
        var (_, phoneToken) = await ConnectWithTokenAsync(cat, 1, Platform.Android);
        var (desk, deskToken) = await ConnectWithTokenAsync(cat, 1, Platform.Linux);
        await desk.SetBackgroundAsync(true);

        // Node 0 learns node 1's connections through node 1's reports (the nodes find each other right after start).
        var status = await UntilAsync(
            () => OpenImSocket.PostAsync(Cluster[0], "/user/get_users_online_status", new { userIDs = new[] { cat, dan } }, admin),
            data => Detail(data, cat).Count == 2 && Detail(data, cat).Any(d => d.Background),
            "node 0 to report cat's two connections on node 1, the desktop in the background");
        Assert.Equal(1, Entry(status, cat).GetProperty("status").GetInt32());
        var detail = Detail(status, cat);
        Assert.Equal(new[] { 2, 7 }, detail.Select(d => d.Platform).Order());
        Assert.Equal(new[] { false, true }, detail.OrderBy(d => d.Platform).Select(d => d.Background));
        Assert.All(detail, d => Assert.Equal("online", d.Status));
        Assert.Equal(2, detail.Select(d => d.ConnId).Where(c => !string.IsNullOrEmpty(c)).Distinct().Count());
        Assert.Equal(0, Entry(status, dan).GetProperty("status").GetInt32());
        Assert.Empty(Detail(status, dan));

        var tokens = await OpenImSocket.PostAsync(Cluster[0], "/user/get_users_online_token_detail", new { userIDs = new[] { cat, dan } }, admin);
        var catTokens = Assert.Single(tokens.EnumerateArray(), e => e.GetProperty("userID").GetString() == cat).GetProperty("singlePlatformToken").EnumerateArray()
            .ToDictionary(p => p.GetProperty("platformID").GetInt32(), p => p.GetProperty("token").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.Equal(new[] { phoneToken }, catTokens[2]);
        Assert.Equal(new[] { deskToken }, catTokens[7]);
        Assert.Equal(2, catTokens.Count);
        Assert.DoesNotContain(tokens.EnumerateArray(), e => e.GetProperty("userID").GetString() == dan);

        // The phone's token revoked through node 0's admin API: the closed connection on node 1 is counted.
        var revoked = await Cluster[0].Admin.DeleteAsync($"/admin/v1/tokens/{phoneToken}");
        revoked.EnsureSuccessStatusCode();
        using (var body = JsonDocument.Parse(await revoked.Content.ReadAsStringAsync()))
        {
            Assert.Equal(1, body.RootElement.GetProperty("closedConnections").GetInt32());
        }

        await UntilAsync(
            () => OpenImSocket.PostAsync(Cluster[0], "/user/get_users_online_status", new { userIDs = new[] { cat } }, admin),
            data => Detail(data, cat).Select(d => d.Platform).SequenceEqual([7]),
            "node 0 to report only cat's desktop once the phone's token was revoked");

        // The desktop leaves node 1: node 0 reports cat offline, and lists no token for him.
        await desk.DisposeAsync();
        status = await UntilAsync(
            () => OpenImSocket.PostAsync(Cluster[0], "/user/get_users_online_status", new { userIDs = new[] { cat } }, admin),
            data => Entry(data, cat).GetProperty("status").GetInt32() == 0,
            "node 0 to report cat offline once he left node 1");
        Assert.Empty(Detail(status, cat));
        tokens = await OpenImSocket.PostAsync(Cluster[0], "/user/get_users_online_token_detail", new { userIDs = new[] { cat } }, admin);
        Assert.Empty(tokens.EnumerateArray());
    }

    private Task StartAsync() => Cluster.StartAsync(2, (_, node) => Cluster.EnableOpenIm(node));

    private static JsonElement Entry(JsonElement status, string userId) =>
        Assert.Single(status.EnumerateArray(), e => e.GetProperty("userID").GetString() == userId);

    private static List<(int Platform, string Status, string? ConnId, bool Background)> Detail(JsonElement status, string userId) =>
        Entry(status, userId).TryGetProperty("detailPlatformStatus", out var detail) && detail.ValueKind == JsonValueKind.Array
            ? [.. detail.EnumerateArray().Select(d => (d.GetProperty("platformID").GetInt32(), d.GetProperty("status").GetString()!, d.GetProperty("connID").GetString(), d.GetProperty("isBackground").GetBoolean()))]
            : [];

    // Asks again (every 200 ms, up to 30 s) until the answer matches; returns it.
    private static async Task<JsonElement> UntilAsync(Func<Task<JsonElement>> ask, Func<JsonElement, bool> match, string what)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var answer = await ask();
            if (match(answer))
            {
                return answer;
            }

            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"timed out waiting for {what}; last answer: {answer}");
            await Task.Delay(200);
        }
    }

    private async Task<(ParleyClient Client, string TokenId)> ConnectWithTokenAsync(string userId, int node, Platform platform)
    {
        var deviceId = "d-" + platform.ToString().ToLowerInvariant();
        var issued = await Cluster.IssueTokenAsync(userId, node, deviceId, platform);
        var client = Cluster.Track(new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Cluster[node].WebSocketUri,
            Token = issued.Token,
            DeviceId = deviceId,
            Platform = platform,
            AutoReconnect = false,
        }));
        await client.ConnectAsync();
        return (client, issued.TokenId);
    }

    // The last 2005 push (msgIncr "") about the user carries exactly these platforms.
    private static Task UntilToldAsync(OpenImWsClient client, string userId, int[] platforms) =>
        Wait.UntilAsync(
            () => client.Frames.Where(f => !f.Text && f.ReqIdentifier == 2005 && f.MsgIncr.Length == 0 && f.Data is not null)
                .Select(f => SubUserOnlineStatusTips.Parser.ParseFrom(f.Data).Subscribers.FirstOrDefault(s => s.UserID == userId))
                .LastOrDefault(s => s is not null) is { } last && last.OnlinePlatformIDs.Order().SequenceEqual(platforms),
            $"the subscriber to be told {userId} is online on [{string.Join(", ", platforms)}]",
            TimeSpan.FromSeconds(10));

    private Task<ParleyClient> ConnectAsync(string userId, int node, Platform platform) =>
        Cluster.ConnectAsync(userId, node, "d-" + platform.ToString().ToLowerInvariant(), platform);
}
