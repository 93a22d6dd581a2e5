using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Messaging;
using Parley.Core.Telemetry;
using Parley.Push;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using PushCategory = Parley.Abstractions.Push.PushCategory;

namespace Parley.Hosting.Push;

/// <summary>
/// Push for read-diffusion groups (ADR 0017, docs/push.md §8): never "everyone" per message. On the dispatch loop a
/// message costs O(addressed users): its mentions and the author of the message it replies to are pushed at once
/// (checked against the store's member rows first); @all (owners and admins, rate-limited by the grain) is queued as a
/// durable job, a chunked, paced fan-out over the member pages; every other message only marks its group for the next
/// digest round, which pushes "N new messages" once per interval to members with unread messages. Both kinds of job are
/// rows of the store's queue (<see cref="ISuperGroupPushJobStore"/>) with a lease and a member cursor: a job cut by a
/// restart, a crash or a node's death resumes after its last finished page, on this node or any other.
/// </summary>
internal sealed partial class PushBridge
{
    // Wakes the @all loop when this node queued a job (others' jobs and expired leases are found by polling).
    private readonly Channel<bool> _mentionAllQueued = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    // Groups that got user messages since the last digest round: O(1) per message, one entry per group; written to the
    // job queue at each round (and at shutdown).
    private readonly ConcurrentDictionary<string, DigestRound> _digests = new(StringComparer.Ordinal);

    // This process's name on the jobs it holds.
    private readonly string _jobOwner = "push-" + Guid.NewGuid().ToString("N");

    private Task? _superLoops;

    private TimeSpan JobLease => options.Value.SuperGroupFanOutLease > TimeSpan.Zero ? options.Value.SuperGroupFanOutLease : TimeSpan.FromMinutes(1);

    private int ChunkSize => Math.Clamp(options.Value.SuperGroupFanOutChunkSize, 1, 500);

    public void OnReadDiffusionMessageCommitted(StoredMessage message, string conversationName, string? replyRootSenderId)
    {
        if (!_enabled || !Parley.Protocol.ContentKinds.IsUserContent(message.ContentKind))
        {
            return;
        }

        if (options.Value.SuperGroupDigestInterval > TimeSpan.Zero)
        {
            _digests.AddOrUpdate(
                message.ConversationId,
                static (_, arg) => new DigestRound(arg.Name, arg.Seq),
                static (_, round, arg) => new DigestRound(arg.Name, Math.Max(round.LastSeq, arg.Seq)),
                (Name: conversationName, message.Seq));
        }

        var trace = ParleyActivities.CurrentContext();
        var addressed = new HashSet<string>(message.MentionedUserIds ?? [], StringComparer.Ordinal);
        HashSet<string>? replied = null;
        if (!string.IsNullOrEmpty(replyRootSenderId) && addressed.Add(replyRootSenderId))
        {
            replied = [replyRootSenderId];
        }

        addressed.Remove(message.SenderId);
        if (addressed.Count > 0)
        {
            var targets = addressed.Select(u => (u, sessions.ForegroundDevices(u))).ToList();
            if (!_queue.Writer.TryWrite(new Job(message, targets, ConversationKind.Group, conversationName, trace) { Addressed = replied, VerifyMembership = true }))
            {
                LogDropped(logger, message.ConversationId);
            }
        }

        if (message.MentionAll)
        {
            _ = QueueMentionAllAsync(message, conversationName);
        }
    }

