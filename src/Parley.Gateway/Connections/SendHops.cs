using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Gateway.Connections;

/// <summary>
/// Records where a native send's time goes inside the server (issue 17, docs/observability.md): rents the send's
/// <see cref="SendTimes"/> when its frame is dispatched, and once its ack is written to the socket records each hop in
/// <c>parley_send_hop_duration_seconds</c>, the whole in <c>parley_send_server_duration_seconds</c>, and for a send slower
/// than <see cref="GatewayOptions.SlowSendThreshold"/> the hop that took most of it. A send is recorded only when every hop
/// was stamped (its grain ran in this process, it was not a duplicate, its commit succeeded). The stamps are pooled, so a
/// send allocates nothing for this; a stamp object whose send failed is left to the GC.
/// </summary>
internal sealed class SendHops
{
    /// <summary>The hops of the sender's path, in order: hop i runs from stamp i to stamp i + 1.</summary>
    internal static readonly string[] PathHops = ["receive", "call", "turn", "batch", "commit", "dispatch", "resume", "return", "ack"];

    private static readonly KeyValuePair<string, object?>[] Labels = [.. PathHops.Select(hop => new KeyValuePair<string, object?>("hop", hop))];
    private static readonly KeyValuePair<string, object?> DeliverLabel = new("hop", "deliver");
    private static readonly double TickSeconds = 1.0 / Stopwatch.Frequency;

    private readonly ParleyMetrics _metrics;
    private readonly long _slowTicks;
    private readonly SendTrace? _trace;

    // Sized for the sends in flight at once on a busy node; more are allocated and dropped on return.
    private readonly DefaultObjectPool<SendTimes> _pool = new(new DefaultPooledObjectPolicy<SendTimes>(), 4096);

    public SendHops(ParleyMetrics metrics, IOptions<GatewayOptions> options, SendTrace? trace = null)
    {
        _metrics = metrics;
        _trace = trace is { Enabled: true } ? trace : null;
        _slowTicks = (long)(options.Value.SlowSendThreshold.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>True when the send trace is on (<see cref="GatewayOptions.SendTraceFile"/>): every live frame is timed.</summary>
    public bool Tracing => _trace is not null;

    /// <summary>A send's stamps, its frame read at <paramref name="receivedAt"/>.</summary>
    public SendTimes Start(long receivedAt, string? clientMsgId = null)
    {
        var times = _pool.Get();
        times.Reset();
        times.Received = receivedAt;
        times.ClientMsgId = clientMsgId;
        return times;
    }

    /// <summary>The send's ack was written to the socket now: records its hops and returns the stamps to the pool.</summary>
    public void Written(SendTimes times)
    {
        var written = Stopwatch.GetTimestamp();
        _trace?.Send(times, written);
        Span<long> stamps =
        [
            times.Received, times.Handled, times.Turn, times.Submitted, times.Taken, times.Durable, times.FannedOut, times.Resumed, times.Returned, written
        ];
        _pool.Return(times);
        for (var i = 0; i < stamps.Length - 1; i++)
        {
            if (stamps[i] == 0 || stamps[i + 1] < stamps[i])
            {
                return; // not every hop ran here (a grain on another node, a duplicate, a failed commit)
            }
        }

        var total = written - stamps[0];
        _metrics.SendServerDuration.Record(total * TickSeconds);
        var slowest = 0;
        for (var i = 0; i < Labels.Length; i++)
        {
            var ticks = stamps[i + 1] - stamps[i];
            _metrics.SendHopDuration.Record(ticks * TickSeconds, Labels[i]);
            if (ticks > stamps[slowest + 1] - stamps[slowest])
            {
                slowest = i;
            }
        }

        if (total > _slowTicks)
        {
            _metrics.SlowSends.Add(1, Labels[slowest]);
            for (var i = 0; i < Labels.Length; i++)
            {
                _metrics.SlowSendTime.Add((stamps[i + 1] - stamps[i]) * TickSeconds, Labels[i]);
            }
        }
    }

    /// <summary>
    /// A live event frame of <paramref name="version"/> queued at <paramref name="queuedAt"/> (one in 8 of a connection's;
    /// every one while <see cref="Tracing"/>) was written to its socket now.
    /// </summary>
    public void Delivered(long queuedAt, long version)
    {
        var written = Stopwatch.GetTimestamp();
        _metrics.SendHopDuration.Record((written - queuedAt) * TickSeconds, DeliverLabel);
        _trace?.Delivery(version, queuedAt, written);
    }
}
