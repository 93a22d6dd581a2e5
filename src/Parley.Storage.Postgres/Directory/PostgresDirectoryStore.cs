using System.Data;
using Npgsql;
using Parley.Abstractions.Directory;
using static Parley.Storage.Postgres.Internal.PostgresRows;

// Not Parley.Storage.Postgres.Directory: that namespace would hide System.IO.Directory from the rest of this assembly.
namespace Parley.Storage.Postgres;

/// <summary>
/// <see cref="IDirectoryStore"/> on PostgreSQL (migration 9). A batch is one transaction that first locks the state row
/// (<c>SELECT … FOR UPDATE</c>): writers on every node queue on it, so the versions they hand out follow commit order
/// and a reader that sees version V in its snapshot also sees every row written at or below V. Each change is validated
/// before its first write, so a refused change leaves nothing behind; an atomic batch with a refusal rolls back.
/// A delta is read in one REPEATABLE READ snapshot.
/// </summary>
public sealed partial class PostgresDirectoryStore : IDirectoryStore
{
    private const string DepartmentColumns = "department_id, parent_id, name, sort_order, ex";
    private const string MemberColumns = "department_id, user_id, position, sort_order, email, phone, ex";

    private readonly PostgresDatabase _database;

    public PostgresDirectoryStore(PostgresDatabase database)
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
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var batch = new Batch(connection, cancellationToken);
                var start = await batch.ScalarInt64Async("SELECT version FROM directory_state WHERE id = 1 FOR UPDATE;").ConfigureAwait(false);
                batch.Version = start;
                var results = new DirectoryChangeResult[changes.Count];
                var failed = false;
                for (var i = 0; i < changes.Count; i++)
                {
                    results[i] = await DirectoryChangeRules.ApplyAsync(batch, changes[i]).ConfigureAwait(false);
                    failed |= !results[i].Succeeded;
                }

                if (atomic && failed)
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
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
                    await batch.ExecuteAsync("UPDATE directory_state SET version = $1 WHERE id = 1;", P(batch.Version)).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new DirectoryApplyResult(batch.Version, (int)(batch.Version - start), results);
            }
        }
    }

    /// <inheritdoc />
    public async Task<DirectoryChanges> GetChangesAsync(long sinceVersion, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot: the version and the rows agree.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var batch = new Batch(connection, cancellationToken);
                var state = await ReadStateAsync(batch).ConfigureAwait(false);
                var full = sinceVersion <= 0 || sinceVersion < state.PurgeHorizon || sinceVersion > state.Version;
                var departments = new List<DepartmentRecord>();
                var deletedDepartments = new List<string>();
                var members = new List<DepartmentMemberRecord>();
                var deletedMembers = new List<DepartmentMemberKey>();
                var filter = full ? "NOT deleted" : "version > $1";
                NpgsqlParameter[] Since() => full ? [] : [P(sinceVersion)];
                await batch.ReadAsync(
                    $"SELECT {DepartmentColumns}, deleted FROM directory_departments WHERE {filter} ORDER BY version;",
                    r =>
                    {
                        if (r.GetBoolean(5))
                        {
                            deletedDepartments.Add(r.GetString(0));
                        }
                        else
                        {
                            departments.Add(ReadDepartment(r));
                        }
                    },
                    Since()).ConfigureAwait(false);
                await batch.ReadAsync(
                    $"SELECT {MemberColumns}, deleted FROM directory_members WHERE {filter} ORDER BY version;",
                    r =>
                    {
                        if (r.GetBoolean(7))
                        {
                            deletedMembers.Add(new DepartmentMemberKey(r.GetString(0), r.GetString(1)));
                        }
                        else
                        {
                            members.Add(ReadMember(r));
                        }
                    },
                    Since()).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new DirectoryChanges(state.Version, full, departments, deletedDepartments, members, deletedMembers);
            }
        }
    }

    /// <inheritdoc />
    public async Task<DirectoryState> GetStateAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadStateAsync(new Batch(connection, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> IsMemberAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT EXISTS (SELECT 1 FROM directory_members WHERE user_id = $1 AND NOT deleted);", r => r.GetBoolean(0), cancellationToken, P(userId))
            .ConfigureAwait(false);
        return rows[0];
    }

    /// <inheritdoc />
    public async Task<int> PurgeTombstonesAsync(long horizon, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var batch = new Batch(connection, cancellationToken);
                var state = await ReadStateAsync(batch, forUpdate: true).ConfigureAwait(false);
                var target = Math.Min(horizon, state.Version);
                if (target <= state.PurgeHorizon)
                {
                    return 0;
                }

                var purged = await batch.ExecuteAsync("DELETE FROM directory_departments WHERE deleted AND version <= $1;", P(target)).ConfigureAwait(false);
                purged += await batch.ExecuteAsync("DELETE FROM directory_members WHERE deleted AND version <= $1;", P(target)).ConfigureAwait(false);
                await batch.ExecuteAsync("UPDATE directory_state SET purge_horizon = $1 WHERE id = 1;", P(target)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return purged;
            }
        }
    }

    private static async Task<DirectoryState> ReadStateAsync(Batch batch, bool forUpdate = false)
    {
        DirectoryState state = default;
        await batch.ReadAsync(
            "SELECT version, purge_horizon FROM directory_state WHERE id = 1" + (forUpdate ? " FOR UPDATE;" : ";"),
            r => state = new DirectoryState(r.GetInt64(0), r.GetInt64(1))).ConfigureAwait(false);
        return state;
    }

    private static DepartmentRecord ReadDepartment(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4));

    private static DepartmentMemberRecord ReadMember(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetString(5), r.GetString(6));
}
