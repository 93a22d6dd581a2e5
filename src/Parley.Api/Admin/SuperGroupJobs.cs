using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Core;

namespace Parley.Api.Admin;

/// <summary>The state of a bulk membership job, as <c>GET /admin/v1/groups/jobs/{id}</c> shows it.</summary>
/// <param name="State">running, completed or failed.</param>
/// <param name="Processed">User ids handled so far (of <paramref name="Total"/>).</param>
/// <param name="Changed">Members actually added or removed (the others were already in, or out).</param>
public sealed record BulkJobStatus(string JobId, string GroupId, string State, int Total, int Processed, int Changed, string? Error, long StartedAt, long FinishedAt);

/// <summary>
/// Runs bulk membership jobs of super groups: chunks of up to <see cref="ChunkSize"/> users, each one call through the
/// group service (the join hook asks about an added chunk) and one grain commit of the chunk's member rows with one
/// summary notice, so a 100,000-member import is 100 commits and the progress is exact.
/// Jobs are durable (ADR 0017 amendment; <see cref="IBulkMemberJobStore"/>): a job is stored with all its chunks before
/// the request is answered, any node claims a job whose lease ran out, records each finished chunk with its lease
/// renewed, and a shutdown gives its job up. A job cut by a crash is taken over once its lease ran out and resumes at the
/// first chunk not recorded as done; that chunk may have committed already, and running it again changes nothing (users
/// already in, or out, are skipped), so every member is added (or removed) exactly once.
/// With a store that packs super-group members beside a row delta (<see cref="ISuperGroupCompaction"/>, ADR 0021), a job
/// compacts its group after each chunk whenever the delta reached the store's bound (so an import never leaves a large row
/// table behind), and an idle node compacts, one group at a time, the groups whose delta reached the bound
/// (<see cref="AdminOptions.MemberCompactionInterval"/>).
/// </summary>
public sealed partial class SuperGroupJobs(
    Parley.Core.Groups.GroupService groupService,
    IGroupStore groups,
    IBulkMemberJobStore store,
    IOptions<AdminOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<SuperGroupJobs> logger,
    ISuperGroupCompaction? compaction = null) : BackgroundService
{
    public const int ChunkSize = 1000;

    // How long an ended job stays readable through GET .../jobs/{id}.
    private static readonly TimeSpan Keep = TimeSpan.FromDays(1);

    // Wakes the loop when this node stored a job (others' jobs and expired leases are found by polling).
    private readonly Channel<bool> _queued = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    // Unexpected failures per job chunk on this node: a chunk that keeps throwing fails its job instead of looping.
    private readonly Dictionary<(string JobId, int Chunk), int> _attempts = [];

    // This process's name on the job it holds.
    private readonly string _owner = "bulk-" + Guid.NewGuid().ToString("N");

    private long _nextSweep;

    private long _nextCompaction;

    private TimeSpan Lease => options.Value.BulkJobLease;

    /// <summary>
    /// Stores the job with its chunks (durable before the request is answered) and wakes this node's loop. Each list's ids are
    /// cut into chunks sorted (ordinal) and without duplicates, so <c>total</c> counts distinct ids.
    /// </summary>
    public async Task<BulkJobStatus> SubmitAsync(GroupRecord group, string[] add, string[] remove, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);

        // Each list once per id, in ordinal order: the order of a super group's packed pages (PostgreSQL's "C" collation;
        // user ids are ASCII). A chunk then holds neighbouring ids, so its span covers the last few pages of the group and
        // the store writes it straight into them (ADR 0021, stop 34: at most MemberImportPages); in the request's order a
        // chunk of a large group spans all its pages and goes to rows, whose B-tree entries stay after the compaction.
        add = Ordered(add);
        remove = Ordered(remove);
        var size = Math.Clamp(options.Value.BulkJobChunkSize, 1, ChunkSize);
        var chunks = new List<BulkMemberChunk>();
        foreach (var (ids, removing) in new[] { (add, false), (remove, true) })
        {
            for (var i = 0; i < ids.Length; i += size)
            {
                chunks.Add(new BulkMemberChunk(chunks.Count, removing, ids[i..Math.Min(ids.Length, i + size)]));
            }
        }

        var job = new BulkMemberJob(Guid.NewGuid().ToString("N"), group.GroupId, BulkMemberJobState.Running, add.Length + remove.Length, chunks.Count, 0, 0, 0, null, Now(), 0);
        await store.AddBulkJobAsync(job, chunks, cancellationToken).ConfigureAwait(false);
        _queued.Writer.TryWrite(true);
        return Status(job);
    }

    private static string[] Ordered(string[] ids)
    {
        var distinct = ids.Distinct(StringComparer.Ordinal).ToArray();
        Array.Sort(distinct, StringComparer.Ordinal);
        return distinct;
    }

    /// <summary>The job as any node sees it (the store's row), or null.</summary>
    public async Task<BulkJobStatus?> GetAsync(string jobId, CancellationToken cancellationToken = default) =>
        await store.GetBulkJobAsync(jobId, cancellationToken).ConfigureAwait(false) is { } job ? Status(job) : null;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromTicks(Math.Clamp(Lease.Ticks / 4, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(15).Ticks));
        try
        {
            // The silo and the stores are ready once the host has started.
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                BulkMemberJob? job = null;
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                    var now = time.GetUtcNow();
                    job = await store.ClaimBulkJobAsync(_owner, now.ToUnixTimeMilliseconds(), (now + Lease).ToUnixTimeMilliseconds(), stoppingToken).ConfigureAwait(false);
                    if (job is not null)
                    {
                        await RunAsync(job, stoppingToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await CompactDueGroupsAsync(stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogQueueFailed(logger, ex);
                }

                if (job is null)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(poll);
                    try
                    {
                        await _queued.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        // The poll interval passed.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: StopAsync gives this node's job up; its progress stays for the next owner.
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await store.ReleaseBulkJobsAsync(_owner, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Its lease runs out instead.
            LogQueueFailed(logger, ex);
        }
    }

    /// <summary>Works a claimed job chunk by chunk from its first chunk not done; ends it after the last one.</summary>
    private async Task RunAsync(BulkMemberJob job, CancellationToken cancellationToken)
    {
        var (next, processed, changed) = (job.NextChunk, job.Processed, job.Changed);
        if (next > 0)
        {
            LogJobResumed(logger, job.JobId, job.GroupId, next, job.Chunks);
        }

        try
        {
            while (next < job.Chunks)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chunk = await store.GetBulkJobChunkAsync(job.JobId, next, cancellationToken).ConfigureAwait(false)
                    ?? throw new BulkJobException($"Chunk {next} of the job is missing.");
                var group = await groups.GetGroupAsync(job.GroupId, cancellationToken).ConfigureAwait(false)
                    ?? throw new BulkJobException("The group no longer exists.");
                var result = await groupService.BulkMembersAsync(group, [.. chunk.UserIds], chunk.Remove).ConfigureAwait(false);
                if (!result.IsOk && result.Failure.Error != CoreError.Conflict)
                {
                    // Conflict: everyone of the chunk was already in (or out), e.g. the chunk a crash cut after its commit:
                    // progress, not failure.
                    throw new BulkJobException(result.Failure.Message);
                }

                processed += chunk.UserIds.Count;
                changed += result.IsOk ? result.Value : 0;
                next++;
                if (!await store.AdvanceBulkJobAsync(job.JobId, _owner, next, processed, changed, (time.GetUtcNow() + Lease).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
                {
                    LogJobLost(logger, job.JobId, job.GroupId);
                    return; // the lease ran out and another node took the job over
                }

                // The group's delta kept within the bound between chunks (ADR 0021); the lease renewed after it.
                if (await CompactAsync(group.ConversationId, cancellationToken).ConfigureAwait(false) > 0
                    && !await store.AdvanceBulkJobAsync(job.JobId, _owner, next, processed, changed, (time.GetUtcNow() + Lease).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
                {
                    LogJobLost(logger, job.JobId, job.GroupId);
                    return;
                }

                if (options.Value.BulkJobChunkInterval > TimeSpan.Zero && next < job.Chunks)
                {
                    await Task.Delay(options.Value.BulkJobChunkInterval, time, cancellationToken).ConfigureAwait(false);
                }
            }

            await store.FinishBulkJobAsync(job.JobId, _owner, BulkMemberJobState.Completed, null, Now(), cancellationToken).ConfigureAwait(false);
            LogJobCompleted(logger, job.JobId, job.GroupId, changed);
        }
        catch (BulkJobException ex)
        {
            await store.FinishBulkJobAsync(job.JobId, _owner, BulkMemberJobState.Failed, ex.Message, Now(), cancellationToken).ConfigureAwait(false);
            LogJobFailed(logger, job.JobId, job.GroupId, processed, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // An infrastructure failure (a store or grain call): left to its lease and taken again from this chunk, on this
            // node or another; a chunk that fails this way three times here fails the job.
            var key = (job.JobId, next);
            var attempts = _attempts[key] = _attempts.GetValueOrDefault(key) + 1;
            LogJobInterrupted(logger, ex, job.JobId, job.GroupId, next, attempts);
            if (attempts >= 3)
            {
                _attempts.Remove(key);
                await store.FinishBulkJobAsync(job.JobId, _owner, BulkMemberJobState.Failed, "The job stopped: " + ex.GetType().Name, Now(), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // A super group's compaction when its delta reached the bound; a failure is logged and left to the next call (the
    // members stay correct in rows; only their bytes wait).
    private async Task<int> CompactAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (compaction is null)
        {
            return 0;
        }

        try
        {
            return await compaction.CompactSuperGroupIfDueAsync(conversationId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            LogCompactionFailed(logger, ex, conversationId);
            return 0;
        }
    }

    // Idle: the groups whose delta reached the bound, compacted one at a time (a group another node is compacting is
    // skipped by the store).
    private async Task CompactDueGroupsAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        if (compaction is null || options.Value.MemberCompactionInterval <= TimeSpan.Zero || now < _nextCompaction)
        {
            return;
        }

        _nextCompaction = now + (long)options.Value.MemberCompactionInterval.TotalMilliseconds;
        foreach (var conversationId in await compaction.GetSuperGroupsDueForCompactionAsync(16, cancellationToken).ConfigureAwait(false))
        {
            var moved = await CompactAsync(conversationId, cancellationToken).ConfigureAwait(false);
            if (moved > 0)
            {
                LogCompacted(logger, conversationId, moved);
            }
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        await store.DeleteFinishedBulkJobsAsync(now - (long)Keep.TotalMilliseconds, cancellationToken).ConfigureAwait(false);
    }

    private static BulkJobStatus Status(BulkMemberJob job) => new(
        job.JobId,
        job.GroupId,
        job.State switch
        {
            BulkMemberJobState.Completed => "completed",
            BulkMemberJobState.Failed => "failed",
            _ => "running",
        },
        job.Total,
        job.Processed,
        job.Changed,
        job.Error,
        job.StartedAt,
        job.FinishedAt);

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    [LoggerMessage(EventId = 5401, Level = LogLevel.Information, Message = "Bulk membership job {JobId} of group {GroupId} completed: {Changed} members changed")]
    private static partial void LogJobCompleted(ILogger logger, string jobId, string groupId, int changed);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Warning, Message = "Bulk membership job {JobId} of group {GroupId} failed after {Processed} users: {Reason}")]
    private static partial void LogJobFailed(ILogger logger, string jobId, string groupId, int processed, string reason);

    [LoggerMessage(EventId = 5403, Level = LogLevel.Information, Message = "Bulk membership job {JobId} of group {GroupId} resumed at chunk {Chunk} of {Chunks}")]
    private static partial void LogJobResumed(ILogger logger, string jobId, string groupId, int chunk, int chunks);

    [LoggerMessage(EventId = 5404, Level = LogLevel.Warning, Message = "Bulk membership job {JobId} of group {GroupId} was taken over by another node (its lease ran out)")]
    private static partial void LogJobLost(ILogger logger, string jobId, string groupId);

    [LoggerMessage(EventId = 5405, Level = LogLevel.Warning, Message = "Bulk membership job {JobId} of group {GroupId} was interrupted at chunk {Chunk} (attempt {Attempt}); it is taken again after its lease")]
    private static partial void LogJobInterrupted(ILogger logger, Exception exception, string jobId, string groupId, int chunk, int attempt);

    [LoggerMessage(EventId = 5406, Level = LogLevel.Error, Message = "The bulk membership job queue could not be read")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2220, Level = LogLevel.Information, Message = "Super group {ConversationId} compacted in the background: {Rows} member rows moved into its pages")]
    private static partial void LogCompacted(ILogger logger, string conversationId, int rows);

    [LoggerMessage(EventId = 2221, Level = LogLevel.Warning, Message = "Compaction of super group {ConversationId} failed; it is tried again later")]
    private static partial void LogCompactionFailed(ILogger logger, Exception exception, string conversationId);

    private sealed class BulkJobException(string message) : Exception(message);
}
