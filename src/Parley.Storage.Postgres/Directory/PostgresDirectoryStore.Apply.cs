using Parley.Abstractions.Directory;
using static Parley.Storage.Postgres.Internal.PostgresRows;

// Not Parley.Storage.Postgres.Directory: that namespace would hide System.IO.Directory from the rest of this assembly.
namespace Parley.Storage.Postgres;

public sealed partial class PostgresDirectoryStore
{
    // Each change is fully validated before its first write (a failed statement would abort the whole PostgreSQL
    // transaction), so a refused change leaves nothing behind and the non-atomic batch needs no savepoints.
    private static Task<DirectoryChangeResult> ApplyOneAsync(Batch batch, DirectoryChange change) => change switch
    {
        SaveDepartment save => SaveDepartmentAsync(batch, save),
        UpdateDepartment update => UpdateDepartmentAsync(batch, update),
        DeleteDepartment delete => DeleteDepartmentAsync(batch, delete),
        SaveMember save => SaveMemberAsync(batch, save),
        UpdateMember update => UpdateMemberAsync(batch, update),
        RemoveMember remove => RemoveMemberAsync(batch, remove),
        _ => throw new ArgumentException($"Unknown directory change {change.GetType().Name}.", nameof(change)),
    };

    private static async Task<DirectoryChangeResult> SaveDepartmentAsync(Batch batch, SaveDepartment save)
    {
        var department = save.Department;
        var current = await GetDepartmentAsync(batch, department.DepartmentId).ConfigureAwait(false);
        if (current is not null && save.Mode == DirectorySaveMode.Create)
        {
            return Fail(DirectoryError.AlreadyExists, $"Department '{department.DepartmentId}' exists.");
        }

        return await WriteDepartmentAsync(batch, current, department).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> UpdateDepartmentAsync(Batch batch, UpdateDepartment update)
    {
        var current = await GetDepartmentAsync(batch, update.DepartmentId).ConfigureAwait(false);
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

    private static async Task<DirectoryChangeResult> WriteDepartmentAsync(Batch batch, DepartmentRecord? current, DepartmentRecord department)
    {
        var id = department.DepartmentId;
        var parent = department.ParentId;
        if (parent.Length > 0 && current?.ParentId != parent)
        {
            if (parent == id)
            {
                return Fail(DirectoryError.Cycle, $"Department '{id}' cannot be its own parent.");
            }

            if (await GetDepartmentAsync(batch, parent).ConfigureAwait(false) is null)
            {
                return Fail(DirectoryError.ParentNotFound, $"Parent department '{parent}' does not exist.");
            }

            // Only an existing department can have descendants, so only a move can close a cycle.
            if (current is not null && await IsAncestorOrSelfAsync(batch, id, parent).ConfigureAwait(false))
            {
                return Fail(DirectoryError.Cycle, $"Moving '{id}' under '{parent}' would make it its own ancestor.");
            }
        }

        if (current == department)
        {
            return DirectoryChangeResult.Ok;
        }

        await batch.ExecuteAsync(
            """
            INSERT INTO directory_departments (department_id, parent_id, name, sort_order, ex, version, deleted)
            VALUES ($1, $2, $3, $4, $5, $6, false)
            ON CONFLICT (department_id) DO UPDATE SET
                parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, sort_order = EXCLUDED.sort_order,
                ex = EXCLUDED.ex, version = EXCLUDED.version, deleted = false;
            """,
            P(id), P(parent), P(department.Name), P(department.Order), P(department.Ex), P(batch.NextVersion())).ConfigureAwait(false);
        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> DeleteDepartmentAsync(Batch batch, DeleteDepartment delete)
    {
        var id = delete.DepartmentId;
        if (await GetDepartmentAsync(batch, id).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.NotFound, $"Department '{id}' does not exist.");
        }

        List<string> subtree = [id];
        if (!delete.Cascade)
        {
            if (await batch.ExistsAsync("SELECT EXISTS (SELECT 1 FROM directory_departments WHERE parent_id = $1 AND NOT deleted);", P(id)).ConfigureAwait(false))
            {
                return Fail(DirectoryError.HasChildren, $"Department '{id}' has child departments; delete them first or cascade.");
            }

            if (await batch.ExistsAsync("SELECT EXISTS (SELECT 1 FROM directory_members WHERE department_id = $1 AND NOT deleted);", P(id)).ConfigureAwait(false))
            {
                return Fail(DirectoryError.HasMembers, $"Department '{id}' has members; remove them first or cascade.");
            }
        }
        else
        {
            // Parents before children (breadth-first depth), so the reverse walk below tombstones children first.
            subtree.Clear();
            await batch.ReadAsync(
                """
                WITH RECURSIVE sub(id, depth) AS (
                    SELECT $1::text, 0
                    UNION
                    SELECT d.department_id, sub.depth + 1 FROM directory_departments d JOIN sub ON d.parent_id = sub.id WHERE NOT d.deleted
                )
                SELECT id FROM sub ORDER BY depth, id;
                """,
                r => subtree.Add(r.GetString(0)),
                P(id)).ConfigureAwait(false);
        }

        foreach (var department in subtree)
        {
            var users = new List<string>();
            await batch.ReadAsync(
                "SELECT user_id FROM directory_members WHERE department_id = $1 AND NOT deleted ORDER BY user_id;",
                r => users.Add(r.GetString(0)),
                P(department)).ConfigureAwait(false);
            foreach (var user in users)
            {
                await TombstoneMemberAsync(batch, department, user).ConfigureAwait(false);
            }
        }

        // Children before parents: a client applying the delta in order never sees an orphan.
        for (var i = subtree.Count - 1; i >= 0; i--)
        {
            await batch.ExecuteAsync(
                "UPDATE directory_departments SET deleted = true, version = $2 WHERE department_id = $1;",
                P(subtree[i]), P(batch.NextVersion())).ConfigureAwait(false);
        }

        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> SaveMemberAsync(Batch batch, SaveMember save)
    {
        var member = save.Member;
        var current = await GetMemberAsync(batch, member.DepartmentId, member.UserId).ConfigureAwait(false);
        if (current is not null && save.Mode == DirectorySaveMode.Create)
        {
            return Fail(DirectoryError.AlreadyExists, $"User '{member.UserId}' is already a member of '{member.DepartmentId}'.");
        }

        return await WriteMemberAsync(batch, current, member).ConfigureAwait(false);
    }

    private static async Task<DirectoryChangeResult> UpdateMemberAsync(Batch batch, UpdateMember update)
    {
        var current = await GetMemberAsync(batch, update.DepartmentId, update.UserId).ConfigureAwait(false);
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

    private static async Task<DirectoryChangeResult> WriteMemberAsync(Batch batch, DepartmentMemberRecord? current, DepartmentMemberRecord member)
    {
        if (current is null && await GetDepartmentAsync(batch, member.DepartmentId).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.DepartmentNotFound, $"Department '{member.DepartmentId}' does not exist.");
        }

        if (current == member)
        {
            return DirectoryChangeResult.Ok;
        }

        await batch.ExecuteAsync(
            """
            INSERT INTO directory_members (department_id, user_id, position, sort_order, email, phone, ex, version, deleted)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)
            ON CONFLICT (department_id, user_id) DO UPDATE SET
                position = EXCLUDED.position, sort_order = EXCLUDED.sort_order, email = EXCLUDED.email,
                phone = EXCLUDED.phone, ex = EXCLUDED.ex, version = EXCLUDED.version, deleted = false;
            """,
            P(member.DepartmentId), P(member.UserId), P(member.Position), P(member.Order), P(member.Email), P(member.Phone), P(member.Ex), P(batch.NextVersion()))
            .ConfigureAwait(false);
        return DirectoryChangeResult.Ok;
    }

    private static async Task<DirectoryChangeResult> RemoveMemberAsync(Batch batch, RemoveMember remove)
    {
        if (await GetMemberAsync(batch, remove.DepartmentId, remove.UserId).ConfigureAwait(false) is null)
        {
            return Fail(DirectoryError.NotFound, $"User '{remove.UserId}' is not a member of '{remove.DepartmentId}'.");
        }

        await TombstoneMemberAsync(batch, remove.DepartmentId, remove.UserId).ConfigureAwait(false);
        return DirectoryChangeResult.Ok;
    }

    private static Task TombstoneMemberAsync(Batch batch, string departmentId, string userId) =>
        batch.ExecuteAsync(
            "UPDATE directory_members SET deleted = true, version = $3 WHERE department_id = $1 AND user_id = $2;",
            P(departmentId), P(userId), P(batch.NextVersion()));

    /// <summary>True when <paramref name="ancestor"/> is <paramref name="departmentId"/> or one of its ancestors.</summary>
    private static Task<bool> IsAncestorOrSelfAsync(Batch batch, string ancestor, string departmentId) =>
        batch.ExistsAsync(
            """
            WITH RECURSIVE up(id) AS (
                SELECT $1::text
                UNION
                SELECT d.parent_id FROM directory_departments d JOIN up ON d.department_id = up.id
                WHERE NOT d.deleted AND d.parent_id <> ''
            )
            SELECT EXISTS (SELECT 1 FROM up WHERE id = $2);
            """,
            P(departmentId), P(ancestor));

    private static async Task<DepartmentRecord?> GetDepartmentAsync(Batch batch, string departmentId)
    {
        DepartmentRecord? found = null;
        await batch.ReadAsync(
            $"SELECT {DepartmentColumns} FROM directory_departments WHERE department_id = $1 AND NOT deleted;",
            r => found = ReadDepartment(r),
            P(departmentId)).ConfigureAwait(false);
        return found;
    }

    private static async Task<DepartmentMemberRecord?> GetMemberAsync(Batch batch, string departmentId, string userId)
    {
        DepartmentMemberRecord? found = null;
        await batch.ReadAsync(
            $"SELECT {MemberColumns} FROM directory_members WHERE department_id = $1 AND user_id = $2 AND NOT deleted;",
            r => found = ReadMember(r),
            P(departmentId), P(userId)).ConfigureAwait(false);
        return found;
    }

    private static DirectoryChangeResult Fail(DirectoryError error, string message) => new(error, message);
}
