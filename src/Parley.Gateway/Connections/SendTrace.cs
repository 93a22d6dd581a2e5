using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Gateway.Connections;

/// <summary>
/// A diagnostics switch (issue 17, stop 44: where a slow message waits at half load): with
/// <see cref="GatewayOptions.SendTraceFile"/> set, every native send's stamps (<see cref="SendTimes"/>: frame read → ack
/// written, with its client message id and committed version) and every live event frame's queue and socket-write times
/// (with its version) go into two rings of <see cref="GatewayOptions.SendTraceCapacity"/> records, and the thread pool's
/// queue length, thread count and GC counts are sampled every millisecond into a third. The rings are written to the file
/// when the server stops. Timestamps are <see cref="Stopwatch"/> ticks in nanoseconds, on Linux CLOCK_MONOTONIC: the
/// clock of the load generator's <c>--timeline-out</c> and of <c>perf record -k mono</c>, so each message's hops line up
/// with its send and receive in the generator (benchmarks/scripts/send-trace.py). Off (the default), nothing is allocated
/// and the send path tests one null reference.
/// </summary>
internal sealed class SendTrace : IHostedService, IDisposable
{
    private readonly string? _path;
    private readonly SendRecord[]? _sends;
    private readonly DeliveryRecord[]? _deliveries;
    private readonly PoolSample[]? _pool;
    private readonly int _mask;
    private long _sendNext;
    private long _deliveryNext;
    private long _poolNext;
    private Thread? _sampler;
    private volatile bool _stopping;
    private int _dumped;

    public SendTrace(IOptions<GatewayOptions> options)
    {
        var o = options.Value;
        if (string.IsNullOrEmpty(o.SendTraceFile))
        {
            return;
        }

        _path = o.SendTraceFile;
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(o.SendTraceCapacity, 1024));
        _mask = capacity - 1;
        _sends = new SendRecord[capacity];
        _deliveries = new DeliveryRecord[capacity];
        _pool = new PoolSample[capacity];
    }

    /// <summary>True when the switch is on.</summary>
    public bool Enabled => _sends is not null;

    /// <summary>A send's ack was written at <paramref name="written"/>: keeps its stamps (read before they return to the pool).</summary>
    public void Send(SendTimes t, long written)
    {
        var i = Interlocked.Increment(ref _sendNext) - 1;
        _sends![i & _mask] = new SendRecord(t.ClientMsgId, t.Version, t.Received, t.Handled, t.Turn, t.Submitted, t.Taken, t.Durable, t.FannedOut, t.Resumed, t.Returned, written);
    }

    /// <summary>A live event frame of <paramref name="version"/>, queued at <paramref name="queuedAt"/>, was written to its socket at <paramref name="written"/>.</summary>
    public void Delivery(long version, long queuedAt, long written)
    {
        var i = Interlocked.Increment(ref _deliveryNext) - 1;
        _deliveries![i & _mask] = new DeliveryRecord(version, queuedAt, written);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            _sampler = new Thread(Sample) { IsBackground = true, Name = "Parley send trace" };
            _sampler.Start();
        }

        return Task.CompletedTask;
    }

    // Every millisecond: the thread pool's queue and threads and the GC counts (a queue that grows while a send waits
    // says the thread pool, a count that moves says a GC).
    private void Sample()
    {
        while (!_stopping)
        {
            var i = _poolNext++;
            _pool![i & _mask] = new PoolSample(Stopwatch.GetTimestamp(), ThreadPool.PendingWorkItemCount, ThreadPool.ThreadCount,
                ThreadPool.CompletedWorkItemCount, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
            Thread.Sleep(1);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dump();
        return Task.CompletedTask;
    }

    public void Dispose() => Dump();

    private void Dump()
    {
        _stopping = true;
        if (!Enabled || Interlocked.Exchange(ref _dumped, 1) != 0)
        {
            return;
        }

        var ns = 1e9 / Stopwatch.Frequency;
        long N(long ticks) => ticks == 0 ? 0 : (long)(ticks * ns);
        using var w = new StreamWriter(_path!);
        w.WriteLine("# send trace (issue 17): s client_msg_id version received handled turn submitted taken durable fanned_out resumed returned ack_written;"
            + " d version queued written; p at pending threads completed gen0 gen1 gen2 (ns, CLOCK_MONOTONIC)");
        foreach (var r in Ordered(_sends!, _sendNext))
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"s {r.ClientMsgId ?? "-"} {r.Version} {N(r.Received)} {N(r.Handled)} {N(r.Turn)} {N(r.Submitted)} {N(r.Taken)} {N(r.Durable)} {N(r.FannedOut)} {N(r.Resumed)} {N(r.Returned)} {N(r.Written)}"));
        }

        foreach (var r in Ordered(_deliveries!, _deliveryNext))
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"d {r.Version} {N(r.Queued)} {N(r.Written)}"));
        }

        foreach (var r in Ordered(_pool!, _poolNext))
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p {N(r.At)} {r.Pending} {r.Threads} {r.Completed} {r.Gen0} {r.Gen1} {r.Gen2}"));
        }
    }

    // The ring's records oldest first (the last Length of them once it wrapped).
    private IEnumerable<T> Ordered<T>(T[] ring, long next)
    {
        var from = Math.Max(0, next - ring.Length);
        for (var i = from; i < next; i++)
        {
            yield return ring[i & _mask];
        }
    }

    private readonly record struct SendRecord(string? ClientMsgId, long Version, long Received, long Handled, long Turn, long Submitted, long Taken, long Durable, long FannedOut, long Resumed, long Returned, long Written);

    private readonly record struct DeliveryRecord(long Version, long Queued, long Written);

    private readonly record struct PoolSample(long At, long Pending, int Threads, long Completed, int Gen0, int Gen1, int Gen2);
}
