using Npgsql;
using Parley.Abstractions.Directory;
using static Parley.Storage.Postgres.Internal.PostgresRows;

// Not Parley.Storage.Postgres.Directory: that namespace would hide System.IO.Directory from the rest of this assembly.
namespace Parley.Storage.Postgres;

public sealed partial class PostgresDirectoryStore
{
    /// <summary>
    /// A connection inside its transaction and the version counter of the batch being written: the PostgreSQL side of
    /// <see cref="DirectoryChangeRules"/> (which validates each change before its first write, so no failed statement
    /// ever aborts the transaction).
    /// </summary>
    private sealed class Batch(NpgsqlConnection connection, CancellationToken cancellationToken) : IDirectoryBatch
    {
        public long Version { get; set; }

        public async Task<DepartmentRecord?> GetDepartmentAsync(string departmentId)
        {
            DepartmentRecord? found = null;
            await ReadAsync($"SELECT {DepartmentColumns} FROM directory_departments WHERE department_id = $1 AND NOT deleted;", r => found = ReadDepartment(r), P(departmentId))
                .ConfigureAwait(false);
            return found;
        }

        public async Task<DepartmentMemberRecord?> GetMemberAsync(string departmentId, string userId)
        {
            DepartmentMemberRecord? found = null;
            await ReadAsync(
                $"SELECT {MemberColumns} FROM directory_members WHERE department_id = $1 AND user_id = $2 AND NOT deleted;", r => found = ReadMember(r), P(departmentId), P(userId))
                .ConfigureAwait(false);
            return found;
        }

        public Task<bool> IsAncestorOrSelfAsync(string ancestor, string departmentId) =>
            ExistsAsync(
                """
                WITH RECURSIVE up(id) AS (
                    SELECT $1::text
                    UNION
                    SELECT d.parent_id FROM directory_departments d JOIN up ON d.department_id = up.id
                    WHERE NOT d.deleted AND d.parent_id <> ''
                )
                SELECT EXISTS (SELECT 1 FROM up WHERE id = $2);
                """,
                P(departmentId),
                P(ancestor));

        public Task<bool> HasChildrenAsync(string departmentId) =>
            ExistsAsync("SELECT EXISTS (SELECT 1 FROM directory_departments WHERE parent_id = $1 AND NOT deleted);", P(departmentId));

        public Task<bool> HasMembersAsync(string departmentId) =>
            ExistsAsync("SELECT EXISTS (SELECT 1 FROM directory_members WHERE department_id = $1 AND NOT deleted);", P(departmentId));

        public async Task<IReadOnlyList<string>> SubtreeAsync(string departmentId)
        {
            // Ordered by depth: parents before their children.
            var ids = new List<string>();
            await ReadAsync(
                """
                WITH RECURSIVE sub(id, depth) AS (
                    SELECT $1::text, 0
                    UNION
                    SELECT d.department_id, sub.depth + 1 FROM directory_departments d JOIN sub ON d.parent_id = sub.id WHERE NOT d.deleted
                )
                SELECT id FROM sub ORDER BY depth, id;
                """,
                r => ids.Add(r.GetString(0)),
                P(departmentId)).ConfigureAwait(false);
            return ids;
        }

        public async Task<IReadOnlyList<string>> MemberUserIdsAsync(string departmentId)
        {
            var users = new List<string>();
            await ReadAsync("SELECT user_id FROM directory_members WHERE department_id = $1 AND NOT deleted ORDER BY user_id;", r => users.Add(r.GetString(0)), P(departmentId))
                .ConfigureAwait(false);
            return users;
        }

        public Task WriteDepartmentAsync(DepartmentRecord department) =>
            ExecuteAsync(
                """
                INSERT INTO directory_departments (department_id, parent_id, name, sort_order, ex, version, deleted)
                VALUES ($1, $2, $3, $4, $5, $6, false)
                ON CONFLICT (department_id) DO UPDATE SET
                    parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, sort_order = EXCLUDED.sort_order,
                    ex = EXCLUDED.ex, version = EXCLUDED.version, deleted = false;
                """,
                P(department.DepartmentId), P(department.ParentId), P(department.Name), P(department.Order), P(department.Ex), P(++Version));

        public Task WriteMemberAsync(DepartmentMemberRecord member) =>
            ExecuteAsync(
                """
                INSERT INTO directory_members (department_id, user_id, position, sort_order, email, phone, ex, version, deleted)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)
                ON CONFLICT (department_id, user_id) DO UPDATE SET
                    position = EXCLUDED.position, sort_order = EXCLUDED.sort_order, email = EXCLUDED.email,
                    phone = EXCLUDED.phone, ex = EXCLUDED.ex, version = EXCLUDED.version, deleted = false;
                """,
                P(member.DepartmentId), P(member.UserId), P(member.Position), P(member.Order), P(member.Email), P(member.Phone), P(member.Ex), P(++Version));

        public Task TombstoneDepartmentAsync(string departmentId) =>
            ExecuteAsync("UPDATE directory_departments SET deleted = true, version = $2 WHERE department_id = $1;", P(departmentId), P(++Version));

        public Task TombstoneMemberAsync(string departmentId, string userId) =>
            ExecuteAsync("UPDATE directory_members SET deleted = true, version = $3 WHERE department_id = $1 AND user_id = $2;", P(departmentId), P(userId), P(++Version));

        public async Task<int> ExecuteAsync(string sql, params NpgsqlParameter[] parameters)
        {
            using var command = Command(connection, sql, parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task<long> ScalarInt64Async(string sql, params NpgsqlParameter[] parameters)
        {
            using var command = Command(connection, sql, parameters);
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        public async Task ReadAsync(string sql, Action<NpgsqlDataReader> row, params NpgsqlParameter[] parameters)
        {
            using var command = Command(connection, sql, parameters);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row(reader);
            }
        }

        private async Task<bool> ExistsAsync(string sql, params NpgsqlParameter[] parameters)
        {
            using var command = Command(connection, sql, parameters);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }
}
