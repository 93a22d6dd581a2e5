using System.Globalization;
using System.Text.Json;
using static Parley.Compat.OpenIM.Tests.SocialTestKit;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 19: OpenIM's app-server <c>/user/get_users</c> (paged, filtered, notification accounts left out) and
/// <c>/statistics/user/active</c> / <c>/statistics/group/active</c> (messages per sender and group per UTC day) in
/// OpenIM's shapes, over raw HTTP with an admin token (the JS SDK does not call them). Its own server: the counts are
/// exact.
/// </summary>
public sealed class OpenImStatisticsTests
{
    [Fact]
    public async Task Active_users_and_groups_count_the_messages_sent_per_sender_and_group_in_openims_shape()
    {
        await using var server = await OpenImTestServer.StartAsync();
        var kit = new SocialTestKit(server);
        var admin = await server.AdminTokenAsync();
        var users = await kit.UsersAsync("talker", "quiet", "peer");
        var (talker, quiet, peer) = (users[0], users[1], users[2]);
        var groupId = NewId("g");
        await kit.OkAsync("/group/create_group", new { ownerUserID = talker.Id, memberUserIDs = new[] { quiet.Id, peer.Id }, groupInfo = new { groupID = groupId, groupName = "Busy", groupType = 2 } }, talker.Token);

        async Task SendAsync(string from, string? to, string? group, int n)
        {
            for (var i = 0; i < n; i++)
            {
                var sent = await server.PostAsync("/msg/send_msg", new { sendID = from, recvID = to, groupID = group, contentType = 101, sessionType = group is null ? 1 : 3, content = new { content = $"m{i}" } }, admin);
                Assert.True(sent.GetProperty("errCode").GetInt32() == 0, sent.GetRawText());
            }
        }

        await SendAsync(talker.Id, peer.Id, null, 3);
        await SendAsync(quiet.Id, peer.Id, null, 1);
        await SendAsync(talker.Id, null, groupId, 2);
        await SendAsync(peer.Id, null, groupId, 4);

        var now = DateTimeOffset.UtcNow;
        var today = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var range = new { start = now.AddDays(-1).ToUnixTimeMilliseconds(), end = now.AddMinutes(1).ToUnixTimeMilliseconds() };

        // 1:1 only (OpenIM's default): talker 3, quiet 1.
        var direct = Data(await server.PostAsync("/statistics/user/active", new { range.start, range.end, pagination = new { pageNumber = 1, showNumber = 10 } }, admin));
        Assert.Equal(4, direct.GetProperty("msgCount").GetInt64());
        Assert.Equal(2, direct.GetProperty("userCount").GetInt64());
        Assert.Equal(4, direct.GetProperty("dateCount").GetProperty(today).GetInt64());
        Assert.Equal([(talker.Id, 3L), (quiet.Id, 1L)], Users(direct));
        Assert.Equal("N-" + talker.Id, direct.GetProperty("users")[0].GetProperty("user").GetProperty("nickname").GetString());

        // With groups, ascending, second page of one: talker 5, peer 4, quiet 1 → ascending quiet, peer, talker.
        var all = Data(await server.PostAsync("/statistics/user/active", new { range.start, range.end, group = true, ase = true, pagination = new { pageNumber = 2, showNumber = 1 } }, admin));
        Assert.Equal(10, all.GetProperty("msgCount").GetInt64());
        Assert.Equal(3, all.GetProperty("userCount").GetInt64());
        Assert.Equal([(peer.Id, 4L)], Users(all));

        var groups = Data(await server.PostAsync("/statistics/group/active", new { range.start, range.end, pagination = new { pageNumber = 1, showNumber = 10 } }, admin));
        Assert.Equal(6, groups.GetProperty("msgCount").GetInt64());
        Assert.Equal(1, groups.GetProperty("groupCount").GetInt64());
        var busy = groups.GetProperty("groups")[0];
        Assert.Equal(6, busy.GetProperty("count").GetInt64());
        Assert.Equal(groupId, busy.GetProperty("group").GetProperty("groupID").GetString());
        Assert.Equal("Busy", busy.GetProperty("group").GetProperty("groupName").GetString());

        // Yesterday only: nothing. Bad ranges and a user token are refused.
        var yesterday = Data(await server.PostAsync("/statistics/user/active", new { start = now.AddDays(-3).ToUnixTimeMilliseconds(), end = now.AddDays(-2).ToUnixTimeMilliseconds() }, admin));
        Assert.Equal(0, yesterday.GetProperty("msgCount").GetInt64());
        OpenImRestUsers.AssertError(await server.PostAsync("/statistics/user/active", new { start = 10, end = 5 }, admin), OpenImErrors.Args);
        OpenImRestUsers.AssertError(await server.PostAsync("/statistics/group/active", new { start = 0, end = now.ToUnixTimeMilliseconds() }, admin), OpenImErrors.Args);
        Assert.NotEqual(0, (await server.PostAsync("/statistics/user/active", new { range.start, range.end }, talker.Token)).GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task Get_users_pages_all_users_filters_by_id_or_nickname_and_leaves_notification_accounts_out()
    {
        await using var server = await OpenImTestServer.StartAsync();
        var admin = await server.AdminTokenAsync();
        var ids = Enumerable.Range(0, 5).Select(i => $"gu{i}-" + Guid.NewGuid().ToString("N")[..6]).ToArray();
        var registered = await server.PostAsync("/user/user_register", new { users = ids.Select((id, i) => new { userID = id, nickname = i == 3 ? "Special Agent" : "user " + i }) }, admin);
        OpenImRestUsers.AssertOk(registered);
        OpenImRestUsers.AssertOk(await server.PostAsync("/user/add_notification_account", new { userID = "na-stats", nickName = "Special offers", appMangerLevel = 3 }, admin));

        var first = Data(await server.PostAsync("/user/get_users", new { pagination = new { pageNumber = 1, showNumber = 2 } }, admin));
        var second = Data(await server.PostAsync("/user/get_users", new { pagination = new { pageNumber = 2, showNumber = 2 } }, admin));
        var third = Data(await server.PostAsync("/user/get_users", new { pagination = new { pageNumber = 3, showNumber = 2 } }, admin));
        Assert.Equal(5, first.GetProperty("total").GetInt64());
        var listed = new[] { first, second, third }.SelectMany(p => p.GetProperty("users").EnumerateArray()).Select(u => u.GetProperty("userID").GetString()!).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed);

        var special = Data(await server.PostAsync("/user/get_users", new { nickName = "special", pagination = new { pageNumber = 1, showNumber = 10 } }, admin));
        Assert.Equal(1, special.GetProperty("total").GetInt64());
        Assert.Equal(ids[3], special.GetProperty("users")[0].GetProperty("userID").GetString());
        Assert.Equal("Special Agent", special.GetProperty("users")[0].GetProperty("nickname").GetString());
        var byId = Data(await server.PostAsync("/user/get_users", new { userID = ids[1], pagination = new { pageNumber = 1, showNumber = 10 } }, admin));
        Assert.Equal([ids[1]], byId.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("userID").GetString()));

        var token = await server.PostAsync("/auth/get_user_token", new { platformID = 5, userID = ids[0] }, admin);
        var userCall = await server.PostAsync("/user/get_users", new { pagination = new { pageNumber = 1, showNumber = 10 } }, token.GetProperty("data").GetProperty("token").GetString());
        Assert.NotEqual(0, userCall.GetProperty("errCode").GetInt32());
    }

    private static JsonElement Data(JsonElement response)
    {
        Assert.True(response.GetProperty("errCode").GetInt32() == 0, response.GetRawText());
        return response.GetProperty("data");
    }

    private static List<(string, long)> Users(JsonElement data) =>
        [.. data.GetProperty("users").EnumerateArray().Select(u => (u.GetProperty("user").GetProperty("userID").GetString()!, u.GetProperty("count").GetInt64()))];
}
