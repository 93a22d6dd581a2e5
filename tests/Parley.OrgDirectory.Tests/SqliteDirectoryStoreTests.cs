using Parley.Abstractions.Directory;

namespace Parley.OrgDirectory.Tests;

public sealed class SqliteDirectoryStoreTests : IAsyncLifetime
{
    private DirectoryFixture _f = null!;

    public async Task InitializeAsync() => _f = await DirectoryFixture.CreateAsync();

    public async Task DisposeAsync() => await _f.DisposeAsync();

    private static SaveDepartment Dept(string id, string parent = "", string? name = null, int order = 0) =>
        new(new DepartmentRecord(id, parent, name ?? id, order, "{}"), DirectorySaveMode.Create);

    private static SaveMember Member(string department, string user, string position = "") =>
        new(new DepartmentMemberRecord(department, user, position, 0, "", "", "{}"), DirectorySaveMode.Create);

    private async Task<DirectoryApplyResult> ApplyOkAsync(params DirectoryChange[] changes)
    {
        var result = await _f.Store.ApplyAsync(changes, atomic: false);
        Assert.All(result.Results, r => Assert.True(r.Succeeded, r.Message));
        return result;
    }

    [Fact]
    public async Task GetChanges_AfterEdits_ReturnsExactlyTheChangedRows()
    {
        var first = await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "a"), Member("a", "u1"), Member("b", "u1"), Member("b", "u2"));
        Assert.Equal(6, first.Version);
        Assert.Equal(6, first.RowsWritten);

        var second = await ApplyOkAsync(new UpdateDepartment("b", Name: "B renamed"), new RemoveMember("b", "u2"), new UpdateMember("a", "u1", Position: "lead"));
        Assert.Equal(9, second.Version);

        var delta = await _f.Store.GetChangesAsync(first.Version);
        Assert.False(delta.FullReset);
        Assert.Equal(9, delta.Version);
        Assert.Equal(new DepartmentRecord("b", "a", "B renamed", 0, "{}"), Assert.Single(delta.Departments));
        Assert.Empty(delta.DeletedDepartmentIds);
        Assert.Equal(new DepartmentMemberRecord("a", "u1", "lead", 0, "", "", "{}"), Assert.Single(delta.Members));
        Assert.Equal(new DepartmentMemberKey("b", "u2"), Assert.Single(delta.DeletedMembers));

        var full = await _f.Store.GetChangesAsync(0);
        Assert.True(full.FullReset);
        Assert.Equal(["a", "b", "c"], full.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
        Assert.Equal(2, full.Members.Count);
        Assert.Empty(full.DeletedMembers);

        var upToDate = await _f.Store.GetChangesAsync(9);
        Assert.False(upToDate.FullReset);
        Assert.Empty(upToDate.Departments);
        Assert.Empty(upToDate.Members);
    }

    [Fact]
    public async Task Apply_UnchangedValues_WritesNothingAndKeepsTheVersion()
    {
        await ApplyOkAsync(Dept("a", name: "A"), Member("a", "u1", "dev"));
        var again = await _f.Store.ApplyAsync(
            [new SaveDepartment(new DepartmentRecord("a", "", "A", 0, "{}"), DirectorySaveMode.Upsert), new UpdateMember("a", "u1", Position: "dev")],
            atomic: false);
        Assert.All(again.Results, r => Assert.True(r.Succeeded));
        Assert.Equal(0, again.RowsWritten);
        Assert.Equal(2, again.Version);
    }

    [Fact]
    public async Task Move_UnderItselfOrADescendant_IsRefusedAsCycle()
    {
        await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "b"), Dept("x"));
        var result = await _f.Store.ApplyAsync(
            [new UpdateDepartment("a", ParentId: "c"), new UpdateDepartment("b", ParentId: "b"), new SaveDepartment(new DepartmentRecord("a", "b", "a", 0, "{}"), DirectorySaveMode.Upsert)],
            atomic: false);
        Assert.All(result.Results, r => Assert.Equal(DirectoryError.Cycle, r.Error));
        Assert.Equal(4, result.Version);

        // A legal move, then the old descendant may become the parent.
        await ApplyOkAsync(new UpdateDepartment("c", ParentId: "x"), new UpdateDepartment("a", ParentId: "c"));
        var tree = (await _f.Store.GetChangesAsync(0)).Departments.ToDictionary(d => d.DepartmentId, d => d.ParentId);
        Assert.Equal("c", tree["a"]);
        Assert.Equal("a", tree["b"]);
        Assert.Equal("x", tree["c"]);
    }

    [Fact]
    public async Task Apply_UnknownParentOrDepartment_IsRefused()
    {
        var result = await _f.Store.ApplyAsync([Dept("a", "missing"), Member("missing", "u1"), new UpdateDepartment("nope", Name: "n"), new RemoveMember("x", "y")], atomic: false);
        Assert.Equal(
            [DirectoryError.ParentNotFound, DirectoryError.DepartmentNotFound, DirectoryError.NotFound, DirectoryError.NotFound],
            result.Results.Select(r => r.Error));
        Assert.Equal(0, result.Version);
    }

    [Fact]
    public async Task Delete_WithChildrenOrMembers_IsRefusedUnlessCascade()
    {
        var before = await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "b"), Member("b", "u1"), Member("c", "u2"), Dept("solo"), Member("solo", "u3"));

        var refused = await _f.Store.ApplyAsync([new DeleteDepartment("a", Cascade: false), new DeleteDepartment("solo", Cascade: false)], atomic: false);
        Assert.Equal([DirectoryError.HasChildren, DirectoryError.HasMembers], refused.Results.Select(r => r.Error));
        Assert.Equal(before.Version, refused.Version);

        var cascade = await ApplyOkAsync(new DeleteDepartment("a", Cascade: true));
        Assert.Equal(5, cascade.RowsWritten);

        var delta = await _f.Store.GetChangesAsync(before.Version);
        Assert.Equal(["a", "b", "c"], delta.DeletedDepartmentIds.Order(StringComparer.Ordinal));
        Assert.Equal([new DepartmentMemberKey("b", "u1"), new DepartmentMemberKey("c", "u2")], delta.DeletedMembers.OrderBy(k => k.UserId, StringComparer.Ordinal));
        Assert.Empty(delta.Departments);

        var full = await _f.Store.GetChangesAsync(0);
        Assert.Equal("solo", Assert.Single(full.Departments).DepartmentId);

        // A deleted department can be created again.
        await ApplyOkAsync(Dept("a"));
    }

    [Fact]
    public async Task Apply_Atomic_OneRefusalRollsBackTheBatch()
    {
        await ApplyOkAsync(Dept("a"));
        var result = await _f.Store.ApplyAsync([Dept("b", "a"), Dept("c", "missing"), Member("a", "u1")], atomic: true);
        Assert.Equal([DirectoryError.NotApplied, DirectoryError.ParentNotFound, DirectoryError.NotApplied], result.Results.Select(r => r.Error));
        Assert.Equal(1, result.Version);
        Assert.Equal(0, result.RowsWritten);
        Assert.Equal(1, (await _f.Store.GetStateAsync()).Version);
        Assert.Single((await _f.Store.GetChangesAsync(0)).Departments);
    }

    [Fact]
    public async Task GetChanges_BelowThePurgeHorizon_IsAFullReset()
    {
        await ApplyOkAsync(Dept("a"), Dept("b"), Member("a", "u1"));
        await ApplyOkAsync(new DeleteDepartment("b", false), new RemoveMember("a", "u1"));
        var state = await _f.Store.GetStateAsync();
        Assert.Equal(5, state.Version);
        await ApplyOkAsync(Dept("c"));

        Assert.Equal(2, await _f.Store.PurgeTombstonesAsync(5));
        Assert.Equal(new DirectoryState(6, 5), await _f.Store.GetStateAsync());
        Assert.Equal(0, await _f.Store.PurgeTombstonesAsync(3));
        Assert.Equal(5, (await _f.Store.GetStateAsync()).PurgeHorizon);

        // Version 3 missed deletes that are gone: the only safe answer is everything.
        var old = await _f.Store.GetChangesAsync(3);
        Assert.True(old.FullReset);
        Assert.Equal(["a", "c"], old.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
        Assert.Empty(old.DeletedDepartmentIds);

        var recent = await _f.Store.GetChangesAsync(5);
        Assert.False(recent.FullReset);
        Assert.Equal("c", Assert.Single(recent.Departments).DepartmentId);

        // A version from the future (e.g. a restored database) also resets.
        Assert.True((await _f.Store.GetChangesAsync(99)).FullReset);
    }

    [Fact]
    public async Task IsMember_FollowsAddAndRemove()
    {
        await ApplyOkAsync(Dept("a"), Member("a", "u1"));
        Assert.True(await _f.Store.IsMemberAsync("u1"));
        Assert.False(await _f.Store.IsMemberAsync("u2"));
        await ApplyOkAsync(new RemoveMember("a", "u1"));
        Assert.False(await _f.Store.IsMemberAsync("u1"));
    }
}
