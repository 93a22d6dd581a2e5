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

    /// <summary>
    /// One send loop: takes up to <paramref name="batchSize"/> due pushes at once (highest priority first, without waiting
    /// for a batch to fill) and sends them, until cancelled. While a batch's requests are in flight the loop takes and
    /// prepares its next batch; the sent batch's results are then written with the next batch's claims in one journal
    /// write (issue 17: one group commit per batch instead of two), or alone as soon as its answers are in when nothing
    /// else is due. Either way a batch's results are durable no later than the next batch's claims, so a loop has at most
    /// one batch claimed and unsettled, as before.
    /// </summary>
    internal async Task RunWorkerAsync(int batchSize, CancellationToken cancellationToken)
    {
        SentBatch? sent = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var jobs = new List<PushRecord>(batchSize);
                var next = _lanes.DequeueBatchAsync(jobs, batchSize, cancellationToken).AsTask();
                if (sent is not null && !next.IsCompleted)
                {
                    await Task.WhenAny(next, sent.Answered).ConfigureAwait(false);
                    if (!next.IsCompleted)
                    {
                        // Nothing else is due yet: the sent batch's results are written now, not held for a next batch.
                        var alone = sent;
                        sent = null;
                        await SettleAsync(alone, cancellationToken).ConfigureAwait(false);
                    }
                }

                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                // ProcessBatchAsync takes the sent batch over: it settles it (also when it fails) or hands it back unsettled.
                var previous = sent;
                sent = null;
                sent = await ProcessBatchAsync(jobs, previous, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (sent is not null)
            {
                // Stopping: the answered requests are written (a request cancelled mid-way stays Sending: outcome unknown).
                try
                {
                    await SettleAsync(sent, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
    }

    // Returns the loop's batch now in flight: this batch once its requests are sent, the previous one when this batch had
    // nothing to claim, or null. The previous batch is always settled here unless it is handed back.
    private async Task<SentBatch?> ProcessBatchAsync(List<PushRecord> jobs, SentBatch? previous, CancellationToken cancellationToken)
    {
        // The journal is the truth: a push scheduled twice (restart, replay) or already finished is not sent again.
        var owned = new List<PushRecord>(jobs.Count);
        foreach (var job in jobs)
        {
            if (_inFlight.TryAdd(job.PushId, 0))
            {
                owned.Add(job);
                continue;
            }

            // Another worker is finishing this push (e.g. a replay raced its dead-lettering): look again when it is done.
            _requeue[job.PushId] = job;
            if (_inFlight.ContainsKey(job.PushId) || !_requeue.TryRemove(job.PushId, out _))
            {
                continue;
            }

            _lanes.Enqueue(job, holdsSlot: false);
        }

        if (owned.Count == 0)
        {
            return previous;
        }

        SentBatch? result = null;
        try
        {
            result = await ProcessOwnedAsync(owned, previous, cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Infrastructure failure (journal/registry): the rows stay in the journal; try again later. A row already
            // claimed (Sending) is skipped by the re-read then, as before batching.
            Reschedule(owned, ex);
            return null;
        }
        finally
        {
            if (result?.Owned != owned)
            {
                Release(owned);
            }
        }
    }

    // A batch: one journal read and one registry read for all of it, the pushes filtered before a request and the claims
    // in one write (with the previous batch's results), the requests concurrently; the results are written by the next
    // batch or by SettleAsync. Each push is still claimed (Pending -> Sending, fenced) before its request and settled after
    // its answer, as one at a time did.
    private async Task<SentBatch?> ProcessOwnedAsync(List<PushRecord> owned, SentBatch? previous, CancellationToken cancellationToken)
    {
        Settlement before;
        List<VendorSend> sends;
        try
        {
            (before, sends) = await PrepareBatchAsync(owned, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (previous is not null)
            {
                await SettleAsync(previous, cancellationToken).ConfigureAwait(false);
            }

            throw;
        }

        if (before.Changes.Count == 0 && sends.Count == 0)
        {
            return previous; // nothing due here: the previous batch stays in flight
        }

        // The previous batch's answers (its requests were sent while this batch was read and prepared).
        Settlement? after = null;
        if (previous is not null)
        {
            try
            {
                after = await CollectAsync(previous, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Release(previous.Owned);
                throw;
            }
        }

        // The fenced claim (ADR 0014): Pending -> Sending only while this pipeline owns the row, one conditional statement
        // per row. Whoever else read it Pending (a replay, a node that adopted it) fails here and sends nothing. Written
        // after the previous batch's results and this batch's pre-send filters, in one journal write; the results are
        // written even when a stop cancels this batch (then nothing is claimed).
        var claims = new PushClaim[cancellationToken.IsCancellationRequested ? 0 : sends.Count];
        for (var i = 0; i < claims.Length; i++)
        {
            claims[i] = new PushClaim(sends[i].Job.PushId, sends[i].Attempts);
        }

        var changes = before.Changes;
        if (after is not null)
        {
            after.Changes.AddRange(before.Changes); // the results first; after.Changes is not read again
            changes = after.Changes;
        }

        var written = WriteAsync(changes, claims);
        if (previous is not null)
        {
            await FinishAsync(previous, after!, written, cancellationToken).ConfigureAwait(false);
        }

        var claimed = await written.ConfigureAwait(false);
        Apply(before);

        var requests = new List<(VendorSend Send, Task<PushSendResult> Result)>(sends.Count);
        for (var i = 0; i < claimed.Count; i++)
        {
            if (claimed[i])
            {
                requests.Add((sends[i], SendAsync(sends[i], cancellationToken)));
            }
        }

        return requests.Count == 0 ? null : new SentBatch(owned, requests);
    }

    // The rows re-read, the devices read and the checks before a request: what is settled before sending, and what to send.
    private async Task<(Settlement Before, List<VendorSend> Sends)> PrepareBatchAsync(List<PushRecord> owned, CancellationToken cancellationToken)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = await _journal.ReadCurrentAsync(owned, cancellationToken).ConfigureAwait(false);
        var current = new Dictionary<string, PushRecord>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            current[row.PushId] = row;
        }

        var before = new Settlement();
        var sends = new List<VendorSend>(owned.Count);
        var due = new List<PushRecord>(owned.Count);
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in owned)
        {
            if (!current.TryGetValue(job.PushId, out var row) || row.State != PushState.Pending || !string.Equals(row.Owner, _owner, StringComparison.Ordinal))
            {
                continue; // done, or another node adopted it (this node's lease lapsed): that node sends it
            }

            if (row.NotBefore > nowMs)
            {
                // A stale copy (its retry was rescheduled meanwhile): the journal's time wins.
                _scheduler.Schedule(row);
                continue;
            }

            due.Add(row);
            users.Add(row.UserId);
        }

        if (due.Count == 0)
        {
            return (before, sends);
        }

        var devices = new Dictionary<(string User, string Device), PushDevice>();
        foreach (var d in await _devices.ListAsync(users, cancellationToken).ConfigureAwait(false))
        {
            devices[(d.UserId, d.DeviceId)] = d;
        }

        foreach (var job in due)
        {
            try
            {
                if (await PrepareAsync(job, devices.GetValueOrDefault((job.UserId, job.DeviceId)), nowMs, before, cancellationToken).ConfigureAwait(false) is { } send)
                {
                    sends.Add(send);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The shared counters failed for this push: it stays Pending; try again later.
                LogProcessFailed(_logger, ex, job.PushId);
                _scheduler.Schedule(job with { NotBefore = _time.GetUtcNow().Add(_options.RetryBaseDelay).ToUnixTimeMilliseconds() });
            }
        }

        return (before, sends);
    }

    // One journal write (an async method, so that a store that throws at once gives a faulted task like a failed commit).
    private async Task<IReadOnlyList<bool>> WriteAsync(List<PushStateChange> changes, PushClaim[] claims) =>
        await _journal.UpdateStatesAndClaimManyAsync(changes, claims, _owner, CancellationToken.None).ConfigureAwait(false);

    // A sent batch settled on its own: its answers, their write, what follows.
    private async Task SettleAsync(SentBatch batch, CancellationToken cancellationToken)
    {
        Settlement after;
        try
        {
            after = await CollectAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Release(batch.Owned);
            throw;
        }

        await FinishAsync(batch, after, WriteAsync(after.Changes, []), cancellationToken).ConfigureAwait(false);
    }

    // Every answer of a sent batch as its state change, also when a stop cancelled some requests: a request cancelled
    // mid-way stays Sending (its outcome is unknown); the answered ones are written.
    private async Task<Settlement> CollectAsync(SentBatch batch, CancellationToken cancellationToken)
    {
        var after = new Settlement();
        foreach (var (send, task) in batch.Requests)
        {
            PushSendResult result;
            try
            {
                result = await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                continue;
            }

            await SettleResultAsync(send, result, after, cancellationToken).ConfigureAwait(false);
        }

        return after;
    }

    // Once a sent batch's results are durable: metrics, retries, token clean-up; its pushes leave _inFlight either way.
    private async Task FinishAsync(SentBatch batch, Settlement after, Task written, CancellationToken cancellationToken)
    {
        try
        {
            await written.ConfigureAwait(false);
            Apply(after);
            await DeleteConfirmedTokensAsync(after, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Reschedule(batch.Owned, ex);
        }
        finally
        {
            Release(batch.Owned);
        }
    }

    private void Reschedule(List<PushRecord> owned, Exception ex)
    {
        var retryAt = _time.GetUtcNow().Add(_options.RetryBaseDelay).ToUnixTimeMilliseconds();
        foreach (var job in owned)
        {
            LogProcessFailed(_logger, ex, job.PushId);
            _scheduler.Schedule(job with { NotBefore = retryAt });
        }
    }

    // The pushes leave _inFlight; a copy that came while they were in flight goes back to the lanes.
    private void Release(List<PushRecord> owned)
    {
        foreach (var job in owned)
        {
            _inFlight.TryRemove(job.PushId, out _);
            if (_requeue.TryRemove(job.PushId, out var again))
            {
                _lanes.Enqueue(again, holdsSlot: false);
            }
        }
    }

    /// <summary>A batch whose requests were sent and whose results are not written yet.</summary>
    private sealed class SentBatch(List<PushRecord> owned, List<(VendorSend Send, Task<PushSendResult> Result)> requests)
    {
        private Task? _answered;

        public List<PushRecord> Owned { get; } = owned;

        public List<(VendorSend Send, Task<PushSendResult> Result)> Requests { get; } = requests;

        /// <summary>Completes when every request has its answer (or failed); made only when the loop waits for it.</summary>
        public Task Answered => _answered ??= Task.WhenAll(Requests.Select(r => r.Result));
    }

    /// <summary>A push ready for its request: claimed as attempt <see cref="Attempts"/>.</summary>
    private sealed record VendorSend(PushRecord Job, PushDevice Device, IPushVendorAdapter Adapter, PushNotification Notification, int Attempts);

    // The checks before a request, as one at a time did them: null when the push is settled (into before) or rescheduled.
    private async ValueTask<VendorSend?> PrepareAsync(PushRecord job, PushDevice? device, long nowMs, Settlement before, CancellationToken cancellationToken)
    {
        if (device is null || string.IsNullOrEmpty(device.Token) || device.Vendor != job.Vendor)
        {
            FinalFilter(before, job, PushStages.Vendor, "device_gone");
            return null;
        }

        if (!_adapters.TryGetValue(job.Vendor, out var adapter))
        {
            FinalFilter(before, job, PushStages.Vendor, "no_adapter");
            return null;
        }

        // The notification composed at submit when the row still carries it (its payload unchanged), else the journal's text parsed.
        var notification = job.Composed.For<PushNotification>(job.Payload) ?? Deserialize(job.Payload);
        if (notification is null)
        {
            DeadLetter(before, job, job.Attempts, "bad_payload");
            return null;
        }

        if (notification.ExpiresAt is { } expiresAt)
        {
            // Worthless after its expiry (a campaign's end, a notification's validity): not sent, and the vendor keeps it no longer.
            if (expiresAt <= nowMs)
            {
                FinalFilter(before, job, PushStages.Vendor, "expired");
                return null;
            }

            notification = notification with { TtlSeconds = Math.Max(1, (expiresAt - nowMs) / 1000) };
        }

        var limits = adapter.Limits;
        if (limits.PausedUntil > nowMs)
        {
            _scheduler.Schedule(job with { NotBefore = limits.PausedUntil });
            return null;
        }

        // One bucket (and pause) for the whole cluster when the counters are shared: N nodes send at the configured rate. A
        // first attempt of a category other than IM also asks (in the same round trip) whether a vendor's quota answer,
        // told to any node, blocked the category: then it is dropped as the quota stage would, and takes no token.
        var blockable = job.Attempts == 0 && job.Category != PushCategory.Im ? job.Category : (PushCategory?)null;
        var gate = await limits.TakeTokenAsync(_counters, job.Vendor, blockable, cancellationToken).ConfigureAwait(false);
        if (gate.Blocked)
        {
            FinalFilter(before, job, PushStages.Vendor, "vendor_quota");
            return null;
        }

        if (gate.Wait > TimeSpan.Zero)
        {
            _scheduler.Schedule(job with { NotBefore = nowMs + (long)Math.Ceiling(gate.Wait.TotalMilliseconds) });
            return null;
        }

        if (job.Attempts == 0)
        {
            var (reserved, quotaReason) = await limits.ReserveQuotaAsync(_counters, job.Vendor, job.Category, job.UserId, job.DeviceId, cancellationToken).ConfigureAwait(false);
            if (!reserved && job.Category != PushCategory.Im)
            {
                FinalFilter(before, job, PushStages.Vendor, quotaReason);
                return null;
            }
        }

        return new VendorSend(job, device, adapter, notification, job.Attempts + 1);
    }

    // One claimed push's request: the funnel's "sent", the vendor span, the answer's log event and metrics.
    private async Task<PushSendResult> SendAsync(VendorSend send, CancellationToken cancellationToken)
    {
        var job = send.Job;
        if (send.Attempts == 1)
        {
            _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Sent);
            _metrics.Passed(PushStages.Vendor, job.Vendor, job.Category);
        }

        using var span = PushActivities.StartVendorCall(job.Vendor, send.Notification, send.Attempts);
        var started = Stopwatch.GetTimestamp();
        PushSendResult result;
        try
        {
            result = await send.Adapter.SendAsync(send.Device, send.Notification, cancellationToken).ConfigureAwait(false);
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
        return result;
    }

    // The answer's state change (written with the batch's other answers) and what follows it once durable.
    private async Task SettleResultAsync(VendorSend send, PushSendResult result, Settlement after, CancellationToken cancellationToken)
    {
        var job = send.Job;
        var device = send.Device;
        var adapter = send.Adapter;
        var attempts = send.Attempts;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        switch (result.Outcome)
        {
            case PushOutcome.Accepted:
                after.Changes.Add(new PushStateChange(job.PushId, PushState.Accepted, attempts, job.NotBefore, null, nowMs));
                after.Done.Add(new Settled(SettleKind.Accepted, job, attempts, job.NotBefore, null, Device: device));
                break;

            case PushOutcome.InvalidToken:
                after.Changes.Add(new PushStateChange(job.PushId, PushState.InvalidToken, attempts, job.NotBefore, result.Reason, nowMs));
                after.Done.Add(new Settled(SettleKind.InvalidToken, job, attempts, job.NotBefore, result.Reason, Device: device, Result: result));
                break;

            case PushOutcome.QuotaExceeded:
                await BlockCategoryAsync(adapter, job.Vendor, job.Category, result.RetryAfter, cancellationToken).ConfigureAwait(false);
                if (result.VendorWide && result.RetryAfter is { } quotaPause)
                {
                    await PauseVendorAsync(adapter, job.Vendor, quotaPause, cancellationToken).ConfigureAwait(false);
                }

                if (job.Category == PushCategory.Im)
                {
                    Retry(after, job, attempts, result.RetryAfter, result.Reason);
                }
                else
                {
                    FinalFilter(after, job with { Attempts = attempts }, PushStages.Results, "vendor_quota");
                }

                break;

            case PushOutcome.RetryAfter:
                if (result.VendorWide && result.RetryAfter is { } pause)
                {
                    await PauseVendorAsync(adapter, job.Vendor, pause, cancellationToken).ConfigureAwait(false);
                }

                Retry(after, job, attempts, result.RetryAfter, result.Reason);
                break;

            case PushOutcome.AuthError:
                _metrics.ConfigAlarms.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", "auth"));
                LogConfigAlarm(_logger, PushMetrics.VendorTag(job.Vendor), device.AppId, result.Reason);
                Retry(after, job, attempts, result.RetryAfter, result.Reason);
                break;

            case PushOutcome.OutcomeUnknown when adapter.HasDedupKey:
                Retry(after, job, attempts, result.RetryAfter, result.Reason);
                break;

            default:
                DeadLetter(after, job, attempts, result.Outcome == PushOutcome.OutcomeUnknown ? "outcome_unknown:" + result.Reason : result.Reason);
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

    private void Retry(Settlement settlement, PushRecord job, int attempts, TimeSpan? retryAfter, string reason)
    {
        if (attempts >= _options.MaxAttempts)
        {
            DeadLetter(settlement, job, attempts, "retries_exhausted:" + reason);
            return;
        }

        var backoff = TimeSpan.FromMilliseconds(Math.Min(
            _options.RetryMaxDelay.TotalMilliseconds,
            _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempts - 1)));
        var delay = retryAfter is { } ra && ra > backoff ? ra : backoff;
        var notBefore = _time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
        settlement.Changes.Add(new PushStateChange(job.PushId, PushState.Pending, attempts, notBefore, reason, null));
        settlement.Done.Add(new Settled(SettleKind.Retry, job, attempts, notBefore, reason));
    }

    private static void DeadLetter(Settlement settlement, PushRecord job, int attempts, string reason)
    {
        settlement.Changes.Add(new PushStateChange(job.PushId, PushState.DeadLettered, attempts, job.NotBefore, reason, null));
        settlement.Done.Add(new Settled(SettleKind.DeadLetter, job, attempts, job.NotBefore, reason));
    }

    private static void FinalFilter(Settlement settlement, PushRecord job, string stage, string reason)
    {
        settlement.Changes.Add(new PushStateChange(job.PushId, PushState.Filtered, job.Attempts, job.NotBefore, reason, null));
        settlement.Done.Add(new Settled(SettleKind.Filtered, job, job.Attempts, job.NotBefore, reason, stage));
    }

    private async Task DeadLetterAsync(PushRecord job, int attempts, string reason, CancellationToken cancellationToken)
    {
        var settlement = new Settlement();
        DeadLetter(settlement, job, attempts, reason);
        await _journal.UpdateStatesAsync(settlement.Changes, cancellationToken).ConfigureAwait(false);
        Apply(settlement);
    }

    // What follows a settlement once its state changes are durable: metrics, log events, retries scheduled (a retry enters
    // the lanes only after its row is Pending again), the token clean-up guard.
    private void Apply(Settlement settlement)
    {
        foreach (var d in settlement.Done)
        {
            var job = d.Job;
            switch (d.Kind)
            {
                case SettleKind.Filtered:
                    _metrics.Dropped(d.Stage!, job.Vendor, job.Category, d.Reason!);
                    _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Filtered, d.Reason!);
                    break;

                case SettleKind.DeadLetter:
                    _metrics.DeadLetters.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", d.Reason));
                    _metrics.Dropped(PushStages.Results, job.Vendor, job.Category, "dead_letter");
                    LogDeadLettered(_logger, job.PushId, PushMetrics.VendorTag(job.Vendor), d.Reason!);
                    break;

                case SettleKind.Retry:
                    _metrics.Retries.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", d.Reason));
                    _scheduler.Schedule(job with { State = PushState.Pending, Attempts = d.Attempts, NotBefore = d.NotBefore, Reason = d.Reason });
                    break;

                case SettleKind.Accepted:
                    _metrics.FunnelStep(job.Vendor, job.Category, PushFunnelSteps.Accepted);
                    _metrics.Passed(PushStages.Results, job.Vendor, job.Category);
                    foreach (var candidate in _guard.Confirm(job.Vendor, d.Device!.AppId))
                    {
                        settlement.Confirmed.Add((job, candidate));
                    }

                    break;

                case SettleKind.InvalidToken:
                    var device = d.Device!;
                    var result = d.Result!;
                    _metrics.Dropped(PushStages.Results, job.Vendor, job.Category, "invalid_token");
                    if (result.DeleteToken && (result.InvalidSince is not { } since || device.RegisteredAt < since)
                        && _guard.AddCandidate(job.Vendor, device.AppId, new TokenCleanupGuard.Candidate(device.UserId, device.DeviceId, device.Token, result.Reason)))
                    {
                        _metrics.ConfigAlarms.Add(1, new("vendor", PushMetrics.VendorTag(job.Vendor)), new("reason", "all_tokens_invalid"));
                        LogConfigAlarm(_logger, PushMetrics.VendorTag(job.Vendor), device.AppId, result.Reason);
                    }

                    break;
            }
        }
    }

    // Tokens the guard let go once an accepted push proved the (vendor, app) credentials: deleted after the batch's results
    // are durable; a failure is logged against the push that confirmed them (its own row is settled).
    private async Task DeleteConfirmedTokensAsync(Settlement settlement, CancellationToken cancellationToken)
    {
        foreach (var (job, candidate) in settlement.Confirmed)
        {
            try
            {
                await DeleteTokenAsync(job.Vendor, candidate.UserId, candidate.DeviceId, candidate.Token, candidate.Reason, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogProcessFailed(_logger, ex, job.PushId);
            }
        }
    }

    private enum SettleKind
    {
        Filtered,
        DeadLetter,
        Retry,
        Accepted,
        InvalidToken,
    }

    private readonly record struct Settled(SettleKind Kind, PushRecord Job, int Attempts, long NotBefore, string? Reason, string? Stage = null, PushDevice? Device = null, PushSendResult? Result = null);

    /// <summary>A batch's state changes (one journal write) and what follows each once they are durable.</summary>
    private sealed class Settlement
    {
        public List<PushStateChange> Changes { get; } = [];

        public List<Settled> Done { get; } = [];

        public List<(PushRecord Job, TokenCleanupGuard.Candidate Candidate)> Confirmed { get; } = [];
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
