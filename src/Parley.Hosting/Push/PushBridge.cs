using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Core;
using Parley.Core.Push;
using Parley.Core.Sessions;
using Parley.Core.Telemetry;
using Parley.Protocol.V1;
using Parley.Push;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using PushVendor = Parley.Abstractions.Push.PushVendor;

namespace Parley.Hosting.Push;

/// <summary>Bridge settings, bound to <c>Parley:Push</c> next to the pipeline's own options.</summary>
public sealed class PushBridgeOptions
{
    /// <summary>Groups larger than this are not pushed per message (super groups need mentions; see docs/push.md).</summary>
    public int MaxGroupMembersPushed { get; set; } = 200;

    /// <summary>
    /// Super groups (read diffusion): how often a member with unread messages that pushed nothing gets one digest push
    /// per group ("N new messages in G"). Zero: no digests (mentions, @all and replies are still pushed).
    /// </summary>
    public TimeSpan SuperGroupDigestInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Members per chunk of a super-group fan-out (an @all push or a digest round), 1..500 (one store page).</summary>
    public int SuperGroupFanOutChunkSize { get; set; } = 500;

    /// <summary>Pause between two chunks of a super-group fan-out (its rate limit: 500 per 100 ms = 5,000 members/s).</summary>
    public TimeSpan SuperGroupFanOutChunkInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Lease of a super-group push job (an @all fan-out or a digest round; durable in the store): renewed with every
    /// page; a job whose holder died (or restarted without giving it up) is taken over, from its last finished page,
    /// once it runs out.
    /// </summary>
    public TimeSpan SuperGroupFanOutLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Committed messages waiting for the pipeline; beyond it pushes are dropped (counted), never the messages.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Characters of text in a push preview.</summary>
    public int PreviewLength { get; set; } = 80;

    /// <summary>How often devices' last-seen times, coalesced in memory, are written (one batch per flush, and on shutdown).</summary>
    public TimeSpan LastSeenFlushInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Connects the messaging core to the push pipeline: after live delivery, every committed chat message goes to the
/// pipeline for the recipients' devices that have no foreground connection (a background app counts as offline).
/// Also serves device registration and arrival/click reports for the gateway. Storage is the truth: a push is a hint.
/// </summary>
internal sealed partial class PushBridge(
    PushPipeline pipeline,
    IDeviceStore devices,
    IPushJournal journal,
    IMessageStore messages,
    ISuperGroupStore superGroups,
    ISuperGroupPushJobStore superJobs,
    IAccountStore accounts,
    Parley.Abstractions.Business.INotificationAccountStore notificationAccounts,
    IPushSettingsStore settings,
    ISessionControl sessions,
    IOptions<PushBridgeOptions> options,
    IEnumerable<Parley.Push.Vendors.IPushVendorAdapter> vendors,
    TimeProvider time,
    ILogger<PushBridge> logger) : BackgroundService, IMessageCommittedObserver, IPushClientApi
{
    // With no vendor configured there is nothing to push to: the message path pays nothing.
    private readonly bool _enabled = vendors.Any();

    private readonly DeviceLastSeenBuffer _lastSeen = new(devices);
    private Task? _lastSeenLoop;

    private readonly Channel<Job> _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(16, options.Value.QueueCapacity))
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public void OnMessageCommitted(StoredMessage message, IReadOnlyList<string> recipients, ConversationKind kind, string conversationName)
    {
        if (!_enabled || !Parley.Protocol.ContentKinds.IsUserContent(message.ContentKind))
        {
            return;
        }

        if (kind == ConversationKind.Group && recipients.Count > options.Value.MaxGroupMembersPushed)
        {
            return;
        }

        // Who is in the foreground is read now, at delivery time; the rest of the work happens off the dispatch loop.
        var targets = new List<(string UserId, IReadOnlyList<string> Foreground)>(recipients.Count);
        foreach (var userId in recipients)
        {
            if (userId != message.SenderId)
            {
                targets.Add((userId, sessions.ForegroundDevices(userId)));
            }
        }

        if (targets.Count > 0 && !_queue.Writer.TryWrite(new Job(message, targets, kind, conversationName, ParleyActivities.CurrentContext())))
        {
            LogDropped(logger, message.ConversationId);
        }
    }

