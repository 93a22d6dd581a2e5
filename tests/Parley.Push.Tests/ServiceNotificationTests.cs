using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using PushVendor = Parley.Protocol.V1.PushVendor;

namespace Parley.Push.Tests;

/// <summary>
/// Service notifications from the business API (<c>POST /admin/v1/business/notifications</c>) on the real server: stored in the
/// notification account's conversation with the offline user and pushed to the FCM simulator as a service-category push at once,
/// inside quiet hours (which hold back a content push at the same moment); a repeated idempotency key pushes nothing more; the
/// same content sent by an ordinary user is an IM push.
/// </summary>
public sealed class ServiceNotificationTests
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task ServiceNotification_ToAnOfflineUser_IsAServicePushAtOnce_EvenInQuietHours_AndIdempotent()
    {
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        var now = DateTime.UtcNow;
        // Quiet hours around the current time of day (UTC devices).
        await using var server = await TestServer.StartAsync(fcm.ServerSettings(
            ("Parley:Push:QuietHoursStart", now.AddHours(-2).ToString("HH:mm", CultureInfo.InvariantCulture)),
            ("Parley:Push:QuietHoursEnd", now.AddHours(2).ToString("HH:mm", CultureInfo.InvariantCulture))));
        var bob = await server.CreateUserAsync("bob");
        var alice = await server.CreateUserAsync("alice");
        var account = "sys-" + Guid.NewGuid().ToString("N")[..10];
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "Shop" })).StatusCode);
        var phone = await server.ConnectAsync(bob, "phone", Platform.Android);
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token-bob", AppId = "com.example.shop", NotificationsEnabled = true });
        await phone.DisposeAsync(); // offline from here on

        var request = new { senderId = account, recipientIds = new[] { bob }, idempotencyKey = "order-1001-shipped", title = "Order shipped", body = "Order 1001 is on its way", deepLink = "shop://orders/1001", templateId = "shipped-v1" };
        var first = await SendAsync(server, request);
        var messageId = first.GetProperty("results")[0].GetProperty("serverMsgId").GetString()!;
        var push = Assert.Single(await PushEndToEndTests.PushesAsync(server, messageId, expected: 1));
        Assert.Equal("Accepted", push.State);
        var sent = fcm.Requests.Single(r => r.PushId == push.PushId);
        var notification = JsonDocument.Parse(sent.Body).RootElement.GetProperty("message").GetProperty("android");
        Assert.Equal("parley_service", notification.GetProperty("notification").GetProperty("channel_id").GetString());
        Assert.Equal("HIGH", notification.GetProperty("priority").GetString());
        var bodyText = Encoding.UTF8.GetString(sent.Body);
        Assert.Contains("Order shipped", bodyText, StringComparison.Ordinal);
        Assert.Contains("Order 1001 is on its way", bodyText, StringComparison.Ordinal);

        // The same moment, a content push for bob is held back by the quiet hours: they are on, they just do not apply to service.
        var pipeline = server.Services.GetRequiredService<PushPipeline>();
        await pipeline.SubmitAsync(new PushRequest("content-" + messageId, first.GetProperty("results")[0].GetProperty("conversationId").GetString()!, account, "Shop", PushCategory.FollowedContent, "New arrivals", [new PushRecipient(bob, 0)]));
        List<PushEndToEndTests.PushRow> held = [];
        await Wait.UntilAsync(
            () => (held = server.Admin.GetFromJsonAsync<List<PushEndToEndTests.PushRow>>($"/admin/v1/push/messages/content-{messageId}/pushes", JsonOptions).GetAwaiter().GetResult() ?? []).Count == 1,
            "the content push was journaled");
        Assert.Equal("Pending", held[0].State);

        // The idempotency key: nothing new stored, nothing pushed again.
        var again = await SendAsync(server, request);
        Assert.True(again.GetProperty("results")[0].GetProperty("duplicate").GetBoolean());
        Assert.Equal(messageId, again.GetProperty("results")[0].GetProperty("serverMsgId").GetString());
        Assert.Equal(1, fcm.RequestsByPushId[push.PushId]);
        Assert.Single(fcm.Requests, r => r.PushId == push.PushId);

        // Bob's notification conversation holds it as a service notification card.
        await using var tablet = await server.ConnectAsync(bob, "tablet");
        var stored = Assert.Single((await tablet.GetHistoryAsync(first.GetProperty("results")[0].GetProperty("conversationId").GetString()!, 1, Direction.Forward, 10)).Messages);
        Assert.Equal("parley.service", stored.Content.Custom.Type);
        var card = JsonDocument.Parse(stored.Content.Custom.Json).RootElement;
        Assert.Equal("shop://orders/1001", card.GetProperty("deepLink").GetString());
        Assert.Equal("shipped-v1", card.GetProperty("templateId").GetString());

        // The same content type from an ordinary user is an IM push, and ordinary users send no service notifications.
        var aliceClient = await server.ConnectAsync(alice);
        var spoof = await aliceClient.SendAsync(new Target { UserId = bob }, new Content { Custom = new CustomContent { Type = "parley.service", Json = "{\"title\":\"Spoof\",\"body\":\"x\"}" } });
        var spoofPush = Assert.Single(await PushEndToEndTests.PushesAsync(server, spoof.ServerMsgId, expected: 1));
        Assert.Equal("parley_im", JsonDocument.Parse(fcm.Requests.Single(r => r.PushId == spoofPush.PushId).Body).RootElement
            .GetProperty("message").GetProperty("android").GetProperty("notification").GetProperty("channel_id").GetString());
        var asUser = await server.Admin.PostAsJsonAsync("/admin/v1/business/notifications", new { senderId = alice, recipientIds = new[] { bob }, idempotencyKey = "k1", title = "t", body = "b" });
        Assert.Equal(HttpStatusCode.Conflict, asUser.StatusCode);
        var expired = await server.Admin.PostAsJsonAsync("/admin/v1/business/notifications", new { senderId = account, recipientIds = new[] { bob }, idempotencyKey = "k2", title = "t", body = "b", expiresAt = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        var untitled = await server.Admin.PostAsJsonAsync("/admin/v1/business/notifications", new { senderId = account, recipientIds = new[] { bob }, idempotencyKey = "k3", body = "b" });
        Assert.Equal(HttpStatusCode.BadRequest, untitled.StatusCode);
    }

    private static async Task<JsonElement> SendAsync(TestServer server, object body)
    {
        var response = await server.Admin.PostAsJsonAsync("/admin/v1/business/notifications", body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"notifications answered {(int)response.StatusCode}: {json}");
        Assert.Equal(1, json.GetProperty("sent").GetInt32());
        return json;
    }
}
