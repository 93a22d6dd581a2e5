using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite;

/// <summary>Durable bulk membership jobs of super groups (ADR 0017, migration 24): written through the writer queue.</summary>
public sealed partial class SqliteMessageStore : IBulkMemberJobStore
{
    private const string BulkJobColumns = "job_id, group_id, state, total, chunks, next_chunk, processed, changed, error, started_at, finished_at";

    /// <inheritdoc />
    public Task AddBulkJobAsync(BulkMemberJob job, IReadOnlyList<BulkMemberChunk> chunks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(chunks);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync(
            writer =>
            {
                // One write, one transaction: the job is never seen without all its chunks.
                using (var insert = writer.CreateCommand())
                {
                    insert.CommandText = """
                        INSERT INTO bulk_member_jobs (job_id, group_id, state, total, chunks, started_at)
                        VALUES ($id, $group, 0, $total, $chunks, $started);
                        """;
                    insert.Parameters.AddWithValue("$id", job.JobId);
                    insert.Parameters.AddWithValue("$group", job.GroupId);
                    insert.Parameters.AddWithValue("$total", job.Total);
                    insert.Parameters.AddWithValue("$chunks", chunks.Count);
                    insert.Parameters.AddWithValue("$started", job.StartedAt);
                    insert.ExecuteNonQuery();
                }

                using var command = writer.CreateCommand();
                command.CommandText = "INSERT INTO bulk_member_job_chunks (job_id, chunk, remove, user_ids) VALUES ($id, $chunk, $remove, $users);";
                command.Parameters.AddWithValue("$id", job.JobId);
                var chunk = command.Parameters.Add("$chunk", SqliteType.Integer);
                var remove = command.Parameters.Add("$remove", SqliteType.Integer);
                var users = command.Parameters.Add("$users", SqliteType.Text);
                foreach (var c in chunks)
                {
                    chunk.Value = c.Index;
                    remove.Value = c.Remove ? 1 : 0;
                    users.Value = string.Join('\n', c.UserIds);
                    command.ExecuteNonQuery();
                }

                return 0;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<BulkMemberJob?> GetBulkJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var rows = await _database.QueryAsync(
            $"SELECT {BulkJobColumns} FROM bulk_member_jobs WHERE job_id = $id;",
            c => c.Parameters.AddWithValue("$id", jobId),
            ReadBulkJob,
            cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public Task<BulkMemberJob?> ClaimBulkJobAsync(string owner, long now, long leaseUntil, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync<BulkMemberJob?>(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = $"""
                    UPDATE bulk_member_jobs SET owner = $owner, lease_until = $lease
                    WHERE job_id = (SELECT job_id FROM bulk_member_jobs WHERE state = 0 AND lease_until < $now ORDER BY started_at, job_id LIMIT 1)
                    RETURNING {BulkJobColumns};
                    """;
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$lease", leaseUntil);
                command.Parameters.AddWithValue("$now", now);
                using var reader = command.ExecuteReader();
                return reader.Read() ? ReadBulkJob(reader) : null;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<BulkMemberChunk?> GetBulkJobChunkAsync(string jobId, int index, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var rows = await _database.QueryAsync(
            "SELECT chunk, remove, user_ids FROM bulk_member_job_chunks WHERE job_id = $id AND chunk = $chunk;",
            c =>
            {
                c.Parameters.AddWithValue("$id", jobId);
                c.Parameters.AddWithValue("$chunk", index);
            },
            r => new BulkMemberChunk(r.GetInt32(0), r.GetInt64(1) != 0, r.GetString(2).Split('\n', StringSplitOptions.RemoveEmptyEntries)),
            cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public Task<bool> AdvanceBulkJobAsync(string jobId, string owner, int nextChunk, int processed, int changed, long leaseUntil, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = """
                    UPDATE bulk_member_jobs SET next_chunk = $next, processed = $processed, changed = $changed, lease_until = $lease
                    WHERE job_id = $id AND owner = $owner AND state = 0;
                    """;
                command.Parameters.AddWithValue("$id", jobId);
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$next", nextChunk);
                command.Parameters.AddWithValue("$processed", processed);
                command.Parameters.AddWithValue("$changed", changed);
                command.Parameters.AddWithValue("$lease", leaseUntil);
                if (command.ExecuteNonQuery() != 1)
                {
                    return false;
                }

                using var drop = writer.CreateCommand();
                drop.CommandText = "DELETE FROM bulk_member_job_chunks WHERE job_id = $id AND chunk < $next;";
                drop.Parameters.AddWithValue("$id", jobId);
                drop.Parameters.AddWithValue("$next", nextChunk);
                drop.ExecuteNonQuery();
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> FinishBulkJobAsync(string jobId, string owner, BulkMemberJobState state, string? error, long finishedAt, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = """
                    UPDATE bulk_member_jobs SET state = $state, error = $error, finished_at = $finished, owner = '', lease_until = 0
                    WHERE job_id = $id AND owner = $owner AND state = 0;
                    """;
                command.Parameters.AddWithValue("$id", jobId);
                command.Parameters.AddWithValue("$owner", owner);
                command.Parameters.AddWithValue("$state", (int)state);
                command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
                command.Parameters.AddWithValue("$finished", finishedAt);
                if (command.ExecuteNonQuery() != 1)
                {
                    return false;
                }

                using var drop = writer.CreateCommand();
                drop.CommandText = "DELETE FROM bulk_member_job_chunks WHERE job_id = $id;";
                drop.Parameters.AddWithValue("$id", jobId);
                drop.ExecuteNonQuery();
                return true;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task ReleaseBulkJobsAsync(string owner, CancellationToken cancellationToken = default) =>
        ExecuteJobsAsync("UPDATE bulk_member_jobs SET owner = '', lease_until = 0 WHERE owner = $owner AND state = 0;", cancellationToken, ("$owner", owner));

    /// <inheritdoc />
    public Task<int> DeleteFinishedBulkJobsAsync(long finishedBefore, CancellationToken cancellationToken = default) =>
        ExecuteJobsAsync("DELETE FROM bulk_member_jobs WHERE state <> 0 AND finished_at < $before;", cancellationToken, ("$before", finishedBefore));

    private static BulkMemberJob ReadBulkJob(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        (BulkMemberJobState)r.GetInt32(2),
        r.GetInt32(3),
        r.GetInt32(4),
        r.GetInt32(5),
        r.GetInt32(6),
        r.GetInt32(7),
        r.IsDBNull(8) ? null : r.GetString(8),
        r.GetInt64(9),
        r.GetInt64(10));
}
