using System.Net;
using System.Net.Http.Headers;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>Issue 15, defects 2 and 9: a token signature with invalid base64url or padding is an authentication failure.</summary>
public sealed class TokenHardeningTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    private static string[] Respelled(string token) =>
    [
        token[..^2] + "*!",
        token[..^1] + "+",
        token[..^1] + "/",
        token + "=",
        token + "==",
        token[..^5] + "%00ab",
    ];

    [Fact]
    public async Task DeviceApi_InvalidBase64UrlOrPaddedSignature_Is401NotAStackTrace()
    {
        var user = await Server.CreateUserAsync("sighttp");
        var token = await Server.IssueTokenAsync(user, "d1");
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        foreach (var bad in Respelled(token))
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/device");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bad);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"'…{bad[^6..]}' answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}");
            Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        }

        using var good = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/device");
        good.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await http.SendAsync(good)).StatusCode);
    }

    [Fact]
    public async Task NativeHello_InvalidBase64UrlOrPaddedSignature_GetsUnauthenticatedAndClose4003()
    {
        var user = await Server.CreateUserAsync("sigws");
        var token = await Server.IssueTokenAsync(user, "d1");
        foreach (var bad in Respelled(token))
        {
            await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
            await raw.SendAsync(new ClientFrame { RequestId = 1, Hello = new Hello { Token = bad, DeviceId = "d1", Platform = Platform.Linux } });
            var error = await raw.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.True(error?.Error?.Code == ErrorCode.Unauthenticated, $"'…{bad[^6..]}' got {error}");
            Assert.Equal(CloseCodes.HandshakeFailed, await raw.ReceiveCloseAsync());
        }

        await using var ok = await RawClient.ConnectAsync(Server.WebSocketUri);
        await ok.HelloAsync(token, "d1");
    }
}

/// <summary>Issue 15, defect 9: the smaller ones.</summary>
public sealed class SmallDefectTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData(922_337_203_685L)]
    [InlineData(long.MaxValue)]
    public async Task IssueToken_HugeTtl_IsCappedNot500(long ttlSeconds)
    {
        var user = await Server.CreateUserAsync("ttl");
        var response = await Server.Admin.PostAsync($"/admin/v1/users/{user}/tokens", new StringContent($"{{\"deviceId\":\"d1\",\"platform\":\"linux\",\"ttlSeconds\":{ttlSeconds}}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task History_ForwardFromTheLargestSeq_ReturnsNothingNotTheStart()
    {
        var alice = await Server.CreateUserAsync("hist");
        var bob = await Server.CreateUserAsync("hist");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(alice, "d1"), "d1");
        await raw.SendAsync(new ClientFrame { RequestId = 2, Send = new SendRequest { ClientMsgId = "h1", Target = new Target { UserId = bob }, Content = new Content { Text = new TextContent { Text = "first" } } } });
        var ack = await ReceiveAsync(raw, 2);
        await raw.SendAsync(new ClientFrame { RequestId = 3, History = new HistoryRequest { ConversationId = ack.SendAck.ConversationId, FromSeq = ulong.MaxValue, Direction = Direction.Forward, Limit = 10 } });
        var page = await ReceiveAsync(raw, 3);
        Assert.Equal(ServerFrame.BodyOneofCase.History, page.BodyCase);
        Assert.Empty(page.History.Messages);
    }

    private static async Task<ServerFrame> ReceiveAsync(RawClient raw, uint requestId)
    {
        while (true)
        {
            var frame = await raw.ReceiveAsync() ?? throw new InvalidOperationException("closed");
            if (frame.RequestId == requestId)
            {
                return frame;
            }
        }
    }
}
