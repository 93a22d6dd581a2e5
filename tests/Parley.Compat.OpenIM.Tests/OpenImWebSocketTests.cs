using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Parley.Compat.OpenIM.Wire;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>Test users through OpenIM's own bootstrap endpoints (what an OpenIM deployment's app server does).</summary>
internal static class OpenImUsers
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static async Task RegisterAsync(OpenImTestServer server, params string[] userIds)
    {
        var admin = await server.AdminTokenAsync();
        var response = await server.PostAsync("/user/user_register", new { users = userIds.Select(id => new { userID = id, nickname = "nick " + id }).ToArray() }, admin);
        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
    }

    public static async Task<string> TokenAsync(OpenImTestServer server, string userId, int platformId = 5)
    {
        var admin = await server.AdminTokenAsync();
        var response = await server.PostAsync("/auth/get_user_token", new { platformID = platformId, userID = userId }, admin);
        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
        return response.GetProperty("data").GetProperty("token").GetString()!;
    }

    public static MsgData Text(string sendId, string recvId, string text) => new()
    {
        SendID = sendId,
        RecvID = recvId,
        ClientMsgID = Guid.NewGuid().ToString("N"),
        SenderPlatformID = 5,
        SessionType = 1,
        MsgFrom = 100,
        ContentType = 101,
        Content = ByteString.CopyFromUtf8(JsonSerializer.Serialize(new { content = text })),
        CreateTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Status = 1,
    };

    public static string TextOf(MsgData data)
    {
        using var doc = JsonDocument.Parse(data.Content.ToStringUtf8());
        return doc.RootElement.GetProperty("content").GetString()!;
    }

    public static string Direct(string a, string b) => string.CompareOrdinal(a, b) < 0 ? $"si_{a}_{b}" : $"si_{b}_{a}";
}

