using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Messaging;
using Parley.Core;

namespace Parley.Api.Admin;

/// <summary>The state of a bulk membership job, as <c>GET /admin/v1/groups/jobs/{id}</c> shows it.</summary>
/// <param name="State">running, completed or failed.</param>
/// <param name="Processed">User ids handled so far (of <paramref name="Total"/>).</param>
/// <param name="Changed">Members actually added or removed (the others were already in, or out).</param>
public sealed record BulkJobStatus(string JobId, string GroupId, string State, int Total, int Processed, int Changed, string? Error, long StartedAt, long FinishedAt);

/// <summary>
/// Runs bulk membership jobs of super groups: chunks of <see cref="ChunkSize"/> users, each one grain call that commits
/// the chunk's member rows with one summary notice, so a 100,000-member import is 100 commits and the progress is exact.
/// Jobs live in this node's memory (an hour after they end); a job interrupted by a restart stops where its last chunk
/// committed and can be submitted again (users already in are skipped).
/// </summary>
public sealed partial class SuperGroupJobs(Parley.Core.Groups.GroupService groupService, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<SuperGroupJobs> logger)
{
    public const int ChunkSize = 1000;
    private static readonly TimeSpan Keep = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, BulkJobStatus> _jobs = new(StringComparer.Ordinal);

    public BulkJobStatus Start(GroupRecord group, string[] add, string[] remove)
    {
        Sweep();
        var id = Guid.NewGuid().ToString("N");
        var status = new BulkJobStatus(id, group.GroupId, "running", add.Length + remove.Length, 0, 0, null, Now(), 0);
        _jobs[id] = status;
        _ = Task.Run(() => RunAsync(status, group, add, remove));
        return status;
    }

    public BulkJobStatus? Get(string jobId) => _jobs.GetValueOrDefault(jobId);

    private async Task RunAsync(BulkJobStatus status, GroupRecord group, string[] add, string[] remove)
    {
        try
        {
            foreach (var (ids, removing) in new[] { (add, false), (remove, true) })
            {
                for (var i = 0; i < ids.Length; i += ChunkSize)
                {
                    lifetime.ApplicationStopping.ThrowIfCancellationRequested();
                    var chunk = ids[i..Math.Min(ids.Length, i + ChunkSize)];
                    var result = await groupService.BulkMembersAsync(group, chunk, removing).ConfigureAwait(false);
                    var changed = result.IsOk ? result.Value : 0;
                    if (!result.IsOk && result.Failure.Error != CoreError.Conflict)
                    {
                        // Conflict: everyone of the chunk was already in (or out): progress, not failure.
                        throw new BulkJobException(result.Failure.Message);
                    }

                    status = status with { Processed = status.Processed + chunk.Length, Changed = status.Changed + changed };
                    _jobs[status.JobId] = status;
                }
            }

            _jobs[status.JobId] = status with { State = "completed", FinishedAt = Now() };
            LogJobCompleted(logger, status.JobId, status.GroupId, status.Changed);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _jobs[status.JobId] = status with { State = "failed", Error = ex is BulkJobException ? ex.Message : "The job stopped: " + ex.GetType().Name, FinishedAt = Now() };
            LogJobFailed(logger, ex, status.JobId, status.GroupId, status.Processed);
        }
    }

    private void Sweep()
    {
        var cutoff = Now() - (long)Keep.TotalMilliseconds;
        foreach (var (id, job) in _jobs)
        {
            if (job.FinishedAt > 0 && job.FinishedAt < cutoff)
            {
                _jobs.TryRemove(id, out _);
            }
        }
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    [LoggerMessage(EventId = 5401, Level = LogLevel.Information, Message = "Bulk membership job {JobId} of group {GroupId} completed: {Changed} members changed")]
    private static partial void LogJobCompleted(ILogger logger, string jobId, string groupId, int changed);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Warning, Message = "Bulk membership job {JobId} of group {GroupId} failed after {Processed} users")]
    private static partial void LogJobFailed(ILogger logger, Exception exception, string jobId, string groupId, int processed);

    private sealed class BulkJobException(string message) : Exception(message);
}
