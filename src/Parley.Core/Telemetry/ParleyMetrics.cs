using System.Diagnostics.Metrics;

namespace Parley.Core.Telemetry;

/// <summary>The registry of Parley's metric names. One meter, "Parley"; every instrument is created here.</summary>
public sealed class ParleyMetrics : IDisposable
{
    public const string MeterName = "Parley";

    private readonly Meter _meter;
    private Func<int>? _outstandingSends;
    private Func<int>? _outstandingLimit;

    public ParleyMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Connections = _meter.CreateUpDownCounter<long>("parley.gateway.connections", "{connection}", "Open, authenticated WebSocket connections.");
        Handshakes = _meter.CreateCounter<long>("parley.gateway.handshakes", "{handshake}", "Handshakes by result.");
        Kicks = _meter.CreateCounter<long>("parley.gateway.kicks", "{connection}", "Connections ended by the server, by reason.");
        OutboxOverflows = _meter.CreateCounter<long>("parley.gateway.outbox.overflows", "{connection}", "Connections closed because their outbox overflowed.");
        BadFrames = _meter.CreateCounter<long>("parley.gateway.bad_frames", "{frame}", "Frames refused as malformed, oversized or out of protocol.");
        RequestFailures = _meter.CreateCounter<long>("parley.gateway.request_failures", "{request}", "Requests that failed inside the server (answered Internal), by request kind and exception type.");
        MessagesAccepted = _meter.CreateCounter<long>("parley.messages.accepted", "{message}", "Messages durably committed (acked).");
        MessagesDuplicate = _meter.CreateCounter<long>("parley.messages.duplicates", "{message}", "Sends answered with the original ack of a retried client message id.");
        Deliveries = _meter.CreateCounter<long>("parley.delivery.frames", "{frame}", "Event frames handed to connection outboxes.");
        AckDuration = _meter.CreateHistogram("parley.send.ack.duration", "s", "From send request received to ack sent.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        // Fine buckets from 0.1 ms to 2.5 s: a one-core p99 of 50-140 ms has to be placed hop by hop (issue 17).
        double[] hopBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5];
        SendHopDuration = _meter.CreateHistogram("parley.send.hop.duration", "s", "One hop of a send inside the server, by hop: receive, call, turn, batch, commit, dispatch, resume, return, ack (the sender's path) and deliver (one live event frame in 8, queued to written).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = hopBounds });
        SendServerDuration = _meter.CreateHistogram("parley.send.server.duration", "s", "A send inside the server, from its frame read to its ack written to the sender's socket (native sends whose grain ran on this node).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = hopBounds });
        SendsUnanswered = _meter.CreateCounter<long>("parley.send.unanswered", "{send}", "One-way sends (ADR 0022) whose grain's answer did not end them, by reason: timeout (answered Unavailable by the gateway), late (an answer after its send had ended), closed (the connection closed first), expired (no answer from the grain long after the timeout: its work stops counting, ADR 0031).");
        _meter.CreateObservableGauge("parley.send.outstanding", () => _outstandingSends?.Invoke() ?? 0, "{send}", "Send work admitted on this node and not yet answered by its grain (ADR 0031).");
        _meter.CreateObservableGauge("parley.send.outstanding_limit", () => _outstandingLimit?.Invoke() ?? 0, "{send}", "The bound of outstanding send work in effect: Parley:Messaging:MaxOutstandingSends, or with the age bound the drain rate times Parley:Messaging:MaxOutstandingSendAge within MinOutstandingSends and MaxOutstandingSends (ADR 0035).");
        SendsBusy = _meter.CreateCounter<long>("parley.send.busy", "{send}", "Sends refused before any work because the node's (scope=node) or the connection's (scope=connection) outstanding send work was at its bound (ADR 0031): answered Unavailable with a retry-after.");
        DeactivationsWaited = _meter.CreateCounter<long>("parley.conversation.deactivations_waited", "{activation}", "Conversation grain deactivations (Orleans' idle collection, memory pressure, shutdown, the node's 1:1 sweep) that waited for commits of the activation still in flight (ADR 0040).");
        SlowSends = _meter.CreateCounter<long>("parley.send.slow", "{send}", "Sends slower inside the server than Parley:Gateway:SlowSendThreshold, by the hop that took most of their time.");
        SlowSendTime = _meter.CreateCounter<double>("parley.send.slow.time", "s", "The time that sends slower than Parley:Gateway:SlowSendThreshold spent in each hop.");
        BatchSize = _meter.CreateHistogram<int>("parley.store.batch.size", "{item}", "Items per group commit.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
        CommitDuration = _meter.CreateHistogram("parley.store.commit.duration", "s", "Duration of one group commit transaction.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1] });
        CommitFailures = _meter.CreateCounter<long>("parley.store.commit.failures", "{batch}", "Group commits that failed and were retried item by item.");
        RateLimited = _meter.CreateCounter<long>("parley.rate_limited", "{request}", "Requests refused by a rate limit, by action and scope (user or connection).");
        WebhookCalls = _meter.CreateCounter<long>("parley.webhook.calls", "{call}", "Webhook calls by hook and outcome (allowed, modified, rejected, failed_open, failed_closed).");
        WebhookDuration = _meter.CreateHistogram("parley.webhook.duration", "s", "Webhook call latency by hook, failed calls included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
        WebhookFailures = _meter.CreateCounter<long>("parley.webhook.failures", "{call}", "Failed webhook calls by hook and reason (timeout, unreachable, status_NNN, bad_answer).");
        WebhookDeliveries = _meter.CreateCounter<long>("parley.webhook.deliveries", "{attempt}", "After-hook delivery attempts by hook and outcome (delivered, retried, dead_lettered, lease_lost).");
        _meter.CreateObservableGauge("parley.webhook.outbox.pending", () => Volatile.Read(ref _outboxPending), "{event}", "After-hook events waiting in the outbox (every node's), as this node last counted them.");
        _meter.CreateObservableGauge("parley.webhook.outbox.dead_letters", () => Volatile.Read(ref _outboxDead), "{event}", "Dead-lettered after-hook events waiting for a replay, as this node last counted them.");
    }

    private long _outboxPending;
    private long _outboxDead;

    /// <summary>Records the outbox's counts for the two gauges (the dispatcher counts them every few seconds).</summary>
    public void SetWebhookOutbox(long pending, long deadLettered)
    {
        Volatile.Write(ref _outboxPending, pending);
        Volatile.Write(ref _outboxDead, deadLettered);
    }

    public Counter<long> WebhookDeliveries { get; }

    public UpDownCounter<long> Connections { get; }

    public Counter<long> Handshakes { get; }

    public Counter<long> Kicks { get; }

    public Counter<long> OutboxOverflows { get; }

    public Counter<long> BadFrames { get; }

    /// <summary>Requests that failed inside the server, by <c>kind</c> (the request's body) and <c>error</c> (the exception type).</summary>
    public Counter<long> RequestFailures { get; }

    public Counter<long> MessagesAccepted { get; }

    public Counter<long> MessagesDuplicate { get; }

    public Counter<long> Deliveries { get; }

    public Histogram<double> AckDuration { get; }

    public Histogram<double> SendHopDuration { get; }

    public Histogram<double> SendServerDuration { get; }

    /// <summary>One-way sends (ADR 0022) not ended by their grain's answer, by reason (timeout, late, closed).</summary>
    public Counter<long> SendsUnanswered { get; }

    /// <summary>Sends refused as busy (ADR 0031), by scope.</summary>
    public Counter<long> SendsBusy { get; }

    /// <summary>Conversation grain deactivations that waited for the activation's commits in flight (ADR 0040).</summary>
    public Counter<long> DeactivationsWaited { get; }

    /// <summary>
    /// Reports this node's outstanding send work (ADR 0031) as the gauge <c>parley.send.outstanding</c>, and the bound in
    /// effect (ADR 0035) as <c>parley.send.outstanding_limit</c>.
    /// </summary>
    public void ObserveOutstandingSends(Func<int> outstanding, Func<int>? limit = null)
    {
        _outstandingSends = outstanding;
        _outstandingLimit = limit;
    }

    public Counter<long> SlowSends { get; }

    public Counter<double> SlowSendTime { get; }

    public Histogram<int> BatchSize { get; }

    public Histogram<double> CommitDuration { get; }

    public Counter<long> CommitFailures { get; }

    public Counter<long> RateLimited { get; }

    public Counter<long> WebhookCalls { get; }

    public Histogram<double> WebhookDuration { get; }

    public Counter<long> WebhookFailures { get; }

    /// <summary>
    /// The node's queue of 1:1 conversation grains (stop 46): the activations it registered, the ones it shed past
    /// Parley:Orleans:DirectMaxActive before their idle age, and how often it kept one due to go because its commit was still
    /// running (a node behind). Cumulative counts, read when /metrics is scraped.
    /// </summary>
    public void ObserveDirectGrains(Messaging.IdleDirectConversations idle)
    {
        ArgumentNullException.ThrowIfNull(idle);
        _meter.CreateObservableCounter("parley.direct_grains.registered", () => idle.Registered, "{grain}", "1:1 conversation grain activations registered with the node's idle queue (once loaded).");
        _meter.CreateObservableCounter("parley.direct_grains.shed", () => idle.Shed, "{grain}", "1:1 conversation grains asked to deactivate before their idle age because more than Parley:Orleans:DirectMaxActive were active.");
        _meter.CreateObservableCounter("parley.direct_grains.kept_busy", () => idle.KeptBusy, "{grain}", "Sweeps that kept a 1:1 conversation grain due to go (idle age or the bound) because a commit of its was still running.");
    }

    public void ObserveShedDirect(Messaging.ShedDirectConversations shed)
    {
        ArgumentNullException.ThrowIfNull(shed);
        _meter.CreateObservableCounter("parley.direct_shed.activations", () => new Measurement<long>[]
        {
            new(shed.Hits, new KeyValuePair<string, object?>("result", "hit")),
            new(shed.Misses, new KeyValuePair<string, object?>("result", "miss")),
            new(shed.Stale, new KeyValuePair<string, object?>("result", "stale")),
        }, "{activation}", "1:1 conversation activations by what they found in the node's shed-conversation cache (ADR 0033): hit (read nothing), miss (read the store; stale ones included), stale (an entry dropped: the pair's relation changed).");
        _meter.CreateObservableCounter("parley.direct_shed.puts", () => new Measurement<long>[]
        {
            new(shed.Puts, new KeyValuePair<string, object?>("result", "kept")),
            new(shed.Refused, new KeyValuePair<string, object?>("result", "refused")),
            new(shed.Evicted, new KeyValuePair<string, object?>("result", "evicted")),
        }, "{entry}", "1:1 conversation deactivations that left an entry (kept), could not (refused: work in flight, a failed commit, a moved relation stamp, too large), and entries evicted for room before use.");
        _meter.CreateObservableGauge("parley.direct_shed.size", () => shed.Bytes, "By", "What the shed-conversation cache holds, estimated (ADR 0033; bounded by Parley:Orleans:DirectShedCacheBytes).");
    }

    public void Dispose() => _meter.Dispose();
}