    public async Task<CoreResult> RegisterDeviceAsync(string userId, string deviceId, Platform platform, RegisterDeviceRequest request, CancellationToken cancellationToken = default)
    {
        if (PushClientRules.Check(request) is { } problem)
        {
            return problem.ToFailure();
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var existing = await devices.GetAsync(userId, deviceId, cancellationToken).ConfigureAwait(false);
        await devices.UpsertAsync(
            new PushDevice(
                userId,
                deviceId,
                platform.ToString().ToLowerInvariant(),
                (PushVendor)(int)request.Vendor,
                request.Token,
                request.AppId,
                request.Sandbox ? PushEnvironment.Sandbox : PushEnvironment.Production,
                request.NotificationsEnabled,
                request.Locale,
                request.TimeZone,
                now,
                existing?.RegisteredAt ?? now),
            cancellationToken).ConfigureAwait(false);
        return CoreResult.Ok;
    }

    public async Task<CoreResult> UpdateSettingsAsync(string userId, UpdatePushSettingsRequest request, CancellationToken cancellationToken = default)
    {
        if (PushClientRules.Check(request) is { } problem)
        {
            return problem.ToFailure();
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (request.HasDoNotDisturb || request.HasPrivacy)
        {
            await settings.SetAsync(
                userId,
                request.HasDoNotDisturb ? request.DoNotDisturb : null,
                request.HasPrivacy ? (PushPrivacySetting)request.Privacy : null,
                now,
                cancellationToken).ConfigureAwait(false);
        }

        if (request.HasMarketingOptOut)
        {
            await settings.SetMarketingOptOutAsync(userId, request.MarketingOptOut, now, cancellationToken).ConfigureAwait(false);
        }

        return CoreResult.Ok;
    }

    /// <summary>Records last seen in memory; <see cref="FlushLastSeenLoopAsync"/> writes it in batches, off the login path.</summary>
    public Task TouchDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken = default)
    {
        _lastSeen.Touch(userId, deviceId, time.GetUtcNow().ToUnixTimeMilliseconds());
        return Task.CompletedTask;
    }

    public async Task<CoreResult> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken = default) =>
        await devices.RemoveAsync(userId, deviceId, cancellationToken).ConfigureAwait(false) ? CoreResult.Ok : CoreResult.Fail(CoreError.NotFound, "No such device.");

    public async Task<CoreResult> ReportAsync(string userId, PushReportRequest report, CancellationToken cancellationToken = default)
    {
        if (report.PushId.Length is 0 or > 128)
        {
            return new FieldProblem("pushId", "must be 1..128 characters").ToFailure();
        }

        if (report.TraceId.Length > 64)
        {
            return new FieldProblem("traceId", "must be at most 64 characters").ToFailure();
        }

        // Only the push's own user may report on it.
        var push = await journal.GetAsync(report.PushId, cancellationToken).ConfigureAwait(false);
        if (push is null || push.UserId != userId)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such push.");
        }

        var recorded = report.Kind == PushReportKind.Clicked
            ? await pipeline.ReportClickedAsync(report.PushId, report.TraceId, cancellationToken).ConfigureAwait(false)
            : await pipeline.ReportArrivedAsync(report.PushId, report.TraceId, "client", cancellationToken).ConfigureAwait(false);
        return recorded ? CoreResult.Ok : CoreResult.Fail(CoreError.Conflict, "The report was already recorded.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _lastSeenLoop = FlushLastSeenLoopAsync(stoppingToken);
        _superLoops = _enabled ? StartSuperGroupLoops(stoppingToken) : Task.CompletedTask;
        await SubmitQueuedAsync(stoppingToken).ConfigureAwait(false);
    }

    /// <summary>Jobs the loop hands the pipeline in one submit (one journal transaction) when that many are queued.</summary>
    internal const int SubmitGroupMax = 64;

    /// <summary>Recipients per grouped submit, at most (a group of large groups' messages stops earlier).</summary>
    internal const int SubmitGroupRecipients = 1_000;

