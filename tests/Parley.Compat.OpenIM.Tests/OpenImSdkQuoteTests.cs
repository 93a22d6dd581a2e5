using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 18's OpenIM part with the real <c>@openim/client-sdk@0.0.14</c>: a QuoteElem (114) is a native reply (text with
/// <c>reply_to</c>) and a native reply reaches OpenIM clients as a QuoteElem carrying the quoted message; an AtElem (106)
/// is native text with checked mentions and native mentions reach the SDK as an AtElem.
/// </summary>
public sealed class OpenImSdkQuoteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task Sdk_QuoteMessage_IsANativeReply_AndANativeReplyIsAQuoteElemWithTheQuotedMessage_LiveAndInHistory()
    {
        var alice = OpenImUsers.NewId("qa");
        var bob = OpenImUsers.NewId("qb");
        await OpenImUsers.RegisterAsync(Server, alice, bob);
        await using var sdk = await NodeSdkClient.StartAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice, 5), 5);
        await sdk.LoginAsync();
        await using var native = await NativeAsync(bob);
        var conversationId = Parley.Protocol.Ids.DirectConversationId(alice, bob);

        // Bob (native) writes; Alice quotes it with createQuoteMessage + sendMessage, as an OpenIM app does.
        var original = await native.Client.SendTextAsync(alice, "Lunch at noon?");
        var received = await ReceivedAsync(sdk, m => m.TryGetProperty("text", out var t) && t.GetString() == "Lunch at noon?", "alice's SDK got bob's message");
        var quoted = new Dictionary<string, object?>
        {
            ["clientMsgID"] = received.GetProperty("clientMsgID").GetString(),
            ["serverMsgID"] = received.GetProperty("serverMsgID").GetString(),
            ["seq"] = received.GetProperty("seq").GetInt64(),
            ["sendID"] = bob,
            ["recvID"] = alice,
            ["sessionType"] = 1,
            ["contentType"] = 101,
            ["textElem"] = new { content = "Lunch at noon?" },
        };
        var quote = await sdk.OkAsync("call", new { method = "createQuoteMessage", @params = new { text = "Yes, see you there", message = JsonSerializer.Serialize(quoted) } });
        Assert.Equal(114, quote.GetProperty("contentType").GetInt32());
        await sdk.OkAsync("call", new { method = "sendMessage", @params = new { recvID = bob, groupID = "", message = quote } });

        await Wait.UntilAsync(() => native.MessagesIn(conversationId).Any(m => m.Content?.Text?.Text == "Yes, see you there"), "bob got alice's quote as a native reply");
        var reply = native.MessagesIn(conversationId).Single(m => m.Content?.Text?.Text == "Yes, see you there");
        Assert.Equal(original.Seq, reply.Content.ReplyTo.Seq);
        Assert.Equal(original.ServerMsgId, reply.Content.ReplyTo.ServerMsgId);
        var thread = await native.Client.GetThreadAsync(conversationId, original.Seq);
        Assert.Contains(thread.Messages, m => m.Seq == reply.Seq);

        // Bob replies natively to Alice's quote, with a mention: Alice's SDK gets it with the quoted message inside.
        var back = await native.Client.SendAsync(
            new Target { UserId = alice },
            new Content { Text = new TextContent { Text = "Great" }, ReplyTo = new ReplyTo { Seq = reply.Seq, ServerMsgId = reply.ServerMsgId } });
        var live = await ReceivedAsync(sdk, m => m.GetProperty("clientMsgID").GetString() == back.ClientMsgId, "alice's SDK got bob's reply");
        Assert.Equal(114, live.GetProperty("contentType").GetInt32());
        var elem = live.GetProperty("quoteElem");
        Assert.Equal("Great", elem.GetProperty("text").GetString());
        Assert.Equal((long)reply.Seq, elem.GetProperty("quoteMessage").GetProperty("seq").GetInt64());
        Assert.Equal(reply.ServerMsgId, elem.GetProperty("quoteMessage").GetProperty("serverMsgID").GetString());
        Assert.Equal(alice, elem.GetProperty("quoteMessage").GetProperty("sendID").GetString());
        Assert.Equal("Yes, see you there", elem.GetProperty("quoteMessage").GetProperty("textElem").GetProperty("content").GetString());

        // History (a pull) shows both as quotes; a quote of a revoked message never carries its text.
        var history = (await sdk.OkAsync("history", new { conversationID = "si_" + string.Join('_', new[] { alice, bob }.Order(StringComparer.Ordinal)), count = 20 }))
            .GetProperty("messageList").EnumerateArray().ToList();
        Assert.Equal(114, history.Single(m => m.GetProperty("clientMsgID").GetString() == back.ClientMsgId).GetProperty("contentType").GetInt32());
        Assert.Equal(114, history.Single(m => m.GetProperty("seq").GetInt64() == (long)reply.Seq).GetProperty("contentType").GetInt32());

        var secret = await native.Client.SendTextAsync(alice, "secret plan");
        await native.Client.RevokeAsync(conversationId, secret.Seq);
        var afterRevoke = await native.Client.SendAsync(
            new Target { UserId = alice },
            new Content { Text = new TextContent { Text = "about that" }, ReplyTo = new ReplyTo { Seq = secret.Seq } });
        var revokedQuote = await ReceivedAsync(sdk, m => m.GetProperty("clientMsgID").GetString() == afterRevoke.ClientMsgId, "alice's SDK got the reply to the revoked message");
        Assert.DoesNotContain("secret plan", revokedQuote.GetRawText(), StringComparison.Ordinal);
        Assert.Equal((long)secret.Seq, revokedQuote.GetProperty("quoteElem").GetProperty("quoteMessage").GetProperty("seq").GetInt64());

        // An edited message is quoted with its latest revision: the grain puts the replied-to message, as it is when the
        // reply commits, into the event every node encodes (a per-node cache of committed messages kept the first text).
        var draft = await native.Client.SendTextAsync(alice, "meet at 5");
        await native.Client.EditAsync(conversationId, draft.Seq, new TextContent { Text = "meet at 6" });
        var afterEdit = await native.Client.SendAsync(
            new Target { UserId = alice },
            new Content { Text = new TextContent { Text = "ok?" }, ReplyTo = new ReplyTo { Seq = draft.Seq } });
        var editedQuote = await ReceivedAsync(sdk, m => m.GetProperty("clientMsgID").GetString() == afterEdit.ClientMsgId, "alice's SDK got the reply to the edited message");
        Assert.Equal("meet at 6", editedQuote.GetProperty("quoteElem").GetProperty("quoteMessage").GetProperty("textElem").GetProperty("content").GetString());
        Assert.Empty(sdk.MissingEndpoints());

        // A pull reads the quoted message as it is now, through the grain for the reader: a fresh login on another
        // platform shows the edited text while the root stands, and no text once it is revoked.
        await using (var desktop = await NodeSdkClient.LoggedInAsync(Server, alice, 3))
        {
            var pulled = await QuoteOfAsync(desktop, alice, bob, afterEdit.ClientMsgId);
            Assert.Equal("meet at 6", pulled.GetProperty("quoteMessage").GetProperty("textElem").GetProperty("content").GetString());
        }

        await native.Client.RevokeAsync(conversationId, draft.Seq);
        await using (var laptop = await NodeSdkClient.LoggedInAsync(Server, alice, 4))
        {
            var pulled = await QuoteOfAsync(laptop, alice, bob, afterEdit.ClientMsgId);
            Assert.DoesNotContain("meet at", pulled.GetRawText(), StringComparison.Ordinal);
            Assert.Equal((long)draft.Seq, pulled.GetProperty("quoteMessage").GetProperty("seq").GetInt64());
        }
    }

    private static async Task<JsonElement> QuoteOfAsync(NodeSdkClient sdk, string alice, string bob, string clientMsgId)
    {
        var history = (await sdk.OkAsync("history", new { conversationID = "si_" + string.Join('_', new[] { alice, bob }.Order(StringComparer.Ordinal)), count = 50 }))
            .GetProperty("messageList").EnumerateArray().ToList();
        var reply = history.SingleOrDefault(m => m.GetProperty("clientMsgID").GetString() == clientMsgId);
        Assert.True(reply.ValueKind == JsonValueKind.Object, "the reply is in the pulled history: " + string.Join(", ", history.Select(m => m.GetProperty("seq").GetInt64())));
        Assert.Equal(114, reply.GetProperty("contentType").GetInt32());
        return reply.GetProperty("quoteElem");
    }

    [Fact]
    public async Task Sdk_AtMessage_MentionsANativeMember_AndANativeMentionReachesTheSdkAsAnAtElem()
    {
        var alice = OpenImUsers.NewId("ma");
        var bob = OpenImUsers.NewId("mb");
        var outsider = OpenImUsers.NewId("mo");
        await OpenImUsers.RegisterAsync(Server, alice, bob, outsider);
        var groupId = OpenImUsers.NewId("mg");
        var created = await Server.PostAsync("/group/create_group", new
        {
            ownerUserID = alice,
            memberUserIDs = new[] { bob },
            groupInfo = new { groupID = groupId, groupName = "Mentions", groupType = 2 },
        }, await OpenImUsers.TokenAsync(Server, alice));
        Assert.True(created.GetProperty("errCode").GetInt32() == 0, created.GetRawText());
        var conversationId = "sg_" + groupId;
        await using var sdk = await NodeSdkClient.StartAsync(Server, alice, await OpenImUsers.TokenAsync(Server, alice, 5), 5);
        await sdk.LoginAsync();
        await using var native = await NativeAsync(bob);

        var at = await sdk.OkAsync("call", new
        {
            method = "createTextAtMessage",
            @params = new { text = "@Bob please review", atUserIDList = new[] { bob }, atUsersInfo = new[] { new { atUserID = bob, groupNickname = "Bob" } } },
        });
        Assert.Equal(106, at.GetProperty("contentType").GetInt32());
        await sdk.OkAsync("call", new { method = "sendMessage", @params = new { recvID = "", groupID = groupId, message = at } });
        await Wait.UntilAsync(() => native.MessagesIn(conversationId).Any(m => m.Content?.Text?.Text == "@Bob please review"), "bob got the @ message");
        var mention = native.MessagesIn(conversationId).Single(m => m.Content?.Text?.Text == "@Bob please review");
        Assert.Equal([bob], mention.Content.Text.MentionUserIds);
        var list = await native.Client.GetConversationsAsync();
        Assert.Equal(mention.Seq, list.Conversations.Single(c => c.ConversationId == conversationId).MentionSeq);

        // A mention of someone outside the group is refused (the SDK's send fails), as for native clients.
        var bad = await sdk.OkAsync("call", new
        {
            method = "createTextAtMessage",
            @params = new { text = "@Outsider hi", atUserIDList = new[] { outsider }, atUsersInfo = new[] { new { atUserID = outsider, groupNickname = "O" } } },
        });
        var refused = await sdk.CommandAsync("call", new { method = "sendMessage", @params = new { recvID = "", groupID = groupId, message = bad } });
        Assert.False(refused.GetProperty("ok").GetBoolean(), refused.GetRawText());

        // Bob mentions Alice natively: her SDK gets an AtElem naming her.
        var sent = await native.Client.SendAsync(new Target { ConversationId = conversationId }, new Content { Text = new TextContent { Text = "@Alice done", MentionUserIds = { alice } } });
        var received = await ReceivedAsync(sdk, m => m.GetProperty("clientMsgID").GetString() == sent.ClientMsgId, "alice's SDK got bob's mention");
        Assert.Equal(106, received.GetProperty("contentType").GetInt32());
        Assert.Equal("@Alice done", received.GetProperty("atTextElem").GetProperty("text").GetString());
        Assert.Contains(alice, received.GetProperty("atTextElem").GetProperty("atUserList").EnumerateArray().Select(u => u.GetString()));
    }

    /// <summary>The first message the SDK raised (OnRecvNewMessages / OnRecvNewMessage) that matches.</summary>
    private static async Task<JsonElement> ReceivedAsync(NodeSdkClient sdk, Func<JsonElement, bool> match, string because)
    {
        await sdk.UntilAsync(() => sdk.ReceivedMessages().Any(match), because);
        return sdk.ReceivedMessages().First(match);
    }

    private Task<NativeUser> NativeAsync(string userId) => NativeUser.ConnectAsync(Server, userId);
}
