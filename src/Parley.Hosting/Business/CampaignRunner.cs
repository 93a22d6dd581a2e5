using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Business;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Push;

namespace Parley.Hosting.Business;

/// <summary>
/// Runs marketing campaigns (ADR 0015 §4). Every node may run one: a campaign is walked by the node holding its lease in the
/// store (renewed with every chunk; a crashed node's lease expires and another node, or the restarted one, takes over).
/// The audience is walked in user-id order in chunks at the campaign's rate. For each chunk the pushes are journaled
/// first (push ids derive from campaign, user and device, so a re-run of a chunk journals nothing twice), then the target
/// rows and the cursor are committed in one transaction fenced by the lease and the Running state. A crash between the
/// two re-runs the chunk: the journal ignores the pushes it has, the targets are written once. Nothing is sent before it
/// is journaled and the journal loses nothing, so a campaign resumes exactly where it stopped, with no push twice.
/// </summary>
internal sealed partial class CampaignRunner(
    ICampaignStore store,
    IPushJournal journal,
    IPushSettingsStore settings,
    IDeviceStore devices,
    IAccountStore accounts,
    IAdminQueryStore users,
    INotificationAccountStore notificationAccounts,
    IMessageStore messages,
    PushPipeline pipeline,
    IOptions<CampaignOptions> options,
    IOptions<PushOptions> pushOptions,
    TimeProvider time,
    ILogger<CampaignRunner> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    /// <summary>This process's lease owner name: unique per start, so a restarted node never mistakes an old lease for its own.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.RunnerEnabled)
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await PollAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPollFailed(logger, ex);
                }

                await Task.Delay(o.PollInterval, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_running.Values).ConfigureAwait(false);
    }

    private async Task PollAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var free = o.MaxConcurrent - _running.Count;
        if (free <= 0)
        {
            return;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var id in await store.ListRunnableAsync(now, free, stoppingToken).ConfigureAwait(false))
        {
            if (_running.ContainsKey(id)
                || await store.TryAcquireAsync(id, Owner, now, now + (long)o.LeaseDuration.TotalMilliseconds, stoppingToken).ConfigureAwait(false) is not { } campaign)
            {
                continue; // another node took it first
            }

            _running[id] = Task.Run(() => RunGuardedAsync(campaign, stoppingToken), CancellationToken.None);
        }
    }

    private async Task RunGuardedAsync(CampaignRecord campaign, CancellationToken stoppingToken)
    {
        try
        {
            LogStarted(logger, campaign.CampaignId, campaign.Cursor ?? "(start)");
            await RunAsync(campaign, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: hand the lease over at once; the next runner resumes after the last committed chunk.
            await store.ReleaseAsync(campaign.CampaignId, Owner, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The lease runs out and this or another node resumes after the last committed chunk.
            LogRunFailed(logger, ex, campaign.CampaignId);
        }
        finally
        {
            _running.TryRemove(campaign.CampaignId, out _);
        }
    }

    private async Task RunAsync(CampaignRecord campaign, CancellationToken stoppingToken)
    {
        var o = options.Value;
        var spec = CampaignService.Spec(campaign);
        var id = campaign.CampaignId;
        var rate = Math.Max(1, spec.RatePerSecond);
        var chunkSize = Math.Clamp(rate / 4, 1, o.ChunkSize); // about four chunks a second: a smooth throttle
        var lease = (long)o.LeaseDuration.TotalMilliseconds;
        var laneRoom = Math.Max(chunkSize, pushOptions.Value.MarketingLaneCapacity / 2);
        var cursor = campaign.Cursor;
        var clock = Stopwatch.StartNew();
        long processed = 0;
        var renewedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        while (true)
        {
            stoppingToken.ThrowIfCancellationRequested();
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (now >= campaign.ExpiresAt)
            {
                await FinishAsync(id, now, CampaignState.Expired, stoppingToken).ConfigureAwait(false);
                return;
            }

            var (page, last, exhausted) = await NextAsync(spec, id, cursor, chunkSize, stoppingToken).ConfigureAwait(false);
            if (last is null)
            {
                await FinishAsync(id, now, CampaignState.Done, stoppingToken).ConfigureAwait(false);
                return;
            }

            var targets = await ProcessAsync(id, spec, campaign.ExpiresAt, page, now, stoppingToken).ConfigureAwait(false);
            now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (!await store.CommitChunkAsync(id, Owner, now, now + lease, targets, last, exhausted ? CampaignState.Done : null, stoppingToken).ConfigureAwait(false))
            {
                await LostAsync(id, stoppingToken).ConfigureAwait(false);
                return;
            }

            renewedAt = now;
            cursor = last;
            processed += targets.Count;
            if (exhausted)
            {
                LogFinished(logger, id, CampaignState.Done);
                return;
            }

            // The throttle: processed users never run ahead of rate × elapsed. Then back-pressure from the marketing
            // lane (it drops what does not fit): wait while it is half full, renewing the lease meanwhile.
            var due = TimeSpan.FromSeconds((double)processed / rate) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, time, stoppingToken).ConfigureAwait(false);
            }

            while (pipeline.LaneDepth(2) + chunkSize > laneRoom)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), time, stoppingToken).ConfigureAwait(false);
                now = time.GetUtcNow().ToUnixTimeMilliseconds();
                if (now - renewedAt > lease / 3)
                {
                    if (await store.TryAcquireAsync(id, Owner, now, now + lease, stoppingToken).ConfigureAwait(false) is null)
                    {
                        await LostAsync(id, stoppingToken).ConfigureAwait(false);
                        return;
                    }

                    renewedAt = now;
                }
            }
        }
    }

    /// <summary>The next chunk of the audience after <paramref name="cursor"/>: the users to process and the last key read (null at the end).</summary>
    private async Task<(IReadOnlyList<string> Users, string? Last, bool Exhausted)> NextAsync(CampaignSpec spec, string id, string? cursor, int size, CancellationToken cancellationToken)
    {
        if (spec.AudienceKind == CampaignSpec.AllUsers)
        {
            // Every enabled user who is not a notification account; the key advances over the skipped ones too.
            var page = await users.SearchUsersAsync(null, cursor, size, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                return ([], null, true);
            }

            var ids = page.Where(u => u.DisabledAt is null).Select(u => u.User.UserId).ToList();
            var system = (await notificationAccounts.GetManyAsync(ids, cancellationToken).ConfigureAwait(false)).Select(a => a.UserId).ToHashSet(StringComparer.Ordinal);
            return (ids.Where(u => !system.Contains(u)).ToList(), page[^1].User.UserId, page.Count < size);
        }

        var list = await store.ReadAudienceAsync(id, cursor, size, cancellationToken).ConfigureAwait(false);
        return list.Count == 0 ? ([], null, true) : (list, list[^1], list.Count < size);
    }

    /// <summary>Journals the chunk's pushes and returns each user's outcome.</summary>
    private async Task<List<CampaignTarget>> ProcessAsync(string id, CampaignSpec spec, long expiresAt, IReadOnlyList<string> page, long now, CancellationToken cancellationToken)
    {
        var targets = new List<CampaignTarget>(page.Count);
        if (page.Count == 0)
        {
            return targets;
        }

        var known = spec.AudienceKind == CampaignSpec.AllUsers
            ? page.ToHashSet(StringComparer.Ordinal)
            : (await accounts.GetUsersAsync(page, cancellationToken).ConfigureAwait(false)).Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        var userSettings = await settings.GetManyAsync(page, cancellationToken).ConfigureAwait(false);
        var withDevices = (await devices.ListAsync([.. page], cancellationToken).ConfigureAwait(false)).Select(d => d.UserId).ToHashSet(StringComparer.Ordinal);
        var recipients = new List<PushRecipient>();
        foreach (var user in page)
        {
            var s = userSettings.GetValueOrDefault(user) ?? PushSettings.Default;
            var skipped = !known.Contains(user) ? "unknown_user" : s.MarketingOptOut ? "opted_out" : !withDevices.Contains(user) ? "no_device" : null;
            if (skipped is not null)
            {
                targets.Add(new CampaignTarget(user, CampaignTargetState.Skipped, skipped, null, 0, now));
                continue;
            }

            // The badge is the user's unread total, so a campaign push never resets the app's badge.
            var unread = await messages.GetUnreadTotalAsync(user, cancellationToken).ConfigureAwait(false);
            recipients.Add(new PushRecipient(user, (int)Math.Min(unread, int.MaxValue)) { DoNotDisturb = s.DoNotDisturb });
        }

        if (recipients.Count == 0)
        {
            return targets;
        }

        var messageId = CampaignService.PushMessageId(id);
        var result = await pipeline.SubmitAsync(
            new PushRequest(messageId, messageId, string.Empty, string.Empty, PushCategory.Marketing, string.Empty, recipients)
            {
                Templates = spec.Templates,
                CampaignId = id,
                ExpiresAt = expiresAt,
                MarketingDailyCap = spec.DailyCapPerUser,
            },
            cancellationToken).ConfigureAwait(false);
        var rows = result.Rows.ToLookup(r => r.UserId, StringComparer.Ordinal);
        foreach (var recipient in recipients)
        {
            var mine = rows[recipient.UserId].ToList();
            var journaled = mine.Where(r => r.State == PushState.Pending).ToList();
            if (journaled.Count == 0)
            {
                targets.Add(new CampaignTarget(recipient.UserId, CampaignTargetState.Skipped, mine.FirstOrDefault()?.Reason ?? "no_device", null, 0, now));
                continue;
            }

            // Sent when a push goes now; delayed when every push is held (quiet hours, learned send time) and waits in the
            // journal, which sends it when due unless the campaign has expired or was cancelled by then.
            var dueNow = journaled.FirstOrDefault(r => r.Reason is null); // a held push carries the reason that held it
            targets.Add(dueNow is not null
                ? new CampaignTarget(recipient.UserId, CampaignTargetState.Sent, null, TemplateOf(dueNow), journaled.Count, now)
                : new CampaignTarget(recipient.UserId, CampaignTargetState.Delayed, journaled[0].Reason ?? "delayed", TemplateOf(journaled[0]), journaled.Count, now));
        }

        return targets;
    }

    private static string? TemplateOf(PushRecord row)
    {
        using var payload = JsonDocument.Parse(row.Payload);
        return payload.RootElement.TryGetProperty("templateId", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
    }

    private async Task FinishAsync(string id, long now, CampaignState state, CancellationToken cancellationToken)
    {
        if (await store.CommitChunkAsync(id, Owner, now, now, [], null, state, cancellationToken).ConfigureAwait(false))
        {
            LogFinished(logger, id, state);
        }
        else
        {
            await LostAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The fence refused a write: the campaign was cancelled (its pending pushes are filtered) or another runner holds it.</summary>
    private async Task LostAsync(string id, CancellationToken cancellationToken)
    {
        var current = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (current?.State == CampaignState.Cancelled)
        {
            await journal.FilterPendingAsync(CampaignService.PushMessageId(id), "cancelled", cancellationToken).ConfigureAwait(false);
            LogFinished(logger, id, CampaignState.Cancelled);
        }
        else
        {
            LogLeaseLost(logger, id, current?.LeaseOwner ?? "(none)");
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Campaign {CampaignId} runs on this node from {Cursor}")]
    private static partial void LogStarted(ILogger logger, string campaignId, string cursor);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "Campaign {CampaignId} ended: {State}")]
    private static partial void LogFinished(ILogger logger, string campaignId, CampaignState state);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Warning, Message = "Campaign {CampaignId}: the lease is held by {Owner}; this node stops running it")]
    private static partial void LogLeaseLost(ILogger logger, string campaignId, string owner);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Campaign {CampaignId} failed on this node; it resumes from its last chunk when the lease expires")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, string campaignId);

    [LoggerMessage(EventId = 6305, Level = LogLevel.Error, Message = "Looking for runnable campaigns failed; trying again")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