    /// <summary>
    /// Submits the queued jobs until the queue completes or the host stops: what is queued when the loop comes round (up
    /// to <see cref="SubmitGroupMax"/> jobs) goes to the pipeline in one <see cref="PushPipeline.SubmitManyAsync"/>, so 1:1
    /// traffic journals many messages per commit (issue 17), and one job at a time when the queue is idle. A job whose
    /// preparation fails is logged and the others go on; a group whose submit fails is logged per job. On shutdown the group in
    /// progress stops (a push is a hint; the message is stored).
    /// </summary>
    private async Task SubmitQueuedAsync(CancellationToken stoppingToken)
    {
        var group = new List<Job>(SubmitGroupMax);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                group.Clear();
                var recipients = 0;
                while (group.Count < SubmitGroupMax && recipients < SubmitGroupRecipients && _queue.Reader.TryRead(out var job))
                {
                    group.Add(job);
                    recipients += job.Targets.Count;
                }

                await SubmitGroupAsync(group, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task SubmitGroupAsync(List<Job> group, CancellationToken cancellationToken)
    {
        var requests = new List<PushRequest>(group.Count);
        var submitted = new List<Job>(group.Count);
        var spans = new List<Activity>();
        try
        {
            foreach (var job in group)
            {
                try
                {
                    var (request, span) = await PrepareAsync(job, cancellationToken).ConfigureAwait(false);
                    if (span is not null)
                    {
                        spans.Add(span);
                    }

                    if (request is not null)
                    {
                        requests.Add(request);
                        submitted.Add(job);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSubmitFailed(logger, ex, job.Message.ConversationId);
                }
            }

            if (requests.Count == 0)
            {
                return;
            }

            try
            {
                await pipeline.SubmitManyAsync(requests, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                foreach (var job in submitted)
                {
                    LogSubmitFailed(logger, ex, job.Message.ConversationId);
                }
            }
        }
        finally
        {
            foreach (var span in spans)
            {
                span.Dispose();
            }
        }
    }

    private async Task FlushLastSeenLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LastSeenFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushLastSeenAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: StopAsync writes what is left.
        }
    }

    private async Task FlushLastSeenAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _lastSeen.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLastSeenFlushFailed(logger, ex, _lastSeen.PendingCount);
        }
    }

