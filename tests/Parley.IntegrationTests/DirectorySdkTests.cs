using System.Net.Http.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>The organisation directory through the real SDK: full fetch, a live change event, then only the delta.</summary>
public sealed class DirectorySdkTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Directory_FetchedInFull_ChangedLive_ThenOnlyTheDelta()
    {
        var staff = await Server.CreateUserAsync("staff");
        var root = "org-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await Server.Admin.PostAsJsonAsync("/admin/v1/directory/departments", new { departmentId = root, name = "Company" })).IsSuccessStatusCode);
        Assert.True((await Server.Admin.PostAsJsonAsync("/admin/v1/directory/departments", new { departmentId = root + "-eng", parentId = root, name = "Engineering" })).IsSuccessStatusCode);
        Assert.True((await Server.Admin.PostAsJsonAsync($"/admin/v1/directory/departments/{root}-eng/members", new { userId = staff, position = "Engineer" })).IsSuccessStatusCode);

        var client = await Server.CreateClientAsync(staff);
        var changed = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DirectoryChanged += (_, e) => changed.TrySetResult(e.Version);
        await client.ConnectAsync();

        var full = await client.SyncDirectoryAsync(0);
        Assert.True(full.FullReset);
        Assert.Contains(full.Departments, d => d.DepartmentId == root + "-eng" && d.ParentId == root);
        Assert.Contains(full.Members, m => m.UserId == staff && m.Position == "Engineer");

        var patch = await Server.Admin.PatchAsJsonAsync($"/admin/v1/directory/departments/{root}-eng/members/{staff}", new { position = "Staff Engineer" });
        Assert.True(patch.IsSuccessStatusCode);
        var version = await Wait.ForAsync(changed.Task, "the live DirectoryChanged event");
        Assert.True(version > full.Version);

        var delta = await client.SyncDirectoryAsync(full.Version);
        Assert.False(delta.FullReset);
        Assert.Empty(delta.Departments);
        Assert.Equal("Staff Engineer", Assert.Single(delta.Members).Position);
    }
}