public sealed class OpenImWebSocketTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task Handshake_ValidToken_AnswersErrCode0AndPingPong()
    {
        var user = OpenImUsers.NewId("hs");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);

        var (client, handshake) = await OpenImWsClient.ConnectAsync(Server, OpenImWsClient.Query(user, token), user);
        await using var _ = client;

        Assert.Equal(0, handshake.GetProperty("errCode").GetInt32());
        Assert.Equal(string.Empty, handshake.GetProperty("errMsg").GetString());
        Assert.Equal(string.Empty, handshake.GetProperty("errDlt").GetString());
        await client.SendRawAsync("{\"type\":\"ping\"}"u8.ToArray(), WebSocketMessageType.Text);
        await Wait.UntilAsync(() => client.Frames.Count(f => f.Text) == 2, "the pong arrived");
        Assert.Equal("{\"type\":\"pong\",\"body\":null}", client.Frames.Where(f => f.Text).Last().Json);
    }

    [Fact]
    public async Task Handshake_BadArgumentsOrTokens_AnswerOpenImCodes()
    {
        var user = OpenImUsers.NewId("hsbad");
        var other = OpenImUsers.NewId("hsoth");
        await OpenImUsers.RegisterAsync(Server, user, other);
        var token = await OpenImUsers.TokenAsync(Server, user);
        var otherToken = await OpenImUsers.TokenAsync(Server, other);

        async Task<int> CodeAsync(string query)
        {
            var (client, handshake) = await OpenImWsClient.ConnectAsync(Server, query, user);
            await using var _ = client;
            var code = handshake.GetProperty("errCode").GetInt32();
            Assert.False(string.IsNullOrEmpty(handshake.GetProperty("errMsg").GetString()));
            await Wait.UntilAsync(() => client.Closed, "the refused connection closed");
            return code;
        }

        Assert.Equal(1502, await CodeAsync(OpenImWsClient.Query(user, otherToken)));
        Assert.Equal(1502, await CodeAsync(OpenImWsClient.Query(user, token, platformId: 2)));
        Assert.Equal(1503, await CodeAsync(OpenImWsClient.Query(user, "not-a-token")));
        Assert.Equal(1602, await CodeAsync($"sendID={user}&token={token}&operationID=x&isMsgResp=true&sdkType=js"));
        Assert.Equal(1602, await CodeAsync($"sendID={user}&token={token}&platformID=10&operationID=x&isMsgResp=true&sdkType=js"));
        Assert.Equal(1602, await CodeAsync($"token={token}&platformID=5&operationID=x&isMsgResp=true&sdkType=js"));
        Assert.Equal(1602, await CodeAsync(OpenImWsClient.Query(user, token, sdkType: "go")));
        Assert.Equal(1602, await CodeAsync(OpenImWsClient.Query(user, token) + "&compression=gzip"));
    }

    [Fact]
    public async Task Handshake_OnTheDedicatedWsPort_IsAcceptedOnAnyPath()
    {
        var port = TestServer.FreePort();
        await using var server = await OpenImTestServer.StartAsync(
            new Dictionary<string, string?> { ["Parley:OpenIM:ApiPort"] = "0", ["Parley:OpenIM:WsPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            apiPort: port);
        var user = OpenImUsers.NewId("port");
        await OpenImUsers.RegisterAsync(server, user);
        var token = await OpenImUsers.TokenAsync(server, user);

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/any/path?{OpenImWsClient.Query(user, token)}"), CancellationToken.None);
        var buffer = new byte[1024];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);

        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        using var handshake = JsonDocument.Parse(buffer.AsMemory(0, result.Count));
        Assert.Equal(0, handshake.RootElement.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task Handshake_VForm_IsAccepted()
    {
        var user = OpenImUsers.NewId("hsv");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);
        var v = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new { token, userID = user, platformID = 5, operationID = "op", sdkType = "js", sendResponse = true }))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

        var (client, handshake) = await OpenImWsClient.ConnectAsync(Server, "v=" + v, user);
        await using var _ = client;

        Assert.Equal(0, handshake.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task Handshake_ForceLoggedOutToken_Is1506AndTheLiveConnectionGets2002()
    {
        var user = OpenImUsers.NewId("kick");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);
        await using var client = await OpenImWsClient.LoginAsync(Server, user, token);

        var admin = await Server.AdminTokenAsync();
        Assert.Equal(0, (await Server.PostAsync("/auth/force_logout", new { platformID = 5, userID = user }, admin)).GetProperty("errCode").GetInt32());

        await Wait.UntilAsync(() => client.Frames.Any(f => f.ReqIdentifier == 2002), "the kick (2002) arrived");
        await Wait.UntilAsync(() => client.Closed, "the kicked connection closed");
        var (again, handshake) = await OpenImWsClient.ConnectAsync(Server, OpenImWsClient.Query(user, token), user);
        await using var _ = again;
        Assert.Equal(1506, handshake.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task Login_SecondLoginOnSamePlatform_KicksTheFirstWith2002()
    {
        var user = OpenImUsers.NewId("displ");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);
        await using var first = await OpenImWsClient.LoginAsync(Server, user, token);

        await using var second = await OpenImWsClient.LoginAsync(Server, user, token);

        await Wait.UntilAsync(() => first.Frames.Any(f => f.ReqIdentifier == 2002), "the displaced connection got 2002");
        await Wait.UntilAsync(() => first.Closed, "the displaced connection closed");
        Assert.False(second.Closed);
        Assert.DoesNotContain(second.Frames, f => f.ReqIdentifier == 2002);
    }

    [Fact]
    public async Task SendMsg_ReceiverGetsPushAndSenderGetsEchoWithSeq_ThenSeqsAndPullsAgree()
    {
        var alice = OpenImUsers.NewId("alice");
        var bob = OpenImUsers.NewId("bob");
        var eve = OpenImUsers.NewId("eve");
        await OpenImUsers.RegisterAsync(Server, alice, bob, eve);
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));
        await using var b = await OpenImWsClient.LoginAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob));
        await using var e = await OpenImWsClient.LoginAsync(Server, eve, await OpenImUsers.TokenAsync(Server, eve));
        var conversation = OpenImUsers.Direct(alice, bob);

        var sent = new List<MsgData>();
        for (var i = 1; i <= 3; i++)
        {
            var msg = OpenImUsers.Text(alice, bob, $"hello {i}");
            sent.Add(msg);
            var resp = await a.RequestAsync(1003, msg, SendMsgResp.Parser);
            Assert.Equal(msg.ClientMsgID, resp.ClientMsgID);
            Assert.False(string.IsNullOrEmpty(resp.ServerMsgID));
            Assert.True(resp.SendTime > 0);
        }

        await Wait.UntilAsync(() => b.Pushed().Count == 3, "bob received the three messages");
        await Wait.UntilAsync(() => a.Pushed().Count == 3, "alice got the three sender-sync echoes");
        foreach (var client in new[] { a, b })
        {
            var pushed = client.Pushed();
            Assert.All(pushed, p => Assert.Equal(conversation, p.ConversationId));
            Assert.Equal([1L, 2L, 3L], pushed.Select(p => p.Msg.Seq).Order());
            Assert.Equal(sent.Select(s => s.ClientMsgID).Order(), pushed.Select(p => p.Msg.ClientMsgID).Order());
            Assert.All(pushed, p =>
            {
                Assert.Equal(alice, p.Msg.SendID);
                Assert.Equal(bob, p.Msg.RecvID);
                Assert.Equal(1, p.Msg.SessionType);
                Assert.Equal(101, p.Msg.ContentType);
                Assert.Equal(2, p.Msg.Status);
            });
        }

        Assert.Equal("hello 2", OpenImUsers.TextOf(b.Pushed().Single(p => p.Msg.Seq == 2).Msg));
        Assert.Empty(e.Pushed());

        // 1006: both see maxSeq 3; the sender has read its own messages.
        var seqsA = await a.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = alice }, GetConversationsHasReadAndMaxSeqResp.Parser);
        var seqsB = await b.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = bob, ConversationIDs = { conversation } }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Equal(3, seqsA.Seqs[conversation].MaxSeq);
        Assert.Equal(3, seqsA.Seqs[conversation].HasReadSeq);
        Assert.Equal(3, seqsB.Seqs[conversation].MaxSeq);
        Assert.Equal(0, seqsB.Seqs[conversation].HasReadSeq);
        Assert.Equal(b.Pushed().Single(p => p.Msg.Seq == 3).Msg.SendTime, seqsB.Seqs[conversation].MaxSeqTime);

        // 1005: explicit seqs (history); an unknown seq is simply absent.
        var bySeqs = await b.RequestAsync(1005, new GetSeqMessageReq { UserID = bob, Conversations = { new ConversationSeqs { ConversationID = conversation, Seqs = { 3, 1, 9 } } } }, GetSeqMessageResp.Parser);
        Assert.Equal([1L, 3L], bySeqs.Msgs[conversation].Msgs.Select(m => m.Seq));
        Assert.Equal("hello 3", OpenImUsers.TextOf(bySeqs.Msgs[conversation].Msgs[1]));

        // 1002: the reconnect gap fill by range, newest `num` first.
        var range = await b.RequestAsync(1002, new PullMessageBySeqsReq { UserID = bob, SeqRanges = { new SeqRange { ConversationID = conversation, Begin = 0, End = 3, Num = 2 } } }, PullMessageBySeqsResp.Parser);
        Assert.Equal([2L, 3L], range.Msgs[conversation].Msgs.Select(m => m.Seq));
        Assert.False(range.Msgs[conversation].IsEnd);
        var all = await b.RequestAsync(1002, new PullMessageBySeqsReq { UserID = bob, SeqRanges = { new SeqRange { ConversationID = conversation, Begin = 1, End = 3, Num = 10 } } }, PullMessageBySeqsResp.Parser);
        Assert.Equal([1L, 2L, 3L], all.Msgs[conversation].Msgs.Select(m => m.Seq));
        Assert.True(all.Msgs[conversation].IsEnd);

        // 1001: newest seq per conversation.
        var newest = await b.RequestAsync(1001, new GetMaxSeqReq { UserID = bob }, GetMaxSeqResp.Parser);
        Assert.Equal(3, newest.MaxSeqs[conversation]);

        // Authorisation: eve is not in the conversation; she sees nothing of it.
        var stolen = await e.RequestAsync(1005, new GetSeqMessageReq { UserID = eve, Conversations = { new ConversationSeqs { ConversationID = conversation, Seqs = { 1, 2, 3 } } } }, GetSeqMessageResp.Parser);
        Assert.Empty(stolen.Msgs[conversation].Msgs);
        var stolenRange = await e.RequestAsync(1002, new PullMessageBySeqsReq { UserID = eve, SeqRanges = { new SeqRange { ConversationID = conversation, Begin = 1, End = 3, Num = 10 } } }, PullMessageBySeqsResp.Parser);
        Assert.Empty(stolenRange.Msgs[conversation].Msgs);
        var eveSeqs = await e.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = eve, ConversationIDs = { conversation } }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Empty(eveSeqs.Seqs);
    }

    [Fact]
    public async Task Reconnect_GapFill_ReturnsTheMissedMessages()
    {
        var alice = OpenImUsers.NewId("gapa");
        var bob = OpenImUsers.NewId("gapb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        var bobToken = await OpenImUsers.TokenAsync(Server, bob);
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));
        var conversation = OpenImUsers.Direct(alice, bob);
        long cachedMaxSeq;
        await using (var b = await OpenImWsClient.LoginAsync(Server, bob, bobToken))
        {
            await a.RequestAsync(1003, OpenImUsers.Text(alice, bob, "live"));
            await Wait.UntilAsync(() => b.Pushed().Count == 1, "bob got the live message");
            cachedMaxSeq = b.Pushed()[0].Msg.Seq;
        }

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(0, (await a.RequestAsync(1003, OpenImUsers.Text(alice, bob, $"missed {i}"))).ErrCode);
        }

        // What the SDK does on reconnect: 1006 for every conversation, then 1002 from its cached maxSeq + 1.
        await using var again = await OpenImWsClient.LoginAsync(Server, bob, bobToken);
        var seqs = await again.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = bob }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Equal(cachedMaxSeq + 3, seqs.Seqs[conversation].MaxSeq);
        var gap = await again.RequestAsync(1002, new PullMessageBySeqsReq
        {
            UserID = bob,
            SeqRanges = { new SeqRange { ConversationID = conversation, Begin = cachedMaxSeq + 1, End = seqs.Seqs[conversation].MaxSeq, Num = 10 } },
        }, PullMessageBySeqsResp.Parser);
        Assert.Equal(["missed 1", "missed 2", "missed 3"], gap.Msgs[conversation].Msgs.Select(OpenImUsers.TextOf));
        Assert.Equal([cachedMaxSeq + 1, cachedMaxSeq + 2, cachedMaxSeq + 3], gap.Msgs[conversation].Msgs.Select(m => m.Seq));
        Assert.True(gap.Msgs[conversation].IsEnd);
        Assert.Empty(again.Pushed());
    }

    [Fact]
    public async Task Reconnect_AfterADrop_PushesWhatTheConnectionMissedOnceInSeqOrder_ButNotAfterALogoutOrAClose()
    {
        var alice = OpenImUsers.NewId("rpa");
        var bob = OpenImUsers.NewId("rpb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        var bobToken = await OpenImUsers.TokenAsync(Server, bob);
        var sessions = (Core.Sessions.ISessionControl)Server.Services.GetService(typeof(Core.Sessions.ISessionControl))!;
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));
        List<string> Texts(OpenImWsClient client) => [.. client.Pushed().Where(p => !p.Notification).Select(p => OpenImUsers.TextOf(p.Msg))];
        async Task SendAsync(string text) => Assert.Equal(0, (await a.RequestAsync(1003, OpenImUsers.Text(alice, bob, text))).ErrCode);

        var b = await OpenImWsClient.LoginAsync(Server, bob, bobToken);
        await SendAsync("live");
        await Wait.UntilAsync(() => Texts(b).Contains("live"), "bob got the live message");

        // A network drop (no close frame), then three messages while bob is away.
        b.Abort();
        await b.DisposeAsync();
        await Wait.UntilAsync(() => sessions.CountConnections(bob) == 0, "the server saw bob's connection go");
        await SendAsync("missed 1");
        await SendAsync("missed 2");
        await SendAsync("missed 3");

        await using (var again = await OpenImWsClient.LoginAsync(Server, bob, bobToken))
        {
            await Wait.UntilAsync(() => Texts(again).Count >= 3, "the reconnect was pushed what it missed");
            Assert.Equal(["missed 1", "missed 2", "missed 3"], Texts(again));
            Assert.Equal([2L, 3L, 4L], again.Pushed().Where(p => !p.Notification).Select(p => p.Msg.Seq));
            await SendAsync("live 2");
            await Wait.UntilAsync(() => Texts(again).Contains("live 2"), "live delivery follows the replay");
            Assert.Equal(["missed 1", "missed 2", "missed 3", "live 2"], Texts(again));
            Assert.Equal(0, (await again.RequestAsync(2003, null)).ErrCode);
        }

        // After a logout the next login is a fresh one (the SDK syncs itself): nothing is replayed.
        await SendAsync("after the logout");
        await using (var fresh = await OpenImWsClient.LoginAsync(Server, bob, bobToken))
        {
            await SendAsync("fresh live");
            await Wait.UntilAsync(() => Texts(fresh).Contains("fresh live"), "the fresh login gets live messages");
            Assert.Equal(["fresh live"], Texts(fresh));
        }

        // Nor after the client closed the connection itself (a close frame: a closed tab).
        await Wait.UntilAsync(() => sessions.CountConnections(bob) == 0, "the server saw bob's connection close");
        await SendAsync("after the close");
        await using var third = await OpenImWsClient.LoginAsync(Server, bob, bobToken);
        await SendAsync("third live");
        await Wait.UntilAsync(() => Texts(third).Contains("third live"), "the next login gets live messages");
        Assert.Equal(["third live"], Texts(third));
    }

    [Fact]
    public async Task Pushes_NativeReadAndRevoke_ReachOpenImAsHasReadReceiptAndRevokeNotifications()
    {
        var oim = OpenImUsers.NewId("rr");
        var native = OpenImUsers.NewId("rn");
        await OpenImUsers.RegisterAsync(Server, oim, native);
        await using var a = await OpenImWsClient.LoginAsync(Server, oim, await OpenImUsers.TokenAsync(Server, oim));
        await using var client = await NativeClientAsync(native);
        await client.ConnectAsync();
        var conversation = OpenImUsers.Direct(oim, native);
        var first = OpenImUsers.Text(oim, native, "one");
        await a.RequestAsync(1003, first);
        await a.RequestAsync(1003, OpenImUsers.Text(oim, native, "two"));

        // The native peer reads both: the OpenIM sender gets HasReadReceipt (2200) naming the read seqs.
        await client.MarkReadAsync(conversation, 2);
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.ContentType == 2200), "the read receipt reached the OpenIM sender");
        var receipt = a.Pushed().Single(p => p.Msg.ContentType == 2200);
        Assert.True(receipt.Notification);
        using (var content = JsonDocument.Parse(receipt.Msg.Content.ToStringUtf8()))
        using (var detail = JsonDocument.Parse(content.RootElement.GetProperty("detail").GetString()!))
        {
            Assert.Equal(native, detail.RootElement.GetProperty("markAsReadUserID").GetString());
            Assert.Equal(conversation, detail.RootElement.GetProperty("conversationID").GetString());
            Assert.Equal(2, detail.RootElement.GetProperty("hasReadSeq").GetInt64());
            Assert.Contains(2, detail.RootElement.GetProperty("seqs").EnumerateArray().Select(e => e.GetInt64()));
        }

        // The native peer revokes its own message: OpenIM gets the revoke notification (2101) with the RevokeMsgTips detail.
        var own = await client.SendTextAsync(oim, "oops");
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.Seq == (long)own.Seq && p.Msg.ContentType == 101), "the OpenIM user got the message to be revoked");
        await client.RevokeAsync(conversation, own.Seq);
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.ContentType == 2101), "the revoke notification reached the OpenIM user");
        var revoke = a.Pushed().Single(p => p.Msg.ContentType == 2101);
        Assert.True(revoke.Notification);
        using (var content = JsonDocument.Parse(revoke.Msg.Content.ToStringUtf8()))
        using (var detail = JsonDocument.Parse(content.RootElement.GetProperty("detail").GetString()!))
        {
            Assert.Equal(native, detail.RootElement.GetProperty("revokerUserID").GetString());
            Assert.Equal((long)own.Seq, detail.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(conversation, detail.RootElement.GetProperty("conversationID").GetString());
            Assert.Equal(1, detail.RootElement.GetProperty("sesstionType").GetInt32());
            Assert.Equal(a.Pushed().Single(p => p.Msg.Seq == (long)own.Seq && p.Msg.ContentType == 101).Msg.ClientMsgID, detail.RootElement.GetProperty("clientMsgID").GetString());
        }

        // Pulled afterwards, the revoked message reads as revoked (2101) and the revoke marker as a deleted placeholder.
        var pulled = await a.RequestAsync(1005, new GetSeqMessageReq { UserID = oim, Conversations = { new ConversationSeqs { ConversationID = conversation, Seqs = { (long)own.Seq, (long)own.Seq + 1 } } } }, GetSeqMessageResp.Parser);
        var revoked = pulled.Msgs[conversation].Msgs.Single(m => m.Seq == (long)own.Seq);
        Assert.Equal(2101, revoked.ContentType);
        Assert.Contains("revokerID", revoked.Content.ToStringUtf8(), StringComparison.Ordinal);
        Assert.Equal(4, pulled.Msgs[conversation].Msgs.Single(m => m.Seq == (long)own.Seq + 1).Status);
    }

    [Fact]
    public async Task SendMsg_ToGroup_ReachesMembersAndRefusesOutsiders()
    {
        var oim = OpenImUsers.NewId("ga");
        var native = OpenImUsers.NewId("gn");
        var outsider = OpenImUsers.NewId("go");
        await OpenImUsers.RegisterAsync(Server, oim, native, outsider);
        await using var a = await OpenImWsClient.LoginAsync(Server, oim, await OpenImUsers.TokenAsync(Server, oim));
        await using var o = await OpenImWsClient.LoginAsync(Server, outsider, await OpenImUsers.TokenAsync(Server, outsider));
        await using var client = await NativeClientAsync(native);
        var recorder = new Recorder(client);
        await client.ConnectAsync();
        var group = await client.CreateGroupAsync("g", [oim]);

        var msg = OpenImUsers.Text(oim, string.Empty, "hello group");
        msg.SessionType = 3;
        msg.GroupID = group.GroupId;
        Assert.Equal(0, (await a.RequestAsync(1003, msg)).ErrCode);

        await recorder.WaitForMessagesAsync(group.ConversationId, 1);
        Assert.Contains(recorder.MessagesIn(group.ConversationId), m => m.SenderId == oim && m.Content.Text?.Text == "hello group");
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.ClientMsgID == msg.ClientMsgID), "the sender got its echo");
        var echo = a.Pushed().Single(p => p.Msg.ClientMsgID == msg.ClientMsgID);
        Assert.Equal(group.ConversationId, echo.ConversationId);
        Assert.Equal(3, echo.Msg.SessionType);
        Assert.Equal(group.GroupId, echo.Msg.GroupID);
        Assert.True(echo.Msg.Seq > 0);
        var seqs = await a.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = oim }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Equal(echo.Msg.Seq, seqs.Seqs[group.ConversationId].MaxSeq);
        var history = await a.RequestAsync(1005, new GetSeqMessageReq { UserID = oim, Conversations = { new ConversationSeqs { ConversationID = group.ConversationId, Seqs = { Enumerable.Range(1, (int)echo.Msg.Seq).Select(i => (long)i) } } } }, GetSeqMessageResp.Parser);
        Assert.Equal(echo.Msg.Seq, history.Msgs[group.ConversationId].Msgs.Count);
        Assert.Equal("hello group", OpenImUsers.TextOf(history.Msgs[group.ConversationId].Msgs.Single(m => m.Seq == echo.Msg.Seq)));

        var intruder = OpenImUsers.Text(outsider, string.Empty, "let me in");
        intruder.SessionType = 3;
        intruder.GroupID = group.GroupId;
        Assert.Equal(1203, (await o.RequestAsync(1003, intruder)).ErrCode);
        var stolen = await o.RequestAsync(1005, new GetSeqMessageReq { UserID = outsider, Conversations = { new ConversationSeqs { ConversationID = group.ConversationId, Seqs = { echo.Msg.Seq } } } }, GetSeqMessageResp.Parser);
        Assert.Empty(stolen.Msgs[group.ConversationId].Msgs);
    }

    [Fact]
    public async Task Pushes_MemberNotices_DescribeTheChangedMembersInFull()
    {
        var oim = OpenImUsers.NewId("mo");
        var owner = OpenImUsers.NewId("mn");
        var invited = OpenImUsers.NewId("mi");
        await OpenImUsers.RegisterAsync(Server, oim, owner, invited);
        await using var a = await OpenImWsClient.LoginAsync(Server, oim, await OpenImUsers.TokenAsync(Server, oim));
        await using var client = await NativeClientAsync(owner);
        await client.ConnectAsync();
        var group = await client.CreateGroupAsync("members", [oim]);

        // An invitation (1509) names the invited member with the row the commit wrote: role, join time and inviter,
        // as OpenIM's GroupMemberFullInfo does, not only the ids.
        await client.InviteToGroupAsync(group.GroupId, [invited]);
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.ContentType == 1509), "the invitation notice reached the OpenIM member");
        using (var detail = Detail(a.Pushed().First(p => p.Msg.ContentType == 1509).Msg))
        {
            var member = detail.RootElement.GetProperty("invitedUserList").EnumerateArray().Single();
            Assert.Equal(invited, member.GetProperty("userID").GetString());
            Assert.Equal(20, member.GetProperty("roleLevel").GetInt32());
            Assert.Equal(owner, member.GetProperty("inviterUserID").GetString());
            Assert.True(member.GetProperty("joinTime").GetInt64() > 0);
        }

        // A mute (1512) carries the member's mute end and its group nickname once one is set.
        await client.SetMemberNicknameAsync(group.GroupId, "Mo", oim);
        await client.MuteMemberAsync(group.GroupId, oim, TimeSpan.FromMinutes(5));
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Msg.ContentType == 1512), "the mute notice reached the OpenIM member");
        using (var detail = Detail(a.Pushed().First(p => p.Msg.ContentType == 1512).Msg))
        {
            var muted = detail.RootElement.GetProperty("mutedUser");
            Assert.Equal(oim, muted.GetProperty("userID").GetString());
            Assert.Equal("Mo", muted.GetProperty("nickname").GetString());
            Assert.True(muted.GetProperty("muteEndTime").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Assert.True(muted.GetProperty("joinTime").GetInt64() > 0);
        }
    }

    /// <summary>A native (C# SDK) client of <paramref name="userId"/> on Android, not yet connected.</summary>
    private async Task<Parley.Sdk.ParleyClient> NativeClientAsync(string userId) => new(new Parley.Sdk.ParleyClientOptions
    {
        ServerUri = Server.WebSocketUri,
        Token = await OpenImUsers.TokenAsync(Server, userId, 2),
        DeviceId = OpenImPlatforms.DeviceId(2),
        Platform = Parley.Protocol.V1.Platform.Android,
        LocalState = new Parley.Sdk.InMemoryParleyClientState(),
    });

    private static JsonDocument Detail(Parley.Compat.OpenIM.Wire.MsgData msg)
    {
        using var content = JsonDocument.Parse(msg.Content.ToStringUtf8());
        return JsonDocument.Parse(content.RootElement.GetProperty("detail").GetString()!);
    }

    [Fact]
    public async Task Pushes_FriendRequestFromNativeUser_ReachesOpenImAsFriendNotification()
    {
        var oim = OpenImUsers.NewId("fa");
        var native = OpenImUsers.NewId("fn");
        await OpenImUsers.RegisterAsync(Server, oim, native);
        await using var a = await OpenImWsClient.LoginAsync(Server, oim, await OpenImUsers.TokenAsync(Server, oim));
        await using var client = await NativeClientAsync(native);
        await client.ConnectAsync();

        await client.SendFriendRequestAsync(oim, "hi");

        // The relation change behind the RelationsChangedEvent reaches the OpenIM connection as OpenIM's friend
        // application notification (1203), naming who asked whom; the SDK then fetches the request over REST.
        await Wait.UntilAsync(() => a.Pushed().Any(p => p.Notification && p.Msg.ContentType is >= 1201 and <= 1209), "the OpenIM user got a friend notification");
        var notification = a.Pushed().First(p => p.Msg.ContentType is >= 1201 and <= 1209);
        Assert.Equal(OpenImRelationNotifier.FriendApplication, notification.Msg.ContentType);
        using var content = JsonDocument.Parse(notification.Msg.Content.ToStringUtf8());
        using var detail = JsonDocument.Parse(content.RootElement.GetProperty("detail").GetString()!);
        Assert.Equal(native, detail.RootElement.GetProperty("fromToUserID").GetProperty("fromUserID").GetString());
        Assert.Equal(oim, detail.RootElement.GetProperty("fromToUserID").GetProperty("toUserID").GetString());
    }

    [Fact]
    public async Task Handshake_ExpiredToken_Is1501()
    {
        var user = OpenImUsers.NewId("exp");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);
        var clock = (ShiftableTimeProvider)Server.Services.GetRequiredService<TimeProvider>();
        clock.Offset = TimeSpan.FromDays(400);
        try
        {
            var (client, handshake) = await OpenImWsClient.ConnectAsync(Server, OpenImWsClient.Query(user, token), user);
            await using var _ = client;
            Assert.Equal(1501, handshake.GetProperty("errCode").GetInt32());
        }
        finally
        {
            clock.Offset = TimeSpan.Zero;
        }
    }

    [Fact]
    public async Task SendMsg_Retry_IsDeduplicatedAndTypingIsNotStored()
    {
        var alice = OpenImUsers.NewId("dedup");
        var bob = OpenImUsers.NewId("dedupb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));
        await using var b = await OpenImWsClient.LoginAsync(Server, bob, await OpenImUsers.TokenAsync(Server, bob));
        var msg = OpenImUsers.Text(alice, bob, "once");

        msg.SenderNickname = "Alice A.";
        msg.SenderFaceURL = "https://example.invalid/a.png";
        var first = await a.RequestAsync(1003, msg, SendMsgResp.Parser);
        var retry = await a.RequestAsync(1003, msg, SendMsgResp.Parser);
        Assert.Equal(first.ServerMsgID, retry.ServerMsgID);

        // The sender's nickname and face travel with its messages (remembered from its own MsgData).
        await Wait.UntilAsync(() => b.Pushed().Any(p => p.Msg.ClientMsgID == msg.ClientMsgID), "bob got the message");
        Assert.Equal("Alice A.", b.Pushed().First(p => p.Msg.ClientMsgID == msg.ClientMsgID).Msg.SenderNickname);
        var pulled = await b.RequestAsync(1005, new GetSeqMessageReq { UserID = bob, Conversations = { new ConversationSeqs { ConversationID = OpenImUsers.Direct(alice, bob), Seqs = { 1 } } } }, GetSeqMessageResp.Parser);
        Assert.Equal("https://example.invalid/a.png", pulled.Msgs[OpenImUsers.Direct(alice, bob)].Msgs.Single().SenderFaceURL);

        var typing = OpenImUsers.Text(alice, bob, "x");
        typing.ContentType = 113;
        typing.Content = ByteString.CopyFromUtf8("{\"msgTips\":\"yes\"}");
        var typingResp = await a.RequestAsync(1003, typing, SendMsgResp.Parser);
        Assert.Equal(typing.ClientMsgID, typingResp.ClientMsgID);

        await Wait.UntilAsync(() => b.Pushed().Any(p => p.Msg.ContentType == 113), "bob saw alice typing");
        var typed = b.Pushed().Single(p => p.Msg.ContentType == 113).Msg;
        Assert.Equal(alice, typed.SendID);
        Assert.Equal(0, typed.Seq);
        Assert.Equal("{\"msgTips\":\"yes\"}", typed.Content.ToStringUtf8());
        Assert.False(typed.Options["conversationUpdate"]);
        var seqs = await b.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = bob }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Equal(1, seqs.Seqs[OpenImUsers.Direct(alice, bob)].MaxSeq);
    }

    [Fact]
    public async Task SendMsg_InvalidContentOrTarget_Answers1001OrNotInGroup()
    {
        var alice = OpenImUsers.NewId("inval");
        await OpenImUsers.RegisterAsync(Server, alice);
        await using var a = await OpenImWsClient.LoginAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice));

        var empty = OpenImUsers.Text(alice, "someone", "x");
        empty.Content = ByteString.CopyFromUtf8("{\"content\":\"\"}");
        Assert.Equal(1001, (await a.RequestAsync(1003, empty)).ErrCode);
        var noTarget = OpenImUsers.Text(alice, string.Empty, "x");
        Assert.Equal(1001, (await a.RequestAsync(1003, noTarget)).ErrCode);
        var toGroup = OpenImUsers.Text(alice, string.Empty, "x");
        toGroup.SessionType = 3;
        toGroup.GroupID = "no-such-group-" + Guid.NewGuid().ToString("N")[..8];
        var groupError = (await a.RequestAsync(1003, toGroup)).ErrCode;
        Assert.Contains(groupError, new[] { 1201, 1203 });
        var system = OpenImUsers.Text(alice, "someone", "x");
        system.ContentType = 1501;
        Assert.Equal(1001, (await a.RequestAsync(1003, system)).ErrCode);
        Assert.Equal(1001, (await a.RequestAsync(4242, null)).ErrCode);
        Assert.False(a.Closed);
    }

    [Fact]
    public async Task Frames_MalformedOversizedOrForeign_AreRefusedWithoutHarm()
    {
        var user = OpenImUsers.NewId("bad");
        await OpenImUsers.RegisterAsync(Server, user);
        var token = await OpenImUsers.TokenAsync(Server, user);

        await using (var client = await OpenImWsClient.LoginAsync(Server, user, token))
        {
            await client.SendRawAsync("not json"u8.ToArray(), WebSocketMessageType.Binary);
            await client.SendRawAsync("{\"reqIdentifier\":1003,\"msgIncr\":\"1\",\"sendID\":\"x\",\"operationID\":\"o\",\"data\":\"%%%\"}"u8.ToArray(), WebSocketMessageType.Binary);
            await Wait.UntilAsync(() => client.Frames.Count(f => !f.Text && f.ErrCode == 1001) == 2, "two malformed frames were answered with 1001");
            Assert.False(client.Closed);

            // A garbage protobuf payload in a well-formed envelope.
            var garbage = await client.RequestAsync(1006, new Wire.SendMsgResp { ServerMsgID = "\u0001" });
            Assert.True(garbage.ErrCode is 0 or 1001);
            Assert.False(client.Closed);
        }

        await using (var client = await OpenImWsClient.LoginAsync(Server, user, token))
        {
            await client.SendRawAsync(new byte[OpenImWebSocketEndpoint.MaxFrameBytes + 10], WebSocketMessageType.Binary);
            await Wait.UntilAsync(() => client.Closed, "the oversized frame closed the connection");
            Assert.Equal((WebSocketCloseStatus)1009, client.CloseStatus);
        }

        await using (var client = await OpenImWsClient.LoginAsync(Server, user, token))
        {
            await client.SendRawAsync("{\"reqIdentifier\":1006,\"msgIncr\":\"1\",\"sendID\":\"somebody-else\",\"operationID\":\"o\",\"data\":\"\"}"u8.ToArray(), WebSocketMessageType.Binary);
            await Wait.UntilAsync(() => client.Closed, "a frame for another sendID closed the connection");
        }

        await using (var client = await OpenImWsClient.LoginAsync(Server, user, token))
        {
            for (var i = 0; i < 6; i++)
            {
                await client.SendRawAsync(Encoding.UTF8.GetBytes("{\"type\":\"what\"}"), WebSocketMessageType.Text);
            }

            await Wait.UntilAsync(() => client.Closed, "too many malformed frames closed the connection");
        }

        // The server is still fine.
        await using var fine = await OpenImWsClient.LoginAsync(Server, user, token);
        var seqs = await fine.RequestAsync(1006, new GetConversationsHasReadAndMaxSeqReq { UserID = user }, GetConversationsHasReadAndMaxSeqResp.Parser);
        Assert.Empty(seqs.Seqs);
    }

    [Fact]
    public async Task Background_Logout_AndOnlineStatus_AreAnswered()
    {
        var user = OpenImUsers.NewId("misc");
        var other = OpenImUsers.NewId("misco");
        await OpenImUsers.RegisterAsync(Server, user, other);
        await using var o = await OpenImWsClient.LoginAsync(Server, other, await OpenImUsers.TokenAsync(Server, other, 2), 2);
        await using var client = await OpenImWsClient.LoginAsync(Server, user, await OpenImUsers.TokenAsync(Server, user));

        Assert.Equal(0, (await client.RequestAsync(2004, new SetAppBackgroundStatusReq { UserID = user, IsBackground = true })).ErrCode);
        var status = await client.RequestAsync(2005, new SubUserOnlineStatus { SubscribeUserID = { other, "nobody-here" } }, SubUserOnlineStatusTips.Parser);
        Assert.Equal([2], status.Subscribers.Single(s => s.UserID == other).OnlinePlatformIDs);
        Assert.Empty(status.Subscribers.Single(s => s.UserID == "nobody-here").OnlinePlatformIDs);

        Assert.Equal(0, (await client.RequestAsync(2003, null)).ErrCode);
        await Wait.UntilAsync(() => client.Closed, "logout closed the connection");
    }

    [Fact]
    public async Task Logout_TheAnswerIsTheLastFrame_WhileMessagesKeepArriving()
    {
        var user = OpenImUsers.NewId("lo");
        var sender = OpenImUsers.NewId("los");
        await OpenImUsers.RegisterAsync(Server, user, sender);
        await using var s = await OpenImWsClient.LoginAsync(Server, sender, await OpenImUsers.TokenAsync(Server, sender, 2), 2);
        await using var client = await OpenImWsClient.LoginAsync(Server, user, await OpenImUsers.TokenAsync(Server, user));

        // Messages keep coming while the user logs out: none may be pushed after the logout answer (SDK 0.0.14 has
        // cleared its state by then and fails on a push).
        using var stop = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                await s.RequestAsync(1003, OpenImUsers.Text(sender, user, $"m{i++}"));
            }
        });
        await Wait.UntilAsync(() => client.Pushed().Count >= 5, "messages are being pushed");
        var answer = await client.RequestAsync(2003, null);
        Assert.Equal(0, answer.ErrCode);
        await Wait.UntilAsync(() => client.Closed, "logout closed the connection");
        await stop.CancelAsync();
        await sending;

        var frames = client.Frames.ToList();
        var logout = frames.FindIndex(f => f.ReqIdentifier == 2003);
        Assert.True(logout >= 0, "the logout answer arrived");
        Assert.DoesNotContain(frames.Skip(logout + 1), f => f.ReqIdentifier == 2001);
    }
}
