using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// The real <c>@openim/client-sdk@0.0.14</c> (node/driver.js) against the real server: conversations, unread counts,
/// read receipts, revoke, conversation settings, user info and group chat, with native Parley.Sdk users in the mix.
/// </summary>
public sealed class OpenImSdkConversationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    private Task<NodeSdkClient> SdkAsync(string userId, int platformId = 5) => NodeSdkClient.LoggedInAsync(Server, userId, platformId);

    private Task<NativeUser> NativeAsync(string userId) => NativeUser.ConnectAsync(Server, userId);

    private static IEnumerable<JsonElement> WithText(IEnumerable<JsonElement> messages, string text) =>
        messages.Where(m => m.TryGetProperty("text", out var t) && t.GetString() == text);

    /// <summary>Polls an asynchronous condition (an SDK getter) until it holds or the time is up.</summary>
    private static async Task PollAsync(Func<Task<bool>> condition, Func<string> because, TimeSpan? timeout = null)
    {
        var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow > limit)
            {
                throw new TimeoutException("Timed out waiting until " + because());
            }

            await Task.Delay(100);
        }
    }

    private static Task WaitForTextAsync(NodeSdkClient sdk, string text) =>
        Wait.UntilAsync(() => WithText(sdk.ReceivedMessages(), text).Any(), $"{sdk.UserId}'s SDK raised '{text}'" + sdk.Diagnostics());

    private static async Task<List<JsonElement>> ConversationsAsync(NodeSdkClient sdk) =>
        [.. (await sdk.OkAsync("call", new { method = "getConversationListSplit", @params = new { offset = 0, count = 50 } })).EnumerateArray()];

    private static async Task<int> TotalUnreadAsync(NodeSdkClient sdk) =>
        (await sdk.OkAsync("call", new { method = "getTotalUnreadMsgCount" })).GetInt32();

    private static JsonElement Conversation(List<JsonElement> list, string conversationId) =>
        list.SingleOrDefault(c => c.GetProperty("conversationID").GetString() == conversationId) is { ValueKind: JsonValueKind.Object } found
            ? found
            : throw new Xunit.Sdk.XunitException($"{conversationId} is not in the list: " + string.Join("\n", list.Select(c => c.GetRawText())));

    /// <summary>The text of a conversation's <c>latestMsg</c> (a JSON string of the SDK's message).</summary>
    private static string? LatestText(JsonElement conversation)
    {
        var raw = conversation.GetProperty("latestMsg").GetString();
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(raw);
        return doc.RootElement.TryGetProperty("textElem", out var text) && text.ValueKind == JsonValueKind.Object ? text.GetProperty("content").GetString() : null;
    }

    private static int Unread(JsonElement conversation) => conversation.GetProperty("unreadCount").GetInt32();

    /// <summary>
    /// Asserts A's view: C's conversation first (its message is the latest), then B's, with their unread counts and last
    /// messages; with <paramref name="checkTotal"/> also the SDK's total unread.
    /// </summary>
    private static async Task AssertListAsync(NodeSdkClient a, string withB, string withC, int unreadB, int unreadC, bool checkTotal)
    {
        var list = await ConversationsAsync(a);
        var ids = list.Select(c => c.GetProperty("conversationID").GetString()).ToList();
        Assert.True(ids.IndexOf(withC) >= 0 && ids.IndexOf(withB) > ids.IndexOf(withC), "order (latest first): " + string.Join(", ", ids) + a.Diagnostics());
        var b = Conversation(list, withB);
        var c = Conversation(list, withC);
        Assert.Equal(unreadB, Unread(b));
        Assert.Equal(unreadC, Unread(c));
        Assert.Equal("b2", LatestText(b));
        Assert.Equal("c1", LatestText(c));
        Assert.Equal(1, b.GetProperty("conversationType").GetInt32());
        if (checkTotal)
        {
            Assert.Equal(unreadB + unreadC, await TotalUnreadAsync(a));
        }
    }

    [Fact]
    public async Task SdkConv_List_ShowsUnreadLatestAndOrder_LiveAndAfterFreshLogin()
    {
        var alice = OpenImUsers.NewId("ca");
        var bob = OpenImUsers.NewId("cb");
        var native = OpenImUsers.NewId("cn");
        await OpenImUsers.RegisterAsync(Server, alice, bob, native);
        var withB = OpenImUsers.Direct(alice, bob);
        var withC = OpenImUsers.Direct(alice, native);

        await using (var a = await SdkAsync(alice))
        {
            await using var b = await SdkAsync(bob);
            await using var c = await NativeAsync(native);
            await b.OkAsync("sendText", new { recvID = alice, text = "b1" });
            await b.OkAsync("sendText", new { recvID = alice, text = "b2" });
            await WaitForTextAsync(a, "b2");
            await c.Client.SendTextAsync(alice, "c1");
            await WaitForTextAsync(a, "c1");

            // The SDK's live total leaves out the first message of a conversation it did not know yet (0.0.14 only recounts
            // when a message's seq is above the cached max seq, which that first message has just set), so it is checked
            // after the fresh login and for a conversation the SDK already knows.
            await AssertListAsync(a, withB, withC, unreadB: 2, unreadC: 1, checkTotal: false);
            var one = await a.OkAsync("call", new { method = "getOneConversation", @params = new { sourceID = bob, sessionType = 1 } });
            Assert.Equal(withB, one.GetProperty("conversationID").GetString());
            Assert.Equal(2, Unread(one));
        }

        // A new process: everything comes from the login sync (1006 + /jssdk/get_active_conversations).
        await using var again = await SdkAsync(alice);
        await AssertListAsync(again, withB, withC, unreadB: 2, unreadC: 1, checkTotal: true);

        // Live, in a conversation the SDK knows: the unread and the total go up, B's conversation moves to the top.
        await using (var b = await SdkAsync(bob))
        {
            await b.OkAsync("sendText", new { recvID = alice, text = "b3" });
        }

        await WaitForTextAsync(again, "b3");
        var list = await ConversationsAsync(again);
        Assert.Equal(withB, list[0].GetProperty("conversationID").GetString());
        Assert.Equal(3, Unread(list[0]));
        Assert.Equal("b3", LatestText(list[0]));
        Assert.Equal(4, await TotalUnreadAsync(again));
    }

    [Fact]
    public async Task SdkConv_MarkRead_ClearsUnread_SendsReceiptsToOpenImAndNativePeers()
    {
        var alice = OpenImUsers.NewId("ra");
        var bob = OpenImUsers.NewId("rb");
        var native = OpenImUsers.NewId("rn");
        await OpenImUsers.RegisterAsync(Server, alice, bob, native);
        var withB = OpenImUsers.Direct(alice, bob);
        var withC = OpenImUsers.Direct(alice, native);

        await using (var a = await SdkAsync(alice))
        {
            await using var b = await SdkAsync(bob);
            await using var c = await NativeAsync(native);
            var sent = await b.OkAsync("sendText", new { recvID = alice, text = "read me" });
            await c.Client.SendTextAsync(alice, "native read me");
            await WaitForTextAsync(a, "read me");
            await WaitForTextAsync(a, "native read me");
            var before = await ConversationsAsync(a);
            Assert.Equal(1, Unread(Conversation(before, withB)));
            Assert.Equal(1, Unread(Conversation(before, withC)));

            await a.OkAsync("markRead", new { conversationID = withB });
            await a.OkAsync("markRead", new { conversationID = withC });
            var list = await ConversationsAsync(a);
            Assert.Equal(0, Unread(Conversation(list, withB)));
            Assert.Equal(0, Unread(Conversation(list, withC)));
            Assert.Equal(0, await TotalUnreadAsync(a));

            var sentId = sent.GetProperty("clientMsgID").GetString();
            await Wait.UntilAsync(
                () => b.Events("OnRecvC2CReadReceipt").Any(e => e.GetProperty("data").EnumerateArray().Any(r => r.GetProperty("userID").GetString() == alice && r.GetProperty("msgIDList").EnumerateArray().Any(id => id.GetString() == sentId))),
                "bob's SDK raised OnRecvC2CReadReceipt for his message" + b.Diagnostics());
            await Wait.UntilAsync(() => c.Receipts.Any(r => r.ConversationId == withC && r.UserId == alice && r.ReadSeq >= 1), "the native peer got alice's read receipt");
        }

        await using var again = await SdkAsync(alice);
        var after = await ConversationsAsync(again);
        Assert.Equal(0, Unread(Conversation(after, withB)));
        Assert.Equal(0, Unread(Conversation(after, withC)));
        Assert.Equal(0, await TotalUnreadAsync(again));
    }

    [Fact]
    public async Task SdkConv_Revoke_PeerIsToldHistoryShowsItAndOthersMessagesCannotBeRevoked()
    {
        var alice = OpenImUsers.NewId("va");
        var bob = OpenImUsers.NewId("vb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        var conversation = OpenImUsers.Direct(alice, bob);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        var sent = await a.OkAsync("sendText", new { recvID = bob, text = "oops" });
        await WaitForTextAsync(b, "oops");
        await b.OkAsync("sendText", new { recvID = alice, text = "bob's own" });
        await WaitForTextAsync(a, "bob's own");
        var clientMsgId = sent.GetProperty("clientMsgID").GetString();

        await a.OkAsync("call", new { method = "revokeMessage", @params = new { conversationID = conversation, clientMsgID = clientMsgId } });
        var revoked = await b.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() == "OnNewRecvMessageRevoked" && r.GetProperty("data").GetProperty("clientMsgID").GetString() == clientMsgId,
            "bob's SDK raised OnNewRecvMessageRevoked");
        Assert.Equal(alice, revoked.GetProperty("data").GetProperty("revokerID").GetString());

        // Both histories show the message as revoked (OpenIM's 2101 revoke notification in its place).
        foreach (var sdk in new[] { a, b })
        {
            var history = await sdk.OkAsync("history", new { conversationID = conversation, count = 20 });
            var message = history.GetProperty("messageList").EnumerateArray().Single(m => m.GetProperty("clientMsgID").GetString() == clientMsgId);
            Assert.Equal(2101, message.GetProperty("contentType").GetInt32());
        }

        // Alice cannot revoke bob's message: the SDK refuses it, and so does the server when asked directly.
        var bobsMessage = WithText(a.ReceivedMessages(), "bob's own").Single();
        var refused = await a.CommandAsync("call", new { method = "revokeMessage", @params = new { conversationID = conversation, clientMsgID = bobsMessage.GetProperty("clientMsgID").GetString() } });
        Assert.False(refused.GetProperty("ok").GetBoolean(), refused.GetRawText());
        var direct = await Server.PostAsync("/msg/revoke_msg", new { conversationID = conversation, seq = bobsMessage.GetProperty("seq").GetInt64(), userID = alice }, await OpenImUsers.TokenAsync(Server, alice));
        Assert.NotEqual(0, direct.GetProperty("errCode").GetInt32());
        var bHistory = await b.OkAsync("history", new { conversationID = conversation, count = 20 });
        Assert.Equal(101, bHistory.GetProperty("messageList").EnumerateArray().Single(m => m.TryGetProperty("text", out var t) && t.GetString() == "bob's own").GetProperty("contentType").GetInt32());
    }

    [Fact]
    public async Task SdkConv_Revoke_TheNewestMessagesStayInHistoryAfterwards()
    {
        // The revoke marker takes a seq on the native side; SDK 0.0.14 counts its max seq up by one per pushed message, so
        // a seq it is never pushed left it one behind and history then omitted the newest message for both peers.
        var alice = OpenImUsers.NewId("xa");
        var bob = OpenImUsers.NewId("xb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        var conversation = OpenImUsers.Direct(alice, bob);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        for (var i = 1; i <= 3; i++)
        {
            await a.OkAsync("sendText", new { recvID = bob, text = $"x{i}" });
            await WaitForTextAsync(b, $"x{i}");
        }

        var sent = await a.OkAsync("sendText", new { recvID = bob, text = "gone" });
        await WaitForTextAsync(b, "gone");
        var clientMsgId = sent.GetProperty("clientMsgID").GetString();
        await a.OkAsync("call", new { method = "revokeMessage", @params = new { conversationID = conversation, clientMsgID = clientMsgId } });
        await b.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() == "OnNewRecvMessageRevoked",
            "bob's SDK raised OnNewRecvMessageRevoked");

        await a.OkAsync("sendText", new { recvID = bob, text = "after a" });
        await WaitForTextAsync(b, "after a");
        await b.OkAsync("sendText", new { recvID = alice, text = "after b" });
        await WaitForTextAsync(a, "after b");

        foreach (var sdk in new[] { a, b })
        {
            var history = await sdk.OkAsync("history", new { conversationID = conversation, count = 20 });
            var texts = history.GetProperty("messageList").EnumerateArray()
                .Select(m => m.TryGetProperty("text", out var t) ? t.GetString() : null)
                .Where(t => t is not null)
                .ToList();
            Assert.Equal(["after a", "after b", "x1", "x2", "x3"], texts.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task SdkConv_Revoke_BothWaysWithANativePeer_AndForAMessageTheSessionNeverSawLive()
    {
        var alice = OpenImUsers.NewId("wa");
        var native = OpenImUsers.NewId("wn");
        await OpenImUsers.RegisterAsync(Server, alice, native);
        var conversation = OpenImUsers.Direct(alice, native);
        await using var a = await SdkAsync(alice);
        await using var c = await NativeAsync(native);

        // OpenIM → native.
        await a.OkAsync("sendText", new { recvID = native, text = "to native" });
        await Wait.UntilAsync(() => c.MessagesIn(conversation).Any(m => m.Content.Text?.Text == "to native"), "the native peer got the message");
        var mine = c.MessagesIn(conversation).Single(m => m.Content.Text?.Text == "to native");

        // SDK 0.0.14's sendMessage resolves on the server's reply, but the SDK files the sent message in its local store only
        // when the echo push arrives, and revokeMessage looks the message up there ("message not exist", 10002, before it):
        // revoke once alice's own history shows it, as an app revoking from its message list does.
        await PollAsync(
            async () =>
            {
                var history = await a.OkAsync("history", new { conversationID = conversation, count = 20 });
                return history.GetProperty("messageList").EnumerateArray().Any(m => m.GetProperty("clientMsgID").GetString() == mine.ClientMsgId);
            },
            () => "alice's SDK has its sent message in its history" + a.Diagnostics(),
            TimeSpan.FromSeconds(60));
        await a.OkAsync("call", new { method = "revokeMessage", @params = new { conversationID = conversation, clientMsgID = mine.ClientMsgId } });
        await Wait.UntilAsync(() => c.Revokes.Any(r => r.ConversationId == conversation && r.Seq == mine.Seq), "the native peer was told of the revoke");

        // Native → OpenIM, live.
        var receipt = await c.Client.SendTextAsync(alice, "native oops");
        await WaitForTextAsync(a, "native oops");
        var theirs = WithText(a.ReceivedMessages(), "native oops").Single();
        await c.Client.RevokeAsync(conversation, (ulong)theirs.GetProperty("seq").GetInt64());
        var revoked = await a.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() == "OnNewRecvMessageRevoked" && r.GetProperty("data").GetProperty("clientMsgID").GetString() == theirs.GetProperty("clientMsgID").GetString(),
            "alice's SDK raised OnNewRecvMessageRevoked for the native message");
        Assert.Equal(native, revoked.GetProperty("data").GetProperty("revokerID").GetString());
        Assert.Equal(receipt.Seq, (ulong)theirs.GetProperty("seq").GetInt64());

        // A message sent before this session logged in, revoked afterwards: the SDK still names the right message.
        await c.Client.SendTextAsync(alice, "before login");
        await WaitForTextAsync(a, "before login");
        var late = WithText(a.ReceivedMessages(), "before login").Single();
        await using var second = await SdkAsync(alice, platformId: 2);
        await c.Client.RevokeAsync(conversation, (ulong)late.GetProperty("seq").GetInt64());
        await second.WaitAsync(
            r => r.GetProperty("kind").GetString() == "event" && r.GetProperty("event").GetString() == "OnNewRecvMessageRevoked" && r.GetProperty("data").GetProperty("clientMsgID").GetString() == late.GetProperty("clientMsgID").GetString(),
            "alice's new session raised OnNewRecvMessageRevoked for a message it never saw live");
        var history = await second.OkAsync("history", new { conversationID = conversation, count = 20 });
        string?[] revokedIds = [mine.ClientMsgId, theirs.GetProperty("clientMsgID").GetString(), late.GetProperty("clientMsgID").GetString()];
        var shown = history.GetProperty("messageList").EnumerateArray().Where(m => revokedIds.Contains(m.GetProperty("clientMsgID").GetString())).ToList();
        Assert.Equal(3, shown.Count);
        Assert.All(shown, m => Assert.Equal(2101, m.GetProperty("contentType").GetInt32()));
    }

    [Fact]
    public async Task SdkConv_SetConversation_PinAndRecvOpt_ShowInListAndNotNotifyIds()
    {
        var alice = OpenImUsers.NewId("pa");
        var bob = OpenImUsers.NewId("pb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        var conversation = OpenImUsers.Direct(alice, bob);
        await using var a = await SdkAsync(alice);
        await using var second = await SdkAsync(alice, platformId: 2);
        await using (var b = await SdkAsync(bob))
        {
            await b.OkAsync("sendText", new { recvID = alice, text = "pin me" });
            await WaitForTextAsync(a, "pin me");
        }

        // The SDK does not change its cache itself: the server's ConversationChangeNotification (1300) makes it pull
        // get_incremental_conversations, and the getter shows the pin once that is done.
        await a.OkAsync("call", new { method = "setConversation", @params = new { conversationID = conversation, isPinned = true, recvMsgOpt = 2 } });
        JsonElement one = default;
        await PollAsync(
            async () =>
            {
                one = await a.OkAsync("call", new { method = "getOneConversation", @params = new { sourceID = bob, sessionType = 1 } });
                return one.TryGetProperty("isPinned", out var pinned) && pinned.GetBoolean();
            },
            () => "alice's SDK shows the conversation pinned: " + one.GetRawText() + a.Diagnostics());
        Assert.Equal(2, one.GetProperty("recvMsgOpt").GetInt32());
        await a.WaitEventAsync("OnConversationChanged", "alice's SDK raised OnConversationChanged");

        // The other session of alice hears of it.
        await Wait.UntilAsync(
            () => second.Events("OnConversationChanged").Any(e => e.GetProperty("data").EnumerateArray().Any(c => c.GetProperty("conversationID").GetString() == conversation && c.GetProperty("isPinned").GetBoolean())),
            "alice's second session raised OnConversationChanged with the pin" + second.Diagnostics());

        var notNotify = await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = alice }, await OpenImUsers.TokenAsync(Server, alice));
        Assert.Equal(0, notNotify.GetProperty("errCode").GetInt32());
        Assert.Contains(conversation, notNotify.GetProperty("data").GetProperty("conversationIDs").EnumerateArray().Select(e => e.GetString()));

        // A fresh login shows the settings.
        await using (var again = await SdkAsync(alice, platformId: 3))
        {
            var listed = Conversation(await ConversationsAsync(again), conversation);
            Assert.True(listed.GetProperty("isPinned").GetBoolean(), listed.GetRawText());
            Assert.Equal(2, listed.GetProperty("recvMsgOpt").GetInt32());
        }

        // Unpin and unmute from the other session: the first one follows (false / 0 must reach it, not be left out).
        await second.OkAsync("call", new { method = "setConversation", @params = new { conversationID = conversation, isPinned = false, recvMsgOpt = 0 } });
        await PollAsync(
            async () =>
            {
                one = await a.OkAsync("call", new { method = "getOneConversation", @params = new { sourceID = bob, sessionType = 1 } });
                return one.TryGetProperty("isPinned", out var pinned) && !pinned.GetBoolean() && one.GetProperty("recvMsgOpt").GetInt32() == 0;
            },
            () => "alice's first session shows the conversation unpinned and unmuted: " + one.GetRawText() + a.Diagnostics());
        var ids = await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = alice }, await OpenImUsers.TokenAsync(Server, alice));
        Assert.False(ids.TryGetProperty("data", out var data) && data.TryGetProperty("conversationIDs", out var list) && list.EnumerateArray().Any(e => e.GetString() == conversation), ids.GetRawText());
    }

    [Fact]
    public async Task IncrementalConversations_VersionZeroWithOurVersionId_IsAPositionNotAFullSync()
    {
        // The SDK stores the version of its first (full) sync; on a server whose feed was still empty that is 0, and the
        // next pull (after a 1300) must list the changes since then rather than answer full again.
        var alice = OpenImUsers.NewId("za");
        var bob = OpenImUsers.NewId("zb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using (var other = await OpenImWsClient.LoginAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob)))
        {
            Assert.Equal(0, (await other.RequestAsync(1003, OpenImUsers.Text(bob, alice, "hi"))).ErrCode);
        }

        var token = await OpenImUsers.TokenAsync(Server, alice);
        var answer = await Server.PostAsync("/conversation/get_incremental_conversations", new { userID = alice, version = 0, versionID = "parley-feed-1" }, token);
        Assert.Equal(0, answer.GetProperty("errCode").GetInt32());
        var data = answer.GetProperty("data");
        Assert.False(data.TryGetProperty("full", out _), data.GetRawText());
        Assert.Contains(OpenImUsers.Direct(alice, bob), data.GetProperty("update").EnumerateArray().Select(c => c.GetProperty("conversationID").GetString()));
    }

    [Fact]
    public async Task SdkConv_UserInfo_SelfAndOthers_IncludingNativeUser()
    {
        var alice = OpenImUsers.NewId("ua");
        var bob = OpenImUsers.NewId("ub");
        var native = OpenImUsers.NewId("un");
        await OpenImUsers.RegisterAsync(Server, alice, bob, native);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        var self = await a.OkAsync("call", new { method = "getSelfUserInfo" });
        Assert.Equal(alice, self.GetProperty("userID").GetString());
        Assert.Equal("nick " + alice, self.GetProperty("nickname").GetString());

        await a.OkAsync("call", new { method = "setSelfInfo", @params = new { nickname = "Alice A.", faceURL = "https://example.org/alice.png" } });
        var updated = await a.OkAsync("call", new { method = "getSelfUserInfo" });
        Assert.Equal("Alice A.", updated.GetProperty("nickname").GetString());
        Assert.Equal("https://example.org/alice.png", updated.GetProperty("faceURL").GetString());

        var users = (await b.OkAsync("call", new { method = "getUsersInfo", @params = new[] { alice, native } })).EnumerateArray().ToList();
        var seenAlice = users.Single(u => u.GetProperty("userID").GetString() == alice);
        Assert.Equal("Alice A.", seenAlice.GetProperty("nickname").GetString());
        Assert.Equal("https://example.org/alice.png", seenAlice.GetProperty("faceURL").GetString());
        Assert.Equal("nick " + native, users.Single(u => u.GetProperty("userID").GetString() == native).GetProperty("nickname").GetString());

        // The native side sees the new profile too.
        await using var c = await NativeAsync(native);
        var fromNative = await c.Client.GetUsersAsync([alice]);
        Assert.Equal("Alice A.", fromNative.Users.Single().Nickname);
    }

    [Fact]
    public async Task SdkConv_GroupText_OpenImAndNativeMembersChatWithGaplessSeqsAndUnread()
    {
        var alice = OpenImUsers.NewId("ga");
        var bob = OpenImUsers.NewId("gb");
        var native = OpenImUsers.NewId("gn");
        await OpenImUsers.RegisterAsync(Server, alice, bob, native);
        var groupId = OpenImUsers.NewId("grp");
        var created = await Server.PostAsync("/group/create_group", new
        {
            ownerUserID = alice,
            memberUserIDs = new[] { bob, native },
            groupInfo = new { groupID = groupId, groupName = "Mixed", groupType = 2 },
        }, await OpenImUsers.TokenAsync(Server, alice));
        Assert.True(created.GetProperty("errCode").GetInt32() == 0, created.GetRawText());
        var conversation = "sg_" + groupId;

        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var c = await NativeAsync(native);

        await a.OkAsync("sendText", new { groupID = groupId, text = "g from alice" });
        await WaitForTextAsync(b, "g from alice");
        await b.OkAsync("sendText", new { groupID = groupId, text = "g from bob" });
        await WaitForTextAsync(a, "g from bob");
        await c.Client.SendTextToConversationAsync(conversation, "g from native");
        await WaitForTextAsync(a, "g from native");
        await WaitForTextAsync(b, "g from native");
        await Wait.UntilAsync(() => c.MessagesIn(conversation).Count(m => m.Content.Text is not null) >= 2, "the native member got both OpenIM messages");

        var texts = new[] { "g from alice", "g from bob", "g from native" };
        foreach (var sdk in new[] { a, b })
        {
            var history = await sdk.OkAsync("history", new { conversationID = conversation, count = 50 });
            var list = history.GetProperty("messageList").EnumerateArray().ToList();
            var seqs = list.Select(m => m.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(i => (long)i), seqs);
            Assert.Equal(texts, list.Select(m => m.TryGetProperty("text", out var t) ? t.GetString() : null).Where(t => t is not null && texts.Contains(t)).ToArray());
            var inList = Conversation(await ConversationsAsync(sdk), conversation);
            Assert.Equal(3, inList.GetProperty("conversationType").GetInt32());
            Assert.Equal(groupId, inList.GetProperty("groupID").GetString());
            Assert.Equal("g from native", LatestText(inList));
        }

        var nativeTexts = c.MessagesIn(conversation).Where(m => m.Content.Text is not null).Select(m => (m.Seq, m.Content.Text.Text)).ToList();
        Assert.Contains(nativeTexts, m => m.Text == "g from alice");
        Assert.Contains(nativeTexts, m => m.Text == "g from bob");

        // Unread is maxSeq − hasReadSeq (OpenIM's and Parley's rule) and sending moves the sender's hasReadSeq to its message
        // (as OpenIM's msgtransfer does). Alice (who also sent the group-created tip, 1501 at seq 1) has bob's and the
        // native member's messages unread. Bob's live SDK shows 3 (the tip, alice's, the native one): 0.0.14 does not
        // lower a conversation's unread count when its user sends; the server's count for him is 1 (see below).
        var bobsHistory = (await b.OkAsync("history", new { conversationID = conversation, count = 50 })).GetProperty("messageList").EnumerateArray().ToList();
        Assert.Equal(1501, bobsHistory[0].GetProperty("contentType").GetInt32());
        Assert.Equal([1L, 2L, 3L, 4L], bobsHistory.Select(m => m.GetProperty("seq").GetInt64()));
        Assert.Equal(2, Unread(Conversation(await ConversationsAsync(a), conversation)));
        Assert.Equal(3, Unread(Conversation(await ConversationsAsync(b), conversation)));

        // A fresh login of bob (another platform) gets the server's count from the login sync: only the native message,
        // which came after his own.
        await using var bobAgain = await SdkAsync(bob, platformId: 3);
        var again = Conversation(await ConversationsAsync(bobAgain), conversation);
        Assert.Equal(1, Unread(again));
        Assert.Equal("g from native", LatestText(again));
        Assert.Equal(1, await TotalUnreadAsync(bobAgain));

        // Reading the group clears it, and a later login agrees.
        await bobAgain.OkAsync("markRead", new { conversationID = conversation });
        Assert.Equal(0, Unread(Conversation(await ConversationsAsync(bobAgain), conversation)));
        Assert.Equal(0, await TotalUnreadAsync(bobAgain));
        await using var bobLater = await SdkAsync(bob, platformId: 4);
        Assert.Equal(0, Unread(Conversation(await ConversationsAsync(bobLater), conversation)));
    }
}
