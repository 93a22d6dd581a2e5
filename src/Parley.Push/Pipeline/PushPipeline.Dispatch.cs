using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;
using Parley.Push.Pipeline;
using Parley.Push.Vendors;

namespace Parley.Push;

/// <summary>The dispatch half: lanes → vendor adapters → results (retries, token clean-up, dead letters).</summary>
public sealed partial class PushPipeline
{
    /// <summary>
    /// Takes up the journal at start (ADR 0014): takes this pipeline's lease, then adopts every open row whose owner holds
    /// no live lease (a dead node's) or is one of this node's previous incarnations. Adopted pending pushes are scheduled;
    /// pushes caught mid-request (Sending) are re-sent only to vendors that de-duplicate on our key, otherwise
    /// dead-lettered as unknown_after_crash so nothing is sent twice under the same push id (an admin can replay them).
    /// </summary>
    internal async Task RecoverAsync(CancellationToken cancellationToken)
    {
        await _journal.RenewLeaseAsync(_owner, _time.GetUtcNow().Add(_options.LeaseDuration).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        var (pending, sending) = await AdoptAsync(cancellationToken).ConfigureAwait(false);
        LogRecovered(_logger, pending, sending);
    }

    /// <summary>
    /// Every <see cref="PushOptions.LeaseRenewInterval"/>: renews this pipeline's lease and adopts the rows of owners whose
    /// lease lapsed (a node that died), so they are sent within the lease duration and one interval, without a restart.
    /// </summary>
    internal async Task RenewAndAdoptAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _journal.RenewLeaseAsync(_owner, _time.GetUtcNow().Add(_options.LeaseDuration).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
            var (pending, sending) = await AdoptAsync(cancellationToken).ConfigureAwait(false);
            if (pending + sending > 0)
            {
                LogAdopted(_logger, pending, sending);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogLeaseFailed(_logger, ex);
        }
    }

    /// <summary>Ends this pipeline's lease on a graceful stop: what it still owns is adopted by another node at once.</summary>
    internal Task ReleaseLeaseAsync(CancellationToken cancellationToken) => _journal.ReleaseLeaseAsync(_owner, cancellationToken);

    private async Task<(int Pending, int Sending)> AdoptAsync(CancellationToken cancellationToken)
    {
        const int Page = 1000;
        var pending = 0;
        var sending = 0;
        while (true)
        {
            var adopted = await _journal.AdoptAsync(_owner, _nodePrefix, _time.GetUtcNow().ToUnixTimeMilliseconds(), Page, cancellationToken).ConfigureAwait(false);
            foreach (var row in adopted)
            {
                if (row.State == PushState.Sending)
                {
                    sending++;
                    if (_adapters.TryGetValue(row.Vendor, out var adapter) && adapter.HasDedupKey)
                    {
                        await _journal.UpdateStateAsync(row.PushId, PushState.Pending, row.Attempts, row.NotBefore, "resend_dedup", null, cancellationToken).ConfigureAwait(false);
                        _scheduler.Schedule(row with { State = PushState.Pending });
                    }
                    else
                    {
                        await DeadLetterAsync(row, row.Attempts, "unknown_after_crash", cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    pending++;
                    _scheduler.Schedule(row);
                }
            }

            if (adopted.Count < Page)
            {
                return (pending, sending);
            }
        }
    }

    /// <summary>One worker: takes the highest-priority due push and sends it, until cancelled.</summary>
    internal async Task RunWorkerAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            PushRecord job;
            try
            {
                job = await _lanes.DequeueAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await ProcessAsync(job, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Infrastructure failure (journal/registry): the row stays in the journal; try again later.
                LogProcessFailed(_logger, ex, job.PushId);
                _scheduler.Schedule(job with { NotBefore = _time.GetUtcNow().Add(_options.RetryBaseDelay).ToUnixTimeMilliseconds() });
            }
        }
    }

    private async Task ProcessAsync(PushRecord job, CancellationToken cancellationToken)
    {
        // The journal is the truth: a push scheduled twice (restart, replay) or already finished is not sent again.
        if (!_inFlight.TryAdd(job.PushId, 0))
        {
            // Another worker is finishing this push (e.g. a replay raced its dead-lettering): look again when it is done.
            _requeue[job.PushId] = job;
            if (_inFlight.ContainsKey(job.PushId) || !_requeue.TryRemove(job.PushId, out _))
            {
                return;
            }

            _lanes.Enqueue(job, holdsSlot: false);
            return;
        }

        try
        {
            var current = await _journal.GetAsync(job.PushId, cancellationToken).ConfigureAwait(false);
            if (current is null || current.State != PushState.Pending || !string.Equals(current.Owner, _owner, StringComparison.Ordinal))
            {
                return; // done, or another node adopted it (this node's lease lapsed): that node sends it
            }

            if (current.NotBefore > _time.GetUtcNow().ToUnixTimeMilliseconds())
            {
                // A stale copy (its retry was rescheduled meanwhile): the journal's time wins.
                _scheduler.Schedule(current);
                return;
            }

            await ProcessPendingAsync(current, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(job.PushId, out _);
            if (_requeue.TryRemove(job.PushId, out var again))
            {
                _lanes.Enqueue(again, holdsSlot: false);
            }
        }
    }

    private async Task ProcessPendingAsync(PushRecord job, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var device = await _devices.GetAsync(job.UserId, job.DeviceId, cancellationToken).ConfigureAwait(false);
        if (device is null || string.IsNullOrEmpty(device.Token) || device.Vendor != job.Vendor)
        {
            await FinalFilterAsync(job, PushStages.Vendor, "device_gone", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!_adapters.TryGetValue(job.Vendor, out var adapter))
        {
            await FinalFilterAsync(job, PushStages.Vendor, "no_adapter", cancellationToken).ConfigureAwait(false);
            return;
        }

        var notification = Deserialize(job.Payload);
        if (notification is null)
        {
            await DeadLetterAsync(job, job.Attempts, "bad_payload", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (notification.ExpiresAt is { } expiresAt)
        {
            // Worthless after its expiry (a campaign's end, a notification's validity): not sent, and the vendor keeps it no longer.
            if (expiresAt <= nowMs)
            {
                await FinalFilterAsync(job, PushStages.Vendor, "expired", cancellationToken).ConfigureAwait(false);
                return;
            }

            notification = notification with { TtlSeconds = Math.Max(1, (expiresAt - nowMs) / 1000) };
        }

        var limits = adapter.Limits;
        if (limits.PausedUntil > nowMs)
        {
            _scheduler.Schedule(job with { NotBefore = limits.PausedUntil });
            return;
        }

        // One bucket (and pause) for the whole cluster when the counters are shared: N nodes send at the configured rate. A
        // first attempt of a category other than IM also asks (in the same round trip) whether a vendor's quota answer,
        // told to any node, blocked the category: then it is dropped as the quota stage would, and takes no token.
        var blockable = job.Attempts == 0 && job.Category != PushCategory.Im ? job.Category : (PushCategory?)null;
        var gate = await limits.TakeTokenAsync(_counters, job.Vendor, blockable, cancellationToken).ConfigureAwait(false);
        if (gate.Blocked)
        {
            await FinalFilterAsync(job, PushStages.Vendor, "vendor_quota", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (gate.Wait > TimeSpan.Zero)
        {
            _scheduler.Schedule(job with { NotBefore = nowMs + (long)Math.Ceiling(gate.Wait.TotalMilliseconds) });
            return;
        }

        if (job.Attempts == 0)
        {
            var (reserved, quotaReason) = await limits.ReserveQuotaAsync(_counters, job.Vendor, job.Category, job.UserId + "\n" + job.DeviceId, cancellationToken).ConfigureAwait(false);
            if (!reserved && job.Category != PushCategory.Im)
            {
                await FinalFilterAsync(job, PushStages.Vendor, quotaReason, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        var attempts = job.Attempts + 1;
        // The fenced claim (ADR 0014): Pending -> Sending only while this pipeline owns the row, in one statement. Whoever
        // else read it Pending (a replay, a node that adopted it) fails here and sends nothing.
        if (!await _journal.ClaimAsync(job.PushId, _owner, attempts, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        if (attempts == 1)
        {
            _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Sent);
            _metrics.Passed(PushStages.Vendor, job.Vendor, job.Category);
        }

        using var span = PushActivities.StartVendorCall(job.Vendor, notification, attempts);
        var started = Stopwatch.GetTimestamp();
        PushSendResult result;
        try
        {
            result = await adapter.SendAsync(device, notification, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogAdapterFailed(_logger, ex, PushMetrics.VendorTag(job.Vendor), job.PushId);
            result = new PushSendResult(PushOutcome.OutcomeUnknown, "exception");
        }

        span?.SetTag("push.outcome", result.Outcome.ToString());
        if (result.Outcome != PushOutcome.Accepted)
        {
            span?.SetStatus(ActivityStatusCode.Error, result.Reason);
        }

        LogVendorAnswered(_logger, job.PushId, PushMetrics.VendorTag(job.Vendor), result.Outcome, result.Reason);
        _metrics.VendorDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("vendor", PushMetrics.VendorTag(job.Vendor)));
        _metrics.VendorResults.Add(
            1,
            new("vendor", PushMetrics.VendorTag(job.Vendor)),
            new("category", PushMetrics.CategoryTag(job.Category)),
            new("outcome", result.Outcome.ToString()),
            new("reason", result.Reason));

        await HandleResultAsync(job, device, adapter, attempts, result, cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleResultAsync(PushRecord job, PushDevice device, IPushVendorAdapter adapter, int attempts, PushSendResult result, CancellationToken cancellationToken)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        switch (result.Outcome)
        {
            case PushOutcome.Accepted:
                await _journal.UpdateStateAsync(job.PushId, PushState.Accepted, attempts, job.NotBefore, null, nowMs, cancellationToken).ConfigureAwait(false);
                _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Accepted);
                _metrics.Passed(PushStages.Results, job.Vendor, job.Category);
                foreach (var candidate in _guard.Confirm(job.Vendor, device.AppId))
                {
                    await DeleteTokenAsync(job.Vendor, candidate.UserId, candidate.DeviceId, candidate.Token, candidate.Reason, cancellationToken).ConfigureAwait(false);
                }

                break;

            case PushOutcome.InvalidToken:
                await _journal.UpdateStateAsync(job.PushId, PushState.InvalidToken, attempts, job.NotBefore, result.Reason, nowMs, cancellationToken).ConfigureAwait(false);
                _metrics.Dropped(PushStages.Results, job.Vendor, job.Category, "invalid_token");
                if (result.DeleteToken && (result.InvalidSince is not { } since || device.RegisteredAt < since)
                    && _guard.AddCandidate(job.Vendor, device.AppId, new TokenCleanupGuard.Candidate(device.UserId, device.DeviceId, device.Token, result.Reason)))
                {
                    _metrics.ConfigAlarms.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", "all_tokens_invalid"));
                    LogConfigAlarm(_logger, PushMetrics.VendorTag(job.Vendor), device.AppId, result.Reason);
                }

                break;

            case PushOutcome.QuotaExceeded:
                await BlockCategoryAsync(adapter, job.Vendor, job.Category, result.RetryAfter, cancellationToken).ConfigureAwait(false);
                if (result.VendorWide && result.RetryAfter is { } quotaPause)
                {
                    await PauseVendorAsync(adapter, job.Vendor, quotaPause, cancellationToken).ConfigureAwait(false);
                }

                if (job.Category == PushCategory.Im)
                {
                    await RetryAsync(job, attempts, result.RetryAfter, result.Reason, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await FinalFilterAsync(job with { Attempts = attempts }, PushStages.Results, "vendor_quota", cancellationToken).ConfigureAwait(false);
                }

                break;

            case PushOutcome.RetryAfter:
                if (result.VendorWide && result.RetryAfter is { } pause)
                {
                    await PauseVendorAsync(adapter, job.Vendor, pause, cancellationToken).ConfigureAwait(false);
                }

                await RetryAsync(job, attempts, result.RetryAfter, result.Reason, cancellationToken).ConfigureAwait(false);
                break;

            case PushOutcome.AuthError:
                _metrics.ConfigAlarms.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", "auth"));
                LogConfigAlarm(_logger, PushMetrics.VendorTag(job.Vendor), device.AppId, result.Reason);
                await RetryAsync(job, attempts, result.RetryAfter, result.Reason, cancellationToken).ConfigureAwait(false);
                break;

            case PushOutcome.OutcomeUnknown when adapter.HasDedupKey:
                await RetryAsync(job, attempts, result.RetryAfter, result.Reason, cancellationToken).ConfigureAwait(false);
                break;

            default:
                await DeadLetterAsync(job, attempts, result.Outcome == PushOutcome.OutcomeUnknown ? "outcome_unknown:" + result.Reason : result.Reason, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    // The vendor told this node to pause: here at once, then for every node through the shared counters. Best effort: the
    // row is Sending and its result must still be recorded, so a counters failure costs the other nodes one more request
    // each (the vendor tells them too), never the row.
    private async Task PauseVendorAsync(IPushVendorAdapter adapter, PushVendor vendor, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await adapter.Limits.PauseAsync(_counters, vendor, delay, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSharedPauseFailed(_logger, ex, PushMetrics.VendorTag(vendor));
        }
    }

    // The vendor's quota for the category is used up: blocked here at once, then for every node through the shared counters.
    // Best effort like a pause: a counters failure costs each other node one more request (the vendor tells it too).
    private async Task BlockCategoryAsync(IPushVendorAdapter adapter, PushVendor vendor, PushCategory category, TimeSpan? delay, CancellationToken cancellationToken)
    {
        try
        {
            await adapter.Limits.BlockCategoryAsync(_counters, vendor, category, delay, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSharedBlockFailed(_logger, ex, PushMetrics.VendorTag(vendor), PushMetrics.CategoryTag(category));
        }
    }

    private async Task RetryAsync(PushRecord job, int attempts, TimeSpan? retryAfter, string reason, CancellationToken cancellationToken)
    {
        if (attempts >= _options.MaxAttempts)
        {
            await DeadLetterAsync(job, attempts, "retries_exhausted:" + reason, cancellationToken).ConfigureAwait(false);
            return;
        }

        var backoff = TimeSpan.FromMilliseconds(Math.Min(
            _options.RetryMaxDelay.TotalMilliseconds,
            _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempts - 1)));
        var delay = retryAfter is { } ra && ra > backoff ? ra : backoff;
        var notBefore = _time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
        await _journal.UpdateStateAsync(job.PushId, PushState.Pending, attempts, notBefore, reason, null, cancellationToken).ConfigureAwait(false);
        _metrics.Retries.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", reason));
        _scheduler.Schedule(job with { State = PushState.Pending, Attempts = attempts, NotBefore = notBefore, Reason = reason });
    }

    private async Task DeadLetterAsync(PushRecord job, int attempts, string reason, CancellationToken cancellationToken)
    {
        await _journal.UpdateStateAsync(job.PushId, PushState.DeadLettered, attempts, job.NotBefore, reason, null, cancellationToken).ConfigureAwait(false);
        _metrics.DeadLetters.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", reason));
        _metrics.Dropped(PushStages.Results, job.Vendor, job.Category, "dead_letter");
        LogDeadLettered(_logger, job.PushId, PushMetrics.VendorTag(job.Vendor), reason);
    }

    private async Task FinalFilterAsync(PushRecord job, string stage, string reason, CancellationToken cancellationToken)
    {
        await _journal.UpdateStateAsync(job.PushId, PushState.Filtered, job.Attempts, job.NotBefore, reason, null, cancellationToken).ConfigureAwait(false);
        _metrics.Dropped(stage, job.Vendor, job.Category, reason);
        _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Filtered, reason);
    }

    private async Task DeleteTokenAsync(PushVendor vendor, string userId, string deviceId, string token, string reason, CancellationToken cancellationToken)
    {
        if (await _devices.InvalidateTokenAsync(userId, deviceId, token, _time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
        {
            _metrics.TokensInvalidated.Add(1, new("vendor", PushMetrics.VendorTag(vendor)), new("reason", reason));
            LogTokenInvalidated(_logger, PushMetrics.VendorTag(vendor), userId, deviceId, reason);
        }
    }

    [LoggerMessage(EventId = 6007, Level = LogLevel.Debug, Message = "Push {PushId} to {Vendor}: {Outcome} {Reason}")]
    private static partial void LogVendorAnswered(ILogger logger, string pushId, string vendor, PushOutcome outcome, string reason);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information, Message = "Push journal: adopted {Pending} pending and {Sending} mid-request pushes of owners whose lease lapsed")]
    private static partial void LogAdopted(ILogger logger, int pending, int sending);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "{Vendor} asked for a vendor-wide pause; the shared counters could not be told, so only this node pauses")]
    private static partial void LogSharedPauseFailed(ILogger logger, Exception exception, string vendor);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "{Vendor} answered that the {Category} quota is used up; the shared counters could not be told, so only this node blocks the category")]
    private static partial void LogSharedBlockFailed(ILogger logger, Exception exception, string vendor, string category);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Push journal: the lease could not be renewed or rows adopted; retried at the next interval")]
    private static partial void LogLeaseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Push journal recovered: {Pending} pending, {Sending} caught mid-request")]
    private static partial void LogRecovered(ILogger logger, int pending, int sending);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Push {PushId} could not be processed; it stays journaled and is retried")]
    private static partial void LogProcessFailed(ILogger logger, Exception exception, string pushId);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Vendor adapter {Vendor} threw for push {PushId}; outcome unknown")]
    private static partial void LogAdapterFailed(ILogger logger, Exception exception, string vendor, string pushId);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Push config alarm for {Vendor} app {AppId}: {Reason}. No tokens were deleted; check the vendor credentials and app id")]
    private static partial void LogConfigAlarm(ILogger logger, string vendor, string appId, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Push {PushId} to {Vendor} dead-lettered: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string pushId, string vendor, string reason);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "{Vendor} token of user {UserId} device {DeviceId} deleted: {Reason}")]
    private static partial void LogTokenInvalidated(ILogger logger, string vendor, string userId, string deviceId, string reason);
}
