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