    /// <summary>
    /// Shutdown: takes no more jobs and journals those already queued (pushes of messages committed before the stop)
    /// before stopping, within the host's shutdown timeout; the journal's lanes resume after the restart.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (ExecuteTask is { } running)
        {
            try
            {
                await running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The shutdown timeout passed: the rest is dropped (a push is a hint; the messages are stored).
            }
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_lastSeenLoop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        if (_superLoops is { } super)
        {
            await super.ConfigureAwait(false);
            await StopSuperGroupJobsAsync(cancellationToken).ConfigureAwait(false);
        }

        await FlushLastSeenAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task SubmitAsync(Job job, CancellationToken cancellationToken)
    {
        var (request, span) = await PrepareAsync(job, cancellationToken).ConfigureAwait(false);
        using (span)
        {
            if (request is not null)
            {
                await pipeline.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One job's push request (null when nothing is to be pushed), and its submit span, started here and left for the
    /// caller to end once the request is journaled; the request carries the span as its traceparent.
    /// </summary>
    private async Task<(PushRequest? Request, Activity? Span)> PrepareAsync(Job job, CancellationToken cancellationToken)
    {
        var span = PushActivities.StartSubmit(job.Trace);
        try
        {
            return (await PrepareRequestAsync(job, span, cancellationToken).ConfigureAwait(false), span);
        }
        catch
        {
            span?.Dispose();
            throw;
        }
    }

    private async Task<PushRequest?> PrepareRequestAsync(Job job, Activity? span, CancellationToken cancellationToken)
    {
        var m = job.Message;
        var sender = await accounts.GetUserAsync(m.SenderId, cancellationToken).ConfigureAwait(false);
        var senderName = string.IsNullOrEmpty(sender?.Nickname) ? m.SenderId : sender.Nickname;
        var title = job.Kind == ConversationKind.Group && job.ConversationName.Length > 0 ? $"{senderName} ({job.ConversationName})" : senderName;
        var content = Content.Parser.ParseFrom(m.Content);
        var (category, serviceTitle, servicePreview, expiresAt) = await ClassifyAsync(m, content, cancellationToken).ConfigureAwait(false);
        if (category is null)
        {
            return null; // an expired service notification: stored, not pushed
        }

        var mentions = content.Text?.MentionUserIds.ToHashSet(StringComparer.Ordinal) ?? [];
        var mentionAll = content.Text?.MentionAll == true;
        // Only users with a registered device need their settings and badge read.
        var withDevices = (await devices.ListAsync([.. job.Targets.Select(t => t.UserId)], cancellationToken).ConfigureAwait(false))
            .Select(d => d.UserId).ToHashSet(StringComparer.Ordinal);
        if (job.VerifyMembership && withDevices.Count > 0)
        {
            // A super group's addressed users (mentions, reply authors) are pushed only while they may see the message.
            withDevices.IntersectWith(await VisibleMembersAsync(m, withDevices, cancellationToken).ConfigureAwait(false));
        }

        var recipients = new List<PushRecipient>(job.Targets.Count);
        foreach (var (userId, foreground) in job.Targets.Where(t => withDevices.Contains(t.UserId)))
        {
            var view = await messages.GetConversationViewAsync(userId, m.ConversationId, cancellationToken).ConfigureAwait(false);
            var unread = await messages.GetUnreadTotalAsync(userId, cancellationToken).ConfigureAwait(false);
            var userSettings = await settings.GetAsync(userId, cancellationToken).ConfigureAwait(false);
            recipients.Add(new PushRecipient(userId, (int)Math.Min(unread, int.MaxValue))
            {
                ForegroundDeviceIds = foreground.ToHashSet(StringComparer.Ordinal),
                Mode = view?.Muted == true ? ConversationNotifyMode.Muted
                    : view?.MentionsOnly == true ? ConversationNotifyMode.MentionsOnly
                    : ConversationNotifyMode.All,
                Mentioned = mentionAll || mentions.Contains(userId) || job.Addressed?.Contains(userId) == true,
                DoNotDisturb = userSettings.DoNotDisturb,
                Privacy = (PushPrivacyMode)(int)userSettings.Privacy,
            });
        }

        if (recipients.Count == 0)
        {
            return null;
        }

        return new PushRequest(m.ServerMsgId, m.ConversationId, m.SenderId, serviceTitle ?? title, category.Value, servicePreview ?? Preview(content), recipients)
        {
            TraceId = PushActivities.TraceIdOf(span, job.Trace),
            TraceParent = Activity.Current is { Recorded: true, IdFormat: ActivityIdFormat.W3C } current ? current.Id : null,
            ExpiresAt = expiresAt,
        };
    }

    /// <summary>
    /// The push category, from the message on the server: a service notification (<see cref="Parley.Core.Business.ServiceNotificationContent"/>)
    /// sent by a notification account is a service push with its own title and body; null when it has expired; everything else IM.
    /// </summary>
    private async Task<(PushCategory? Category, string? Title, string? Preview, long? ExpiresAt)> ClassifyAsync(StoredMessage m, Content content, CancellationToken cancellationToken)
    {
        if (Parley.Core.Business.ServiceNotificationContent.TryRead(content) is not { } notification
            || await notificationAccounts.GetAsync(m.SenderId, cancellationToken).ConfigureAwait(false) is null)
        {
            return (PushCategory.Im, null, null, null);
        }

        if (notification.ExpiresAt is { } expires && expires <= time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return (null, null, null, null);
        }

        var limit = options.Value.PreviewLength;
        var body = notification.Body.Length <= limit ? notification.Body : string.Concat(notification.Body.AsSpan(0, limit), "…");
        return (PushCategory.Service, notification.Title, body, notification.ExpiresAt);
    }

    private string Preview(Content content)
    {
        var text = Parley.Protocol.ContentKinds.Preview(content);
        var limit = options.Value.PreviewLength;
        return text.Length <= limit ? text : string.Concat(text.AsSpan(0, limit), "…");
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Push queue full: the pushes of a message in {ConversationId} were dropped")]
    private static partial void LogDropped(ILogger logger, string conversationId);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Submitting the pushes of a message in {ConversationId} failed")]
    private static partial void LogSubmitFailed(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Writing devices' last-seen times failed; {Pending} are kept for the next flush")]
    private static partial void LogLastSeenFlushFailed(ILogger logger, Exception exception, int pending);

    private sealed record Job(StoredMessage Message, List<(string UserId, IReadOnlyList<string> Foreground)> Targets, ConversationKind Kind, string ConversationName, ActivityContext Trace)
    {
        /// <summary>Users addressed beyond the message's mentions (the author of the message a reply answers): counted as mentioned.</summary>
        public IReadOnlySet<string>? Addressed { get; init; }

        /// <summary>Check the targets' membership first (a super group's mentions and reply authors, ADR 0017).</summary>
        public bool VerifyMembership { get; init; }
    }
}
