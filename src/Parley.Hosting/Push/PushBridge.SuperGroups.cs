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
/// (checked against the store's member rows first); @all (owners and admins, rate-limited by the grain) runs as a
/// chunked, paced fan-out job over the member pages; every other message only marks its group for the next digest
/// round, which pushes "N new messages" once per interval to members with unread messages.
/// </summary>
internal sealed partial class PushBridge
{
    private readonly Channel<Job> _fanOuts = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(1, options.Value.SuperGroupFanOutQueueCapacity))
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    // Groups that got user messages since the last digest round: O(1) per message, one entry per group.
    private readonly ConcurrentDictionary<string, DigestRound> _digests = new(StringComparer.Ordinal);

    private Task? _superLoops;

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

        if (message.MentionAll && !_fanOuts.Writer.TryWrite(new Job(message, [], ConversationKind.Group, conversationName, trace)))
        {
            LogFanOutDropped(logger, message.ConversationId);
        }
    }

    private Task StartSuperGroupLoops(CancellationToken stoppingToken) =>
        Task.WhenAll(ConsumeAsync(_fanOuts.Reader, MentionAllAsync, LogFanOutFailed, stoppingToken), DigestLoopAsync(stoppingToken));

    /// <summary>
    /// One @all message to every member who may see it, a page of members at a time (one pipeline submission per page,
    /// paced by <see cref="PushBridgeOptions.SuperGroupFanOutChunkInterval"/>). Resubmitting a page is idempotent
    /// (push ids derive from message, user and device), so the mentioned users' own pushes are not repeated.
    /// </summary>
    private async Task MentionAllAsync(Job job, CancellationToken cancellationToken)
    {
        var m = job.Message;
        var after = string.Empty;
        while (true)
        {
            var page = await superGroups.SearchMembersAsync(m.ConversationId, new MemberQuery(string.Empty, MemberRole.Member, after, ChunkSize), cancellationToken).ConfigureAwait(false);
            var targets = page.Members
                .Where(member => member.Active && member.VisibleFrom <= m.Seq && member.UserId != m.SenderId)
                .Select(member => (member.UserId, sessions.ForegroundDevices(member.UserId)))
                .ToList();
            if (targets.Count > 0)
            {
                await SubmitAsync(job with { Targets = targets }, cancellationToken).ConfigureAwait(false);
            }

            if (page.NextAfter is not { } next)
            {
                return;
            }

            after = next;
            await PauseAsync(cancellationToken).ConfigureAwait(false);
        }
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
                foreach (var conversationId in _digests.Keys.ToArray())
                {
                    if (!_digests.TryRemove(conversationId, out var round))
                    {
                        continue;
                    }

                    try
                    {
                        await DigestAsync(conversationId, round, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogFanOutFailed(logger, ex, conversationId);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the groups of this round get their digest with the next one after the restart's first message.
        }
    }

    /// <summary>
    /// One digest round of a group: every member with a push device and unread messages gets one push
    /// "N new messages" (N = the member's unread count in the group), with the group as title and collapse key. The push
    /// id derives from the group's newest seq of the round, so a round is pushed at most once per device.
    /// Mute, mentions-only, do-not-disturb, privacy, quotas and the funnel are the pipeline's, as for every IM push.
    /// </summary>
    private async Task DigestAsync(string conversationId, DigestRound round, CancellationToken cancellationToken)
    {
        var messageId = $"digest-{conversationId}-{round.LastSeq}";
        var after = string.Empty;
        while (true)
        {
            var page = await superGroups.SearchMembersAsync(conversationId, new MemberQuery(string.Empty, MemberRole.Member, after, ChunkSize), cancellationToken).ConfigureAwait(false);
            var ids = page.Members.Where(member => member.Active).Select(member => member.UserId).ToArray();
            var withDevices = ids.Length == 0
                ? []
                : (await devices.ListAsync(ids, cancellationToken).ConfigureAwait(false)).Select(d => d.UserId).ToHashSet(StringComparer.Ordinal);
            var byCount = new SortedDictionary<long, List<PushRecipient>>();
            foreach (var userId in withDevices)
            {
                var view = await messages.GetConversationViewAsync(userId, conversationId, cancellationToken).ConfigureAwait(false);
                if (view is null || view.Unread == 0)
                {
                    continue; // read everything (or sent the newest message) since: nothing to tell
                }

                var unread = await messages.GetUnreadTotalAsync(userId, cancellationToken).ConfigureAwait(false);
                var userSettings = await settings.GetAsync(userId, cancellationToken).ConfigureAwait(false);
                var count = Math.Min(view.Unread, 100);
                if (!byCount.TryGetValue(count, out var list))
                {
                    byCount[count] = list = [];
                }

                list.Add(new PushRecipient(userId, (int)Math.Min(unread, int.MaxValue))
                {
                    ForegroundDeviceIds = sessions.ForegroundDevices(userId).ToHashSet(StringComparer.Ordinal),
                    Mode = view.Muted ? ConversationNotifyMode.Muted : view.MentionsOnly ? ConversationNotifyMode.MentionsOnly : ConversationNotifyMode.All,
                    DoNotDisturb = userSettings.DoNotDisturb,
                    Privacy = (PushPrivacyMode)(int)userSettings.Privacy,
                });
            }

            foreach (var (count, recipients) in byCount)
            {
                var body = count >= 100 ? "99+ new messages" : count == 1 ? "1 new message" : $"{count} new messages";
                await pipeline.SubmitAsync(
                    new PushRequest(messageId, conversationId, string.Empty, round.Name.Length > 0 ? round.Name : "Group", PushCategory.Im, body, recipients),
                    cancellationToken).ConfigureAwait(false);
            }

            if (page.NextAfter is not { } next)
            {
                return;
            }

            after = next;
            await PauseAsync(cancellationToken).ConfigureAwait(false);
        }
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

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Super-group fan-out queue full: the @all pushes of a message in {ConversationId} were dropped")]
    private static partial void LogFanOutDropped(ILogger logger, string conversationId);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Error, Message = "A super-group push fan-out (@all or digest) of {ConversationId} failed")]
    private static partial void LogFanOutFailed(ILogger logger, Exception exception, string conversationId);
}
