using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static Parley.Compat.OpenIM.Tests.OpenImRestUsers;

namespace Parley.Compat.OpenIM.Tests;

public sealed class RestUserTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    [Fact]
    public async Task Get_users_info_returns_known_users_in_openim_shape_and_leaves_unknown_ones_out()
    {
        var (alice, aliceToken) = await Server.RegisterAsync("ua", "Alice");
        var (bob, _) = await Server.RegisterAsync("ub", "Bob");

        var response = await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { alice, "nobody-" + Guid.NewGuid().ToString("N")[..8], bob } }, aliceToken);

        AssertOk(response);
        var users = response.GetProperty("data").GetProperty("usersInfo").EnumerateArray().ToList();
        Assert.Equal([alice, bob], users.Select(u => u.GetProperty("userID").GetString()));
        Assert.Equal("Alice", users[0].GetProperty("nickname").GetString());
        Assert.Equal("https://example.com/ua.png", users[0].GetProperty("faceURL").GetString());
        Assert.Equal(JsonValueKind.Number, users[0].GetProperty("createTime").ValueKind);
        // omitempty: no ex, no appMangerLevel, no globalRecvMsgOpt when they are empty/zero.
        Assert.False(users[0].TryGetProperty("ex", out _));
        Assert.False(users[0].TryGetProperty("appMangerLevel", out _));
        Assert.False(users[0].TryGetProperty("globalRecvMsgOpt", out _));

        var none = await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { "nobody-x" } }, aliceToken);
        AssertOk(none);
        Assert.False(none.GetProperty("data").TryGetProperty("usersInfo", out _));
    }

    [Fact]
    public async Task Get_users_info_refuses_bad_input()
    {
        var (_, token) = await Server.RegisterAsync("ubad");

        AssertError(await Server.PostAsync("/user/get_users_info", new { userIDs = Array.Empty<string>() }, token), 1001);
        AssertError(await Server.PostAsync("/user/get_users_info", new { userIDs = "x" }, token), 1001);
        AssertError(await Server.PostAsync("/user/get_users_info", new { }, token), 1001);
        AssertError(await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { "a" } }, token: "garbage"), 1503);
        AssertError(await PostRawAsync("/user/get_users_info", "{not json", token), 1001);
    }

    [Fact]
    public async Task Update_user_info_ex_changes_only_the_given_fields_of_the_callers_own_profile()
    {
        var (alice, token) = await Server.RegisterAsync("upd", "Before");

        AssertOk(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { userID = alice, nickname = "After", ex = "{\"k\":1}" } }, token));
        var user = await GetUserAsync(alice, token);
        Assert.Equal("After", user.GetProperty("nickname").GetString());
        Assert.Equal("https://example.com/upd.png", user.GetProperty("faceURL").GetString());
        Assert.Equal("{\"k\":1}", user.GetProperty("ex").GetString());

        // Wrapper semantics: null = unchanged, "" = cleared.
        AssertOk(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { nickname = (string?)null, faceURL = string.Empty } }, token));
        user = await GetUserAsync(alice, token);
        Assert.Equal("After", user.GetProperty("nickname").GetString());
        Assert.False(user.TryGetProperty("faceURL", out _));

        // update_user_info: empty means unchanged.
        AssertOk(await Server.PostAsync("/user/update_user_info", new { userInfo = new { userID = alice, nickname = string.Empty, faceURL = "https://example.com/new.png" } }, token));
        user = await GetUserAsync(alice, token);
        Assert.Equal("After", user.GetProperty("nickname").GetString());
        Assert.Equal("https://example.com/new.png", user.GetProperty("faceURL").GetString());
    }

    [Fact]
    public async Task Update_user_info_refuses_another_user_and_too_long_or_mistyped_fields()
    {
        var (alice, aliceToken) = await Server.RegisterAsync("uself", "Alice");
        var (bob, bobToken) = await Server.RegisterAsync("uoth", "Bob");

        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { userID = alice, nickname = "hijack" } }, bobToken), 1002);
        AssertError(await Server.PostAsync("/user/update_user_info", new { userInfo = new { userID = alice, nickname = "hijack" } }, bobToken), 1002);
        Assert.Equal("Alice", (await GetUserAsync(alice, aliceToken)).GetProperty("nickname").GetString());

        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { nickname = new string('n', 65) } }, bobToken), 1001);
        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { faceURL = new string('f', 1025) } }, bobToken), 1001);
        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { ex = new string('e', 4097) } }, bobToken), 1001);
        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { userInfo = new { nickname = 5 } }, bobToken), 1001);
        AssertError(await Server.PostAsync("/user/update_user_info_ex", new { }, bobToken), 1001);
        Assert.Equal("Bob", (await GetUserAsync(bob, bobToken)).GetProperty("nickname").GetString());
    }

    [Fact]
    public async Task Set_global_msg_recv_opt_round_trips_through_the_callers_own_user_info()
    {
        var (alice, aliceToken) = await Server.RegisterAsync("gro");
        var (bob, bobToken) = await Server.RegisterAsync("grb");

        AssertOk(await Server.PostAsync("/user/set_global_msg_recv_opt", new { userID = alice, globalRecvMsgOpt = 2 }, aliceToken));
        Assert.Equal(2, (await GetUserAsync(alice, aliceToken)).GetProperty("globalRecvMsgOpt").GetInt32());
        // Another user does not see it.
        Assert.False((await GetUserAsync(alice, bobToken)).TryGetProperty("globalRecvMsgOpt", out _));

        AssertOk(await Server.PostAsync("/user/set_global_msg_recv_opt", new { globalRecvMsgOpt = 0 }, aliceToken));
        Assert.False((await GetUserAsync(alice, aliceToken)).TryGetProperty("globalRecvMsgOpt", out _));

        AssertError(await Server.PostAsync("/user/set_global_msg_recv_opt", new { userID = bob, globalRecvMsgOpt = 2 }, aliceToken), 1002);
        AssertError(await Server.PostAsync("/user/set_global_msg_recv_opt", new { globalRecvMsgOpt = 7 }, aliceToken), 1001);
        AssertError(await Server.PostAsync("/user/set_global_msg_recv_opt", new { }, aliceToken), 1001);
    }

    private async Task<JsonElement> GetUserAsync(string userId, string token)
    {
        var response = await Server.PostAsync("/user/get_users_info", new { userIDs = new[] { userId } }, token);
        AssertOk(response);
        return response.GetProperty("data").GetProperty("usersInfo")[0];
    }

    private async Task<JsonElement> PostRawAsync(string path, string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("operationID", "op-raw");
        request.Headers.Add("token", token);
        using var response = await Server.Http.SendAsync(request);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