    // Off the dispatch loop: the insert is the store's, the loop is woken when it is done.
    private async Task QueueMentionAllAsync(StoredMessage message, string conversationName)
    {
        try
        {
            await Task.Yield();
            await superJobs.AddMentionAllAsync(message.ConversationId, message.Seq, conversationName, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
            _mentionAllQueued.Writer.TryWrite(true);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFanOutDropped(logger, ex, message.ConversationId);
        }
    }

    private Task StartSuperGroupLoops(CancellationToken stoppingToken) =>
        Task.WhenAll(MentionAllLoopAsync(stoppingToken), DigestLoopAsync(stoppingToken));

    private async Task MentionAllLoopAsync(CancellationToken stoppingToken)
    {
        // Jobs of a dead node (or of this one before a restart) are found once their lease ran out.
        var poll = TimeSpan.FromTicks(Math.Clamp(JobLease.Ticks / 4, TimeSpan.FromMilliseconds(500).Ticks, TimeSpan.FromSeconds(15).Ticks));
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                IReadOnlyList<SuperGroupPushJob> jobs = [];
                try
                {
                    jobs = await ClaimAsync(SuperGroupPushJobKind.MentionAll, 4, stoppingToken).ConfigureAwait(false);
                    foreach (var job in jobs)
                    {
                        await RunJobAsync(job, MentionAllAsync, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFanOutFailed(logger, ex, "(queue)");
                }

                if (jobs.Count == 0)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(poll);
                    try
                    {
                        await _mentionAllQueued.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
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
            // Shutting down: StopAsync gives this node's jobs up; their progress stays for the next owner.
        }
    }

    private Task<IReadOnlyList<SuperGroupPushJob>> ClaimAsync(SuperGroupPushJobKind kind, int limit, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return superJobs.ClaimAsync(kind, _jobOwner, now.ToUnixTimeMilliseconds(), (now + JobLease).ToUnixTimeMilliseconds(), limit, cancellationToken);
    }

    /// <summary>Runs one claimed job a page at a time from its cursor; ends it when the last page is done.</summary>
    private async Task RunJobAsync(SuperGroupPushJob job, Func<SuperGroupPushJob, string, CancellationToken, Task<string?>> page, CancellationToken cancellationToken)
    {
        var after = job.After;
        try
        {
            while (true)
            {
                var next = await page(job, after, cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    await superJobs.CompleteAsync(job.JobId, _jobOwner, job.Seq, cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (!await superJobs.AdvanceAsync(job.JobId, _jobOwner, next, (time.GetUtcNow() + JobLease).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
                {
                    return; // the lease ran out and another owner took the job over
                }

                after = next;
                await PauseAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Left to its lease: it is taken again (from its last finished page) once the lease runs out.
            LogFanOutFailed(logger, ex, job.ConversationId);
        }
    }

    /// <summary>
    /// One page of an @all message's fan-out: the page's members who may see it (one pipeline submission, paced by
    /// <see cref="PushBridgeOptions.SuperGroupFanOutChunkInterval"/> between pages). Submitting a page again (a job
    /// resumed after a crash) is idempotent: push ids derive from message, user and device, so nobody is pushed twice.
    /// Returns the next page's cursor, or null after the last page.
    /// </summary>
    private async Task<string?> MentionAllAsync(SuperGroupPushJob job, string after, CancellationToken cancellationToken)
    {
        if (await messages.GetMessageAsync(job.ConversationId, job.Seq, cancellationToken).ConfigureAwait(false) is not { Revoked: false } m)
        {
            return null; // revoked (or erased) before its fan-out ended: nothing more to push
        }

        var page = await superGroups.SearchMembersAsync(m.ConversationId, new MemberQuery(string.Empty, MemberRole.Member, after, ChunkSize), cancellationToken).ConfigureAwait(false);
        var targets = page.Members
            .Where(member => member.Active && member.VisibleFrom <= m.Seq && member.UserId != m.SenderId)
            .Select(member => (member.UserId, sessions.ForegroundDevices(member.UserId)))
            .ToList();
        if (targets.Count > 0)
        {
            await SubmitAsync(new Job(m, targets, ConversationKind.Group, job.Name, default), cancellationToken).ConfigureAwait(false);
        }

        return page.NextAfter;
    }

    private async Task DigestLoopAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SuperGroupDigestInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await QueueDigestsAsync(stoppingToken).ConfigureAwait(false);

                    // This round's groups, and rounds a restart or a dead node left unfinished (their lease ran out).
                    IReadOnlyList<SuperGroupPushJob> jobs;
                    do
                    {
                        jobs = await ClaimAsync(SuperGroupPushJobKind.Digest, 32, stoppingToken).ConfigureAwait(false);
                        foreach (var job in jobs)
                        {
                            await RunJobAsync(job, DigestAsync, stoppingToken).ConfigureAwait(false);
                        }
                    }
                    while (jobs.Count > 0);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFanOutFailed(logger, ex, "(digest queue)");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: StopAsync queues the marks of this round and gives this node's jobs up.
        }
    }

    /// <summary>Writes the groups marked since the last round into the job queue (a group already queued keeps one job).</summary>
    private async Task QueueDigestsAsync(CancellationToken cancellationToken)
    {
        var marks = new List<SuperGroupDigestMark>();
        foreach (var conversationId in _digests.Keys.ToArray())
        {
            if (_digests.TryRemove(conversationId, out var round))
            {
                marks.Add(new SuperGroupDigestMark(conversationId, round.LastSeq, round.Name));
            }
        }

        try
        {
            await superJobs.AddDigestsAsync(marks, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not queued: the marks wait for the next round.
            foreach (var mark in marks)
            {
                _digests.AddOrUpdate(
                    mark.ConversationId,
                    static (_, arg) => new DigestRound(arg.Name, arg.Seq),
                    static (_, round, arg) => new DigestRound(arg.Name, Math.Max(round.LastSeq, arg.Seq)),
                    (mark.Name, mark.Seq));
            }

            throw;
        }
    }

    /// <summary>Shutdown: this round's marks go into the queue and this node's jobs are given up (their progress stays).</summary>
    private async Task StopSuperGroupJobsAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (options.Value.SuperGroupDigestInterval > TimeSpan.Zero)
            {
                await QueueDigestsAsync(cancellationToken).ConfigureAwait(false);
            }

            await superJobs.ReleaseAsync(_jobOwner, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Their leases run out instead.
            LogFanOutFailed(logger, ex, "(shutdown)");
        }
    }

    /// <summary>
    /// One digest round of a group: every member with a push device and unread messages gets one push
    /// "N new messages" (N = the member's unread count in the group), with the group as title and collapse key. The push
    /// id derives from the group's newest seq of the round, so a round is pushed at most once per device.
    /// Mute, mentions-only, do-not-disturb, privacy, quotas and the funnel are the pipeline's, as for every IM push.
    /// </summary>
    private async Task<string?> DigestAsync(SuperGroupPushJob job, string after, CancellationToken cancellationToken)
    {
        var conversationId = job.ConversationId;
        var messageId = $"digest-{conversationId}-{job.Seq}";

        // One store statement per page of members (issue 12: it was three reads per member with a device).
        var page = await superGroups.GetDigestPageAsync(conversationId, after, ChunkSize, cancellationToken).ConfigureAwait(false);
        var byCount = new SortedDictionary<long, List<PushRecipient>>();
        foreach (var member in page.Recipients)
        {
            var count = Math.Min(member.Unread, 100);
            if (!byCount.TryGetValue(count, out var list))
            {
                byCount[count] = list = [];
            }

            list.Add(new PushRecipient(member.UserId, (int)Math.Min(member.UnreadTotal, int.MaxValue))
            {
                ForegroundDeviceIds = sessions.ForegroundDevices(member.UserId).ToHashSet(StringComparer.Ordinal),
                Mode = member.Muted ? ConversationNotifyMode.Muted : member.MentionsOnly ? ConversationNotifyMode.MentionsOnly : ConversationNotifyMode.All,
                DoNotDisturb = member.DoNotDisturb,
                Privacy = (PushPrivacyMode)member.Privacy,
            });
        }

        foreach (var (count, recipients) in byCount)
        {
            var body = count >= 100 ? "99+ new messages" : count == 1 ? "1 new message" : $"{count} new messages";
            await pipeline.SubmitAsync(
                new PushRequest(messageId, conversationId, string.Empty, job.Name.Length > 0 ? job.Name : "Group", PushCategory.Im, body, recipients),
                cancellationToken).ConfigureAwait(false);
        }

        return page.NextAfter;
    }

    /// <summary>The named users who are active members of the message's group and may see it (from the store's member rows).</summary>
    private async Task<HashSet<string>> VisibleMembersAsync(StoredMessage m, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        var rows = await superGroups.GetMembersByIdsAsync(m.ConversationId, userIds, cancellationToken).ConfigureAwait(false);
        return rows.Where(r => r.Member.Active && r.Member.VisibleFrom <= m.Seq).Select(r => r.Member.UserId).ToHashSet(StringComparer.Ordinal);
    }

    private Task PauseAsync(CancellationToken cancellationToken) =>
        options.Value.SuperGroupFanOutChunkInterval > TimeSpan.Zero ? Task.Delay(options.Value.SuperGroupFanOutChunkInterval, time, cancellationToken) : Task.CompletedTask;

    /// <param name="LastSeq">The group's newest user message seen in this round.</param>
    private sealed record DigestRound(string Name, long LastSeq);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "The @all fan-out of a message in {ConversationId} could not be queued; its pushes were dropped")]
    private static partial void LogFanOutDropped(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Error, Message = "A super-group push fan-out (@all or digest) of {ConversationId} failed")]
    private static partial void LogFanOutFailed(ILogger logger, Exception exception, string conversationId);
}
