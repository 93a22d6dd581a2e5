using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Parley.Core.Webhooks;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>A real server whose before-send hooks call a real receiver on loopback (single: fail-open, group: fail-closed).</summary>
public sealed class WebhookFixture : WebhookServerFixture
{
    protected override Dictionary<string, string?> Settings(WebhookReceiver receiver) => new()
    {
        ["Parley:Webhooks:Hooks:beforeSendSingleMsg:Enabled"] = "true",
        ["Parley:Webhooks:Hooks:beforeSendSingleMsg:TimeoutMs"] = "400",
        ["Parley:Webhooks:Hooks:beforeSendSingleMsg:FailOpen"] = "true",
        ["Parley:Webhooks:Hooks:beforeSendGroupMsg:Enabled"] = "true",
        ["Parley:Webhooks:Hooks:beforeSendGroupMsg:TimeoutMs"] = "400",
        ["Parley:Webhooks:Hooks:beforeSendGroupMsg:FailOpen"] = "false",
        ["Parley:Webhooks:Hooks:beforeAddFriend:Enabled"] = "true",
    };
}

/// <summary>
/// Issue 15, webhooks: before-send hooks allow, modify or reject a message before it is stored; a failed call (slow,
/// 500, cut, down, nonsense answer) follows the hook's fail-open or fail-closed policy; every request is signed.
/// Driven by the real SDK over real sockets against a real HTTP receiver.
/// </summary>
public sealed class WebhookTests(WebhookFixture fixture) : IClassFixture<WebhookFixture>
{
    private TestServer Server => fixture.Server;

    private WebhookReceiver Receiver => fixture.Receiver;

