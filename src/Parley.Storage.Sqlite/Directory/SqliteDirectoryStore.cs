using Microsoft.Data.Sqlite;
using Parley.Abstractions.Directory;
using Parley.Storage.Sqlite.Internal;

// Not Parley.Storage.Sqlite.Directory: that namespace would hide System.IO.Directory from the rest of this assembly.
namespace Parley.Storage.Sqlite;

/// <summary>
/// <see cref="IDirectoryStore"/>: a view over the file's <see cref="SqliteDatabase"/>. A batch is one write in the
/// owner's writer queue (serialised, inside the group transaction), which also bumps the directory version once per row.
/// </summary>
public sealed partial class SqliteDirectoryStore : IDirectoryStore
{
    private const string DepartmentColumns = "department_id, parent_id, name, sort_order, ex";
    private const string MemberColumns = "department_id, user_id, position, sort_order, email, phone, ex";

    private readonly SqliteDatabase _database;

    public SqliteDirectoryStore(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<DirectoryApplyResult> ApplyAsync(IReadOnlyList<DirectoryChange> changes, bool atomic, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return await _database.WriteAsync(async (connection, cancellationToken) =>
            {
                // A savepoint of its own: an atomic batch with a failed change rolls back only this batch.
                var batch = new Batch(connection, null, cancellationToken);
                await batch.ExecuteAsync("SAVEPOINT directory_apply;", _ => { }).ConfigureAwait(false);
                var start = await batch.ScalarInt64Async("SELECT version FROM directory_state WHERE id = 1;", _ => { }).ConfigureAwait(false);
                batch.Version = start;
                var results = new DirectoryChangeResult[changes.Count];
                var failed = -1;
                for (var i = 0; i < changes.Count; i++)
                {
                    results[i] = await DirectoryChangeRules.ApplyAsync(batch, changes[i]).ConfigureAwait(false);
                    if (!results[i].Succeeded && failed < 0)
                    {
                        failed = i;
                    }
                }

                if (atomic && failed >= 0)
                {
                    await batch.ExecuteAsync("ROLLBACK TO directory_apply; RELEASE directory_apply;", _ => { }).ConfigureAwait(false);
                    for (var i = 0; i < results.Length; i++)
                    {
                        if (results[i].Succeeded)
                        {
                            results[i] = new DirectoryChangeResult(DirectoryError.NotApplied, "Not applied: the atomic batch was rolled back because another change failed.");
                        }
                    }

                    return new DirectoryApplyResult(start, 0, results);
                }

                if (batch.Version != start)
                {
                    await batch.ExecuteAsync("UPDATE directory_state SET version = $v WHERE id = 1;", p => p.AddWithValue("$v", batch.Version)).ConfigureAwait(false);
                }

                await batch.ExecuteAsync("RELEASE directory_apply;", _ => { }).ConfigureAwait(false);
                return new DirectoryApplyResult(batch.Version, (int)(batch.Version - start), results);
            }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DirectoryChanges> GetChangesAsync(long sinceVersion, CancellationToken cancellationToken = default)
    {
        ThrowIfNotReady();
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One read transaction: the version and the rows come from the same snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            var batch = new Batch(connection, transaction, cancellationToken);
            var state = await ReadStateAsync(batch).ConfigureAwait(false);
            var full = sinceVersion <= 0 || sinceVersion < state.PurgeHorizon || sinceVersion > state.Version;
            var departments = new List<DepartmentRecord>();
            var deletedDepartments = new List<string>();
            var members = new List<DepartmentMemberRecord>();
            var deletedMembers = new List<DepartmentMemberKey>();
            var filter = full ? "deleted = 0" : "version > $since";
            await batch.ReadAsync(
                $"SELECT {DepartmentColumns}, deleted FROM directory_departments WHERE {filter} ORDER BY version;",
                p => p.AddWithValue("$since", sinceVersion),
                r =>
                {
                    if (r.GetInt64(5) != 0)
                    {
                        deletedDepartments.Add(r.GetString(0));
                    }
                    else
                    {
                        departments.Add(ReadDepartment(r));
                    }
                }).ConfigureAwait(false);
            await batch.ReadAsync(
                $"SELECT {MemberColumns}, deleted FROM directory_members WHERE {filter} ORDER BY version;",
                p => p.AddWithValue("$since", sinceVersion),
                r =>
                {
                    if (r.GetInt64(7) != 0)
                    {
                        deletedMembers.Add(new DepartmentMemberKey(r.GetString(0), r.GetString(1)));
                    }
                    else
                    {
                        members.Add(ReadMember(r));
                    }
                }).ConfigureAwait(false);
            transaction.Commit();
            return new DirectoryChanges(state.Version, full, departments, deletedDepartments, members, deletedMembers);
        }
    }

    /// <inheritdoc />
    public async Task<DirectoryState> GetStateAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotReady();
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadStateAsync(new Batch(connection, null, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> IsMemberAsync(string userId, CancellationToken cancellationToken = default)
    {
        ThrowIfNotReady();
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var batch = new Batch(connection, null, cancellationToken);
            return await batch.ScalarInt64Async(
                "SELECT EXISTS (SELECT 1 FROM directory_members WHERE user_id = $u AND deleted = 0);",
                p => p.AddWithValue("$u", userId)).ConfigureAwait(false) != 0;
        }
    }

    /// <inheritdoc />
    public async Task<int> PurgeTombstonesAsync(long horizon, CancellationToken cancellationToken = default)
    {
        return await _database.WriteAsync(async (connection, cancellationToken) =>
            {
                var batch = new Batch(connection, null, cancellationToken);
                var state = await ReadStateAsync(batch).ConfigureAwait(false);
                var target = Math.Min(horizon, state.Version);
                if (target <= state.PurgeHorizon)
                {
                    return 0;
                }

                Action<SqliteParameterCollection> bind = p => p.AddWithValue("$h", target);
                var purged = await batch.ExecuteAsync("DELETE FROM directory_departments WHERE deleted = 1 AND version <= $h;", bind).ConfigureAwait(false);
                purged += await batch.ExecuteAsync("DELETE FROM directory_members WHERE deleted = 1 AND version <= $h;", bind).ConfigureAwait(false);
                await batch.ExecuteAsync("UPDATE directory_state SET purge_horizon = $h WHERE id = 1;", bind).ConfigureAwait(false);
                return purged;
            }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<DirectoryState> ReadStateAsync(Batch batch)
    {
        DirectoryState state = default;
        await batch.ReadAsync("SELECT version, purge_horizon FROM directory_state WHERE id = 1;", _ => { }, r => state = new DirectoryState(r.GetInt64(0), r.GetInt64(1))).ConfigureAwait(false);
        return state;
    }

    private static DepartmentRecord ReadDepartment(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4));

    private static DepartmentMemberRecord ReadMember(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetString(5), r.GetString(6));

    private void ThrowIfNotReady() => _database.ThrowIfNotReady();
}
