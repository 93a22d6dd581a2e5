namespace Parley.Abstractions.Directory;

/// <summary>
/// What a directory store's batch reads and writes inside its transaction; each provider implements it in its own SQL
/// dialect, and <see cref="DirectoryChangeRules"/> decides, once for every provider, what a change writes.
/// Reads see only live rows (tombstones do not count); each write takes the batch's next directory version.
/// </summary>
public interface IDirectoryBatch
{
    Task<DepartmentRecord?> GetDepartmentAsync(string departmentId);

    Task<DepartmentMemberRecord?> GetMemberAsync(string departmentId, string userId);

    /// <summary>True when <paramref name="ancestor"/> is <paramref name="departmentId"/> or one of its ancestors.</summary>
    Task<bool> IsAncestorOrSelfAsync(string ancestor, string departmentId);

    Task<bool> HasChildrenAsync(string departmentId);

    Task<bool> HasMembersAsync(string departmentId);

    /// <summary>The department and every live descendant, parents before their children.</summary>
    Task<IReadOnlyList<string>> SubtreeAsync(string departmentId);

    /// <summary>The user ids of the department's live members.</summary>
    Task<IReadOnlyList<string>> MemberUserIdsAsync(string departmentId);

    /// <summary>Inserts or replaces the department as a live row.</summary>
    Task WriteDepartmentAsync(DepartmentRecord department);

    /// <summary>Inserts or replaces the membership as a live row.</summary>
    Task WriteMemberAsync(DepartmentMemberRecord member);

    Task TombstoneDepartmentAsync(string departmentId);

    Task TombstoneMemberAsync(string departmentId, string userId);
}

