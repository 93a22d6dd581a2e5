using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Internal;
using Parley.Push.Pipeline;
using Parley.Push.Vendors;

namespace Parley.Push;

/// <summary>
/// The offline push pipeline: resolve → policy → compose → coalesce → lanes (here, on submit) and vendor → results →
/// receipts (in <see cref="PushPipeline"/>'s dispatch half, driven by the hosted dispatcher). Register with
/// <c>services.AddParleyPush(...)</c>; the messaging core calls <see cref="SubmitAsync"/> once per committed message.
/// </summary>
public sealed partial class PushPipeline : IDisposable
{
    private readonly IDeviceStore _devices;
    private readonly PushIdKey _idKey;
    private readonly IPushJournal _journal;
    private readonly Dictionary<PushVendor, IPushVendorAdapter> _adapters;
    private readonly PushOptions _options;
    private readonly PushMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PushLanes _lanes;
    private readonly PushScheduler _scheduler;
    private readonly SendTimePolicy _sendTime;
    private readonly TemplateBandit _bandit;
    private readonly TokenCleanupGuard _guard;
    private readonly SemaphoreSlim _submitGate = new(1, 1);
    private readonly Dictionary<(string User, string Device, string Conversation), CoalesceWindow> _windows = [];
    private readonly IPushCounters _counters;
    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PushRecord> _requeue = new(StringComparer.Ordinal);
    private readonly string _owner;
    private readonly string _nodePrefix;
    private int _pruneAt = 1024;

    public PushPipeline(
        IDeviceStore devices,
        IPushJournal journal,
        IEnumerable<IPushVendorAdapter> adapters,
        IOptions<PushOptions> options,
        PushMetrics metrics,
        TimeProvider time,
        ILogger<PushPipeline> logger,
        PushIdKey idKey,
        IPushCounters? counters = null)
    {
        _idKey = idKey;
        ArgumentNullException.ThrowIfNull(options);
        _devices = devices;
        _journal = journal;
        _adapters = adapters.ToDictionary(a => a.Vendor);
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _nodePrefix = (string.IsNullOrEmpty(_options.NodeName) ? "standalone" : _options.NodeName) + "/";
        _owner = _nodePrefix + Guid.NewGuid().ToString("N");
        _lanes = new PushLanes(_options);
        _scheduler = new PushScheduler(time, r => _lanes.Enqueue(r, holdsSlot: false));
        _sendTime = new SendTimePolicy(_options);
        _counters = counters ?? new InMemoryPushCounters(time);
        _bandit = new TemplateBandit(_options, _counters, time);
        _guard = new TokenCleanupGuard(_options);
        metrics.Meter.CreateObservableGauge("parley.push.lane.depth", () => new Measurement<int>[]
        {
            new(_lanes.Depth(0), new KeyValuePair<string, object?>("lane", "im")),
            new(_lanes.Depth(1), new KeyValuePair<string, object?>("lane", "service")),
            new(_lanes.Depth(2), new KeyValuePair<string, object?>("lane", "marketing")),
            new(_scheduler.Count, new KeyValuePair<string, object?>("lane", "scheduled")),
        }, "{push}", "Pushes waiting per lane, and scheduled for later.");
    }

    internal PushMetrics Metrics => _metrics;

    /// <summary>This pipeline instance's owner name in the journal (ADR 0014): "{NodeName}/{incarnation}".</summary>
    public string Owner => _owner;

    /// <summary>Pushes waiting in a lane (0 IM, 1 service, 2 content/marketing).</summary>
    public int LaneDepth(int lane) => _lanes.Depth(lane);

    /// <summary>Pushes scheduled for later (quiet hours, coalescing windows, backoff).</summary>
    public int ScheduledCount => _scheduler.Count;

