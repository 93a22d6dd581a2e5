using Parley.Abstractions.Directory;

namespace Parley.Storage.Compliance;

/// <summary>
/// The behaviour every provider of <see cref="IDirectoryStore"/> must show (versions, deltas and sync cursors, purge
/// horizon, cycles, cascades, atomic batches, concurrent writers); SQLite and PostgreSQL run it unchanged.
/// </summary>
public abstract class DirectoryStoreComplianceTests : IAsyncLifetime
{
    private IDirectoryStore? _store;

    /// <summary>The store under test (one, initially empty, storage per test).</summary>
    protected IDirectoryStore Store => _store ??= OpenStore();

    /// <summary>A new store over this test's storage: each call stands for another process (node) sharing it.</summary>
    protected abstract IDirectoryStore OpenStore();

    public virtual async Task InitializeAsync()
    {
        if (StoreTestEnvironment.SkipReason is null)
        {
            await Store.InitializeAsync();
        }
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static SaveDepartment Dept(string id, string parent = "", string? name = null, int order = 0) =>
        new(new DepartmentRecord(id, parent, name ?? id, order, "{}"), DirectorySaveMode.Create);

    private static SaveMember Member(string department, string user, string position = "") =>
        new(new DepartmentMemberRecord(department, user, position, 0, "", "", "{}"), DirectorySaveMode.Create);

    private async Task<DirectoryApplyResult> ApplyOkAsync(params DirectoryChange[] changes)
    {
        var result = await Store.ApplyAsync(changes, atomic: false);
        Assert.All(result.Results, r => Assert.True(r.Succeeded, r.Message));
        return result;
    }

    [StoreFact]
    public async Task GetChanges_AfterEdits_ReturnsExactlyTheChangedRows()
    {
        var first = await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "a"), Member("a", "u1"), Member("b", "u1"), Member("b", "u2"));
        Assert.Equal(6, first.Version);
        Assert.Equal(6, first.RowsWritten);

        var second = await ApplyOkAsync(new UpdateDepartment("b", Name: "B renamed"), new RemoveMember("b", "u2"), new UpdateMember("a", "u1", Position: "lead"));
        Assert.Equal(9, second.Version);

        var delta = await Store.GetChangesAsync(first.Version);
        Assert.False(delta.FullReset);
        Assert.Equal(9, delta.Version);
        Assert.Equal(new DepartmentRecord("b", "a", "B renamed", 0, "{}"), Assert.Single(delta.Departments));
        Assert.Empty(delta.DeletedDepartmentIds);
        Assert.Equal(new DepartmentMemberRecord("a", "u1", "lead", 0, "", "", "{}"), Assert.Single(delta.Members));
        Assert.Equal(new DepartmentMemberKey("b", "u2"), Assert.Single(delta.DeletedMembers));

        var full = await Store.GetChangesAsync(0);
        Assert.True(full.FullReset);
        Assert.Equal(["a", "b", "c"], full.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
        Assert.Equal(2, full.Members.Count);
        Assert.Empty(full.DeletedMembers);

        var upToDate = await Store.GetChangesAsync(9);
        Assert.False(upToDate.FullReset);
        Assert.Empty(upToDate.Departments);
        Assert.Empty(upToDate.Members);
    }

    [StoreFact]
    public async Task Apply_UnchangedValues_WritesNothingAndKeepsTheVersion()
    {
        await ApplyOkAsync(Dept("a", name: "A"), Member("a", "u1", "dev"));
        var again = await Store.ApplyAsync(
            [new SaveDepartment(new DepartmentRecord("a", "", "A", 0, "{}"), DirectorySaveMode.Upsert), new UpdateMember("a", "u1", Position: "dev")],
            atomic: false);
        Assert.All(again.Results, r => Assert.True(r.Succeeded));
        Assert.Equal(0, again.RowsWritten);
        Assert.Equal(2, again.Version);
    }

