using System.Text.Json;
using static Parley.Compat.OpenIM.Tests.OpenImRestUsers;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// OpenIM's app-server calls with an admin token: <c>/user/{add,update,search}_notification_account</c>,
/// <c>/msg/send_msg</c> (1:1, group, notification account, OA notification) and <c>/msg/batch_send_msg</c>, in OpenIM's shapes
/// and error codes; the real <c>@openim/client-sdk</c> receives what <c>send_msg</c> sent.
/// </summary>
public sealed class OpenImBusinessTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task Send_msg_from_a_notification_account_reaches_the_real_sdk_and_a_repeated_clientMsgID_stores_nothing()
    {
        var bob = OpenImUsers.NewId("bz");
        await OpenImUsers.RegisterAsync(Server, bob);
        var admin = await Server.AdminTokenAsync();
        var account = OpenImUsers.NewId("na");
        var added = await Server.PostAsync("/user/add_notification_account", new { userID = account, nickName = "Order updates", faceURL = "https://example.com/o.png", appMangerLevel = 3 }, admin);
        AssertOk(added);
        Assert.Equal(account, added.GetProperty("data").GetProperty("userID").GetString());
        Assert.Equal("Order updates", added.GetProperty("data").GetProperty("nickName").GetString());
        Assert.Equal(3, added.GetProperty("data").GetProperty("appMangerLevel").GetInt32());
        AssertError(await Server.PostAsync("/user/add_notification_account", new { userID = account, nickName = "again", appMangerLevel = 3 }, admin), 1001);

        await using var sdk = await NodeSdkClient.StartAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob, 5), 5);
        await sdk.LoginAsync();

        var body = new { sendID = account, recvID = bob, clientMsgID = "order-77-shipped", contentType = 101, sessionType = 1, content = new { content = "Order 77 shipped" } };
        var sent = await Server.PostAsync("/msg/send_msg", body, admin);
        AssertOk(sent);
        var data = sent.GetProperty("data");
        Assert.Equal("order-77-shipped", data.GetProperty("clientMsgID").GetString());
        Assert.False(string.IsNullOrEmpty(data.GetProperty("serverMsgID").GetString()));
        Assert.True(data.GetProperty("sendTime").GetInt64() > 0);

        await sdk.UntilAsync(() => sdk.ReceivedMessages().Any(m => m.TryGetProperty("clientMsgID", out var c) && c.GetString() == "order-77-shipped"), "bob's OpenIM SDK raised the app server's message");
        var received = sdk.ReceivedMessages().Single(m => m.GetProperty("clientMsgID").GetString() == "order-77-shipped");
        Assert.Equal(account, received.GetProperty("sendID").GetString());
        Assert.Equal(101, received.GetProperty("contentType").GetInt32());
        Assert.Equal(1, received.GetProperty("seq").GetInt64());

        var again = await Server.PostAsync("/msg/send_msg", body, admin);
        AssertOk(again);
        Assert.Equal(data.GetProperty("serverMsgID").GetString(), again.GetProperty("data").GetProperty("serverMsgID").GetString());

        // An OA notification (contentType 1400) from the notification account; the next seq, so the repeat stored nothing.
        var oa = await Server.PostAsync("/msg/send_msg", new { sendID = account, recvID = bob, contentType = 1400, sessionType = 4, content = new { notificationName = "Orders", notificationType = 1, text = "Order 77 arrives today", url = "https://shop.example/o/77", mixType = 0 } }, admin);
        AssertOk(oa);
        await sdk.UntilAsync(() => sdk.ReceivedMessages().Any(m => m.GetProperty("contentType").GetInt32() == 1400), "bob's OpenIM SDK raised the OA notification");
        Assert.Equal(2, sdk.ReceivedMessages().Single(m => m.GetProperty("contentType").GetInt32() == 1400).GetProperty("seq").GetInt64());
        Assert.Single(sdk.ReceivedMessages(), m => m.GetProperty("clientMsgID").GetString() == "order-77-shipped");

        // OA notifications only from notification accounts, as in OpenIM.
        var (alice, _) = await Server.RegisterAsync("bza");
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = alice, recvID = bob, contentType = 1400, sessionType = 4, content = new { text = "fake" } }, admin), 1002);

        AssertOk(await Server.PostAsync("/user/update_notification_account", new { userID = account, nickName = "Orders", faceURL = "" }, admin));
        var search = await Server.PostAsync("/user/search_notification_account", new { keyword = account, pagination = new { pageNumber = 1, showNumber = 10 } }, admin);
        AssertOk(search);
        Assert.Equal(1, search.GetProperty("data").GetProperty("total").GetInt64());
        var listed = search.GetProperty("data").GetProperty("notificationAccounts")[0];
        Assert.Equal("Orders", listed.GetProperty("nickName").GetString());
        Assert.Equal("https://example.com/o.png", listed.GetProperty("faceURL").GetString());
    }

    [Fact]
    public async Task Batch_send_msg_answers_results_and_failedUserIDs_and_group_send_needs_a_member()
    {
        var (sender, senderToken) = await Server.RegisterAsync("bs");
        var (r1, _) = await Server.RegisterAsync("b1");
        var (r2, _) = await Server.RegisterAsync("b2");
        var admin = await Server.AdminTokenAsync();
        var unknown = OpenImUsers.NewId("zz");

        var batch = await Server.PostAsync("/msg/batch_send_msg", new { sendID = sender, recvIDs = new[] { r1, unknown, r2 }, contentType = 101, sessionType = 1, content = new { content = "Sale starts now" } }, admin);
        AssertOk(batch);
        var results = batch.GetProperty("data").GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([r1, r2], results.Select(r => r.GetProperty("recvID").GetString()));
        Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("serverMsgID").GetString())));
        Assert.Equal([unknown], batch.GetProperty("data").GetProperty("failedUserIDs").EnumerateArray().Select(e => e.GetString()));

        var groupId = "bg" + Guid.NewGuid().ToString("N")[..10];
        AssertOk(await Server.PostAsync("/group/create_group", new { ownerUserID = sender, memberUserIDs = new[] { r1 }, groupInfo = new { groupID = groupId, groupName = "Shop", groupType = 2 } }, senderToken));
        var inGroup = await Server.PostAsync("/msg/send_msg", new { sendID = sender, groupID = groupId, contentType = 101, sessionType = 3, content = new { content = "Group notice" } }, admin);
        AssertOk(inGroup);
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = r2, groupID = groupId, contentType = 101, sessionType = 3, content = new { content = "not a member" } }, admin), 1203);

        // Only the app server (an admin token) may send as others; bad input gets ArgsError.
        var (_, userToken) = await Server.RegisterAsync("bu");
        var asUser = await Server.PostAsync("/msg/send_msg", new { sendID = sender, recvID = r1, contentType = 101, sessionType = 1, content = new { content = "spoof" } }, userToken);
        Assert.NotEqual(0, asUser.GetProperty("errCode").GetInt32());
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = sender, recvID = r1, contentType = 101, sessionType = 1, content = new { content = "" } }, admin), 1001);
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = sender, recvID = r1, contentType = 101, sessionType = 9, content = new { content = "x" } }, admin), 1001);
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = sender, recvID = r1, contentType = 101, sessionType = 1, content = "x" }, admin), 1001);
        AssertError(await Server.PostAsync("/msg/send_msg", new { sendID = unknown, recvID = r1, contentType = 101, sessionType = 1, content = new { content = "x" } }, admin), 1101);
        AssertError(await Server.PostAsync("/msg/batch_send_msg", new { sendID = sender, recvIDs = Array.Empty<string>(), contentType = 101, sessionType = 1, content = new { content = "x" } }, admin), 1001);
    }

    [Fact]
    public async Task Account_check_and_online_status_and_token_detail_answer_in_openim_shapes()
    {
        var online = OpenImUsers.NewId("on");
        var offline = OpenImUsers.NewId("of");
        await OpenImUsers.RegisterAsync(Server, online, offline);
        var admin = await Server.AdminTokenAsync();
        var unknown = OpenImUsers.NewId("un");

        var check = await Server.PostAsync("/user/account_check", new { checkUserIDs = new[] { online, unknown, offline } }, admin);
        AssertOk(check);
        Assert.Equal(
            [(online, "registered"), (unknown, "unregistered"), (offline, "registered")],
            check.GetProperty("data").GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("userID").GetString(), r.GetProperty("accountStatus").GetString())));
        AssertError(await Server.PostAsync("/user/account_check", new { checkUserIDs = Array.Empty<string>() }, admin), 1001);

        await using var client = await NativeClientAsync(online);

        var status = await Server.PostAsync("/user/get_users_online_status", new { userIDs = new[] { online, offline } }, admin);
        AssertOk(status);
        var entries = status.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(online, entries[0].GetProperty("userID").GetString());
        Assert.Equal(1, entries[0].GetProperty("status").GetInt32());
        var platform = Assert.Single(entries[0].GetProperty("detailPlatformStatus").EnumerateArray());
        Assert.Equal(2, platform.GetProperty("platformID").GetInt32());
        Assert.Equal("online", platform.GetProperty("status").GetString());
        Assert.Equal(offline, entries[1].GetProperty("userID").GetString());
        Assert.Equal(0, entries[1].GetProperty("status").GetInt32());
        Assert.False(entries[1].TryGetProperty("detailPlatformStatus", out _));

        var detail = await Server.PostAsync("/user/get_users_online_token_detail", new { userIDs = new[] { online, offline } }, admin);
        AssertOk(detail);
        var only = Assert.Single(detail.GetProperty("data").EnumerateArray());
        Assert.Equal(online, only.GetProperty("userID").GetString());
        var tokens = Assert.Single(only.GetProperty("singlePlatformToken").EnumerateArray());
        Assert.Equal(2, tokens.GetProperty("platformID").GetInt32());
        Assert.Equal(1, tokens.GetProperty("total").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", tokens.GetProperty("token")[0].GetString()); // a token id, never the token (pt1.…)

        var (_, userToken) = await Server.RegisterAsync("ou");
        Assert.NotEqual(0, (await Server.PostAsync("/user/get_users_online_status", new { userIDs = new[] { online } }, userToken)).GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task Send_business_notification_stores_a_2001_message_and_statistics_count_registrations_per_day()
    {
        var bob = OpenImUsers.NewId("bn");
        var shop = OpenImUsers.NewId("bs");
        await OpenImUsers.RegisterAsync(Server, bob, shop);
        var admin = await Server.AdminTokenAsync();

        var sent = await Server.PostAsync("/msg/send_business_notification", new { key = "order.paid", data = "{\"orderId\":77}", sendUserID = shop, recvUserID = bob, sendMsg = true, clientMsgID = "biz-77" }, admin);
        AssertOk(sent);
        Assert.Equal("biz-77", sent.GetProperty("data").GetProperty("clientMsgID").GetString());
        var again = await Server.PostAsync("/msg/send_business_notification", new { key = "order.paid", data = "{\"orderId\":77}", sendUserID = shop, recvUserID = bob, clientMsgID = "biz-77" }, admin);
        Assert.Equal(sent.GetProperty("data").GetProperty("serverMsgID").GetString(), again.GetProperty("data").GetProperty("serverMsgID").GetString());

        // Bob's history holds it once, as OpenIM content type 2001 with the NotificationElem detail {key, data}.
        await using var client = await NativeClientAsync(bob);
        var history = await client.GetHistoryAsync(Parley.Protocol.Ids.DirectConversationId(bob, shop), 1, Parley.Protocol.V1.Direction.Forward, 10);
        var stored = Assert.Single(history.Messages);
        Assert.Equal("openim.2001", stored.Content.Custom.Type);
        using (var elem = JsonDocument.Parse(stored.Content.Custom.Json))
        using (var detail = JsonDocument.Parse(elem.RootElement.GetProperty("detail").GetString()!))
        {
            Assert.Equal("order.paid", detail.RootElement.GetProperty("key").GetString());
            Assert.Equal("{\"orderId\":77}", detail.RootElement.GetProperty("data").GetString());
        }

        AssertError(await Server.PostAsync("/msg/send_business_notification", new { key = "k", data = "d", sendUserID = shop }, admin), 1001);
        AssertError(await Server.PostAsync("/msg/send_business_notification", new { key = "k", data = "d", sendUserID = shop, recvUserID = bob, recvGroupID = "g1" }, admin), 1001);
        AssertError(await Server.PostAsync("/msg/send_business_notification", new { key = "k", data = "d", sendUserID = OpenImUsers.NewId("no"), recvUserID = bob }, admin), 1101);
        Assert.NotEqual(0, (await Server.PostAsync("/msg/send_business_notification", new { key = "k", data = "d", sendUserID = shop, recvGroupID = OpenImUsers.NewId("ng") }, admin)).GetProperty("errCode").GetInt32());
        var (_, userToken) = await Server.RegisterAsync("bnu");
        Assert.NotEqual(0, (await Server.PostAsync("/msg/send_business_notification", new { key = "k", data = "d", sendUserID = shop, recvUserID = bob }, userToken)).GetProperty("errCode").GetInt32());

        // Registrations: all users, those before the start, and per UTC day in [start, end).
        var now = DateTimeOffset.UtcNow;
        var today = now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var register = await Server.PostAsync("/statistics/user/register", new { start = now.AddDays(-1).ToUnixTimeMilliseconds(), end = now.AddDays(1).ToUnixTimeMilliseconds() }, admin);
        AssertOk(register);
        var counts = register.GetProperty("data");
        Assert.True(counts.GetProperty("count").GetProperty(today).GetInt64() >= 3, register.ToString());
        Assert.True(counts.GetProperty("total").GetInt64() >= counts.GetProperty("before").GetInt64() + 3, register.ToString());
        var later = await Server.PostAsync("/statistics/user/register", new { start = now.AddDays(1).ToUnixTimeMilliseconds(), end = now.AddDays(2).ToUnixTimeMilliseconds() }, admin);
        AssertOk(later);
        Assert.Equal(later.GetProperty("data").GetProperty("total").GetInt64(), later.GetProperty("data").GetProperty("before").GetInt64());
        Assert.Empty(later.GetProperty("data").GetProperty("count").EnumerateObject());
        AssertError(await Server.PostAsync("/statistics/user/register", new { start = 2, end = 1 }, admin), 1001);
        var groups = await Server.PostAsync("/statistics/group/create", new { start = now.AddDays(-1).ToUnixTimeMilliseconds(), end = now.AddDays(1).ToUnixTimeMilliseconds() }, admin);
        AssertOk(groups);
        Assert.True(groups.GetProperty("data").GetProperty("total").GetInt64() >= 0);
        Assert.NotEqual(0, (await Server.PostAsync("/statistics/user/register", new { start = 1, end = 2 }, userToken)).GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task A_notification_accounts_conversation_is_openims_session_type_4_sn_conversation_live_after_a_fresh_login_and_natively_flagged()
    {
        var bob = OpenImUsers.NewId("sb");
        var friend = OpenImUsers.NewId("sf");
        await OpenImUsers.RegisterAsync(Server, bob, friend);
        var admin = await Server.AdminTokenAsync();
        var account = OpenImUsers.NewId("sa");
        AssertOk(await Server.PostAsync("/user/add_notification_account", new { userID = account, nickName = "Shop news", faceURL = "https://example.com/s.png", appMangerLevel = 3 }, admin));
        var pair = string.CompareOrdinal(account, bob) <= 0 ? $"{account}_{bob}" : $"{bob}_{account}";
        var notificationConversation = "sn_" + pair;

        await using (var sdk = await NodeSdkClient.StartAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob, 5), 5))
        {
            await sdk.LoginAsync();

            // An app-server send as the notification account (sessionType 4, as OpenIM files OA notifications), an OA
            // notification, and an ordinary user's 1:1 message (stays session type 1, si_).
            AssertOk(await Server.PostAsync("/msg/send_msg", new { sendID = account, recvID = bob, clientMsgID = "sn-1", contentType = 101, sessionType = 4, content = new { content = "Your parcel left the warehouse" } }, admin));
            AssertOk(await Server.PostAsync("/msg/send_msg", new { sendID = account, recvID = bob, clientMsgID = "sn-2", contentType = 1400, sessionType = 4, content = new { notificationName = "Shop", notificationType = 1, text = "Spring sale", mixType = 0 } }, admin));
            AssertOk(await Server.PostAsync("/msg/send_msg", new { sendID = friend, recvID = bob, clientMsgID = "si-1", contentType = 101, sessionType = 1, content = new { content = "hi bob" } }, admin));

            await sdk.UntilAsync(() => sdk.ReceivedMessages().Count(m => m.GetProperty("clientMsgID").GetString() is "sn-1" or "sn-2" or "si-1") == 3, "bob's SDK raised the three messages");
            var live = sdk.ReceivedMessages();
            Assert.All(live.Where(m => m.GetProperty("clientMsgID").GetString() is "sn-1" or "sn-2"), m => Assert.Equal(4, m.GetProperty("sessionType").GetInt32()));
            Assert.Equal(1, live.Single(m => m.GetProperty("clientMsgID").GetString() == "si-1").GetProperty("sessionType").GetInt32());

            var listed = await ConversationsAsync(sdk);
            var notifications = listed.Single(c => c.GetProperty("conversationID").GetString() == notificationConversation);
            Assert.Equal(4, notifications.GetProperty("conversationType").GetInt32());
            Assert.Equal(account, notifications.GetProperty("userID").GetString());
            // Seen in CI under load before the /jssdk answers were capped at what the connection had been sent (sn-2 counted by
            // the fetch after sn-1's push and again by its own push: 3); OpenImUnreadRaceTests forces that interleaving.
            Assert.True(notifications.GetProperty("unreadCount").GetInt32() == 2,
                $"unread {notifications.GetProperty("unreadCount").GetInt32()}, expected 2; conversation {notifications}; received: "
                + string.Join(" | ", sdk.ReceivedMessages().Select(m => $"{m.GetProperty("clientMsgID").GetString()} seq {m.GetProperty("seq")} session {m.GetProperty("sessionType")}"))
                + sdk.Diagnostics());
            Assert.Equal(1, listed.Single(c => c.GetProperty("userID").GetString() == friend).GetProperty("conversationType").GetInt32());
            Assert.DoesNotContain(listed, c => c.GetProperty("conversationID").GetString() == "si_" + pair);

            await sdk.OkAsync("markRead", new { conversationID = notificationConversation });
            await UntilAsync(
                async () => (await ConversationsAsync(sdk)).Single(c => c.GetProperty("conversationID").GetString() == notificationConversation).GetProperty("unreadCount").GetInt32() == 0,
                "reading the notification conversation cleared its unread count");
        }

        // A fresh login (new SDK process): the list, the read state and the history come from the server under sn_.
        await using (var again = await NodeSdkClient.StartAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob, 5), 5))
        {
            await again.LoginAsync();
            var listed = await ConversationsAsync(again);
            var notifications = listed.Single(c => c.GetProperty("conversationID").GetString() == notificationConversation);
            Assert.Equal(4, notifications.GetProperty("conversationType").GetInt32());
            Assert.Equal(0, notifications.GetProperty("unreadCount").GetInt32());
            var history = await again.OkAsync("history", new { conversationID = notificationConversation, count = 20 });
            Assert.Equal(["sn-1", "sn-2"], history.GetProperty("messageList").EnumerateArray().Select(m => m.GetProperty("clientMsgID").GetString()));
            Assert.All(history.GetProperty("messageList").EnumerateArray(), m => Assert.Equal(4, m.GetProperty("sessionType").GetInt32()));
            Assert.Empty(again.MissingEndpoints());
        }

        // The native protocol flags the same conversation (and only it) as a notification conversation.
        await using var native = await NativeClientAsync(bob);
        var conversations = (await native.GetConversationsAsync()).Conversations;
        Assert.True(conversations.Single(c => c.PeerUserId == account).Notification);
        Assert.False(conversations.Single(c => c.PeerUserId == friend).Notification);
    }

    [Fact]
    public async Task Marketing_opt_out_set_through_the_openim_edge_is_honoured_by_a_campaign()
    {
        var (optedOut, optedOutToken) = await Server.RegisterAsync("mo");
        var (other, otherToken) = await Server.RegisterAsync("mi");

        var read = await Server.PostAsync("/user/get_marketing_opt_out", new { }, optedOutToken);
        AssertOk(read);
        Assert.False(read.GetProperty("data").GetProperty("optOut").GetBoolean());
        AssertOk(await Server.PostAsync("/user/set_marketing_opt_out", new { userID = optedOut, optOut = true }, optedOutToken));
        read = await Server.PostAsync("/user/get_marketing_opt_out", new { }, optedOutToken);
        Assert.True(read.GetProperty("data").GetProperty("optOut").GetBoolean());
        Assert.Equal(optedOut, read.GetProperty("data").GetProperty("userID").GetString());

        // Own setting only; a missing or non-boolean optOut is an ArgsError; the other user is untouched.
        AssertError(await Server.PostAsync("/user/set_marketing_opt_out", new { userID = other, optOut = true }, optedOutToken), 1002);
        AssertError(await Server.PostAsync("/user/get_marketing_opt_out", new { userID = other }, optedOutToken), 1002);
        AssertError(await Server.PostAsync("/user/set_marketing_opt_out", new { optOut = "yes" }, otherToken), 1001);
        AssertError(await Server.PostAsync("/user/set_marketing_opt_out", new { }, otherToken), 1001);
        Assert.False((await Server.PostAsync("/user/get_marketing_opt_out", new { }, otherToken)).GetProperty("data").GetProperty("optOut").GetBoolean());

        // A campaign to both skips the opted-out user for that reason (the other has no device, the next reason).
        using var admin = new HttpClient { BaseAddress = Server.BaseUri };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Server.AdminSecret);
        var campaignId = "oi-" + Guid.NewGuid().ToString("N")[..12];
        var created = await admin.PostAsync("/admin/v1/business/campaigns", System.Net.Http.Json.JsonContent.Create(new
        {
            campaignId,
            name = "opt-out check",
            audience = new { userIds = new[] { optedOut, other } },
            templates = new[] { new { templateId = "a", title = "Sale", body = "Everything half price" } },
            expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(),
        }));
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);

        Dictionary<string, string?> reasons = [];
        await UntilAsync(
            async () =>
            {
                using var page = JsonDocument.Parse(await admin.GetStringAsync($"/admin/v1/business/campaigns/{campaignId}/targets?limit=10"));
                reasons = page.RootElement.GetProperty("targets").EnumerateArray().ToDictionary(t => t.GetProperty("userId").GetString()!, t => t.GetProperty("reason").GetString());
                return reasons.Count == 2;
            },
            "the campaign processed both users");
        Assert.Equal("opted_out", reasons[optedOut]);
        Assert.Equal("no_device", reasons[other]);

        // Opting in again through the edge clears it.
        AssertOk(await Server.PostAsync("/user/set_marketing_opt_out", new { optOut = false }, optedOutToken));
        Assert.False((await Server.PostAsync("/user/get_marketing_opt_out", new { }, optedOutToken)).GetProperty("data").GetProperty("optOut").GetBoolean());
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string because)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting until " + because);
            await Task.Delay(100);
        }
    }

    private static async Task<List<JsonElement>> ConversationsAsync(NodeSdkClient sdk) =>
        [.. (await sdk.OkAsync("call", new { method = "getConversationListSplit", @params = new { offset = 0, count = 50 } })).EnumerateArray()];

    /// <summary>The user on the native protocol (Parley's C# SDK) as an Android device (OpenIM platform 2).</summary>
    private async Task<Parley.Sdk.ParleyClient> NativeClientAsync(string userId)
    {
        var client = new Parley.Sdk.ParleyClient(new Parley.Sdk.ParleyClientOptions
        {
            ServerUri = Server.WebSocketUri,
            Token = await OpenImUsers.TokenAsync(Server, userId, 2),
            DeviceId = OpenImPlatforms.DeviceId(2),
            Platform = Parley.Protocol.V1.Platform.Android,
            LocalState = new Parley.Sdk.InMemoryParleyClientState(),
        });
        await client.ConnectAsync();
        return client;
    }
}
