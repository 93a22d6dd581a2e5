using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>A user disabled through the admin API is shut out of the OpenIM edge too (issue 15).</summary>
public sealed class DisabledUserTests : IAsyncLifetime
{
    private readonly string _adminSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
    private OpenImTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await OpenImTestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Admin:Secret"] = _adminSecret });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<HttpStatusCode> AdminPostAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminSecret);
        using var response = await _server.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task DisabledUser_LiveOpenImConnectionKicked_TokenRequestsRefusedWithNoPermission_OldTokenRefused_EnableRestores()
    {
        var user = OpenImUsers.NewId("dis");
        await OpenImUsers.RegisterAsync(_server, user);
        var token = await OpenImUsers.TokenAsync(_server, user);
        await using var client = await OpenImWsClient.LoginAsync(_server, user, token);

        Assert.Equal(HttpStatusCode.OK, await AdminPostAsync($"/admin/v1/users/{user}/disable"));

        await Wait.UntilAsync(() => client.Frames.Any(f => f.ReqIdentifier == 2002), "the disabled user's OpenIM connection got the kick (2002)");
        await Wait.UntilAsync(() => client.Closed, "the disabled user's OpenIM connection closed");

        var admin = await _server.AdminTokenAsync();
        var refused = await _server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = user }, admin);
        Assert.Equal(1002, refused.GetProperty("errCode").GetInt32());
        Assert.Equal("NoPermissionError", refused.GetProperty("errMsg").GetString());
        Assert.Equal("user is disabled", refused.GetProperty("errDlt").GetString());
        Assert.False(refused.TryGetProperty("data", out _));

        var (again, handshake) = await OpenImWsClient.ConnectAsync(_server, OpenImWsClient.Query(user, token), user);
        await using (again)
        {
            Assert.NotEqual(0, handshake.GetProperty("errCode").GetInt32());
        }

        // Another platform is refused as well: the refusal is about the user, not the platform.
        Assert.Equal(1002, (await _server.PostAsync("/auth/get_user_token", new { platformID = 2, userID = user }, admin)).GetProperty("errCode").GetInt32());

        Assert.Equal(HttpStatusCode.NoContent, await AdminPostAsync($"/admin/v1/users/{user}/enable"));
        var restored = await OpenImUsers.TokenAsync(_server, user);
        await using var back = await OpenImWsClient.LoginAsync(_server, user, restored);
        Assert.False(back.Closed);
    }
}
