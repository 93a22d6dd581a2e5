using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// The app server's business API (<c>/admin/v1/business</c>, scope <c>business</c>) against the real server: sends as a
/// notification account and as a user into 1:1s and groups reach the SDK live and after a fresh login, with unread counts;
/// a repeated <c>clientMsgId</c> stores nothing; a batch answers per recipient and repeats idempotently; only the business
/// scope may call it, and every call is audited.
/// </summary>
public sealed class BusinessMessagingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task NotificationAccount_SendsIntoA1to1_LiveAndAfterFreshLogin_AndRepeatsStoreNothing()
    {
        using var business = await OperatorAsync("business");
        var bob = await Server.CreateUserAsync("nb");
        var account = "sys-" + Guid.NewGuid().ToString("N")[..10];
        var created = await business.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "Order updates", faceUrl = "https://cdn.example/orders.png" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var accountJson = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Order updates", accountJson.GetProperty("nickname").GetString());
        Assert.Equal(3, accountJson.GetProperty("level").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, (await business.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "again" })).StatusCode);

        var bobLive = new Recorder(await Server.CreateClientAsync(bob, "phone"));
        await bobLive.Client.ConnectAsync();

        var first = await SendAsync(business, new { senderId = account, clientMsgId = "order-1001-shipped", recipientId = bob, content = new { text = "Your order 1001 has shipped" } });
        Assert.Equal(Ids.DirectConversationId(account, bob), first.GetProperty("conversationId").GetString());
        Assert.Equal(1, first.GetProperty("seq").GetInt64());
        Assert.False(first.GetProperty("duplicate").GetBoolean());
        var conversation = first.GetProperty("conversationId").GetString()!;
        await bobLive.WaitForMessagesAsync(conversation, 1);
        var live = bobLive.MessagesIn(conversation).Single();
        Assert.Equal(account, live.SenderId);
        Assert.Equal("Your order 1001 has shipped", live.Content.Text.Text);

        // The idempotency key: the same send again answers the first ack and stores nothing.
        var again = await SendAsync(business, new { senderId = account, clientMsgId = "order-1001-shipped", recipientId = bob, content = new { text = "Your order 1001 has shipped" } });
        Assert.True(again.GetProperty("duplicate").GetBoolean());
        Assert.Equal(first.GetProperty("serverMsgId").GetString(), again.GetProperty("serverMsgId").GetString());
        var custom = await SendAsync(business, new { senderId = account, clientMsgId = "order-1001-card", recipientId = bob, content = new { custom = new { type = "order.card", json = new { orderId = 1001, status = "shipped" } } } });
        Assert.Equal(2, custom.GetProperty("seq").GetInt64());
        await bobLive.WaitForMessagesAsync(conversation, 2);
        Assert.Equal("order.card", bobLive.MessagesIn(conversation)[1].Content.Custom.Type);

        // A fresh device of bob's: the notification conversation is in the list with its unread count and history.
        await using var fresh = await Server.ConnectAsync(bob, "tablet");
        var list = await fresh.GetConversationsAsync();
        var listed = list.Conversations.Single(c => c.ConversationId == conversation);
        Assert.Equal(account, listed.PeerUserId);
        Assert.Equal(2UL, listed.MaxSeq);
        Assert.Equal(2UL, listed.Unread);
        Assert.Equal("order.card", listed.LastMessage.Content.Custom.Type);
        var history = await SendBurst.ReadAllAsync(fresh, conversation);
        Assert.Equal([1UL, 2UL], history.Select(m => m.Seq));

        // Bob mutes the notification conversation like any other.
        var muted = await fresh.UpdateConversationAsync(conversation, muted: true);
        Assert.True(muted.Muted);

        // Profile update and search.
        var updated = await business.PutAsJsonAsync($"/admin/v1/business/accounts/{account}", new { nickname = "Orders" });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var search = await business.GetFromJsonAsync<JsonElement>($"/admin/v1/business/accounts?q={account}");
        Assert.Equal(1, search.GetProperty("total").GetInt64());
        Assert.Equal("Orders", search.GetProperty("accounts")[0].GetProperty("nickname").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await business.GetAsync($"/admin/v1/business/accounts/{bob}")).StatusCode);
    }

    [Fact]
    public async Task SendAsUser_IntoAGroup_ReachesMembers_AndANonMemberSenderIsRefused()
    {
        using var business = await OperatorAsync("business");
        var alice = await Server.CreateUserAsync("ga");
        var bob = await Server.CreateUserAsync("gb");
        var outsider = await Server.CreateUserAsync("go");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobLive = new Recorder(await Server.CreateClientAsync(bob));
        await bobLive.Client.ConnectAsync();
        var group = await aliceClient.CreateGroupAsync("shop staff", [bob]);

        var sent = await SendAsync(business, new { senderId = alice, clientMsgId = "notice-1", groupId = group.GroupId, content = new { text = "Store opens at 9 tomorrow" } });
        Assert.Equal(group.ConversationId, sent.GetProperty("conversationId").GetString());
        await Wait.UntilAsync(() => bobLive.MessagesIn(group.ConversationId).Any(m => m.ClientMsgId == "notice-1"), "bob got the notice posted as alice");
        Assert.Equal(alice, bobLive.MessagesIn(group.ConversationId).Single(m => m.ClientMsgId == "notice-1").SenderId);

        var refused = await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = outsider, groupId = group.GroupId, content = new { text = "let me in" } });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("not_member", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());

        // Bad input: a clear 400/404 and nothing stored.
        Assert.Equal(HttpStatusCode.NotFound, (await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = "nobody-" + Guid.NewGuid().ToString("N")[..8], recipientId = bob, content = new { text = "x" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = alice, recipientId = bob, groupId = group.GroupId, content = new { text = "x" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = alice, recipientId = bob, content = new { text = "" } })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = alice, recipientId = bob })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await business.PostAsJsonAsync("/admin/v1/business/messages", new { senderId = alice, recipientId = alice, content = new { text = "me" } })).StatusCode);
        Assert.DoesNotContain((await bobLive.Client.GetConversationsAsync()).Conversations, c => c.ConversationId == Ids.DirectConversationId(alice, bob));
    }

    [Fact]
    public async Task Batch_AnswersPerRecipient_AndARepeatStoresNothingNew()
    {
        using var business = await OperatorAsync("business");
        var account = "sys-" + Guid.NewGuid().ToString("N")[..10];
        Assert.Equal(HttpStatusCode.Created, (await business.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = account, nickname = "Announcements" })).StatusCode);
        var recipients = new List<string>();
        for (var i = 0; i < 120; i++)
        {
            recipients.Add(await Server.CreateUserAsync("br" + i));
        }

        var watcher = new Recorder(await Server.CreateClientAsync(recipients[7]));
        await watcher.Client.ConnectAsync();
        var unknown = "nobody-" + Guid.NewGuid().ToString("N")[..8];
        var body = new { senderId = account, clientMsgId = "maintenance-2026-12-05", recipientIds = recipients.Append(unknown).Append(recipients[0]).ToArray(), content = new { text = "Maintenance tonight 02:00-03:00" } };

        var response = await business.PostAsJsonAsync("/admin/v1/business/messages/batch", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(120, result.GetProperty("sent").GetInt32());
        Assert.Equal(1, result.GetProperty("failed").GetInt32());
        var items = result.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(recipients.Append(unknown), items.Select(i => i.GetProperty("recipientId").GetString()));
        Assert.All(items.Take(120), i => Assert.Equal(1, i.GetProperty("seq").GetInt64()));
        Assert.Equal("not_found", items[120].GetProperty("error").GetProperty("code").GetString());
        await watcher.WaitForMessagesAsync(Ids.DirectConversationId(account, recipients[7]), 1);

        var repeat = await (await business.PostAsJsonAsync("/admin/v1/business/messages/batch", body)).Content.ReadFromJsonAsync<JsonElement>();
        var repeated = repeat.GetProperty("results").EnumerateArray().Take(120).ToList();
        Assert.All(repeated, i => Assert.True(i.GetProperty("duplicate").GetBoolean()));
        Assert.Equal(items.Take(120).Select(i => i.GetProperty("serverMsgId").GetString()), repeated.Select(i => i.GetProperty("serverMsgId").GetString()));
        await using var fresh = await Server.ConnectAsync(recipients[7], "d2");
        Assert.Single(await SendBurst.ReadAllAsync(fresh, Ids.DirectConversationId(account, recipients[7])));

        Assert.Equal(HttpStatusCode.BadRequest, (await business.PostAsJsonAsync("/admin/v1/business/messages/batch", new { senderId = account, recipientIds = Array.Empty<string>(), content = new { text = "x" } })).StatusCode);
    }

    [Fact]
    public async Task OnlyTheBusinessScope_MaySend_AndSendsAreAudited()
    {
        var bob = await Server.CreateUserAsync("ab");
        var alice = await Server.CreateUserAsync("aa");
        using var users = await OperatorAsync("users");
        using var read = await OperatorAsync("read");
        var body = new { senderId = alice, clientMsgId = "audited-1", recipientId = bob, content = new { text = "hi" } };
        Assert.Equal(HttpStatusCode.Forbidden, (await users.PostAsJsonAsync("/admin/v1/business/messages", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await read.PostAsJsonAsync("/admin/v1/business/messages", body)).StatusCode);
        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/admin/v1/business/messages", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await read.GetAsync("/admin/v1/business/accounts")).StatusCode);

        using var business = await OperatorAsync("business");
        await SendAsync(business, body);
        var audit = await Server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/audit?action=business&target=" + bob);
        var entry = audit.GetProperty("items").EnumerateArray().First(e => e.GetProperty("action").GetString() == "business.messages.send");
        Assert.Equal(200, entry.GetProperty("status").GetInt32());
        Assert.Contains("sender=" + alice, entry.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await using var bobClient = await Server.ConnectAsync(bob);
        Assert.Single(await SendBurst.ReadAllAsync(bobClient, Ids.DirectConversationId(alice, bob)));
    }

    private static async Task<JsonElement> SendAsync(HttpClient business, object body)
    {
        var response = await business.PostAsJsonAsync("/admin/v1/business/messages", body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"send answered {(int)response.StatusCode}: {json}");
        return json;
    }

    private async Task<HttpClient> OperatorAsync(string scope)
    {
        var response = await Server.Admin.PostAsJsonAsync("/admin/v1/operators", new { name = "biz-" + scope, scopes = new[] { scope }, ttlSeconds = 3600 });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        var client = new HttpClient { BaseAddress = Server.BaseUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
