using System.Net.Http.Json;
using System.Text.Json;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

/// <summary>
/// The whole chain on the real server: SDK clients register devices, messages commit, the bridge hands offline
/// recipients to the pipeline, the FCM adapter calls a loopback FCM simulator, arrival and click come back.
/// </summary>
public sealed class PushEndToEndTests
{
    [Fact]
    public async Task OfflineGetsOnePushPerDevice_ForegroundNone_BackgroundOne_ArrivalAndClickCounted()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        // Every message of this test is its own push (no digest), so counts are per message.
        await using var server = await TestServer.StartAsync(fcm.ServerSettings());
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var sender = await server.ConnectAsync(alice);
        var phone = await server.ConnectAsync(bob, "phone", Platform.Android);
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token-phone", AppId = "com.example.chat", NotificationsEnabled = true });
        var tablet = await server.ConnectAsync(bob, "tablet", Platform.AndroidPad);
        await tablet.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token-tablet", AppId = "com.example.chat", NotificationsEnabled = true });
        await tablet.DisposeAsync(); // offline from here on

        var bad = await Assert.ThrowsAsync<Parley.Sdk.ParleyException>(() => phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "" }));
        Assert.Equal(ErrorCode.BadRequest, bad.Code);

        // 1: phone in the foreground → no push for it; the offline tablet gets one.
        var first = await sender.SendTextAsync(bob, "while you look");
        var firstPushes = await PushesAsync(server, first.ServerMsgId, expected: 2);
        Assert.Equal("Filtered", firstPushes.Single(p => p.DeviceId == "phone").State);
        var tabletPush = firstPushes.Single(p => p.DeviceId == "tablet");
        await Wait.UntilAsync(() => fcm.RequestsByPushId.ContainsKey(tabletPush.PushId), "the simulator got the tablet's push");

        // 2: phone in the background → it counts as offline and gets exactly one push.
        await phone.SetBackgroundAsync(true);
        var second = await sender.SendTextAsync(bob, "while you are away");
        var secondPushes = await PushesAsync(server, second.ServerMsgId, expected: 2);
        var phonePush = secondPushes.Single(p => p.DeviceId == "phone");
        await Wait.UntilAsync(() => fcm.RequestsByPushId.ContainsKey(phonePush.PushId), "the simulator got the phone's push");

        // 3: the sender's own devices are never pushed, and a foreground phone again gets none.
        await phone.SetBackgroundAsync(false);
        var third = await sender.SendTextAsync(bob, "back?");
        var thirdPushes = await PushesAsync(server, third.ServerMsgId, expected: 2);
        Assert.Equal("Filtered", thirdPushes.Single(p => p.DeviceId == "phone").State);
        Assert.DoesNotContain(thirdPushes, p => p.UserId == alice);

        // The offline tablet got every message; the phone only the one sent while it was in the background.
        var pushed = new[]
        {
            tabletPush.PushId, phonePush.PushId, secondPushes.Single(p => p.DeviceId == "tablet").PushId, thirdPushes.Single(p => p.DeviceId == "tablet").PushId,
        };
        await Wait.UntilAsync(() => pushed.All(fcm.RequestsByPushId.ContainsKey), "every expected push reached FCM");
        Assert.All(pushed, id => Assert.Equal(1, fcm.RequestsByPushId[id]));
        Assert.Equal(4, fcm.RequestsByPushId.Count);

        // The app reports arrival and click; another user cannot report on bob's push.
        await phone.ReportPushAsync(phonePush.PushId, phonePush.TraceId, PushReportKind.Arrived);
        await phone.ReportPushAsync(phonePush.PushId, phonePush.TraceId, PushReportKind.Clicked);
        var foreign = await Assert.ThrowsAsync<Parley.Sdk.ParleyException>(() => sender.ReportPushAsync(tabletPush.PushId, tabletPush.TraceId, PushReportKind.Clicked));
        Assert.Equal(ErrorCode.NotFound, foreign.Code);
        var after = (await PushesAsync(server, second.ServerMsgId, expected: 2)).Single(p => p.DeviceId == "phone");
        Assert.NotNull(after.ClickedAt);
        Assert.NotNull(after.ArrivedAt);

        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/admin/v1/push/messages/{second.ServerMsgId}/pushes")).StatusCode);
        var metrics = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("parley_push_funnel", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("fcm-token-phone", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_DoNotDisturbMuteMentionsOnlyAndPrivacy_ThroughTheHttpDeviceApiAndTheSdk()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(fcm.ServerSettings());
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var sender = await server.ConnectAsync(alice);

        // The phone registers over HTTP with its own token and stays offline.
        using var phoneHttp = new HttpClient { BaseAddress = server.BaseUri };
        phoneHttp.DefaultRequestHeaders.Authorization = new("Bearer", await server.IssueTokenAsync(bob, "phone", "android"));
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync("/api/v1/device", new { vendor = "fcm", token = "t" })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await phoneHttp.PutAsJsonAsync("/api/v1/device", new { vendor = "pager", token = "t" })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await phoneHttp.PutAsJsonAsync("/api/v1/device", new { vendor = "fcm", token = "fcm-token-http", appId = "com.example.chat" })).StatusCode);
        var laptop = await server.ConnectAsync(bob, "laptop", Platform.Linux);

        async Task<PushRow> PhonePushAsync(string text, bool mention = false)
        {
            var content = new Content { Text = new TextContent { Text = text } };
            if (mention)
            {
                content.Text.MentionUserIds.Add(bob);
            }

            var ack = await sender.SendAsync(new Target { UserId = bob }, content);
            return (await PushesAsync(server, ack.ServerMsgId, expected: 1)).Single(p => p.DeviceId == "phone");
        }

        var plain = await PhonePushAsync("hello");
        Assert.Equal("Accepted", plain.State);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await phoneHttp.PutAsJsonAsync("/api/v1/push/settings", new { doNotDisturb = true })).StatusCode);
        Assert.Equal("Filtered", (await PhonePushAsync("quiet please")).State);
        await laptop.SetPushSettingsAsync(doNotDisturb: false);

        var conversation = Parley.Protocol.Ids.DirectConversationId(alice, bob);
        await laptop.UpdateConversationAsync(conversation, muted: true);
        Assert.Equal("Filtered", (await PhonePushAsync("muted")).State);
        await laptop.UpdateConversationAsync(conversation, muted: false);

        Assert.True((await laptop.SetMentionsOnlyAsync(conversation, true)).MentionsOnly);
        Assert.Equal("Filtered", (await PhonePushAsync("no mention")).State);
        var mentioned = await PhonePushAsync("hey @bob", mention: true);
        Assert.Equal("Accepted", mentioned.State);
        await laptop.SetMentionsOnlyAsync(conversation, false);

        await laptop.SetPushSettingsAsync(privacy: PushPrivacy.Generic);
        var generic = await PhonePushAsync("the launch code is 1234");
        Assert.Equal("Accepted", generic.State);
        await Wait.UntilAsync(() => fcm.RequestsByPushId.ContainsKey(generic.PushId), "FCM got the generic push");
        var body = fcm.Requests.Where(r => r.PushId == generic.PushId).Select(r => System.Text.Encoding.UTF8.GetString(r.Body)).Single();
        Assert.DoesNotContain("launch code", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"title\":\"alice", body, StringComparison.Ordinal);
        var full = fcm.Requests.Where(r => r.PushId == plain.PushId).Select(r => System.Text.Encoding.UTF8.GetString(r.Body)).Single();
        Assert.Contains("hello", full, StringComparison.Ordinal);
        Assert.Contains("\"title\":\"alice", full, StringComparison.Ordinal);

        // Reports over HTTP: only the push's own user may report on it.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await phoneHttp.PostAsJsonAsync($"/api/v1/push/{plain.PushId}/clicked", new { traceId = plain.TraceId })).StatusCode);
        using var aliceHttp = new HttpClient { BaseAddress = server.BaseUri };
        aliceHttp.DefaultRequestHeaders.Authorization = new("Bearer", await server.IssueTokenAsync(alice, "web", "web"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await aliceHttp.PostAsJsonAsync($"/api/v1/push/{mentioned.PushId}/arrived", new { traceId = mentioned.TraceId })).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await phoneHttp.DeleteAsync("/api/v1/device")).StatusCode);
    }

    internal static async Task<List<PushRow>> PushesAsync(TestServer server, string messageId, int expected)
    {
        List<PushRow> rows = [];
        await Wait.UntilAsync(
            () =>
            {
                rows = server.Admin.GetFromJsonAsync<List<PushRow>>($"/admin/v1/push/messages/{messageId}/pushes", JsonOptions).GetAwaiter().GetResult() ?? [];
                return rows.Count >= expected && rows.All(r => r.State is not ("Pending" or "Sending"));
            },
            $"the pushes of message {messageId} were planned and settled");
        return rows;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    internal sealed record PushRow(string PushId, string TraceId, string UserId, string DeviceId, string State, string? Reason, long? ArrivedAt, long? ClickedAt);
}
