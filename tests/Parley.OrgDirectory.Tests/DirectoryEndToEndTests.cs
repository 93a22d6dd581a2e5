using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parley.Protocol.V1;

namespace Parley.OrgDirectory.Tests;

public sealed class ServerFixture : IAsyncLifetime
{
    public DirectoryServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await DirectoryServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The real server in process, driven over HTTP (admin) and raw WebSockets (clients).</summary>
public sealed class DirectoryEndToEndTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private DirectoryServer Server => fixture.Server;

    [Theory]
    [InlineData("GET", "/admin/v1/directory")]
    [InlineData("POST", "/admin/v1/directory/departments")]
    [InlineData("DELETE", "/admin/v1/directory/departments/x")]
    [InlineData("POST", "/admin/v1/directory/imports?format=json")]
    [InlineData("GET", "/admin/v1/directory/imports/x")]
    public async Task AdminApi_WithoutOrWithAWrongSecret_Returns401(string method, string path)
    {
        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        foreach (var secret in new[] { null, "wrong-secret" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            if (secret is not null)
            {
                request.Headers.Authorization = new("Bearer", secret);
            }

            using var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("unauthenticated", body.GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Client_FetchesTheDirectory_GetsALiveEvent_ThenOnlyTheDelta()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var p = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        await Server.SendOkAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p, name = "Company" });
        await Server.SendOkAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p + "-eng", parentId = p, name = "Engineering", order = 1 });
        await Server.SendOkAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p + "-ops", parentId = p, name = "Ops", order = 2 });
        await Server.SendOkAsync(HttpMethod.Post, $"/admin/v1/directory/departments/{p}-eng/members", new { userId = alice, position = "Engineer", email = "alice@example.org", ex = new { desk = 7 } });
        await Server.SendOkAsync(HttpMethod.Post, $"/admin/v1/directory/departments/{p}-ops/members", new { userId = bob, position = "Operator" });

        await using var client = await Server.ConnectAsync(alice);
        var full = await client.SyncDirectoryAsync(0);
        Assert.True(full.FullReset);
        Assert.Equal(p, full.Departments.Single(d => d.DepartmentId == p + "-eng").ParentId);
        var member = full.Members.Single(m => m.UserId == alice);
        Assert.Equal(("Engineer", "alice@example.org", """{"desk":7}"""), (member.Position, member.Email, member.Ex));
        Assert.Contains(full.Members, m => m.UserId == bob);

        // An admin edit reaches the connected client live.
        var moved = await Server.SendOkAsync(HttpMethod.Post, $"/admin/v1/directory/departments/{p}-ops/move", new { parentId = p + "-eng" });
        var movedVersion = moved.GetProperty("version").GetUInt64();
        var changed = await client.ReceiveUntilAsync(f => f.BodyCase == ServerFrame.BodyOneofCase.DirectoryChanged, "DirectoryChangedEvent");
        Assert.Equal(movedVersion, changed.DirectoryChanged.Version);

        await Server.SendOkAsync(HttpMethod.Delete, $"/admin/v1/directory/departments/{p}-ops/members/{bob}");
        var removedEvent = await client.ReceiveUntilAsync(f => f.BodyCase == ServerFrame.BodyOneofCase.DirectoryChanged, "the second DirectoryChangedEvent");

        var delta = await client.SyncDirectoryAsync(full.Version);
        Assert.False(delta.FullReset);
        Assert.Equal(removedEvent.DirectoryChanged.Version, delta.Version);
        var ops = Assert.Single(delta.Departments);
        Assert.Equal((p + "-ops", p + "-eng"), (ops.DepartmentId, ops.ParentId));
        Assert.Empty(delta.Members);
        Assert.Empty(delta.DeletedDepartmentIds);
        var removed = Assert.Single(delta.DeletedMembers);
        Assert.Equal((p + "-ops", bob), (removed.DepartmentId, removed.UserId));

        var nothing = await client.SyncDirectoryAsync(delta.Version);
        Assert.False(nothing.FullReset);
        Assert.Empty(nothing.Departments);
        Assert.Empty(nothing.DeletedMembers);
    }

    [Fact]
    public async Task AdminApi_RefusesCyclesNonEmptyDeletesAndUnknownUsers()
    {
        var p = "adm-" + Guid.NewGuid().ToString("N")[..8];
        await Server.SendOkAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p, name = "A" });
        await Server.SendOkAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p + "-b", parentId = p, name = "B" });

        await ExpectErrorAsync(HttpMethod.Post, $"/admin/v1/directory/departments/{p}/move", new { parentId = p + "-b" }, HttpStatusCode.Conflict, "cycle");
        await ExpectErrorAsync(HttpMethod.Delete, $"/admin/v1/directory/departments/{p}", null, HttpStatusCode.Conflict, "has_children");
        await ExpectErrorAsync(HttpMethod.Post, $"/admin/v1/directory/departments/{p}/members", new { userId = "no-such-user" }, HttpStatusCode.NotFound, "user_not_found");
        await ExpectErrorAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { departmentId = p, name = "again" }, HttpStatusCode.Conflict, "already_exists");
        await ExpectErrorAsync(HttpMethod.Post, "/admin/v1/directory/departments", new { parentId = "missing-" + p, name = "orphan" }, HttpStatusCode.NotFound, "parent_not_found");

        await Server.SendOkAsync(HttpMethod.Patch, $"/admin/v1/directory/departments/{p}-b", new { name = "B2", order = 5 });
        await Server.SendOkAsync(HttpMethod.Delete, $"/admin/v1/directory/departments/{p}?cascade=true");
        var tree = await Server.SendOkAsync(HttpMethod.Get, "/admin/v1/directory");
        Assert.DoesNotContain(tree.GetProperty("departments").EnumerateArray(), d => d.GetProperty("departmentId").GetString() == p);
    }

    [Fact]
    public async Task Import_OverHttp_ReportsProgressToCompletionAndShowsInTheTree()
    {
        var carol = await Server.CreateUserAsync("carol");
        var p = "imp-" + Guid.NewGuid().ToString("N")[..8];
        var csv = $"kind,department_id,parent_id,name,order,user_id,position\n" +
                  $"member,{p}-sub,,,1,{carol},Analyst\n" +
                  $"department,{p}-sub,{p},Sub,2,,\n" +
                  $"department,{p},,Top,1,,\n" +
                  $"member,{p}-sub,,,1,ghost-{p},Nobody\n";
        using var content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await Server.Admin.PostAsync("/admin/v1/directory/imports", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(4, accepted.GetProperty("total").GetInt32());

        var status = await WaitForImportAsync(location);
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(4, status.GetProperty("processed").GetInt32());
        Assert.Equal(3, status.GetProperty("applied").GetInt32());
        var error = Assert.Single(status.GetProperty("errors").EnumerateArray());
        Assert.Equal(5, error.GetProperty("line").GetInt32());

        var tree = await Server.SendOkAsync(HttpMethod.Get, "/admin/v1/directory");
        var top = tree.GetProperty("departments").EnumerateArray().Single(d => d.GetProperty("departmentId").GetString() == p);
        var sub = Assert.Single(top.GetProperty("children").EnumerateArray());
        Assert.Equal(carol, Assert.Single(sub.GetProperty("members").EnumerateArray()).GetProperty("userId").GetString());

        using var bad = new StringContent("{\"departments\": [", Encoding.UTF8, "application/json");
        using var badResponse = await Server.Admin.PostAsync("/admin/v1/directory/imports", bad);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
    }

    [Fact]
    public async Task Disabled_ClientsGetUnsupportedAndTheAdminApi404()
    {
        await using var server = await DirectoryServer.StartAsync(new Dictionary<string, string?> { ["Parley:Directory:Enabled"] = "false" });
        var dave = await server.CreateUserAsync("dave");
        await using var client = await server.ConnectAsync(dave);
        var answer = await client.SendAndReceiveAsync(new ClientFrame { SyncDirectory = new SyncDirectoryRequest() });
        Assert.Equal(Parley.Protocol.V1.ErrorCode.Unsupported, answer.Error.Code);

        using var response = await server.Admin.GetAsync("/admin/v1/directory");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task ExpectErrorAsync(HttpMethod method, string path, object? body, HttpStatusCode status, string code)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        using var response = await Server.Admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{method} {path}: expected {(int)status}, got {(int)response.StatusCode} {text}");
        Assert.Equal(code, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>Polls the job until it is finished (the condition), failing after a timeout.</summary>
    private async Task<JsonElement> WaitForImportAsync(string location)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var status = await Server.SendOkAsync(HttpMethod.Get, location);
            if (status.GetProperty("state").GetString() is "completed" or "failed")
            {
                return status;
            }

            Assert.False(cts.IsCancellationRequested, $"The import did not finish: {status}");
            await Task.Delay(20, cts.Token);
        }
    }
}