    /// <summary>
    /// Runs the submit half of the pipeline for one committed message. When it returns, every push it accepted is in the
    /// journal (durable) and will be sent even across a crash. IM/service callers wait when their lane is full.
    /// </summary>
    public async Task<PushSubmitResult> SubmitAsync(PushRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await SubmitManyAsync([request], cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// Runs the submit half for several committed messages, in their order, and journals all their pushes in one append
    /// (one transaction, one commit: 1:1 traffic made one commit per message; issue 17). Each message is planned, filtered,
    /// coalesced, counted and queued as <see cref="SubmitAsync"/> does, and gets its own result, in the requests' order.
    /// When it returns, every accepted push is durable; when the append fails, nothing of any request is queued.
    /// </summary>
    public async Task<IReadOnlyList<PushSubmitResult>> SubmitManyAsync(IReadOnlyList<PushRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        string[] users;
        if (requests.Count == 1)
        {
            ArgumentNullException.ThrowIfNull(requests[0]);
            users = [.. requests[0].Recipients.Select(r => r.UserId)]; // as before groups: no set for a large group's one message
        }
        else
        {
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var request in requests)
            {
                ArgumentNullException.ThrowIfNull(request);
                foreach (var recipient in request.Recipients)
                {
                    set.Add(recipient.UserId);
                }
            }

            users = [.. set];
        }

        var devices = await _devices.ListAsync(users, cancellationToken).ConfigureAwait(false);
        var byUser = devices.ToLookup(d => d.UserId, StringComparer.Ordinal);
        var legacyIds = await JournaledWithLegacyIdsAsync(requests, byUser, cancellationToken).ConfigureAwait(false);
        var results = new List<PushSubmitResult>(requests.Count);

        await _submitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PruneWindows(nowMs);
            while (results.Count < requests.Count)
            {
                await SubmitGroupAsync(requests, results.Count, byUser, legacyIds, now, results, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }
        finally
        {
            _submitGate.Release();
        }
    }

    /// <summary>
    /// Under the submit gate: plans requests from <paramref name="start"/> on, journals them in one append and queues them,
    /// adding their results. A request after the first joins only while its lane has a free slot for each of its devices:
    /// the group's slots are held until the append, so a group that needed more than the lane holds would wait for itself.
    /// </summary>
    private async Task SubmitGroupAsync(
        IReadOnlyList<PushRequest> requests,
        int start,
        ILookup<string, PushDevice> byUser,
        bool[] legacyIds,
        DateTimeOffset now,
        List<PushSubmitResult> results,
        CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var plans = new List<SubmitPlan>(requests.Count - start);
        var finished = 0;
        try
        {
            for (var i = start; i < requests.Count; i++)
            {
                if (i > start && requests[i].Category is PushCategory.Im or PushCategory.Service
                    && _lanes.FreeSlots(requests[i].Category) < requests[i].Recipients.Sum(r => byUser[r.UserId].Count()))
                {
                    break; // the next group starts with it, and waits for its slots as a single submit does
                }

                var plan = new SubmitPlan(requests[i]);
                plans.Add(plan);
                await PlanAsync(plan, byUser, legacyIds[i], now, cancellationToken).ConfigureAwait(false);
            }

            // Journaled and queued in push id order: a message's pushes are then neighbours in the journal's key
            // order and in the lanes, so a send loop's batch reads, claims and settles rows on a few pages (issue 17).
            // Stable across requests: a push id planned twice in a group is journaled as its first request planned it.
            PushRecord[] ordered;
            if (plans.Count == 1)
            {
                ordered = plans[0].Rows.ToArray();
                Array.Sort(ordered, static (a, b) => string.CompareOrdinal(a.PushId, b.PushId));
            }
            else
            {
                ordered = [.. plans.SelectMany(p => p.Rows).OrderBy(r => r.PushId, StringComparer.Ordinal)];
            }

            var inserted = await _journal.AppendAsync(ordered, cancellationToken).ConfigureAwait(false);
            await _bandit.FlushAsync(cancellationToken).ConfigureAwait(false);

            if (plans.Count == 1)
            {
                plans[0].Inserted.AddRange(inserted); // one request plans each push id once
            }
            else
            {
                // Each inserted row belongs to the first request that planned it (the same message twice in one group:
                // the second one journals and queues nothing, as a resubmission after the first).
                var fresh = new Dictionary<string, PushRecord>(inserted.Count, StringComparer.Ordinal);
                foreach (var r in inserted)
                {
                    fresh.TryAdd(r.PushId, r);
                }

                foreach (var plan in plans)
                {
                    foreach (var row in plan.Rows.OrderBy(r => r.PushId, StringComparer.Ordinal))
                    {
                        if (fresh.Remove(row.PushId, out var r))
                        {
                            plan.Inserted.Add(r);
                        }
                    }
                }
            }

            for (; finished < plans.Count; finished++)
            {
                await FinishAsync(plans[finished], nowMs, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            for (var i = finished; i < plans.Count; i++)
            {
                foreach (var r in plans[i].Reserved)
                {
                    _lanes.ReleaseReservation(r.Category);
                }
            }

            throw;
        }

        results.AddRange(plans.Select(p => p.Result!));
    }

    /// <summary>One request's rows, lane reservations, digest updates and result, between its plan and its queueing.</summary>
    private sealed class SubmitPlan(PushRequest request)
    {
        public PushRequest Request { get; } = request;

        public List<PushRecord> Rows { get; } = [];

        public List<PushRecord> Reserved { get; } = [];

        public List<PushRecord> DigestUpdates { get; } = [];

        public List<string> Coalesced { get; } = [];

        public Dictionary<string, int> Filtered { get; } = new(StringComparer.Ordinal);

        public List<PushRecord> Inserted { get; } = [];

        public Dictionary<string, long>? MarketingCounts { get; set; }

        public int Planned { get; set; }

        public PushSubmitResult? Result { get; set; }
    }

    /// <summary>Resolve, policy, compose and coalesce one request into its rows (under the submit gate); reserves lane slots.</summary>
    private async Task PlanAsync(SubmitPlan plan, ILookup<string, PushDevice> byUser, bool legacyIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var request = plan.Request;
        var nowMs = now.ToUnixTimeMilliseconds();
        var traceId = string.IsNullOrEmpty(request.TraceId) ? PushIds.TraceId(request.MessageId) : request.TraceId;
        var prefix = PushIds.MessagePrefix(_idKey, request.MessageId);
        var rows = plan.Rows;
        var filtered = plan.Filtered;
        plan.MarketingCounts = await CountMarketingAsync(request, nowMs, cancellationToken).ConfigureAwait(false);
        var marketingCounts = plan.MarketingCounts;
        foreach (var recipient in request.Recipients.DistinctBy(r => r.UserId, StringComparer.Ordinal))
        {
            var userPolicyReason = PolicyReason(request, recipient, marketingCounts);
            foreach (var device in byUser[recipient.UserId])
            {
                plan.Planned++;
                var pushId = legacyIds
                    ? PushIds.LegacyPushId(_idKey, request.MessageId, recipient.UserId, device.DeviceId)
                    : PushIds.PushId(_idKey, prefix, request.MessageId, recipient.UserId, device.DeviceId);
                _metrics.FunnelStep(device.Vendor, request.Category, PushFunnelSteps.Planned);

                var reason = ResolveReason(request, recipient, device, nowMs);
                var stage = PushStages.Resolve;
                if (reason is null)
                {
                    _metrics.Passed(PushStages.Resolve, device.Vendor, request.Category);
                    reason = userPolicyReason;
                    stage = PushStages.Policy;
                }

                if (reason is not null)
                {
                    Filter(stage, device, request.Category, reason, filtered);
                    rows.Add(Row(pushId, request, traceId, device, PushState.Filtered, "{}", nowMs, nowMs, reason));
                    continue;
                }

                var notBefore = _sendTime.EarliestSend(request.Category, recipient.UserId, device.TimeZone, now, out var delayReason);
                if (notBefore > nowMs && request.ExpiresAt is { } expiresAt && notBefore >= expiresAt)
                {
                    // Held past its expiry (quiet hours or the send time end after it): it would only be filtered
                    // "expired" then, so it is suppressed now, with the reason that held it.
                    Filter(PushStages.Policy, device, request.Category, delayReason ?? "expired", filtered);
                    rows.Add(Row(pushId, request, traceId, device, PushState.Filtered, "{}", nowMs, notBefore, delayReason ?? "expired"));
                    continue;
                }

                _metrics.Passed(PushStages.Policy, device.Vendor, request.Category);

                var notification = Compose(request, recipient, pushId, traceId);
                _metrics.Passed(PushStages.Compose, device.Vendor, request.Category);

                if (request.Category is PushCategory.Im or PushCategory.Service)
                {
                    var key = (recipient.UserId, device.DeviceId, request.ConversationId);
                    if (_windows.TryGetValue(key, out var window) && nowMs < window.End)
                    {
                        window.Count++;
                        var digest = Digest(request, recipient, device, traceId, window, notification);
                        if (window.DigestRow is null)
                        {
                            window.DigestRow = digest;
                            rows.Add(digest);
                        }
                        else
                        {
                            window.DigestRow = digest;
                            plan.DigestUpdates.Add(digest);
                        }

                        _metrics.Dropped(PushStages.Coalesce, device.Vendor, request.Category, "coalesced");
                        rows.Add(Row(pushId, request, traceId, device, PushState.Coalesced, "{}", nowMs, nowMs, "coalesced") with { DigestPushId = digest.PushId });
                        plan.Coalesced.Add(pushId);
                        continue;
                    }

                    _windows[key] = new CoalesceWindow(nowMs + (long)_options.CoalesceWindow.TotalMilliseconds, request.MessageId);
                }

                _metrics.Passed(PushStages.Coalesce, device.Vendor, request.Category);

                // The composed notification kept with the row (issue 17, stop 46): the dispatch sends it instead of parsing the
                // journal's text back, while the row's payload is still this string.
                var row = Row(pushId, request, traceId, device, PushState.Pending, Serialize(notification), nowMs, notBefore, delayReason, notification);
                if (notBefore <= nowMs)
                {
                    if (!await _lanes.ReserveAsync(request.Category, cancellationToken).ConfigureAwait(false))
                    {
                        Filter(PushStages.Lanes, device, request.Category, "lane_full", filtered);
                        rows.Add(row with { State = PushState.Filtered, Payload = "{}", Reason = "lane_full" });
                        continue;
                    }

                    plan.Reserved.Add(row);
                }

                rows.Add(row);
            }
        }

        for (var i = 0; i < rows.Count; i++)
        {
            rows[i] = rows[i] with { Owner = _owner };
        }
    }

    /// <summary>After the append: the request's marketing refunds and digest updates, then its new pushes queued, its result.</summary>
    private async Task FinishAsync(SubmitPlan plan, long nowMs, CancellationToken cancellationToken)
    {
        await RefundMarketingAsync(plan.MarketingCounts, plan.Inserted, nowMs, cancellationToken).ConfigureAwait(false);
        foreach (var update in plan.DigestUpdates)
        {
            if (await _journal.UpdatePendingAsync(update.PushId, update.Payload, update.NotBefore, cancellationToken).ConfigureAwait(false))
            {
                _scheduler.Remove(update.PushId);
                _scheduler.Schedule(update);
            }
        }

        // Sized once (issue 17, stop 45): ToHashSet over a Select grew each set by doubling, ~2,000 rows a message here.
        var insertedIds = IdSet(plan.Inserted);
        var reservedIds = IdSet(plan.Reserved);
        foreach (var r in plan.Inserted.Where(r => r.State == PushState.Pending))
        {
            _metrics.Passed(PushStages.Lanes, r.Vendor, r.Category);
            if (reservedIds.Contains(r.PushId))
            {
                _lanes.Enqueue(r, holdsSlot: true);
            }
            else
            {
                _scheduler.Schedule(r);
            }
        }

        // Accepted in the recipients' order, as before the journal's order was the push ids'.
        var accepted = new List<string>();
        foreach (var r in plan.Rows)
        {
            if (r.State == PushState.Pending && insertedIds.Contains(r.PushId))
            {
                accepted.Add(r.PushId);
            }
        }

        foreach (var r in plan.Reserved.Where(r => !insertedIds.Contains(r.PushId)))
        {
            _lanes.ReleaseReservation(r.Category); // a resubmitted message: its push is already journaled
        }

        plan.Result = new PushSubmitResult(plan.Planned, plan.Filtered, accepted, plan.Coalesced) { Rows = plan.Rows };
    }

    private static HashSet<string> IdSet(List<PushRecord> rows)
    {
        var set = new HashSet<string>(rows.Count, StringComparer.Ordinal);
        foreach (var r in rows)
        {
            set.Add(r.PushId);
        }

        return set;
    }

    /// <summary>A device (client ack or vendor receipt) reports that a push arrived. False for unknown ids, mismatched trace ids or repeats.</summary>
    public async Task<bool> ReportArrivedAsync(string pushId, string traceId, string source = "client", CancellationToken cancellationToken = default)
    {
        var row = await _journal.GetAsync(pushId, cancellationToken).ConfigureAwait(false);
        if (row is null || row.ArrivedAt is not null || !TraceMatches(row, traceId))
        {
            _metrics.Dropped(PushStages.Receipts, row?.Vendor ?? default, row?.Category ?? default, row is null ? "unknown_push" : row.ArrivedAt is not null ? "duplicate" : "trace_mismatch");
            return false;
        }

        // A vendor's callback speaks only for pushes sent through that vendor.
        if (source is not ("client" or "click") && !string.Equals(PushMetrics.VendorTag(row.Vendor), source, StringComparison.Ordinal))
        {
            _metrics.Dropped(PushStages.Receipts, row.Vendor, row.Category, "vendor_mismatch");
            return false;
        }

        using var span = PushActivities.StartReport("arrived", pushId, row.Payload.Length > 2 ? Deserialize(row.Payload) : null);
        span?.SetTag("push.report.source", source);
        await _journal.MarkArrivedAsync(pushId, _time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        _metrics.FunnelStep(row.Vendor, row.Category, PushFunnelSteps.Arrived, source);
        _metrics.Passed(PushStages.Receipts, row.Vendor, row.Category);
        return true;
    }

    /// <summary>The user opened the notification. Rewards the template bandit and teaches the user's send time.</summary>
    public async Task<bool> ReportClickedAsync(string pushId, string traceId, CancellationToken cancellationToken = default)
    {
        var row = await _journal.GetAsync(pushId, cancellationToken).ConfigureAwait(false);
        if (row is null || row.ClickedAt is not null || !TraceMatches(row, traceId))
        {
            _metrics.Dropped(PushStages.Receipts, row?.Vendor ?? default, row?.Category ?? default, row is null ? "unknown_push" : row.ClickedAt is not null ? "duplicate" : "trace_mismatch");
            return false;
        }

        var notification = row.Payload.Length > 2 ? Deserialize(row.Payload) : null;
        using var span = PushActivities.StartReport("clicked", pushId, notification);
        if (row.ArrivedAt is null)
        {
            await ReportArrivedAsync(pushId, traceId, "click", cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        await _journal.MarkClickedAsync(pushId, now.ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        _metrics.FunnelStep(row.Vendor, row.Category, PushFunnelSteps.Clicked);
        if (notification is { TemplateId: { } template } n)
        {
            await _bandit.RewardAsync(n.CampaignId ?? n.MessageId, template, cancellationToken).ConfigureAwait(false);
        }

        var device = await _devices.GetAsync(row.UserId, row.DeviceId, cancellationToken).ConfigureAwait(false);
        _sendTime.RecordClick(row.UserId, device?.TimeZone ?? "UTC", now);
        return true;
    }

    /// <summary>"What happened to the pushes of message X": every device-push row, including filtered ones and digests.</summary>
    public Task<IReadOnlyList<PushRecord>> GetMessagePushesAsync(string messageId, CancellationToken cancellationToken = default) =>
        _journal.ListByMessageAsync(messageId, cancellationToken);

    public Task<IReadOnlyList<PushRecord>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default) =>
        _journal.ListByStateAsync(PushState.DeadLettered, limit, cancellationToken);

    /// <summary>Sends a dead-lettered push again, with the same push id. False when it is not dead-lettered.</summary>
    public async Task<bool> ReplayDeadLetterAsync(string pushId, CancellationToken cancellationToken = default)
    {
        var row = await _journal.GetAsync(pushId, cancellationToken).ConfigureAwait(false);
        if (row is null || row.State != PushState.DeadLettered)
        {
            return false;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!await _journal.ReplayAsync(pushId, _owner, now, cancellationToken).ConfigureAwait(false))
        {
            return false; // replayed meanwhile (by another admin or node)
        }

        _scheduler.Schedule(row with { State = PushState.Pending, Attempts = 0, NotBefore = now, Reason = "replay", Owner = _owner });
        return true;
    }

    /// <summary>Deletes finished journal rows older than <see cref="PushOptions.JournalRetention"/>; the dispatcher calls it hourly.</summary>
    public Task<int> PurgeJournalAsync(CancellationToken cancellationToken = default) =>
        _journal.PurgeFinishedAsync(_time.GetUtcNow().Subtract(_options.JournalRetention).ToUnixTimeMilliseconds(), cancellationToken);

    /// <summary>Funnel counts per vendor × category × step since start.</summary>
    public IReadOnlyList<PushFunnelEntry> Funnel() => _metrics.FunnelSnapshot();

    /// <summary>The bandit's (sends, clicks) of a template in this node's view (its own choices and clicks since its last read).</summary>
    public (long Sends, long Clicks) TemplateStats(string campaignId, string templateId) => _bandit.Stats(campaignId, templateId);

    /// <summary>The bandit's (sends, clicks) per template of a campaign as counted (every node's, in a cluster).</summary>
    public async Task<IReadOnlyDictionary<string, (long Sends, long Clicks)>> TemplateStatsAsync(string campaignId, CancellationToken cancellationToken = default) =>
        await _bandit.StatsAsync(campaignId, cancellationToken).ConfigureAwait(false);

    /// <summary>The user's learned send hour (local), once enough clicks are known.</summary>
    public int? LearnedSendHour(string userId) => _sendTime.LearnedHour(userId);

    public void Dispose()
    {
        _scheduler.Dispose();
        _lanes.Dispose();
        _submitGate.Dispose();
    }

    // A message first journaled by a build before stop 41 has push ids without its message's prefix (PushIds.LegacyPushId):
    // submitted again (a resumed super-group page or campaign, a retried submit) across the upgrade, it keeps those ids,
    // so that the journal's conflict on the push id still makes the resubmission idempotent per device. One point read of
    // the legacy id of the message's first device per submit (the primary key; absent for every message journaled since),
    // one GetManyAsync for a group of submits.
    private async Task<bool[]> JournaledWithLegacyIdsAsync(IReadOnlyList<PushRequest> requests, ILookup<string, PushDevice> byUser, CancellationToken cancellationToken)
    {
        var legacy = new string?[requests.Count];
        var ids = new List<string>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            legacy[i] = FirstLegacyId(requests[i], byUser);
            if (legacy[i] is { } id)
            {
                ids.Add(id);
            }
        }

        var result = new bool[requests.Count];
        if (ids.Count == 0)
        {
            return result;
        }

        var found = (await _journal.GetManyAsync(ids, cancellationToken).ConfigureAwait(false)).Select(r => r.PushId).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < requests.Count; i++)
        {
            result[i] = legacy[i] is { } id && found.Contains(id);
        }

        return result;
    }

    private string? FirstLegacyId(PushRequest request, ILookup<string, PushDevice> byUser)
    {
        foreach (var recipient in request.Recipients)
        {
            foreach (var device in byUser[recipient.UserId])
            {
                return PushIds.LegacyPushId(_idKey, request.MessageId, recipient.UserId, device.DeviceId);
            }
        }

        return null;
    }

    /// <summary>Forgets closed coalescing windows, amortised: only when the map doubled since the last sweep.</summary>
    private void PruneWindows(long nowMs)
    {
        if (_windows.Count < _pruneAt)
        {
            return;
        }

        foreach (var key in _windows.Where(kv => kv.Value.End <= nowMs).Select(kv => kv.Key).ToList())
        {
            _windows.Remove(key);
        }

        _pruneAt = Math.Max(1024, _windows.Count * 2);
    }

    private static bool TraceMatches(PushRecord row, string traceId) => string.IsNullOrEmpty(traceId) || string.Equals(row.TraceId, traceId, StringComparison.Ordinal);

    private string? ResolveReason(PushRequest request, PushRecipient recipient, PushDevice device, long nowMs)
    {
        if (string.Equals(recipient.UserId, request.SenderId, StringComparison.Ordinal))
        {
            return "sender";
        }

        if (recipient.ForegroundDeviceIds.Contains(device.DeviceId))
        {
            return "online";
        }

        if (string.IsNullOrEmpty(device.Token) || device.TokenInvalidAt is not null)
        {
            return "no_token";
        }

        if (!device.NotificationsEnabled)
        {
            return "notifications_disabled";
        }

        if (nowMs - device.LastSeenAt > (long)_options.StaleDeviceAfter.TotalMilliseconds)
        {
            return "stale";
        }

        return _adapters.ContainsKey(device.Vendor) ? null : "no_adapter";
    }

    /// <summary>
    /// A marketing request counts one push against each recipient's daily cap (every recipient that reaches the cap
    /// check: not in do-not-disturb, not muted), all in one round trip to the counters, and loads the bandit's arms.
    /// </summary>
    private async ValueTask<Dictionary<string, long>?> CountMarketingAsync(PushRequest request, long nowMs, CancellationToken cancellationToken)
    {
        if (request.Category != PushCategory.Marketing)
        {
            return null;
        }

        if (request.Templates.Count > 0)
        {
            await _bandit.PrepareAsync(request.CampaignId ?? request.MessageId, cancellationToken).ConfigureAwait(false);
        }

        var day = nowMs / 86_400_000;
        var users = request.Recipients.DistinctBy(r => r.UserId, StringComparer.Ordinal)
            .Where(r => !r.DoNotDisturb && r.Mode != ConversationNotifyMode.Muted)
            .Select(r => r.UserId)
            .ToList();
        var counts = new Dictionary<string, long>(users.Count, StringComparer.Ordinal);
        if (users.Count == 0)
        {
            return counts;
        }

        var values = await _counters.IncrementAsync([.. users.Select(u => FormattableString.Invariant($"cap:{day}:{u}"))], 1, TimeSpan.FromDays(2), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < users.Count; i++)
        {
            counts[users[i]] = values[i];
        }

        return counts;
    }

    /// <summary>
    /// The daily cap counts marketing pushes a user gets: a counted user for whom this request journaled nothing new (capped,
    /// suppressed for quiet hours past the expiry, no usable device, a re-run of a journaled chunk) gets the count back.
    /// </summary>
    private async ValueTask RefundMarketingAsync(Dictionary<string, long>? marketingCounts, IReadOnlyList<PushRecord> inserted, long nowMs, CancellationToken cancellationToken)
    {
        if (marketingCounts is not { Count: > 0 })
        {
            return;
        }

        var journaled = inserted.Where(r => r.State == PushState.Pending).Select(r => r.UserId).ToHashSet(StringComparer.Ordinal);
        var refund = marketingCounts.Keys.Where(u => !journaled.Contains(u)).ToList();
        if (refund.Count > 0)
        {
            var day = nowMs / 86_400_000;
            await _counters.IncrementAsync([.. refund.Select(u => FormattableString.Invariant($"cap:{day}:{u}"))], -1, TimeSpan.FromDays(2), cancellationToken).ConfigureAwait(false);
        }
    }

    private string? PolicyReason(PushRequest request, PushRecipient recipient, Dictionary<string, long>? marketingCounts)
    {
        if (recipient.DoNotDisturb)
        {
            return "dnd";
        }

        if (request.Category is PushCategory.Im)
        {
            if (recipient.Mode == ConversationNotifyMode.Muted)
            {
                return "muted";
            }

            if (recipient.Mode == ConversationNotifyMode.MentionsOnly && !recipient.Mentioned)
            {
                return "mentions_only";
            }
        }
        else if (recipient.Mode == ConversationNotifyMode.Muted)
        {
            return "muted";
        }

        if (request.Category == PushCategory.Marketing && marketingCounts is not null
            && marketingCounts.GetValueOrDefault(recipient.UserId) > Math.Min(_options.MarketingDailyCapPerUser, request.MarketingDailyCap ?? int.MaxValue))
        {
            return "user_cap";
        }

        return null;
    }

    private PushNotification Compose(PushRequest request, PushRecipient recipient, string pushId, string traceId)
    {
        string title;
        string body;
        string? templateId = null;
        if (request.Category == PushCategory.Marketing && request.Templates.Count > 0)
        {
            var template = _bandit.Choose(request.CampaignId ?? request.MessageId, request.Templates);
            (title, body, templateId) = (template.Title, template.Body, template.TemplateId);
        }
        else
        {
            (title, body) = recipient.Privacy switch
            {
                PushPrivacyMode.Full => (request.SenderName, request.Preview),
                PushPrivacyMode.SenderOnly => (request.SenderName, GenericBody(request.Category, 1)),
                _ => (GenericTitle, GenericBody(request.Category, 1)),
            };
        }

        return new PushNotification(
            pushId, request.MessageId, traceId, recipient.UserId, request.ConversationId, request.Category, title, body,
            recipient.UnreadTotal, request.ConversationId, 0, templateId, request.CampaignId)
        {
            TraceParent = request.TraceParent ?? PushActivities.CurrentTraceParent(),
            ExpiresAt = request.ExpiresAt,
        };
    }

    private const string GenericTitle = "Parley";

    private static string GenericBody(PushCategory category, int count) => category switch
    {
        PushCategory.Im => count == 1 ? "New message" : $"{count} new messages",
        PushCategory.Service => count == 1 ? "New notification" : $"{count} new notifications",
        _ => "New content",
    };

    private PushRecord Digest(PushRequest request, PushRecipient recipient, PushDevice device, string traceId, CoalesceWindow window, PushNotification latest)
    {
        var pushId = PushIds.PushId(_idKey, window.OpenerMessageId + ":digest", recipient.UserId, device.DeviceId);
        var title = recipient.Privacy == PushPrivacyMode.Generic ? GenericTitle : latest.Title;
        var n = latest with
        {
            PushId = pushId,
            Title = title,
            Body = GenericBody(request.Category, window.Count),
            DigestCount = window.Count,
        };
        var messageId = window.DigestRow?.MessageId ?? request.MessageId;
        return new PushRecord(
            pushId, messageId, traceId, recipient.UserId, device.DeviceId, device.Vendor, request.Category, PushState.Pending,
            Serialize(n with { MessageId = messageId }), window.DigestRow?.CreatedAt ?? _time.GetUtcNow().ToUnixTimeMilliseconds(), window.End, 0, "digest", null, null, null, null);
    }

    private void Filter(string stage, PushDevice device, PushCategory category, string reason, Dictionary<string, int> filtered)
    {
        _metrics.Dropped(stage, device.Vendor, category, reason);
        _metrics.FunnelStep(device.Vendor, category, PushFunnelSteps.Filtered, reason);
        filtered[reason] = filtered.GetValueOrDefault(reason) + 1;
    }

    private static PushRecord Row(
        string pushId, PushRequest request, string traceId, PushDevice device, PushState state, string payload, long createdAt, long notBefore, string? reason,
        PushNotification? composed = null) =>
        new(pushId, request.MessageId, traceId, device.UserId, device.DeviceId, device.Vendor, request.Category, state, payload, createdAt, notBefore, 0, reason, null, null, null, null)
        {
            // Only a notification that its payload parses back to: TtlSeconds is never journaled.
            Composed = composed is { TtlSeconds: null } ? new ComposedPayload(payload, composed) : default,
        };

    internal static string Serialize(PushNotification n) => JsonSerializer.Serialize(n, PushJsonContext.Default.PushNotification);

    internal static PushNotification? Deserialize(string payload) => JsonSerializer.Deserialize(payload, PushJsonContext.Default.PushNotification);

    private sealed class CoalesceWindow(long end, string openerMessageId)
    {
        public long End { get; } = end;

        public string OpenerMessageId { get; } = openerMessageId;

        public int Count { get; set; }

        public PushRecord? DigestRow { get; set; }
    }
}
