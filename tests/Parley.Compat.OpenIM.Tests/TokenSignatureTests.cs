using static Parley.Compat.OpenIM.Tests.OpenImRestUsers;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>Issue 15, defects 2 and 9: hostile signature spellings are a token error, never a 500 or a crash.</summary>
public sealed class TokenSignatureTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    /// <summary>The valid token with its signature respelled: invalid base64url characters, or a padding '='.</summary>
    public static IEnumerable<string> Respelled(string token) =>
    [
        token[..^2] + "*!",
        token[..^1] + "+",
        token[..^1] + "/",
        token + "=",
        token[..^5] + "%00ab",
    ];

    [Fact]
    public async Task Rest_InvalidBase64UrlInAdminOrUserTokenSignature_IsATokenErrorNot500()
    {
        var admin = await Server.AdminTokenAsync();
        var (user, userToken) = await Server.RegisterAsync("sig");
        var users = new { users = new[] { new { userID = NewUserId("sigreg") } } };
        foreach (var bad in Respelled(admin))
        {
            var code = (await Server.PostAsync("/user/user_register", users, token: bad)).GetProperty("errCode").GetInt32();
            Assert.True(code is 1502 or 1503, $"admin token '…{bad[^6..]}' answered {code}");
        }

        foreach (var bad in Respelled(userToken))
        {
            var code = (await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { user } }, token: bad)).GetProperty("errCode").GetInt32();
            Assert.True(code is 1502 or 1503, $"user token '…{bad[^6..]}' answered {code}");
        }

        // The untouched tokens still work, so the refusals above are about the spelling alone.
        AssertOk(await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { user } }, token: userToken));
    }

    [Fact]
    public async Task WebSocket_InvalidBase64UrlInTokenSignature_GetsTheTokenRefusal()
    {
        var (user, token) = await Server.RegisterAsync("sigws");
        foreach (var bad in Respelled(token))
        {
            var (client, handshake) = await OpenImWsClient.ConnectAsync(Server, OpenImWsClient.Query(user, Uri.EscapeDataString(bad)), user);
            await using var _ = client;
            var code = handshake.GetProperty("errCode").GetInt32();
            Assert.True(code is 1502 or 1503, $"token '…{bad[^6..]}' answered {code}");
        }
    }
}