    [Fact]
    public async Task BeforeSendSingle_Allows_TheSignedRequestDescribesTheMessage_AndItIsDelivered()
    {
        Receiver.Behaviour = (_, context) => WebhookReceiver.AnswerAsync(context, new { actionCode = 0, errCode = 0, errMsg = "" });
        var (alice, bob, aliceClient, bobRecorder) = await PairAsync();
        var before = Receiver.Calls.Count;

        var ack = await aliceClient.SendTextAsync(bob, "hello bob", "cm-allow");

        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
        Assert.Equal("hello bob", bobRecorder.MessagesIn(ack.ConversationId).Single().Content.Text.Text);
        var call = Receiver.Calls.Skip(before).Single(c => c.Json.GetProperty("clientMsgID").GetString() == "cm-allow");
        Assert.Equal(WebhookOptions.BeforeSendSingleMsg, call.Hook);
        var json = call.Json;
        Assert.Equal("beforeSendSingleMsg", json.GetProperty("callbackCommand").GetString());
        Assert.Equal(alice, json.GetProperty("sendID").GetString());
        Assert.Equal(bob, json.GetProperty("recvID").GetString());
        Assert.Equal(Ids.DirectConversationId(alice, bob), json.GetProperty("conversationID").GetString());
        Assert.Equal(1, json.GetProperty("sessionType").GetInt32());
        Assert.Equal("text", json.GetProperty("contentType").GetString());
        Assert.Equal("hello bob", json.GetProperty("content").GetProperty("text").GetProperty("text").GetString());

        // Signed: v1=HMAC-SHA256(secret, "{timestamp}.{body}"), a fresh timestamp, the event id in header and body.
        var timestamp = long.Parse(call.Header("X-Parley-Timestamp"), CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp, -5, 60);
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(WebhookFixture.Secret), (byte[])[.. Encoding.ASCII.GetBytes(timestamp + "."), .. call.Body]));
        Assert.Equal(expected, call.Header("X-Parley-Signature"));
        Assert.Equal(json.GetProperty("eventId").GetString(), call.Header("X-Parley-Event-Id"));
        Assert.Equal(32, call.Header("X-Parley-Event-Id").Length);

        // A tampered body does not verify.
        var tampered = call.Body.ToArray();
        tampered[^2] ^= 1;
        Assert.NotEqual(expected, WebhookClient.Sign(Encoding.UTF8.GetBytes(WebhookFixture.Secret), timestamp, tampered));

        // No token travels to the receiver.
        Assert.DoesNotContain("pt1.", Encoding.UTF8.GetString(call.Body), StringComparison.Ordinal);
        Assert.DoesNotContain(call.Headers.Keys, k => k is "authorization" or "token");
    }

    [Fact]
    public async Task BeforeSendSingle_Modifies_TheReplacementIsStoredAndDelivered()
    {
        Receiver.Behaviour = (call, context) => WebhookReceiver.AnswerAsync(context, new
        {
            errCode = 0,
            content = new { text = new { text = call.Json.GetProperty("content").GetProperty("text").GetProperty("text").GetString()!.Replace("darn", "****", StringComparison.Ordinal) } },
        });
        var (_, bob, aliceClient, bobRecorder) = await PairAsync();

        var ack = await aliceClient.SendTextAsync(bob, "oh darn it");

        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
        Assert.Equal("oh **** it", bobRecorder.MessagesIn(ack.ConversationId).Single().Content.Text.Text);
        var history = await aliceClient.GetHistoryAsync(ack.ConversationId);
        Assert.Equal("oh **** it", Assert.Single(history.Messages).Content.Text.Text);
    }

    [Fact]
    public async Task BeforeSendSingle_Rejects_TheSenderGetsForbiddenWithTheReason_AndNothingIsStored()
    {
        Receiver.Behaviour = (_, context) => WebhookReceiver.AnswerAsync(context, new { actionCode = 0, errCode = 5001, errMsg = "Links are not allowed\nhere." });
        var (alice, bob, aliceClient, _) = await PairAsync();

        var refused = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, "buy at http://spam.example", "cm-spam"));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Equal("Links are not allowed here.", refused.Message);

        // Nothing stored: the next allowed message of the conversation is its seq 1, and the history holds only it.
        Receiver.Behaviour = (_, _) => Task.CompletedTask;
        var ack = await aliceClient.SendTextAsync(bob, "sorry", "cm-ok");
        Assert.Equal(1UL, ack.Seq);
        var history = await aliceClient.GetHistoryAsync(Ids.DirectConversationId(alice, bob));
        Assert.Equal("sorry", Assert.Single(history.Messages).Content.Text.Text);
    }

    [Fact]
    public async Task BeforeAddFriend_RejectsWithTheReason_NothingIsStored_ThenAllows()
    {
        Receiver.Behaviour = (_, context) => WebhookReceiver.AnswerAsync(context, new { errCode = 403, errMsg = "No strangers." });
        var (alice, bob, aliceClient, bobRecorder) = await PairAsync();
        var before = Receiver.Calls.Count;

        var refused = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendFriendRequestAsync(bob, "hi, it's alice"));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Equal("No strangers.", refused.Message);
        Assert.Empty((await bobRecorder.Client.GetFriendRequestsAsync(RequestDirection.Incoming)).Requests);
        var call = Receiver.Calls.Skip(before).Single(c => c.Hook == WebhookOptions.BeforeAddFriend);
        Assert.Equal(alice, call.Json.GetProperty("fromUserID").GetString());
        Assert.Equal(bob, call.Json.GetProperty("toUserID").GetString());
        Assert.Equal("hi, it's alice", call.Json.GetProperty("reqMsg").GetString());
        var timestamp = long.Parse(call.Header("X-Parley-Timestamp"), CultureInfo.InvariantCulture);
        Assert.Equal(WebhookClient.Sign(Encoding.UTF8.GetBytes(WebhookFixture.Secret), timestamp, call.Body), call.Header("X-Parley-Signature"));

        Receiver.Behaviour = (_, context) => WebhookReceiver.AnswerAsync(context, new { errCode = 0 });
        var request = await aliceClient.SendFriendRequestAsync(bob, "second try");
        Assert.Equal(bob, request.ToUserId);
        Assert.Equal("second try", Assert.Single((await bobRecorder.Client.GetFriendRequestsAsync(RequestDirection.Incoming)).Requests).Message);
    }

    [Theory]
    [InlineData("slow")]
    [InlineData("500")]
    [InlineData("cut")]
    [InlineData("nonsense")]
    public async Task BeforeSendSingle_FailOpen_AFailedCallLetsTheMessageThrough(string failure)
    {
        Receiver.Behaviour = Failing(failure);
        var (_, bob, aliceClient, bobRecorder) = await PairAsync();

        var ack = await aliceClient.SendTextAsync(bob, "still delivered");

        Assert.Equal(1UL, ack.Seq);
        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
    }

    [Theory]
    [InlineData("slow")]
    [InlineData("500")]
    [InlineData("cut")]
    [InlineData("nonsense")]
    [InlineData("bad-content")]
    public async Task BeforeSendGroup_FailClosed_AFailedCallRefusesWithUnavailable_NothingIsStored_AndTheSdkRetryGoesThroughOnce(string failure)
    {
        Receiver.Behaviour = (_, _) => Task.CompletedTask;
        var owner = await Server.CreateUserAsync("owner");
        var member = await Server.CreateUserAsync("member");
        var ownerClient = await Server.ConnectAsync(owner);
        var memberRecorder = new Recorder(await Server.CreateClientAsync(member));
        await memberRecorder.Client.ConnectAsync();
        var group = await ownerClient.CreateGroupAsync("hooked", [member]);
        var maxSeq = (await ownerClient.GetHistoryAsync(group.ConversationId)).MaxSeq;
        var before = Receiver.Calls.Count;

        // The server refuses with UNAVAILABLE, which the SDK retries with the same client message id.
        Receiver.Behaviour = Failing(failure);
        var send = ownerClient.SendTextToConversationAsync(group.ConversationId, "not yet", "cm-closed");
        await Wait.UntilAsync(() => Receiver.Calls.Skip(before).Count(c => c.Json.GetProperty("clientMsgID").GetString() == "cm-closed") >= 2, "the SDK retried the refused send");
        Assert.False(send.IsCompleted);
        var call = Receiver.Calls.Skip(before).First();
        Assert.Equal(WebhookOptions.BeforeSendGroupMsg, call.Hook);
        Assert.Equal(group.GroupId, call.Json.GetProperty("groupID").GetString());
        Assert.Equal(3, call.Json.GetProperty("sessionType").GetInt32());
        Assert.Equal(maxSeq, (await ownerClient.GetHistoryAsync(group.ConversationId)).MaxSeq);

        // Once the receiver answers, the pending send is stored exactly once.
        Receiver.Behaviour = (_, _) => Task.CompletedTask;
        var ack = await send;
        Assert.Equal(maxSeq + 1, ack.Seq);
        await memberRecorder.WaitForMessagesAsync(group.ConversationId, 2);
        Assert.Single(memberRecorder.MessagesIn(group.ConversationId), m => m.Content.Text?.Text == "not yet");
    }

    [Fact]
    public async Task ReceiverDown_FailClosedRefuses_FailOpenPasses()
    {
        // Nobody listens on this port.
        var down = $"http://127.0.0.1:{TestServer.FreePort()}/hooks";
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Webhooks:Url"] = down,
            ["Parley:Webhooks:Secret"] = WebhookFixture.Secret,
            ["Parley:Webhooks:Hooks:beforeSendSingleMsg:Enabled"] = "true",
            ["Parley:Webhooks:Hooks:beforeSendSingleMsg:FailOpen"] = "false",
            ["Parley:Webhooks:Hooks:beforeSendGroupMsg:Enabled"] = "true",
            ["Parley:Webhooks:Hooks:beforeSendGroupMsg:FailOpen"] = "true",
        });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);

        // Refused (UNAVAILABLE, retried by the SDK) for as long as the receiver is down.
        using (var give = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => aliceClient.SendTextAsync(bob, "hello?", cancellationToken: give.Token));
        }

        var group = await aliceClient.CreateGroupAsync("open", [bob]);
        var ack = await aliceClient.SendTextToConversationAsync(group.ConversationId, "group still works");
        Assert.True(ack.Seq > 0);
    }

    [Fact]
    public async Task Startup_EnabledHookWithoutSecretOrUrl_IsRefused()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Webhooks:Hooks:beforeSendSingleMsg:Enabled"] = "true",
        }));
        var message = failure.ToString();
        Assert.Contains("Parley:Webhooks:Secret", message, StringComparison.Ordinal);
        Assert.Contains("Parley:Webhooks:Url", message, StringComparison.Ordinal);
    }

    private static Func<WebhookCall, HttpContext, Task> Failing(string failure) => failure switch
    {
        "slow" => async (_, context) =>
        {
            // Longer than the hook's 400 ms timeout; the server has given up by then.
            await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        },
        "500" => (_, context) =>
        {
            context.Response.StatusCode = (int)HttpStatusCode.InternalServerError;
            return Task.CompletedTask;
        },
        "cut" => (_, context) =>
        {
            context.Abort();
            return Task.CompletedTask;
        },
        "nonsense" => (_, context) => context.Response.WriteAsync("<html>not json</html>"),
        "bad-content" => (_, context) => WebhookReceiver.AnswerAsync(context, new { content = new { text = new { text = "" } } }),
        _ => throw new ArgumentOutOfRangeException(nameof(failure)),
    };

    private async Task<(string Alice, string Bob, ParleyClient AliceClient, Recorder BobRecorder)> PairAsync()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();
        return (alice, bob, aliceClient, bobRecorder);
    }
}
