using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// The real <c>@openim/client-sdk@0.0.14</c> against the real server: presence (2005 subscriptions and the pushed status
/// changes) and the user-info-changed notification (1303) that keeps a user's other sessions current.
/// </summary>
public sealed class OpenImSdkPresenceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string StatusChanged = "OnUserStatusChanged";

    private OpenImTestServer Server => fixture.Server;

    private Task<NodeSdkClient> SdkAsync(string userId, int platformId = 5) => NodeSdkClient.LoggedInAsync(Server, userId, platformId);

    private static List<(int Status, int[] Platforms)> StatusesOf(NodeSdkClient sdk, string userId) =>
        [.. sdk.Events(StatusChanged)
            .Select(e => e.GetProperty("data"))
            .Where(d => d.GetProperty("userID").GetString() == userId)
            .Select(d => (d.GetProperty("status").GetInt32(), d.GetProperty("platformIDs").EnumerateArray().Select(p => p.GetInt32()).Order().ToArray()))];

    private static Task UntilStatusAsync(NodeSdkClient sdk, string userId, int status, int[] platforms) =>
        sdk.UntilAsync(
            () => StatusesOf(sdk, userId) is { Count: > 0 } seen && seen[^1].Status == status && seen[^1].Platforms.SequenceEqual(platforms),
            $"{sdk.UserId} was told {userId} is {(status == 1 ? "online on " + string.Join(",", platforms) : "offline")}");

    [Fact]
    public async Task SdkPresence_SubscribedUserComesOnlineOnTwoPlatformsAndGoesOffline_SubscriberIsToldEachChange()
    {
        var alice = OpenImUsers.NewId("pa");
        var bob = OpenImUsers.NewId("pb");
        var carol = OpenImUsers.NewId("pc");
        await OpenImUsers.RegisterAsync(Server, alice, bob, carol);
        await using var a = await SdkAsync(alice);

        var initial = (await a.OkAsync("call", new { method = "subscribeUsersStatus", @params = new[] { bob, carol } })).EnumerateArray().ToList();
        Assert.Equal(2, initial.Count);
        Assert.All(initial, s => Assert.Equal(0, s.GetProperty("status").GetInt32()));

        // Bob logs in with the OpenIM SDK (web, 5): alice's SDK raises OnUserStatusChanged online [5].
        var b = await SdkAsync(bob);
        await UntilStatusAsync(a, bob, 1, [5]);

        // Bob's native Android client joins: [2, 5]; a native client counts as online like an OpenIM one.
        var native = await NativeUser.ConnectAsync(Server, bob);
        await UntilStatusAsync(a, bob, 1, [2, 5]);

        // The web session ends: [2]; then the native one: offline.
        await b.DisposeAsync();
        await UntilStatusAsync(a, bob, 1, [2]);
        await native.DisposeAsync();
        await UntilStatusAsync(a, bob, 0, []);

        // The SDK's own view agrees (0.0.14 drops an offline user from its list).
        var states = (await a.OkAsync("call", new { method = "getSubscribeUsersStatus" })).EnumerateArray().ToList();
        Assert.DoesNotContain(states, s => s.GetProperty("userID").GetString() == bob && s.GetProperty("status").GetInt32() != 0);

        // After unsubscribing bob, his next login is not told; carol (still subscribed) logging in after him is, and
        // pushes reach alice's connection in order, so bob's would have arrived first.
        var toldAboutBob = StatusesOf(a, bob).Count;
        await a.OkAsync("call", new { method = "unsubscribeUsersStatus", @params = new[] { bob } });
        await using (var again = await SdkAsync(bob))
        {
            await using var c = await SdkAsync(carol);
            await UntilStatusAsync(a, carol, 1, [5]);
            Assert.Equal(toldAboutBob, StatusesOf(a, bob).Count);
        }
    }

    [Fact]
    public async Task SdkUserInfo_ProfileChangedInOneSession_OtherSessionRaisesSelfInfoUpdated()
    {
        var alice = OpenImUsers.NewId("sa");
        await OpenImUsers.RegisterAsync(Server, alice);
        await using var web = await SdkAsync(alice, 5);
        await using var desktop = await SdkAsync(alice, 3);
        Assert.Equal("nick " + alice, (await desktop.OkAsync("call", new { method = "getSelfUserInfo" })).GetProperty("nickname").GetString());

        await web.OkAsync("call", new { method = "setSelfInfo", @params = new { nickname = "Alice on the web", faceURL = "https://example.org/a.png" } });

        // 1303 UserInfoUpdatedNotification: the desktop session re-reads its profile and raises OnSelfInfoUpdated.
        var raised = await desktop.WaitEventAsync("OnSelfInfoUpdated", "the desktop session was told of the new profile");
        Assert.Equal("Alice on the web", raised.GetProperty("data").GetProperty("nickname").GetString());
        var self = await desktop.OkAsync("call", new { method = "getSelfUserInfo" });
        Assert.Equal("Alice on the web", self.GetProperty("nickname").GetString());
        Assert.Equal("https://example.org/a.png", self.GetProperty("faceURL").GetString());
        Assert.Empty(desktop.MissingEndpoints());
    }
}
