using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 20 with the real <c>@openim/client-sdk</c> in Node: a logout while messages keep arriving, then a login in
/// the same process, again and again (SDK 0.0.14 crashed on a push after its logout); a profile changed by the
/// operator through Parley's admin API reaches the user's session as 1303 (<c>OnSelfInfoUpdated</c>).
/// </summary>
public sealed class OpenImSdkSessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task SdkLogoutThenLogin_WhileMessagesArrive_NeverCrashes_AndTheNextLoginHasEveryMessage()
    {
        var alice = OpenImUsers.NewId("lo");
        var bob = OpenImUsers.NewId("lp");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var sdk = await NodeSdkClient.LoggedInAsync(Server, alice);
        var bobToken = await OpenImUsers.TokenAsync(Server, bob, 5);
        var bobClient = await Server.ConnectNativeAsync(bobToken);
        await using var bobConnection = bobClient.Client;
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await bobClient.Client.SendTextAsync(alice, "m" + Interlocked.Increment(ref sent));
                await Task.Delay(15);
            }
        });

        for (var round = 0; round < 3; round++)
        {
            var connected = sdk.Events(NodeSdkClient.CbConnectSuccess).Count();
            await sdk.OkAsync("logout");
            await Task.Delay(300); // messages keep coming to the logged-out user
            await sdk.OkAsync("login");
            await sdk.UntilAsync(() => sdk.Events(NodeSdkClient.CbConnectSuccess).Count() > connected, $"login {round + 2} connected");
        }

        await stop.CancelAsync();
        await sender;
        var last = "m" + sent;
        await sdk.UntilAsync(() => sdk.ReceivedMessages().Any(m => m.TryGetProperty("text", out var t) && t.GetString() == last)
            || HistoryHas(sdk, alice, bob, last).GetAwaiter().GetResult(), "the last message reached the SDK after the last login");
        Assert.Empty(sdk.MissingEndpoints());

        // The driver process is alive (an unhandled rejection ends it) and the history has every message. The SDK reads its
        // history down from the max seq it caches; a push written before the login's 1006 answer once left that seq one
        // below the newest message for good (OpenImMaxSeqOrderTests), so the newest message never showed. The history is
        // read until it is complete, with a bound for a loaded machine.
        HashSet<string?> texts = [];
        await sdk.UntilAsync(
            () =>
            {
                var history = sdk.OkAsync("history", new { conversationID = ConversationId(alice, bob), count = 200 }).GetAwaiter().GetResult();
                texts = history.GetProperty("messageList").EnumerateArray().Select(m => m.TryGetProperty("text", out var t) ? t.GetString() : null).ToHashSet();
                return Enumerable.Range(1, sent).All(i => texts.Contains("m" + i));
            },
            "the history holds every message sent",
            TimeSpan.FromSeconds(60));
        Assert.All(Enumerable.Range(1, sent), i => Assert.Contains("m" + i, texts));
    }

    [Fact]
    public async Task SdkUserInfo_ProfileChangedThroughTheAdminApi_TheSessionRaisesSelfInfoUpdated()
    {
        var alice = OpenImUsers.NewId("ap");
        await OpenImUsers.RegisterAsync(Server, alice);
        await using var sdk = await NodeSdkClient.LoggedInAsync(Server, alice);

        using var admin = new HttpClient { BaseAddress = Server.BaseUri };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Server.AdminSecret);
        var patched = await admin.PatchAsJsonAsync($"/admin/v1/users/{alice}", new { nickname = "Renamed by support" });
        Assert.True(patched.IsSuccessStatusCode, await patched.Content.ReadAsStringAsync());

        var raised = await sdk.WaitEventAsync("OnSelfInfoUpdated", "the session was told of the operator's change");
        Assert.Equal("Renamed by support", raised.GetProperty("data").GetProperty("nickname").GetString());
        Assert.Equal("Renamed by support", (await sdk.OkAsync("call", new { method = "getSelfUserInfo" })).GetProperty("nickname").GetString());
    }

    private static string ConversationId(string a, string b) => string.CompareOrdinal(a, b) < 0 ? $"si_{a}_{b}" : $"si_{b}_{a}";

    private static async Task<bool> HistoryHas(NodeSdkClient sdk, string a, string b, string text)
    {
        var history = await sdk.OkAsync("history", new { conversationID = ConversationId(a, b), count = 5 });
        return history.GetProperty("messageList").EnumerateArray().Any(m => m.TryGetProperty("text", out var t) && t.GetString() == text);
    }
}