/// <summary>
/// The rules of <see cref="IDirectoryStore.ApplyAsync"/>, shared by every provider: each change is fully validated
/// before its first write (a refused change leaves nothing behind, so a non-atomic batch needs no savepoints, and on
/// PostgreSQL no failed statement aborts the transaction), an unchanged value writes nothing, only a move can close a
/// cycle, and a cascading delete tombstones members, then departments children first.
/// </summary>
public static class DirectoryChangeRules
{
    public static Task<DirectoryChangeResult> ApplyAsync(IDirectoryBatch batch, DirectoryChange change)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return change switch
        {
            SaveDepartment save => SaveDepartmentAsync(batch, save),
            UpdateDepartment update => UpdateDepartmentAsync(batch, update),
            DeleteDepartment delete => DeleteDepartmentAsync(batch, delete),
            SaveMember save => SaveMemberAsync(batch, save),
            UpdateMember update => UpdateMemberAsync(batch, update),
            RemoveMember remove => RemoveMemberAsync(batch, remove),
            _ => throw new ArgumentException($"Unknown directory change {change?.GetType().Name}.", nameof(change)),
        };
    }

    private static async Task<DirectoryChangeResult> SaveDepartmentAsync(IDirectoryBatch batch, SaveDepartment save)
    {
        var department = save.Department;
        var current = await batch.GetDepartmentAsync(department.DepartmentId).ConfigureAwait(false);
        if (current is not null && save.Mode == DirectorySaveMode.Create)
        {
            return Fail(DirectoryError.AlreadyExists, $"Department '{department.DepartmentId}' exists.");
        }

        return await WriteDepartmentAsync(batch, current, department).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> UpdateDepartmentAsync(IDirectoryBatch batch, UpdateDepartment update)
    {
        var current = await batch.GetDepartmentAsync(update.DepartmentId).ConfigureAwait(false);
        if (current is null)
        {
            return Fail(DirectoryError.NotFound, $"Department '{update.DepartmentId}' does not exist.");
        }

        var merged = new DepartmentRecord(
            current.DepartmentId,
            update.ParentId ?? current.ParentId,
            update.Name ?? current.Name,
            update.Order ?? current.Order,
            update.Ex ?? current.Ex);
        return await WriteDepartmentAsync(batch, current, merged).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> WriteDepartmentAsync(IDirectoryBatch batch, DepartmentRecord? current, DepartmentRecord department)
    {
        var id = department.DepartmentId;
        var parent = department.ParentId;
        if (parent.Length > 0 && current?.ParentId != parent)
        {
            if (parent == id)
            {
                return Fail(DirectoryError.Cycle, $"Department '{id}' cannot be its own parent.");
            }

            if (await batch.GetDepartmentAsync(parent).ConfigureAwait(false) is null)
            {
                return Fail(DirectoryError.ParentNotFound, $"Parent department '{parent}' does not exist.");
            }

            // Only an existing department can have descendants, so only a move can close a cycle.
            if (current is not null && await batch.IsAncestorOrSelfAsync(id, parent).ConfigureAwait(false))
            {
                return Fail(DirectoryError.Cycle, $"Moving '{id}' under '{parent}' would make it its own ancestor.");
            }
        }

        if (current != department)
        {
            await batch.WriteDepartmentAsync(department).ConfigureAwait(false);
        }

        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> DeleteDepartmentAsync(IDirectoryBatch batch, DeleteDepartment delete)
    {
        var id = delete.DepartmentId;
        if (await batch.GetDepartmentAsync(id).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.NotFound, $"Department '{id}' does not exist.");
        }

        IReadOnlyList<string> subtree = [id];
        if (!delete.Cascade)
        {
            if (await batch.HasChildrenAsync(id).ConfigureAwait(false))
            {
                return Fail(DirectoryError.HasChildren, $"Department '{id}' has child departments; delete them first or cascade.");
            }

            if (await batch.HasMembersAsync(id).ConfigureAwait(false))
            {
                return Fail(DirectoryError.HasMembers, $"Department '{id}' has members; remove them first or cascade.");
            }
        }
        else
        {
            subtree = await batch.SubtreeAsync(id).ConfigureAwait(false);
        }

        foreach (var department in subtree)
        {
            foreach (var user in await batch.MemberUserIdsAsync(department).ConfigureAwait(false))
            {
                await batch.TombstoneMemberAsync(department, user).ConfigureAwait(false);
            }
        }

        // Children before parents: a client applying the delta in order never sees an orphan.
        for (var i = subtree.Count - 1; i >= 0; i--)
        {
            await batch.TombstoneDepartmentAsync(subtree[i]).ConfigureAwait(false);
        }

        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> SaveMemberAsync(IDirectoryBatch batch, SaveMember save)
    {
        var member = save.Member;
        var current = await batch.GetMemberAsync(member.DepartmentId, member.UserId).ConfigureAwait(false);
        if (current is not null && save.Mode == DirectorySaveMode.Create)
        {
            return Fail(DirectoryError.AlreadyExists, $"User '{member.UserId}' is already a member of '{member.DepartmentId}'.");
        }

        return await WriteMemberAsync(batch, current, member).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> UpdateMemberAsync(IDirectoryBatch batch, UpdateMember update)
    {
        var current = await batch.GetMemberAsync(update.DepartmentId, update.UserId).ConfigureAwait(false);
        if (current is null)
        {
            return Fail(DirectoryError.NotFound, $"User '{update.UserId}' is not a member of '{update.DepartmentId}'.");
        }

        var merged = current with
        {
            Position = update.Position ?? current.Position,
            Order = update.Order ?? current.Order,
            Email = update.Email ?? current.Email,
            Phone = update.Phone ?? current.Phone,
            Ex = update.Ex ?? current.Ex,
        };
        return await WriteMemberAsync(batch, current, merged).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> WriteMemberAsync(IDirectoryBatch batch, DepartmentMemberRecord? current, DepartmentMemberRecord member)
    {
        if (current is null && await batch.GetDepartmentAsync(member.DepartmentId).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.DepartmentNotFound, $"Department '{member.DepartmentId}' does not exist.");
        }

        if (current != member)
        {
            await batch.WriteMemberAsync(member).ConfigureAwait(false);
        }

        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> RemoveMemberAsync(IDirectoryBatch batch, RemoveMember remove)
    {
        if (await batch.GetMemberAsync(remove.DepartmentId, remove.UserId).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.NotFound, $"User '{remove.UserId}' is not a member of '{remove.DepartmentId}'.");
        }

        await batch.TombstoneMemberAsync(remove.DepartmentId, remove.UserId).ConfigureAwait(false);
        return DirectoryChangeResult.Ok;
    }

    private static DirectoryChangeResult Fail(DirectoryError error, string message) => new(error, message);
}
