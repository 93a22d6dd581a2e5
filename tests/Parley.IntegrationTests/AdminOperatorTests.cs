using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>Operator tokens (scoped, expiring, revocable), the audit log, and the console's user/group administration.</summary>
public sealed class AdminOperatorTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task OperatorToken_ActsWithinItsScopesOnly()
    {
        var (token, tokenId) = await IssueOperatorAsync("user-desk", ["users"]);
        using var op = Client(token);

        var session = await op.GetFromJsonAsync<JsonElement>("/admin/v1/session");
        Assert.Equal("operator:" + tokenId, session.GetProperty("actor").GetString());
        Assert.Equal(["users"], session.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()!).ToArray());

        var userId = "op-made-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsJsonAsync("/admin/v1/users", new { userId })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync($"/admin/v1/users/{userId}")).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/admin/v1/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/admin/v1/push/funnel")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/admin/v1/groups", new { ownerId = userId })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/admin/v1/operators", new { name = "escalate", scopes = new[] { "audit" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/admin/v1/operators")).StatusCode);
    }

    [Fact]
    public async Task ReadOnlyToken_ReadsButCannotChangeOrReadTheAuditLog()
    {
        var (token, _) = await IssueOperatorAsync("viewer", ["read"]);
        using var op = Client(token);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/admin/v1/users?limit=5")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/admin/v1/groups")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/admin/v1/push/funnel")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/admin/v1/system")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/admin/v1/users", new { userId = "viewer-made" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.GetAsync("/admin/v1/audit")).StatusCode);
    }

    [Fact]
    public async Task OperatorToken_RevokedOrExpired_Is401_AndNeverListedInFull()
    {
        var (token, tokenId) = await IssueOperatorAsync("short", ["read"], ttlSeconds: 120);
        using var op = Client(token);
        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/admin/v1/session")).StatusCode);

        var list = await Server.Admin.GetStringAsync("/admin/v1/operators");
        Assert.Contains(tokenId, list, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[1], list, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await Server.Admin.DeleteAsync($"/admin/v1/operators/{tokenId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.GetAsync("/admin/v1/session")).StatusCode);

        var (expiring, _) = await IssueOperatorAsync("expiring", ["read"], ttlSeconds: 60);
        using var op2 = Client(expiring);
        Assert.Equal(HttpStatusCode.OK, (await op2.GetAsync("/admin/v1/session")).StatusCode);
        Server.Clock.Offset += TimeSpan.FromSeconds(61);
        try
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await op2.GetAsync("/admin/v1/session")).StatusCode);
        }
        finally
        {
            Server.Clock.Offset -= TimeSpan.FromSeconds(61);
        }

        // A tampered secret with a real id is refused.
        var tampered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        using var op3 = Client(tampered);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op3.GetAsync("/admin/v1/session")).StatusCode);
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"scopes\":[]}")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"everything\"]}")]
    [InlineData("{\"name\":\"\",\"scopes\":[\"read\"]}")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"read\"],\"ttlSeconds\":5}")]
    [InlineData("{\"name\":\"x\",\"scopes\":[\"read\"],\"ttlSeconds\":999999999999}")]
    public async Task IssueOperatorToken_BadRequest_Is400WithAReason(string json)
    {
        using var response = await Server.Admin.PostAsync("/admin/v1/operators", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bad_request", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditLog_RecordsWhoWhatTargetWhenWhere_AndRefusals()
    {
        var (token, tokenId) = await IssueOperatorAsync("auditor-" + Guid.NewGuid().ToString("N")[..6], ["users", "audit"]);
        using var op = Client(token);
        var before = Server.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var userId = "aud-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await op.PostAsJsonAsync("/admin/v1/users", new { userId })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsJsonAsync($"/admin/v1/users/{userId}/logout", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync("/admin/v1/groups", new { ownerId = userId })).StatusCode);

        var page = await op.GetFromJsonAsync<JsonElement>($"/admin/v1/audit?actor=operator:{tokenId}");
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(3, items.Count);
        var created = items.Single(i => i.GetProperty("action").GetString() == "users.create");
        Assert.Equal("user:" + userId, created.GetProperty("target").GetString());
        Assert.Equal(201, created.GetProperty("status").GetInt32());
        Assert.Equal("127.0.0.1", created.GetProperty("remote").GetString());
        Assert.StartsWith("auditor-", created.GetProperty("actorName").GetString(), StringComparison.Ordinal);
        Assert.InRange(created.GetProperty("at").GetInt64(), before - 1000, before + 60_000);
        Assert.Contains(items, i => i.GetProperty("action").GetString() == "users.logout" && i.GetProperty("target").GetString() == $"users/{userId}/logout");
        Assert.Contains(items, i => i.GetProperty("action").GetString() == "groups.create" && i.GetProperty("status").GetInt32() == 403);

        // The issue of the operator token itself was audited under the admin secret, without the token.
        var issued = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/audit?action=operators.issue&target=operator:{tokenId}");
        var entry = Assert.Single(issued.GetProperty("items").EnumerateArray());
        Assert.Equal("admin", entry.GetProperty("actor").GetString());
        Assert.DoesNotContain(token.Split('.')[1], entry.GetRawText(), StringComparison.Ordinal);

        // Reads are not actions.
        Assert.Empty((await op.GetFromJsonAsync<JsonElement>("/admin/v1/audit?action=users.get")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task AuditLog_PagesNewestFirstWithoutGapsOrRepeats()
    {
        var (token, tokenId) = await IssueOperatorAsync("pager", ["users", "audit"]);
        using var op = Client(token);
        var created = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var userId = $"page-{i}-{Guid.NewGuid():N}"[..20];
            Assert.Equal(HttpStatusCode.Created, (await op.PostAsJsonAsync("/admin/v1/users", new { userId })).StatusCode);
            created.Add("user:" + userId);
        }

        var seen = new List<string>();
        string? next = null;
        var pages = 0;
        do
        {
            var page = await op.GetFromJsonAsync<JsonElement>($"/admin/v1/audit?actor=operator:{tokenId}&action=users&limit=2" + (next is null ? "" : "&before=" + next));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("target").GetString()!));
            next = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            pages++;
        }
        while (next is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(created.AsEnumerable().Reverse(), seen);
        Assert.Equal(HttpStatusCode.BadRequest, (await op.GetAsync("/admin/v1/audit?limit=0")).StatusCode);
    }

    [Fact]
    public async Task DisableUser_RevokesTokensClosesConnectionsAndRefusesNewTokens_EnableRestores()
    {
        var userId = await Server.CreateUserAsync("dis");
        var client = await Server.ConnectAsync(userId);
        var kicked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Kicked += (_, _) => kicked.TrySetResult();

        using var disable = await Server.Admin.PostAsync($"/admin/v1/users/{userId}/disable", null);
        Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        await Wait.ForAsync(kicked.Task.ContinueWith(_ => true, TaskScheduler.Default), "the disabled user's connection is kicked");

        var user = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{userId}");
        Assert.Equal(JsonValueKind.Number, user.GetProperty("disabledAt").ValueKind);
        var tokens = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{userId}/tokens");
        Assert.All(tokens.EnumerateArray(), t => Assert.False(t.GetProperty("active").GetBoolean()));
        using var refused = await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId = "d2", platform = "web" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await Server.Admin.PostAsync($"/admin/v1/users/{userId}/enable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId = "d2", platform = "web" })).StatusCode);
    }

    [Fact]
    public async Task SearchUsers_MatchesIdOrNickname_AndPages()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await Server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId = $"s{i}-{tag}", nickname = "Searchable" })).StatusCode);
        }

        var first = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users?q={tag}&limit=2");
        Assert.Equal(2, first.GetProperty("items").GetArrayLength());
        var next = first.GetProperty("next").GetString();
        var second = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users?q={tag}&limit=2&after={next}");
        Assert.Equal($"s2-{tag}", second.GetProperty("items")[0].GetProperty("userId").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
    }

    [Fact]
    public async Task Groups_ListShowMembersChangeRoleKickAndDismiss()
    {
        var owner = await Server.CreateUserAsync("gown");
        var a = await Server.CreateUserAsync("ga");
        var b = await Server.CreateUserAsync("gb");
        var groupId = "adm-" + Guid.NewGuid().ToString("N")[..10];
        Assert.Equal(HttpStatusCode.Created, (await Server.Admin.PostAsJsonAsync("/admin/v1/groups", new { groupId, name = "Ops " + groupId, ownerId = owner, memberIds = new[] { a } })).StatusCode);

        var list = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups?q={groupId}");
        var row = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal(2, row.GetProperty("memberCount").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{groupId}/members", new { userIds = new[] { b } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PutAsJsonAsync($"/admin/v1/groups/{groupId}/members/{a}/role", new { role = "admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.PutAsJsonAsync($"/admin/v1/groups/{groupId}/members/{a}/role", new { role = "king" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.DeleteAsync($"/admin/v1/groups/{groupId}/members/{b}")).StatusCode);

        var detail = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups/{groupId}");
        var members = detail.GetProperty("members").EnumerateArray().ToDictionary(m => m.GetProperty("userId").GetString()!, m => m.GetProperty("role").GetString());
        Assert.Equal(new Dictionary<string, string?> { [owner] = "owner", [a] = "admin" }, members);

        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PostAsync($"/admin/v1/groups/{groupId}/dismiss", null)).StatusCode);
        Assert.True((await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups/{groupId}")).GetProperty("dismissed").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.PostAsync("/admin/v1/groups/no-such-group/dismiss", null)).StatusCode);
    }

    [Fact]
    public async Task Devices_ListedWithoutTokens_RemovedWithUsersScope_Audited()
    {
        var userId = await Server.CreateUserAsync("devices");
        await using (var phone = await Server.ConnectAsync(userId, "phone-1"))
        {
            await phone.RegisterDeviceAsync(new Parley.Protocol.V1.RegisterDeviceRequest
            {
                Vendor = Parley.Protocol.V1.PushVendor.Huawei, Token = "hms-secret-token-123", AppId = "com.example.chat", NotificationsEnabled = true, Locale = "zh-CN", TimeZone = "Asia/Shanghai",
            });
        }

        var (readToken, _) = await IssueOperatorAsync("device-viewer", ["read"]);
        using var viewer = Client(readToken);
        using var listed = await viewer.GetAsync($"/admin/v1/users/{userId}/devices");
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var raw = await listed.Content.ReadAsStringAsync();
        Assert.DoesNotContain("hms-secret-token-123", raw, StringComparison.Ordinal);
        var device = Assert.Single(JsonDocument.Parse(raw).RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal("phone-1", device.GetProperty("deviceId").GetString());
        Assert.Equal("huawei", device.GetProperty("vendor").GetString());
        Assert.Equal("com.example.chat", device.GetProperty("appId").GetString());
        Assert.Equal("Asia/Shanghai", device.GetProperty("timeZone").GetString());
        Assert.True(device.GetProperty("lastSeenAt").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Null, device.GetProperty("tokenInvalidAt").ValueKind);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.DeleteAsync($"/admin/v1/users/{userId}/devices/phone-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("/admin/v1/users/no-such-user-x/devices")).StatusCode);

        var (usersToken, usersTokenId) = await IssueOperatorAsync("device-desk", ["users"]);
        using var desk = Client(usersToken);
        Assert.Equal(HttpStatusCode.NoContent, (await desk.DeleteAsync($"/admin/v1/users/{userId}/devices/phone-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await desk.DeleteAsync($"/admin/v1/users/{userId}/devices/phone-1")).StatusCode);
        Assert.Empty((await viewer.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{userId}/devices")).GetProperty("items").EnumerateArray());

        var audit = await Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/audit?actor=operator:{usersTokenId}&action=users.devices");
        var entries = audit.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal($"device:{userId}/phone-1", e.GetProperty("target").GetString()));
        Assert.Equal([404, 204], entries.Select(e => e.GetProperty("status").GetInt32()).ToArray());
    }

    private async Task<(string Token, string TokenId)> IssueOperatorAsync(string name, string[] scopes, long? ttlSeconds = null)
    {
        using var response = await Server.Admin.PostAsJsonAsync("/admin/v1/operators", new { name, scopes, ttlSeconds });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("token").GetString()!, body.GetProperty("info").GetProperty("tokenId").GetString()!);
    }

    private HttpClient Client(string token)
    {
        var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}