    [StoreFact]
    public async Task Move_UnderItselfOrADescendant_IsRefusedAsCycle()
    {
        await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "b"), Dept("x"));
        var result = await Store.ApplyAsync(
            [new UpdateDepartment("a", ParentId: "c"), new UpdateDepartment("b", ParentId: "b"), new SaveDepartment(new DepartmentRecord("a", "b", "a", 0, "{}"), DirectorySaveMode.Upsert)],
            atomic: false);
        Assert.All(result.Results, r => Assert.Equal(DirectoryError.Cycle, r.Error));
        Assert.Equal(4, result.Version);

        // A legal move, then the old descendant may become the parent.
        await ApplyOkAsync(new UpdateDepartment("c", ParentId: "x"), new UpdateDepartment("a", ParentId: "c"));
        var tree = (await Store.GetChangesAsync(0)).Departments.ToDictionary(d => d.DepartmentId, d => d.ParentId);
        Assert.Equal("c", tree["a"]);
        Assert.Equal("a", tree["b"]);
        Assert.Equal("x", tree["c"]);
    }

    [StoreFact]
    public async Task Apply_UnknownParentOrDepartment_IsRefused()
    {
        var result = await Store.ApplyAsync([Dept("a", "missing"), Member("missing", "u1"), new UpdateDepartment("nope", Name: "n"), new RemoveMember("x", "y")], atomic: false);
        Assert.Equal(
            [DirectoryError.ParentNotFound, DirectoryError.DepartmentNotFound, DirectoryError.NotFound, DirectoryError.NotFound],
            result.Results.Select(r => r.Error));
        Assert.Equal(0, result.Version);
    }

    [StoreFact]
    public async Task Delete_WithChildrenOrMembers_IsRefusedUnlessCascade()
    {
        var before = await ApplyOkAsync(Dept("a"), Dept("b", "a"), Dept("c", "b"), Member("b", "u1"), Member("c", "u2"), Dept("solo"), Member("solo", "u3"));

        var refused = await Store.ApplyAsync([new DeleteDepartment("a", Cascade: false), new DeleteDepartment("solo", Cascade: false)], atomic: false);
        Assert.Equal([DirectoryError.HasChildren, DirectoryError.HasMembers], refused.Results.Select(r => r.Error));
        Assert.Equal(before.Version, refused.Version);

        var cascade = await ApplyOkAsync(new DeleteDepartment("a", Cascade: true));
        Assert.Equal(5, cascade.RowsWritten);

        var delta = await Store.GetChangesAsync(before.Version);
        Assert.Equal(["a", "b", "c"], delta.DeletedDepartmentIds.Order(StringComparer.Ordinal));
        Assert.Equal([new DepartmentMemberKey("b", "u1"), new DepartmentMemberKey("c", "u2")], delta.DeletedMembers.OrderBy(k => k.UserId, StringComparer.Ordinal));
        Assert.Empty(delta.Departments);

        var full = await Store.GetChangesAsync(0);
        Assert.Equal("solo", Assert.Single(full.Departments).DepartmentId);

        // A deleted department can be created again.
        await ApplyOkAsync(Dept("a"));
    }

    [StoreFact]
    public async Task Apply_Atomic_OneRefusalRollsBackTheBatch()
    {
        await ApplyOkAsync(Dept("a"));
        var result = await Store.ApplyAsync([Dept("b", "a"), Dept("c", "missing"), Member("a", "u1")], atomic: true);
        Assert.Equal([DirectoryError.NotApplied, DirectoryError.ParentNotFound, DirectoryError.NotApplied], result.Results.Select(r => r.Error));
        Assert.Equal(1, result.Version);
        Assert.Equal(0, result.RowsWritten);
        Assert.Equal(1, (await Store.GetStateAsync()).Version);
        Assert.Single((await Store.GetChangesAsync(0)).Departments);
    }

    [StoreFact]
    public async Task GetChanges_BelowThePurgeHorizon_IsAFullReset()
    {
        await ApplyOkAsync(Dept("a"), Dept("b"), Member("a", "u1"));
        await ApplyOkAsync(new DeleteDepartment("b", false), new RemoveMember("a", "u1"));
        var state = await Store.GetStateAsync();
        Assert.Equal(5, state.Version);
        await ApplyOkAsync(Dept("c"));

        Assert.Equal(2, await Store.PurgeTombstonesAsync(5));
        Assert.Equal(new DirectoryState(6, 5), await Store.GetStateAsync());
        Assert.Equal(0, await Store.PurgeTombstonesAsync(3));
        Assert.Equal(5, (await Store.GetStateAsync()).PurgeHorizon);

        // Version 3 missed deletes that are gone: the only safe answer is everything.
        var old = await Store.GetChangesAsync(3);
        Assert.True(old.FullReset);
        Assert.Equal(["a", "c"], old.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
        Assert.Empty(old.DeletedDepartmentIds);

        var recent = await Store.GetChangesAsync(5);
        Assert.False(recent.FullReset);
        Assert.Equal("c", Assert.Single(recent.Departments).DepartmentId);

        // A version from the future (e.g. a restored database) also resets.
        Assert.True((await Store.GetChangesAsync(99)).FullReset);
    }

    [StoreFact]
    public async Task IsMember_FollowsAddAndRemove()
    {
        await ApplyOkAsync(Dept("a"), Member("a", "u1"));
        Assert.True(await Store.IsMemberAsync("u1"));
        Assert.False(await Store.IsMemberAsync("u2"));
        await ApplyOkAsync(new RemoveMember("a", "u1"));
        Assert.False(await Store.IsMemberAsync("u1"));
    }

    [StoreFact]
    public async Task Apply_ConcurrentWritersOnTwoOwners_VersionsFollowCommitOrderAndEveryCursorResumesExactly()
    {
        await ApplyOkAsync(Dept("root"));
        var other = OpenStore();
        await other.InitializeAsync();

        // Two owners (two nodes) write 20 batches each at once; every batch writes 2 rows.
        async Task WriteAsync(IDirectoryStore store, string prefix)
        {
            for (var i = 0; i < 20; i++)
            {
                var result = await store.ApplyAsync([Dept($"{prefix}{i}", "root"), Member($"{prefix}{i}", $"{prefix}-u{i}")], atomic: false);
                Assert.All(result.Results, r => Assert.True(r.Succeeded, r.Message));
                Assert.Equal(2, result.RowsWritten);
            }
        }

        var cursors = new List<long>();
        var reader = Task.Run(async () =>
        {
            for (var i = 0; i < 30; i++)
            {
                cursors.Add((await Store.GetChangesAsync(0)).Version);
            }
        });
        await Task.WhenAll(WriteAsync(Store, "a"), WriteAsync(other, "b"), reader);

        var full = await Store.GetChangesAsync(0);
        Assert.Equal(81, full.Version);
        Assert.Equal(41, full.Departments.Count);
        Assert.Equal(40, full.Members.Count);

        // A client that synced at any version seen during the burst gets exactly the rows written after it.
        foreach (var cursor in cursors.Append(1).Append(40))
        {
            var snapshot = await Store.GetChangesAsync(0);
            var delta = await other.GetChangesAsync(cursor);
            Assert.False(delta.FullReset);
            Assert.Equal(81 - cursor, delta.Departments.Count + delta.Members.Count);
            Assert.Equal(snapshot.Version, delta.Version);
        }
    }
}
