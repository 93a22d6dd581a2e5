using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Parley.Core.Webhooks;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>A real server whose after-hooks are delivered from the durable outbox to a real receiver on loopback, with short back-offs.</summary>
public sealed class WebhookDeliveryFixture : WebhookServerFixture
{
    public const int MaxAttempts = 4;

    protected override Dictionary<string, string?> Settings(WebhookReceiver receiver)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Webhooks:Delivery:MaxAttempts"] = MaxAttempts.ToString(CultureInfo.InvariantCulture),
            ["Parley:Webhooks:Delivery:InitialBackoffMs"] = "100",
            ["Parley:Webhooks:Delivery:MaxBackoffMs"] = "400",
            ["Parley:Webhooks:Delivery:PollIntervalMs"] = "50",
            ["Parley:Webhooks:Delivery:LeaseSeconds"] = "5",
        };
        foreach (var hook in WebhookOptions.AfterHooks)
        {
            settings[$"Parley:Webhooks:Hooks:{hook}:Enabled"] = "true";
            settings[$"Parley:Webhooks:Hooks:{hook}:TimeoutMs"] = "300";
        }

        return settings;
    }
}

/// <summary>
/// Issue 15, after-hooks: events are stored in the outbox (message events in the message's own commit) and delivered
/// at least once, signed, with their event id; a failing, slow or cut receiver is retried with back-off; an event that
/// keeps failing is dead-lettered, listed and replayed (same event id) through the admin API. The real server, the real
/// SDK and a real HTTP receiver on loopback. In the metrics collection: it reads the outbox gauges from /metrics.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class WebhookDeliveryTests(WebhookDeliveryFixture fixture) : IClassFixture<WebhookDeliveryFixture>
{
    private TestServer Server => fixture.Server;

    private WebhookReceiver Receiver => fixture.Receiver;

    private IEnumerable<WebhookCall> CallsFor(string hook, string property, string value) =>
        Receiver.Calls.Where(c => c.Hook == hook && c.Json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() == value);

    private async Task<WebhookCall> WaitForCallAsync(string hook, string property, string value)
    {
        await Wait.UntilAsync(() => CallsFor(hook, property, value).Any(), $"{hook} with {property}={value} was delivered");
        return CallsFor(hook, property, value).First();
    }

    private async Task WaitForEmptyOutboxAsync()
    {
        await Wait.UntilAsync(() => Outbox().Pending == 0, "the outbox was drained");
    }

    private (long Pending, long DeadLettered) Outbox()
    {
        var json = Server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks/outbox").GetAwaiter().GetResult();
        return (json.GetProperty("pending").GetInt64(), json.GetProperty("deadLettered").GetInt64());
    }

    private static void AssertSigned(WebhookCall call)
    {
        var timestamp = long.Parse(call.Header("X-Parley-Timestamp"), CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp, -5, 60);
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(WebhookFixture.Secret), (byte[])[.. Encoding.ASCII.GetBytes(timestamp + "."), .. call.Body]));
        Assert.Equal(expected, call.Header("X-Parley-Signature"));
        Assert.Equal(call.Json.GetProperty("eventId").GetString(), call.Header("X-Parley-Event-Id"));
    }

    [Fact]
    public async Task AfterSendSingle_IsDeliveredOnce_Signed_WithTheEventId_AndDescribesTheStoredMessage()
    {
        Receiver.Behaviour = (_, _) => Task.CompletedTask;
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);

        var ack = await aliceClient.SendTextAsync(bob, "after hello", "cm-after-1");

        var call = await WaitForCallAsync(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-after-1");
        AssertSigned(call);
        var json = call.Json;
        Assert.Equal("afterSendSingleMsg", json.GetProperty("callbackCommand").GetString());
        Assert.Equal(alice, json.GetProperty("sendID").GetString());
        Assert.Equal(bob, json.GetProperty("recvID").GetString());
        Assert.Equal(ack.ConversationId, json.GetProperty("conversationID").GetString());
        Assert.Equal(ack.ServerMsgId, json.GetProperty("serverMsgID").GetString());
        Assert.Equal((long)ack.Seq, json.GetProperty("seq").GetInt64());
        Assert.Equal(ack.ServerTime.ToUnixTimeMilliseconds(), json.GetProperty("sendTime").GetInt64());
        Assert.Equal(1, json.GetProperty("sessionType").GetInt32());
        Assert.Equal("after hello", json.GetProperty("content").GetProperty("text").GetProperty("text").GetString());
        Assert.Equal(32, call.Header("X-Parley-Event-Id").Length);

        // A retry of the same client message id is answered from dedup: no second event.
        var retry = await aliceClient.SendTextAsync(bob, "after hello", "cm-after-1");
        Assert.True(retry.Duplicate);
        await WaitForEmptyOutboxAsync();
        Assert.Single(CallsFor(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-after-1"));
    }

    [Fact]
    public async Task FailingSlowAndCutReceiver_IsRetriedWithBackoff_UnderTheSameEventId_ThenDeliveredOnce()
    {
        var attempts = new ConcurrentQueue<(long At, string EventId)>();
        var clock = Stopwatch.StartNew();
        Receiver.Behaviour = async (call, context) =>
        {
            if (call.Hook != WebhookOptions.AfterSendSingleMsg || call.Json.GetProperty("clientMsgID").GetString() != "cm-retry")
            {
                return;
            }

            attempts.Enqueue((clock.ElapsedMilliseconds, call.Header("X-Parley-Event-Id")));
            switch (attempts.Count)
            {
                case 1:
                    context.Response.StatusCode = 503;
                    break;
                case 2:
                    await Task.Delay(1500); // longer than the hook's 300 ms timeout
                    break;
                case 3:
                    context.Abort();
                    break;
            }
        };
        var alice = await Server.CreateUserAsync("ra");
        var bob = await Server.CreateUserAsync("rb");
        var aliceClient = await Server.ConnectAsync(alice);

        await aliceClient.SendTextAsync(bob, "retry me", "cm-retry");

        await Wait.UntilAsync(() => attempts.Count >= 4, "the fourth attempt arrived");
        await WaitForEmptyOutboxAsync();
        var seen = attempts.ToArray();
        Assert.Equal(4, seen.Length);
        Assert.Single(seen.Select(a => a.EventId).Distinct());
        Assert.All(CallsFor(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-retry"), AssertSigned);

        // Back-off: at least half the initial 100 ms before the second attempt, and it grows (jitter 50..100 %).
        Assert.True(seen[1].At - seen[0].At >= 50, $"second attempt after {seen[1].At - seen[0].At} ms");
        Assert.True(seen[3].At - seen[2].At >= 200, $"fourth attempt after {seen[3].At - seen[2].At} ms");
    }

    [Fact]
    public async Task DeadLetter_AfterMaxAttempts_IsListedAndReplayedByTheAdminApi_WithTheSameEventId()
    {
        var failing = true;
        Receiver.Behaviour = (call, context) =>
        {
            if (failing && call.Hook == WebhookOptions.AfterSendSingleMsg && call.Json.GetProperty("clientMsgID").GetString() == "cm-dead")
            {
                context.Response.StatusCode = 500;
            }

            return Task.CompletedTask;
        };
        var alice = await Server.CreateUserAsync("da");
        var bob = await Server.CreateUserAsync("db");
        var aliceClient = await Server.ConnectAsync(alice);
        await aliceClient.SendTextAsync(bob, "never lands", "cm-dead");

        var call = await WaitForCallAsync(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-dead");
        var eventId = call.Header("X-Parley-Event-Id");
        JsonElement dead = default;
        await Wait.UntilAsync(
            () =>
            {
                var rows = Server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks/dead-letters?hook=afterSendSingleMsg").GetAwaiter().GetResult();
                dead = rows.EnumerateArray().FirstOrDefault(r => r.GetProperty("eventId").GetString() == eventId);
                return dead.ValueKind == JsonValueKind.Object;
            },
            "the event was dead-lettered");
        Assert.Equal(WebhookDeliveryFixture.MaxAttempts, dead.GetProperty("attempts").GetInt32());
        Assert.Equal("status_500", dead.GetProperty("lastError").GetString());
        Assert.Equal(WebhookDeliveryFixture.MaxAttempts, CallsFor(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-dead").Count());
        Assert.DoesNotContain("never lands", dead.GetRawText(), StringComparison.Ordinal); // no bodies in the admin API
        Assert.True(Outbox().DeadLettered >= 1);
        using var scraper = new HttpClient { BaseAddress = Server.BaseUri };
        var metrics = await scraper.GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^parley_webhook_deliveries_total\{[^}]*outcome=""dead_lettered""[^}]*\} [1-9]", metrics);
        await Wait.UntilAsync(
            () => System.Text.RegularExpressions.Regex.IsMatch(scraper.GetStringAsync("/metrics").GetAwaiter().GetResult(), @"(?m)^parley_webhook_outbox_dead_letters(\{[^}]*\})? [1-9]"),
            "the dead-letter gauge counted it (the dispatcher counts every 2 s)");

        // Scopes: the push scope may not replay webhooks; the webhooks scope may. Bad requests are typed 400s.
        using var pushOperator = await OperatorAsync("push");
        Assert.Equal(HttpStatusCode.Forbidden, (await pushOperator.PostAsJsonAsync("/admin/v1/webhooks/dead-letters/replay", new { eventIds = new[] { eventId } })).StatusCode);
        using var webhooksOperator = await OperatorAsync("webhooks");
        Assert.Equal(HttpStatusCode.BadRequest, (await webhooksOperator.PostAsJsonAsync("/admin/v1/webhooks/dead-letters/replay", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await webhooksOperator.PostAsJsonAsync("/admin/v1/webhooks/dead-letters/replay", new { all = true, hook = "nope" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await webhooksOperator.GetAsync("/admin/v1/webhooks/dead-letters?limit=0")).StatusCode);

        failing = false;
        var replay = await webhooksOperator.PostAsJsonAsync("/admin/v1/webhooks/dead-letters/replay", new { eventIds = new[] { eventId } });
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal(1, (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());

        await Wait.UntilAsync(() => CallsFor(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-dead").Count() == WebhookDeliveryFixture.MaxAttempts + 1, "the replayed event was delivered");
        var replayed = CallsFor(WebhookOptions.AfterSendSingleMsg, "clientMsgID", "cm-dead").Last();
        Assert.Equal(eventId, replayed.Header("X-Parley-Event-Id"));
        Assert.Equal(call.Body, replayed.Body);
        await WaitForEmptyOutboxAsync();
        var after = await Server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks/dead-letters");
        Assert.DoesNotContain(after.EnumerateArray(), r => r.GetProperty("eventId").GetString() == eventId);

        // The replay is in the audit log, with who did it.
        var audit = await Server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/audit?target=webhook-event:" + eventId);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("status").GetInt32() == 200);
    }

    [Fact]
    public async Task GroupPresenceAndFriendEvents_AreDelivered()
    {
        Receiver.Behaviour = (_, _) => Task.CompletedTask;
        var owner = await Server.CreateUserAsync("go");
        var member = await Server.CreateUserAsync("gm");
        var ownerClient = await Server.ConnectAsync(owner);
        var online = await WaitForCallAsync(WebhookOptions.AfterUserOnline, "userID", owner);
        Assert.Equal("linux", online.Json.GetProperty("platform").GetString());
        Assert.Equal("d1", online.Json.GetProperty("deviceID").GetString());

        var group = await ownerClient.CreateGroupAsync("hooked after", [member]);
        var created = await WaitForCallAsync(WebhookOptions.AfterCreateGroup, "groupID", group.GroupId);
        Assert.Equal(owner, created.Json.GetProperty("creatorUserID").GetString());
        Assert.Equal(
            new[] { member, owner }.Order(StringComparer.Ordinal),
            created.Json.GetProperty("memberUserIDs").EnumerateArray().Select(m => m.GetString()!).Order(StringComparer.Ordinal));

        var ack = await ownerClient.SendTextToConversationAsync(group.ConversationId, "to the group", "cm-group-after");
        var sent = await WaitForCallAsync(WebhookOptions.AfterSendGroupMsg, "clientMsgID", "cm-group-after");
        Assert.Equal(group.GroupId, sent.Json.GetProperty("groupID").GetString());
        Assert.Equal(3, sent.Json.GetProperty("sessionType").GetInt32());
        Assert.Equal((long)ack.Seq, sent.Json.GetProperty("seq").GetInt64());
        Assert.False(sent.Json.TryGetProperty("recvID", out _));

        var memberClient = await Server.ConnectAsync(member);
        await ownerClient.SendFriendRequestAsync(member, "hi");
        await memberClient.RespondFriendRequestAsync(owner, accept: true);
        var agreed = await WaitForCallAsync(WebhookOptions.AfterAddFriendAgree, "toUserID", member);
        Assert.Equal(owner, agreed.Json.GetProperty("fromUserID").GetString());
        await ownerClient.DeleteFriendAsync(member);
        var deleted = await WaitForCallAsync(WebhookOptions.AfterDeleteFriend, "ownerUserID", owner);
        Assert.Equal(member, deleted.Json.GetProperty("friendUserID").GetString());

        await ownerClient.DisposeAsync();
        var offline = await WaitForCallAsync(WebhookOptions.AfterUserOffline, "userID", owner);
        Assert.Equal(online.Json.GetProperty("connID").GetString(), offline.Json.GetProperty("connID").GetString());
        Assert.All([online, created, sent, agreed, deleted, offline], AssertSigned);
    }

    private async Task<HttpClient> OperatorAsync(string scope)
    {
        var response = await Server.Admin.PostAsJsonAsync("/admin/v1/operators", new { name = "wh-" + scope, scopes = new[] { scope }, ttlSeconds = 3600 });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        var client = new HttpClient { BaseAddress = Server.BaseUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
