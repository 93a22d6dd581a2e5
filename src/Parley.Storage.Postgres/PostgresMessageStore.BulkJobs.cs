using Npgsql;
using Parley.Abstractions.Messaging;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Durable bulk membership jobs of super groups (ADR 0017, migration 21): any node claims a job whose lease ran out.</summary>
public sealed partial class PostgresMessageStore : IBulkMemberJobStore
{
    private const string BulkJobColumns = "job_id, group_id, state, total, chunks, next_chunk, processed, changed, error, started_at, finished_at";

    /// <inheritdoc />
    public async Task AddBulkJobAsync(BulkMemberJob job, IReadOnlyList<BulkMemberChunk> chunks, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(chunks);

        // One statement: the job is never seen without all its chunks.
        await _database.ExecuteAsync(
            """
            WITH job AS (
                INSERT INTO bulk_member_jobs (job_id, group_id, state, total, chunks, started_at) VALUES ($1, $2, 0, $3, $4, $5)
            )
            INSERT INTO bulk_member_job_chunks (job_id, chunk, remove, user_ids)
            SELECT $1, c.chunk, c.remove, c.user_ids FROM unnest($6::integer[], $7::boolean[], $8::text[]) AS c(chunk, remove, user_ids);
            """,
            cancellationToken,
            P(job.JobId),
            P(job.GroupId),
            P(job.Total),
            P(chunks.Count),
            P(job.StartedAt),
            P(chunks.Select(c => c.Index).ToArray()),
            P(chunks.Select(c => c.Remove).ToArray()),
            P(chunks.Select(c => string.Join('\n', c.UserIds)).ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<BulkMemberJob?> GetBulkJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync($"SELECT {BulkJobColumns} FROM bulk_member_jobs WHERE job_id = $1;", ReadBulkJob, cancellationToken, P(jobId)).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public async Task<BulkMemberJob?> ClaimBulkJobAsync(string owner, long now, long leaseUntil, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            $"""
            UPDATE bulk_member_jobs SET owner = $1, lease_until = $2
            WHERE job_id = (SELECT job_id FROM bulk_member_jobs WHERE state = 0 AND lease_until < $3 ORDER BY started_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING {BulkJobColumns};
            """,
            ReadBulkJob,
            cancellationToken,
            P(owner),
            P(leaseUntil),
            P(now)).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public async Task<BulkMemberChunk?> GetBulkJobChunkAsync(string jobId, int index, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT chunk, remove, user_ids FROM bulk_member_job_chunks WHERE job_id = $1 AND chunk = $2;",
            r => new BulkMemberChunk(r.GetInt32(0), r.GetBoolean(1), r.GetString(2).Split('\n', StringSplitOptions.RemoveEmptyEntries)),
            cancellationToken,
            P(jobId),
            P(index)).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public async Task<bool> AdvanceBulkJobAsync(string jobId, string owner, int nextChunk, int processed, int changed, long leaseUntil, CancellationToken cancellationToken = default)
    {
        // One statement: the progress and the drop of the done chunks commit together.
        var rows = await _database.QueryAsync(
            """
            WITH advanced AS (
                UPDATE bulk_member_jobs SET next_chunk = $3, processed = $4, changed = $5, lease_until = $6
                WHERE job_id = $1 AND owner = $2 AND state = 0
                RETURNING job_id
            ), dropped AS (
                DELETE FROM bulk_member_job_chunks WHERE job_id IN (SELECT job_id FROM advanced) AND chunk < $3
            )
            SELECT COUNT(*) FROM advanced;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(jobId),
            P(owner),
            P(nextChunk),
            P(processed),
            P(changed),
            P(leaseUntil)).ConfigureAwait(false);
        return rows[0] == 1;
    }

    /// <inheritdoc />
    public async Task<bool> FinishBulkJobAsync(string jobId, string owner, BulkMemberJobState state, string? error, long finishedAt, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            """
            WITH finished AS (
                UPDATE bulk_member_jobs SET state = $3, error = $4, finished_at = $5, owner = '', lease_until = 0
                WHERE job_id = $1 AND owner = $2 AND state = 0
                RETURNING job_id
            ), dropped AS (
                DELETE FROM bulk_member_job_chunks WHERE job_id IN (SELECT job_id FROM finished)
            )
            SELECT COUNT(*) FROM finished;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(jobId),
            P(owner),
            P((int)state),
            Text(error),
            P(finishedAt)).ConfigureAwait(false);
        return rows[0] == 1;
    }

    /// <inheritdoc />
    public async Task ReleaseBulkJobsAsync(string owner, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("UPDATE bulk_member_jobs SET owner = '', lease_until = 0 WHERE owner = $1 AND state = 0;", cancellationToken, P(owner)).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<int> DeleteFinishedBulkJobsAsync(long finishedBefore, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("DELETE FROM bulk_member_jobs WHERE state <> 0 AND finished_at < $1;", cancellationToken, P(finishedBefore));

    private static BulkMemberJob ReadBulkJob(NpgsqlDataReader r) => new(
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
