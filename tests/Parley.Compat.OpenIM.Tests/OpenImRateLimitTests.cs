using System.Net.Http.Json;
using System.Text.Json;
using Parley.Compat.OpenIM.Wire;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 15 defect 3 on the OpenIM edge: the same per-user and per-connection buckets as the native gateway. OpenIM has no
/// rate-limit code, so a refusal is errCode 429 (HTTP 200 on REST, as OpenIM answers every call) with the wait in errMsg;
/// the app server's admin calls are never limited.
/// </summary>
public sealed class OpenImRateLimitTests : IAsyncLifetime
{
    private OpenImTestServer _server = null!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>();
        foreach (var action in new[] { "Send", "FriendRequest", "Rest" })
        {
            foreach (var scope in new[] { "PerUser", "PerConnection" })
            {
                settings[$"Parley:RateLimits:{action}:{scope}:PerSecond"] = "0.5";
                settings[$"Parley:RateLimits:{action}:{scope}:Burst"] = "3";
            }
        }

        _server = await OpenImTestServer.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task WsSendMsg_OverTheBurst_AnswersErrCode429WithTheWait_AndStoresOnlyTheAccepted()
    {
        var alice = OpenImUsers.NewId("rla");
        var bob = OpenImUsers.NewId("rlb");
        await OpenImUsers.RegisterAsync(_server, alice, bob);
        await using var client = await OpenImWsClient.LoginAsync(_server, alice, await OpenImUsers.TokenAsync(_server, alice));
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.RequestAsync(1003, OpenImUsers.Text(alice, bob, $"m{i}"))));

        Assert.Equal(3, answers.Count(a => a.ErrCode == 0));
        var refused = answers.Where(a => a.ErrCode != 0).ToList();
        Assert.Equal(3, refused.Count);
        Assert.All(refused, a =>
        {
            Assert.Equal(OpenImErrors.TooManyRequests, a.ErrCode);
            Assert.Matches(@"retry after [1-9]\d* ms", a.ErrMsg);
        });

        // Typing is never refused as a message (it has its own window and is answered as sent).
        var typing = OpenImUsers.Text(alice, bob, "typing");
        typing.ContentType = 113;
        typing.Content = Google.Protobuf.ByteString.CopyFromUtf8("{\"msgTips\":\"yes\"}");
        Assert.Equal(0, (await client.RequestAsync(1003, typing)).ErrCode);

        // Only the accepted messages were stored: bob's history of the conversation holds three.
        var bobToken = await OpenImUsers.TokenAsync(_server, bob);
        var pulled = await _server.CallProtoAsync(
            "/jssdk/get_conversations",
            new GetConversationsReq { OwnerUserID = bob, ConversationIDs = { OpenImUsers.Direct(alice, bob) } },
            bobToken,
            GetConversationsResp.Parser);
        Assert.Equal(3, Assert.Single(pulled.Conversations).MaxSeq);
    }

    [Fact]
    public async Task Rest_UserCallsOverTheBurst_ErrCode429AndRetryAfter_AdminCallsNeverLimited()
    {
        var alice = OpenImUsers.NewId("rlc");
        var others = Enumerable.Range(0, 5).Select(i => OpenImUsers.NewId("rlo" + i)).ToArray();
        await OpenImUsers.RegisterAsync(_server, [alice, .. others]);
        var token = await OpenImUsers.TokenAsync(_server, alice);
        var codes = new List<(int Code, string Message, string? RetryAfter)>();
        foreach (var other in others)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/friend/add_friend")
            {
                Content = JsonContent.Create(new { fromUserID = alice, toUserID = other, reqMsg = "hi" }),
            };
            request.Headers.Add("operationID", "op-rl");
            request.Headers.Add("token", token);
            using var response = await _server.Http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            codes.Add((body.GetProperty("errCode").GetInt32(), body.GetProperty("errMsg").GetString()!, response.Headers.RetryAfter?.ToString()));
        }

        Assert.Equal(3, codes.Count(c => c.Code == 0));
        Assert.All(codes.Where(c => c.Code != 0), c =>
        {
            Assert.Equal(OpenImErrors.TooManyRequests, c.Code);
            Assert.Contains("retry after", c.Message, StringComparison.Ordinal);
            Assert.InRange(int.Parse(c.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture), 1, 2);
        });

        // The app server (admin token) registers and issues tokens as fast as it likes.
        for (var i = 0; i < 10; i++)
        {
            Assert.False(string.IsNullOrEmpty(await OpenImUsers.TokenAsync(_server, alice)));
        }
    }
}
