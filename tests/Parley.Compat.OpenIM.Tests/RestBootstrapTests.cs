using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Core.Auth;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM.Tests;

public sealed class ServerFixture : IAsyncLifetime
{
    public OpenImTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await OpenImTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class RestBootstrapTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    private static string NewUserId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static void AssertError(JsonElement response, int errCode)
    {
        Assert.Equal(errCode, response.GetProperty("errCode").GetInt32());
        Assert.False(string.IsNullOrEmpty(response.GetProperty("errMsg").GetString()));
        Assert.Equal(JsonValueKind.String, response.GetProperty("errDlt").ValueKind);
        Assert.False(response.TryGetProperty("data", out _));
    }

    private static void AssertOk(JsonElement response)
    {
        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
        Assert.Equal(string.Empty, response.GetProperty("errMsg").GetString());
        Assert.Equal(string.Empty, response.GetProperty("errDlt").GetString());
    }

    [Fact]
    public async Task Get_admin_token_returns_a_token_for_the_configured_secret_and_admin_user()
    {
        var response = await Server.PostAsync("/auth/get_admin_token", new { secret = Server.OpenImSecret, userID = "imAdmin" });

        AssertOk(response);
        var data = response.GetProperty("data");
        Assert.False(string.IsNullOrEmpty(data.GetProperty("token").GetString()));
        Assert.Equal(86400, data.GetProperty("expireTimeSeconds").GetInt64());
        Assert.Equal(["errCode", "errMsg", "errDlt", "data"], response.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Get_admin_token_refuses_a_wrong_secret_and_a_non_admin_user()
    {
        AssertError(await Server.PostAsync("/auth/get_admin_token", new { secret = "wrong" + Server.OpenImSecret, userID = "imAdmin" }), 1002);
        AssertError(await Server.PostAsync("/auth/get_admin_token", new { secret = string.Empty, userID = "imAdmin" }), 1002);
        AssertError(await Server.PostAsync("/auth/get_admin_token", new { secret = Server.OpenImSecret, userID = "alice" }), 1001);
    }

    [Fact]
    public async Task Requests_need_an_operationID_header_and_admin_calls_need_a_valid_admin_token()
    {
        var missingOperation = await Server.PostAsync("/auth/get_admin_token", new { secret = Server.OpenImSecret, userID = "imAdmin" }, operationId: null);
        AssertError(missingOperation, 1001);
        Assert.Equal("header must have operationID", missingOperation.GetProperty("errDlt").GetString());

        var users = new { users = new[] { new { userID = NewUserId("t") } } };
        var missingToken = await Server.PostAsync("/user/user_register", users);
        AssertError(missingToken, 1001);
        Assert.Equal("header must have token", missingToken.GetProperty("errDlt").GetString());

        AssertError(await Server.PostAsync("/user/user_register", users, token: "garbage"), 1503);
        var admin = await Server.AdminTokenAsync();
        AssertError(await Server.PostAsync("/user/user_register", users, token: admin[..^4] + "AAAA"), 1502);

        // A Parley device token is not an admin token.
        var userId = NewUserId("dev");
        AssertOk(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = userId } } }, admin));
        var userToken = (await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = userId }, admin)).GetProperty("data").GetProperty("token").GetString();
        AssertError(await Server.PostAsync("/user/user_register", users, token: userToken), 1503);
    }

    [Fact]
    public async Task User_register_stores_users_and_refuses_duplicates()
    {
        var admin = await Server.AdminTokenAsync();
        var alice = NewUserId("alice");
        var bob = NewUserId("bob");

        var response = await Server.PostAsync("/user/user_register", new
        {
            users = new object[]
            {
                new { userID = alice, nickname = "Alice", faceURL = "https://example.org/a.png", ex = "{\"k\":1}" },
                new { userID = bob, nickname = "Bob" },
            },
        }, admin);

        AssertOk(response);
        Assert.False(response.TryGetProperty("data", out _));
        var accounts = Server.Services.GetRequiredService<IAccountStore>();
        var stored = await accounts.GetUserAsync(alice);
        Assert.NotNull(stored);
        Assert.Equal("Alice", stored.Nickname);
        Assert.Equal("https://example.org/a.png", stored.AvatarUrl);
        Assert.Equal("{\"k\":1}", stored.Ex);
        Assert.Equal("Bob", (await accounts.GetUserAsync(bob))!.Nickname);

        AssertError(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = alice } } }, admin), 1003);
        AssertError(await Server.PostAsync("/user/user_register", new { users = Array.Empty<object>() }, admin), 1001);
        AssertError(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = "bad id!" } } }, admin), 1001);
        var carol = NewUserId("carol");
        AssertError(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = carol }, new { userID = carol } } }, admin), 1001);
        Assert.Null(await accounts.GetUserAsync(carol));
    }

    [Fact]
    public async Task Get_user_token_issues_a_parley_device_token_for_the_openim_platform()
    {
        var admin = await Server.AdminTokenAsync();
        var userId = NewUserId("u");
        AssertOk(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = userId, nickname = "U" } } }, admin));

        var response = await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = userId }, admin);

        AssertOk(response);
        var data = response.GetProperty("data");
        var maxLifetime = Server.Services.GetRequiredService<IOptions<TokenOptions>>().Value.MaxLifetime;
        Assert.Equal((long)maxLifetime.TotalSeconds, data.GetProperty("expireTimeSeconds").GetInt64());
        var (status, identity) = await Server.Services.GetRequiredService<TokenService>().ValidateAsync(data.GetProperty("token").GetString()!);
        Assert.Equal(TokenStatus.Valid, status);
        Assert.Equal(userId, identity!.UserId);
        Assert.Equal((int)Platform.Web, identity.Platform);
        Assert.Equal("openim-5", identity.DeviceId);

        var ios = await Server.PostAsync("/auth/get_user_token", new { platformID = 1, userID = userId }, admin);
        AssertOk(ios);
        var (_, iosIdentity) = await Server.Services.GetRequiredService<TokenService>().ValidateAsync(ios.GetProperty("data").GetProperty("token").GetString()!);
        Assert.Equal((int)Platform.Ios, iosIdentity!.Platform);

        AssertError(await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = NewUserId("nobody") }, admin), 1101);
        AssertError(await Server.PostAsync("/auth/get_user_token", new { platformID = 99, userID = userId }, admin), 1001);
        AssertError(await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = "imAdmin" }, admin), 1002);
    }

    [Fact]
    public async Task Force_logout_revokes_the_tokens_of_that_platform_only()
    {
        var admin = await Server.AdminTokenAsync();
        var userId = NewUserId("k");
        AssertOk(await Server.PostAsync("/user/user_register", new { users = new[] { new { userID = userId } } }, admin));
        var web = (await Server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = userId }, admin)).GetProperty("data").GetProperty("token").GetString()!;
        var android = (await Server.PostAsync("/auth/get_user_token", new { platformID = 2, userID = userId }, admin)).GetProperty("data").GetProperty("token").GetString()!;

        var response = await Server.PostAsync("/auth/force_logout", new { platformID = 5, userID = userId }, admin);

        AssertOk(response);
        Assert.False(response.TryGetProperty("data", out _));
        var tokens = Server.Services.GetRequiredService<TokenService>();
        Assert.Equal(TokenStatus.Revoked, (await tokens.ValidateAsync(web)).Status);
        Assert.Equal(TokenStatus.Valid, (await tokens.ValidateAsync(android)).Status);
        AssertError(await Server.PostAsync("/auth/force_logout", new { platformID = 0, userID = userId }, admin), 1001);
    }

    [Fact]
    public async Task Preflight_and_responses_carry_cors_headers()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/auth/get_user_token");
        preflight.Headers.Add("Origin", "https://app.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "token,operationid");
        using var response = await Server.Http.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Headers").Single());
    }

    [Fact]
    public async Task Malformed_json_is_an_args_error()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/get_admin_token") { Content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("operationID", "op");
        using var response = await Server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        AssertError(document.RootElement, 1001);

        AssertError(await Server.PostAsync("/auth/get_user_token", new { platformID = "five", userID = "x" }, await Server.AdminTokenAsync()), 1001);
    }
}

public sealed class OptionsTests
{
    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("openIM123openIM123openIM123openIM123")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void An_enabled_edge_refuses_an_empty_short_or_sample_secret(string secret)
    {
        var result = new OpenImOptionsValidator().Validate(null, new OpenImOptions { Enabled = true, Secret = secret });
        Assert.True(result.Failed);
    }

    [Fact]
    public void A_disabled_edge_needs_no_secret_and_a_random_secret_passes()
    {
        Assert.True(new OpenImOptionsValidator().Validate(null, new OpenImOptions()).Succeeded);
        Assert.True(new OpenImOptionsValidator().Validate(null, new OpenImOptions { Enabled = true, Secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) }).Succeeded);
    }
}
