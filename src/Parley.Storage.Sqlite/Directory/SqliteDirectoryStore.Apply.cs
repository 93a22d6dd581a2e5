using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Directory;

// Not Parley.Storage.Sqlite.Directory: that namespace would hide System.IO.Directory from the rest of this assembly.
namespace Parley.Storage.Sqlite;

public sealed partial class SqliteDirectoryStore
{
    /// <summary>
    /// A connection, its (optional) transaction and the version counter of the batch being written: the SQLite side of
    /// <see cref="DirectoryChangeRules"/>.
    /// </summary>
    private sealed class Batch(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken) : IDirectoryBatch
    {
        public long Version { get; set; }

        public async Task<DepartmentRecord?> GetDepartmentAsync(string departmentId)
        {
            DepartmentRecord? found = null;
            await ReadAsync(
                $"SELECT {DepartmentColumns} FROM directory_departments WHERE department_id = $id AND deleted = 0;",
                p => p.AddWithValue("$id", departmentId),
                r => found = ReadDepartment(r)).ConfigureAwait(false);
            return found;
        }

        public async Task<DepartmentMemberRecord?> GetMemberAsync(string departmentId, string userId)
        {
            DepartmentMemberRecord? found = null;
            await ReadAsync(
                $"SELECT {MemberColumns} FROM directory_members WHERE department_id = $d AND user_id = $u AND deleted = 0;",
                p =>
                {
                    p.AddWithValue("$d", departmentId);
                    p.AddWithValue("$u", userId);
                },
                r => found = ReadMember(r)).ConfigureAwait(false);
            return found;
        }

        public async Task<bool> IsAncestorOrSelfAsync(string ancestor, string departmentId) =>
            await ScalarInt64Async(
                """
                WITH RECURSIVE up(id) AS (
                    SELECT $start
                    UNION
                    SELECT d.parent_id FROM directory_departments d JOIN up ON d.department_id = up.id
                    WHERE d.deleted = 0 AND d.parent_id <> ''
                )
                SELECT EXISTS (SELECT 1 FROM up WHERE id = $ancestor);
                """,
                p =>
                {
                    p.AddWithValue("$start", departmentId);
                    p.AddWithValue("$ancestor", ancestor);
                }).ConfigureAwait(false) != 0;

        public async Task<bool> HasChildrenAsync(string departmentId) =>
            await ScalarInt64Async("SELECT EXISTS (SELECT 1 FROM directory_departments WHERE parent_id = $id AND deleted = 0);", p => p.AddWithValue("$id", departmentId))
                .ConfigureAwait(false) != 0;

        public async Task<bool> HasMembersAsync(string departmentId) =>
            await ScalarInt64Async("SELECT EXISTS (SELECT 1 FROM directory_members WHERE department_id = $id AND deleted = 0);", p => p.AddWithValue("$id", departmentId))
                .ConfigureAwait(false) != 0;

        public async Task<IReadOnlyList<string>> SubtreeAsync(string departmentId)
        {
            // SQLite walks a recursive CTE breadth-first: parents before their children.
            var ids = new List<string>();
            await ReadAsync(
                """
                WITH RECURSIVE sub(id) AS (
                    SELECT $id
                    UNION
                    SELECT d.department_id FROM directory_departments d JOIN sub ON d.parent_id = sub.id WHERE d.deleted = 0
                )
                SELECT id FROM sub;
                """,
                p => p.AddWithValue("$id", departmentId),
                r => ids.Add(r.GetString(0))).ConfigureAwait(false);
            return ids;
        }

        public async Task<IReadOnlyList<string>> MemberUserIdsAsync(string departmentId)
        {
            var users = new List<string>();
            await ReadAsync(
                "SELECT user_id FROM directory_members WHERE department_id = $id AND deleted = 0;",
                p => p.AddWithValue("$id", departmentId),
                r => users.Add(r.GetString(0))).ConfigureAwait(false);
            return users;
        }

        public Task WriteDepartmentAsync(DepartmentRecord department) =>
            ExecuteAsync(
                """
                INSERT INTO directory_departments (department_id, parent_id, name, sort_order, ex, version, deleted)
                VALUES ($id, $parent, $name, $order, $ex, $v, 0)
                ON CONFLICT (department_id) DO UPDATE SET
                    parent_id = excluded.parent_id, name = excluded.name, sort_order = excluded.sort_order,
                    ex = excluded.ex, version = excluded.version, deleted = 0;
                """,
                p =>
                {
                    p.AddWithValue("$id", department.DepartmentId);
                    p.AddWithValue("$parent", department.ParentId);
                    p.AddWithValue("$name", department.Name);
                    p.AddWithValue("$order", department.Order);
                    p.AddWithValue("$ex", department.Ex);
                    p.AddWithValue("$v", ++Version);
                });

        public Task WriteMemberAsync(DepartmentMemberRecord member) =>
            ExecuteAsync(
                """
                INSERT INTO directory_members (department_id, user_id, position, sort_order, email, phone, ex, version, deleted)
                VALUES ($d, $u, $position, $order, $email, $phone, $ex, $v, 0)
                ON CONFLICT (department_id, user_id) DO UPDATE SET
                    position = excluded.position, sort_order = excluded.sort_order, email = excluded.email,
                    phone = excluded.phone, ex = excluded.ex, version = excluded.version, deleted = 0;
                """,
                p =>
                {
                    p.AddWithValue("$d", member.DepartmentId);
                    p.AddWithValue("$u", member.UserId);
                    p.AddWithValue("$position", member.Position);
                    p.AddWithValue("$order", member.Order);
                    p.AddWithValue("$email", member.Email);
                    p.AddWithValue("$phone", member.Phone);
                    p.AddWithValue("$ex", member.Ex);
                    p.AddWithValue("$v", ++Version);
                });

        public Task TombstoneDepartmentAsync(string departmentId) =>
            ExecuteAsync(
                "UPDATE directory_departments SET deleted = 1, version = $v WHERE department_id = $id;",
                p =>
                {
                    p.AddWithValue("$id", departmentId);
                    p.AddWithValue("$v", ++Version);
                });

        public Task TombstoneMemberAsync(string departmentId, string userId) =>
            ExecuteAsync(
                "UPDATE directory_members SET deleted = 1, version = $v WHERE department_id = $d AND user_id = $u;",
                p =>
                {
                    p.AddWithValue("$d", departmentId);
                    p.AddWithValue("$u", userId);
                    p.AddWithValue("$v", ++Version);
                });

        public async Task<int> ExecuteAsync(string sql, Action<SqliteParameterCollection> bind)
        {
            using var command = Create(sql, bind);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task<long> ScalarInt64Async(string sql, Action<SqliteParameterCollection> bind)
        {
            using var command = Create(sql, bind);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }

        public async Task ReadAsync(string sql, Action<SqliteParameterCollection> bind, Action<SqliteDataReader> row)
        {
            using var command = Create(sql, bind);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                row(reader);
            }
        }

        private SqliteCommand Create(string sql, Action<SqliteParameterCollection> bind)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            bind(command.Parameters);
            return command;
        }
    }
}
