using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Compat.OpenIM.WebSocket;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 15 fuzzing (CsCheck) of the OpenIM edge: its WebSocket envelope parser, and random JSON (and protobuf) bodies
/// on every OpenIM REST route of a real server, with a user and with an admin token. Bad input is one of OpenIM's
/// typed errors in the usual envelope; nothing is a 500 or an internal error (errCode 500).
/// </summary>
public sealed class OpenImFuzzTests : IAsyncLifetime
{
    private static readonly string[] Fields =
    [
        "userID", "userIDs", "ownerUserID", "conversationID", "conversationIDs", "groupID", "groupIDs", "friendUserID", "friendUserIDs",
        "toUserID", "fromUserID", "blackUserID", "seq", "seqs", "hasReadSeq", "platformID", "secret", "pagination", "pageNumber",
        "showNumber", "nickname", "faceURL", "ex", "groupInfo", "groupName", "memberUserIDs", "adminUserIDs", "handleResult",
        "handleMsg", "reqMsg", "isPinned", "recvMsgOpt", "conversation", "users", "userInfo", "keyword", "version", "versionID",
        "reason", "mutedSeconds", "roleLevel", "notification", "introduction", "needVerification", "status", "remark",
        "globalRecvMsgOpt", "joinSource", "inviterUserID", "groupType", "lookMemberInfo", "applyMemberFriend", "newOwnerUserID",
        "sendID", "recvID", "sessionType", "content", "contentType", "clientMsgID", "deleteSyncOpt", "isAdminRevoke", "userIDList",
    ];

    private readonly string _adminSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    private OpenImTestServer _server = null!;

    public async Task InitializeAsync() => _server = await OpenImTestServer.StartAsync(new Dictionary<string, string?>
    {
        ["Parley:Admin:Secret"] = _adminSecret,
        // Every request should reach its parser, not the rate limiter.
        ["Parley:RateLimits:Enabled"] = "false",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Envelope_RandomAndMutatedFrames_ParseOrRefuseWithoutThrowing()
    {
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes("""{"reqIdentifier":1003,"sendID":"u1","operationID":"op","msgIncr":"1","data":"CgJ1MRICdTI="}"""),
            Encoding.UTF8.GetBytes("""{"reqIdentifier":1006,"sendID":"u1","operationID":"op","msgIncr":"2","data":""}"""),
            Encoding.UTF8.GetBytes("""{"type":"ping","body":null}"""),
        ];
        Gen.OneOf(Fuzz.Bytes(1024), Fuzz.Mutations(seeds), Fuzz.Json(["reqIdentifier", "sendID", "operationID", "msgIncr", "data", "type", "body"]).Select(Fuzz.Utf8))
            .Sample(bytes =>
            {
                var request = OpenImEnvelope.TryParse(bytes, out var error);
                Assert.True(request is not null || !string.IsNullOrEmpty(error));
                OpenImEnvelope.TextType(bytes);
            }, iter: Fuzz.Iterations(20_000));
    }

    [Fact]
    public async Task WebSocket_TextFrameWithInvalidUtf8_ClosesWith1007_NotAServerError_AndTheUserLogsInAgain()
    {
        // The envelope fuzz found that a string that is not valid UTF-8 made the text-frame reader throw. Live, the
        // WebSocket layer refuses such a text frame first (RFC 6455: 1007 invalid payload data); the reader no longer
        // throws either way.
        var user = OpenImUsers.NewId("utf");
        await OpenImUsers.RegisterAsync(_server, user);
        var token = await OpenImUsers.TokenAsync(_server, user);
        await using (var client = await OpenImWsClient.LoginAsync(_server, user, token))
        {
            await client.SendRawAsync([.. "{\"type\":\""u8, 0xD2, 0x80, 0xFF, .. "\"}"u8], System.Net.WebSockets.WebSocketMessageType.Text);
            await Wait.UntilAsync(() => client.Closed, "the connection closed");
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.InvalidPayloadData, client.CloseStatus);
        }

        await using var again = await OpenImWsClient.LoginAsync(_server, user, token);
        Assert.Equal(0, (await again.RequestAsync(1001, new Wire.GetMaxSeqReq { UserID = user })).ErrCode);
    }

    [Fact]
    public async Task Rest_RandomBodiesOnEveryRoute_AreOpenImErrorsOrSuccess_NeverInternal()
    {
        var routes = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText ?? string.Empty)
            .Where(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries) is [var first, _] && first is "user" or "friend" or "group" or "conversation" or "msg" or "auth" or "jssdk" or "third")
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        Assert.True(routes.Length >= 50, $"only {routes.Length} OpenIM routes found");

        var user = OpenImUsers.NewId("fz");
        await OpenImUsers.RegisterAsync(_server, user);
        var tokens = new[] { await OpenImUsers.TokenAsync(_server, user), await _server.AdminTokenAsync() };
        var seen = new HashSet<string>(StringComparer.Ordinal);

        var body = Gen.Frequency((6, Fuzz.Json(Fields).Select(Fuzz.Utf8)), (1, Fuzz.Bytes(512)));
        await Gen.Select(Gen.Int[0, routes.Length - 1], Gen.Int[0, 1], body).SampleAsync(async sample =>
        {
            var (route, token, bytes) = sample;
            using var request = new HttpRequestMessage(HttpMethod.Post, routes[route]) { Content = new ByteArrayContent(bytes) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("operationID", "fuzz");
            request.Headers.Add("token", tokens[token]);
            using var response = await _server.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{routes[route]} answered {(int)response.StatusCode} to {Encoding.UTF8.GetString(bytes)}");
            using var envelope = JsonDocument.Parse(text);
            var errCode = envelope.RootElement.GetProperty("errCode").GetInt32();
            Assert.True(errCode != 500, $"{routes[route]} failed internally on {Encoding.UTF8.GetString(bytes)}: {text}");
            lock (seen)
            {
                seen.Add(routes[route]);
            }
        }, iter: Fuzz.Iterations(1_500), threads: 1);

        Assert.True(seen.Count >= routes.Length / 2, $"only {seen.Count} of {routes.Length} routes were exercised");
    }
}
