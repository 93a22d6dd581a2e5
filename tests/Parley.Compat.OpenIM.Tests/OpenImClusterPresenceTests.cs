using System.Security.Cryptography;
using System.Text.Json;
using Parley.Compat.OpenIM.Wire;
using Parley.IntegrationTests;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// OpenIM presence subscriptions (WS 2005) across the nodes of a cluster (issue 11): two real server processes
/// (<see cref="ClusterHarness"/>) with the OpenIM edge on. A subscriber's OpenIM session on node 0 is answered with, and
/// told of every change to, the online platforms of users whose connections are on node 1.
/// </summary>
public sealed class OpenImClusterPresenceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    private readonly ClusterHarness _cluster = new("oicp", output.WriteLine);
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _cluster.DisposeAsync();
    }

    [ClusterFact]
    public async Task ASubscriberOnOneNode_IsAnsweredAndToldTheStatusOfUsersConnectedToTheOtherNode()
    {
        await _cluster.StartAsync(2, (_, node) =>
        {
            node.Settings["Parley__OpenIM__Enabled"] = "true";
            node.Settings["Parley__OpenIM__Secret"] = _secret;
            node.Settings["Parley__OpenIM__ApiPort"] = "0";
            node.Settings["Parley__OpenIM__WsPort"] = "0";
        });
        var ann = "pa" + Guid.NewGuid().ToString("N")[..10];
        var bob = "pb" + Guid.NewGuid().ToString("N")[..10];
        var cat = "pc" + Guid.NewGuid().ToString("N")[..10];
        foreach (var user in new[] { ann, bob, cat })
        {
            await _cluster.CreateUserAsync(user);
        }

        // ann's OpenIM web session on node 0; cat online on node 1 (native Android) before anyone subscribes.
        var subscriber = await OpenImLoginAsync(ann, 0);
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

        output.WriteLine($"cat's connection on node 1 known on node 0 after {watch.ElapsedMilliseconds} ms");

        // bob comes online on node 1 (Linux = 7), then on node 0 too (iOS = 1), then leaves node 1, then node 0: ann is
        // pushed each change of his set of platforms.
        var bobLinux = await ConnectAsync(bob, 1, Platform.Linux);
        await UntilToldAsync(subscriber, bob, [7]);
        var bobPhone = await ConnectAsync(bob, 0, Platform.Ios);
        await UntilToldAsync(subscriber, bob, [1, 7]);
        _disposables.Remove(bobLinux);
        await bobLinux.DisposeAsync();
        await UntilToldAsync(subscriber, bob, [1]);
        _disposables.Remove(bobPhone);
        await bobPhone.DisposeAsync();
        await UntilToldAsync(subscriber, bob, []);
    }

    // The last 2005 push (msgIncr "") about the user carries exactly these platforms.
    private static Task UntilToldAsync(OpenImWsClient client, string userId, int[] platforms) =>
        Wait.UntilAsync(
            () => client.Frames.Where(f => !f.Text && f.ReqIdentifier == 2005 && f.MsgIncr.Length == 0 && f.Data is not null)
                .Select(f => SubUserOnlineStatusTips.Parser.ParseFrom(f.Data).Subscribers.FirstOrDefault(s => s.UserID == userId))
                .LastOrDefault(s => s is not null) is { } last && last.OnlinePlatformIDs.Order().SequenceEqual(platforms),
            $"the subscriber to be told {userId} is online on [{string.Join(", ", platforms)}]",
            TimeSpan.FromSeconds(10));

    private async Task<ParleyClient> ConnectAsync(string userId, int node, Platform platform)
    {
        var deviceId = "d-" + platform.ToString().ToLowerInvariant();
        var issued = await _cluster.IssueTokenAsync(userId, node, deviceId, platform);
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = _cluster[node].WebSocketUri,
            Token = issued.Token,
            DeviceId = deviceId,
            Platform = platform,
        });
        _disposables.Add(client);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>An OpenIM web session (platform 5) on a node: a user token through the node's OpenIM REST edge.</summary>
    private async Task<OpenImWsClient> OpenImLoginAsync(string userId, int node)
    {
        var query = OpenImWsClient.Query(userId, await OpenImSocket.UserTokenAsync(_cluster[node], _secret, userId));
        var (client, handshake) = await OpenImWsClient.ConnectAsync(new Uri($"ws://127.0.0.1:{_cluster[node].HttpPort}/openim/ws?{query}"), userId);
        _disposables.Add(client);
        Assert.Equal(0, handshake.GetProperty("errCode").GetInt32());
        return client;
    }
}
