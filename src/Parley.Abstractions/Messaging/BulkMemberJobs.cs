namespace Parley.Abstractions.Messaging;

/// <summary>Where a bulk membership job is. Values are stored; never renumber.</summary>
public enum BulkMemberJobState
{
    Running = 0,
    Completed = 1,
    Failed = 2,
}

/// <summary>
/// A super group's bulk membership job (ADR 0017, admin API <c>POST /admin/v1/groups/{id}/members/bulk</c>): its user ids
/// in numbered chunks, worked in order by whichever node holds its lease. <see cref="NextChunk"/> is the first chunk not
/// yet recorded as done, so a job taken over after a crash or a restart resumes there (a chunk that committed but was not
/// recorded runs again and changes nothing: users already in, or out, are skipped).
/// </summary>
/// <param name="Total">User ids of the job (every chunk).</param>
/// <param name="Processed">User ids of the chunks done.</param>
/// <param name="Changed">Members added or removed by the chunks done.</param>
public sealed record BulkMemberJob(
    string JobId,
    string GroupId,
    BulkMemberJobState State,
    int Total,
    int Chunks,
    int NextChunk,
    int Processed,
    int Changed,
    string? Error,
    long StartedAt,
    long FinishedAt);

/// <summary>One chunk of a bulk job: up to a thousand user ids, to add or to remove.</summary>
public sealed record BulkMemberChunk(int Index, bool Remove, IReadOnlyList<string> UserIds);

/// <summary>The durable queue of bulk membership jobs. Implemented by the message stores (same storage as the members).</summary>
public interface IBulkMemberJobStore
{
    /// <summary>Stores a new running job with all its chunks, owned by nobody (any node may claim it at once).</summary>
    Task AddBulkJobAsync(BulkMemberJob job, IReadOnlyList<BulkMemberChunk> chunks, CancellationToken cancellationToken = default);

    /// <summary>The job, or null when there is none (or it ended long ago and was swept).</summary>
    Task<BulkMemberJob?> GetBulkJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the oldest running job whose lease ran out (or that was never taken) for <paramref name="owner"/> until
    /// <paramref name="leaseUntil"/>; no two owners get the same job. Null when there is none.
    /// </summary>
    Task<BulkMemberJob?> ClaimBulkJobAsync(string owner, long now, long leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>The chunk <paramref name="index"/> of a job, or null when it is not stored (done, or no such chunk).</summary>
    Task<BulkMemberChunk?> GetBulkJobChunkAsync(string jobId, int index, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that the chunks before <paramref name="nextChunk"/> are done, with the job's totals, and renews the lease;
    /// drops the done chunks' ids. False when the job is no longer the owner's (its lease ran out and it was taken over).
    /// </summary>
    Task<bool> AdvanceBulkJobAsync(string jobId, string owner, int nextChunk, int processed, int changed, long leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>Ends the owner's job as completed or failed and drops its remaining chunks; false when it is not the owner's.</summary>
    Task<bool> FinishBulkJobAsync(string jobId, string owner, BulkMemberJobState state, string? error, long finishedAt, CancellationToken cancellationToken = default);

    /// <summary>Gives the owner's running jobs up at once (a shutdown), keeping their progress.</summary>
    Task ReleaseBulkJobsAsync(string owner, CancellationToken cancellationToken = default);

    /// <summary>Deletes jobs that ended before <paramref name="finishedBefore"/>; the number deleted.</summary>
    Task<int> DeleteFinishedBulkJobsAsync(long finishedBefore, CancellationToken cancellationToken = default);
}
