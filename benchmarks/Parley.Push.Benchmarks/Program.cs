// Usage: dotnet run -c Release --project benchmarks/Parley.Push.Benchmarks -- [devices=2000] [messages=10] [backlog=100000] [imProbes=200]
// 0. PUSH_BENCH_WARMUP=<messages> (default 0): a warm-up of that many messages to every device first, not measured.
// 1. Throughput: <devices> Xiaomi devices × <messages> IM messages through the whole pipeline (durable SQLite journal)
//    into an accept-all loopback endpoint; reports device-pushes/s from the first submit to the last vendor request, and
//    per device-push: the process's CPU and allocation (the simulator's included), SQLite transactions (fsyncs), journal
//    and registry calls, vendor requests; pushes lost (journaled, never at the endpoint) and sent twice.
//    PUSH_BENCH_WORKERS overrides PushOptions.Workers (32), PUSH_BENCH_BATCH PushOptions.DispatchBatch (16),
//    PUSH_BENCH_GROUP the messages per submit (1; PushBridge hands up to 64 queued ones, 1,000 recipients, per submit).
// 2. IM latency under backlog: a marketing push to <backlog> devices is queued, then <imProbes> IM messages are sent
//    one at a time; reports enqueue → vendor-request latency percentiles of the IM pushes while marketing drains.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;
using Parley.Push;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

if (args.Length > 0 && args[0] == "sim")
{
    // The vendor endpoint alone (Xiaomi wire format), for PUSH_BENCH_VENDOR: prints its URL and runs until killed.
    var only = Simulator.Build(new LocalSink(), args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0);
    await only.StartAsync();
    Console.WriteLine("listening " + only.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    await only.WaitForShutdownAsync();
    return;
}

if (args.Length > 0 && args[0] == "journal")
{
    // The journal's claim-and-settle alone (stop 47): one loop of dispatch batches over a durable SQLite journal, each call
    // the previous batch's results (Accepted) with this batch's claims, as a send loop writes them; reports per device-push
    // the process's CPU, allocation and wall time over the measured batches. `journal [batches=1000] [batch=16] [warm=200]`.
    var jBatches = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
    var jSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
    var jWarm = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200;
    var jdir = Path.Combine(Path.GetTempPath(), "parley-push-journal-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(jdir);
    await using (var jDb = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(jdir, "push.db") }))
    {
        await jDb.InitializeAsync();
        var jJournal = new SqlitePushJournal(jDb);
        var jTotal = (jWarm + jBatches + 1) * jSize;
        var jT0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var jIds = new string[jTotal];
        for (var ji = 0; ji < jTotal; ji += 1000)
        {
            var jRows = new List<PushRecord>();
            for (var jk = ji; jk < Math.Min(jTotal, ji + 1000); jk++)
            {
                jIds[jk] = "m" + (jk / 2000).ToString("D6", CultureInfo.InvariantCulture) + "-d" + jk.ToString("D8", CultureInfo.InvariantCulture);
                jRows.Add(new PushRecord(jIds[jk], "m" + (jk / 2000), "trace", "u" + jk, "phone", PushVendor.Xiaomi, PushCategory.Im, PushState.Pending, "{\"t\":\"hello\"}", jT0, jT0, 0, null, null, null, null, null) { Owner = "n1/a" });
            }

            await jJournal.AppendAsync(jRows);
        }

        var jProc = Process.GetCurrentProcess();
        TimeSpan jCpuAt = default;
        TimeSpan jUserAt = default;
        long jAllocAt = 0;
        long jStartedAt = 0;
        PushStateChange[] jPrevious = [];
        for (var jb = 0; jb <= jWarm + jBatches; jb++)
        {
            if (jb == jWarm)
            {
                jProc.Refresh();
                jCpuAt = jProc.TotalProcessorTime;
                jUserAt = jProc.UserProcessorTime;
                jAllocAt = GC.GetTotalAllocatedBytes(precise: true);
                jStartedAt = Stopwatch.GetTimestamp();
            }

            var jClaims = new PushClaim[jSize];
            var jChanges = new PushStateChange[jSize];
            for (var jk = 0; jk < jSize; jk++)
            {
                jClaims[jk] = new PushClaim(jIds[jb * jSize + jk], 1);
                jChanges[jk] = new PushStateChange(jIds[jb * jSize + jk], PushState.Accepted, 1, jT0, null, jT0 + 5);
            }

            var jClaimed = await jJournal.UpdateStatesAndClaimManyAsync(jPrevious, jClaims, "n1/a");
            if (jClaimed.Any(c => !c))
            {
                throw new InvalidOperationException("a claim failed");
            }

            jPrevious = jChanges;
        }

        jProc.Refresh();
        var jN = (double)jBatches * jSize;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"journal: {jBatches} batches of {jSize} claims + {jSize} results, per device-push: CPU {(jProc.TotalProcessorTime - jCpuAt).TotalMilliseconds * 1000 / jN:F2} us (user {(jProc.UserProcessorTime - jUserAt).TotalMilliseconds * 1000 / jN:F2}), allocated {(GC.GetTotalAllocatedBytes(precise: true) - jAllocAt) / jN:F1} B, wall {Stopwatch.GetElapsedTime(jStartedAt).TotalMilliseconds * 1000 / jN:F1} us"));
        var jSettled = await jJournal.ListByStateAsync(PushState.Sending, 10_000);
        Console.WriteLine($"rows Sending at the end: {jSettled.Count} (expected {jSize})");
    }

    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(jdir, recursive: true);
    return;
}

var devices = Arg(0, 2000);
var messages = Arg(1, 10);
var backlog = Arg(2, 100_000);
var probes = Arg(3, 200);

// The vendor endpoint: in this process (the default), or out of process (PUSH_BENCH_VENDOR=<its base URL>, started with
// `dotnet Parley.Push.Benchmarks.dll sim [port]`) so that this process's CPU and allocation are Parley's alone.
IVendorSink sink;
WebApplication? sim = null;
var remote = Environment.GetEnvironmentVariable("PUSH_BENCH_VENDOR");
Uri simUri;
if (!string.IsNullOrEmpty(remote))
{
    simUri = new Uri(remote);
    var remoteSink = new RemoteSink(simUri);
    await remoteSink.ResetAsync();
    sink = remoteSink;
}
else
{
    var local = new LocalSink();
    sim = Simulator.Build(local, 0);
    await sim.StartAsync();
    simUri = new Uri(sim.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    sink = local;
}

var dir = Path.Combine(Path.GetTempPath(), "parley-push-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(dir);
var storeOptions = new SqliteStoreOptions { DataSource = Path.Combine(dir, "push.db") };
var key = RandomNumberGenerator.GetBytes(32);

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
// Journal and registry calls counted by method (registered before the storage's TryAdd, so these win).
var calls = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
builder.Services.AddSingleton<IPushJournal>(sp => CountingProxy<IPushJournal>.Wrap(new SqlitePushJournal(sp.GetRequiredService<SqliteDatabase>()), "journal", calls));
builder.Services.AddSingleton<IDeviceStore>(sp => CountingProxy<IDeviceStore>.Wrap(new SqliteDeviceStore(sp.GetRequiredService<SqliteDatabase>(), key), "registry", calls));
builder.Services.AddParleySqliteStorage(_ => storeOptions);
builder.Services.AddSingleton(new DeviceTokenKey(key));
builder.Services.AddParleyPush(o =>
{
    o.QuietHoursStart = o.QuietHoursEnd; // measure the pipeline, not the clock
    o.MarketingDailyCapPerUser = 1000;
    o.Workers = int.TryParse(Environment.GetEnvironmentVariable("PUSH_BENCH_WORKERS"), out var w) ? w : 32;
    if (int.TryParse(Environment.GetEnvironmentVariable("PUSH_BENCH_BATCH"), out var b))
    {
        o.DispatchBatch = b;
    }
}).AddXiaomi(o =>
{
    o.BaseUri = simUri;
    o.AppSecret = "bench";
    o.PackageName = "com.parley.app";
    o.RatePerSecond = 1_000_000;
    o.RateBurst = 1_000_000;
});
using var host = builder.Build();
await host.StartAsync();
var pipeline = host.Services.GetRequiredService<PushPipeline>();
var store = host.Services.GetRequiredService<IDeviceStore>();

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
Console.WriteLine($"registering {Math.Max(devices, backlog)} devices …");
var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
await Parallel.ForAsync(0, Math.Max(devices, backlog), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
    await store.UpsertAsync(new PushDevice("u" + i, "phone", "android", PushVendor.Xiaomi, "regid-" + i, "com.parley.app", PushEnvironment.Production, true, "en", "UTC", nowMs, nowMs), ct));

// SQLite transactions (each one commit, one fsync in durable mode), and the commits' own time (COMMIT: the WAL write and
// its fsync), so that the writer's time splits into statements and commits.
long transactions = 0;
var transactionSeconds = 0.0;
var commitSeconds = 0.0;
var txLock = new Lock();
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Name is "parley.storage.sqlite.transaction.duration" or "parley.storage.sqlite.commit.duration")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<double>((instrument, seconds, _, _) =>
{
    lock (txLock)
    {
        if (instrument.Name == "parley.storage.sqlite.commit.duration")
        {
            commitSeconds += seconds;
            return;
        }

        transactions++;
        transactionSeconds += seconds;
    }
});
listener.Start();

var recipients = Enumerable.Range(0, devices).Select(i => new PushRecipient("u" + i, 1)).ToArray();

// 0. Warm-up (PUSH_BENCH_WARMUP=<messages>, default 0): that many IM messages to every device, sent and settled before the
// measured phase, so that the phase runs on tier-1 code in both processes (stop 40: in a cold 20,000-push run about a
// quarter of this process's CPU samples were the JIT's) and measures the steady state a long-running server is in.
var warmup = int.TryParse(Environment.GetEnvironmentVariable("PUSH_BENCH_WARMUP"), out var wm) ? wm : 0;
// PUSH_BENCH_GROUP=<n> (default 1): the measured phase submits up to n messages (and 1,000 recipients) per
// PushPipeline.SubmitManyAsync, as PushBridge does when messages are queued (stop 41); 1: one SubmitAsync per message.
var group = int.TryParse(Environment.GetEnvironmentVariable("PUSH_BENCH_GROUP"), out var gp) ? gp : 1;
if (warmup > 0)
{
    var ws = Stopwatch.GetTimestamp();
    for (var m = 0; m < warmup; m++)
    {
        await pipeline.SubmitAsync(new PushRequest("w" + m, "c-w" + m, "sender", "Sender", PushCategory.Im, "hello", recipients));
    }

    while ((await sink.StatsAsync()).Received < (long)devices * warmup)
    {
        await Task.Delay(50);
    }

    while (pipeline.LaneDepth(0) > 0 || (await pipeline.GetMessagePushesAsync("w" + (warmup - 1))).Any(r => r.State is PushState.Pending or PushState.Sending))
    {
        await Task.Delay(50);
    }

    await sink.ResetAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up: {warmup} messages x {devices} devices sent and settled in {Stopwatch.GetElapsedTime(ws).TotalSeconds:F2} s (not measured)"));
}

// 1. Throughput.
var process = Process.GetCurrentProcess();
calls.Clear();
long tx0;
double txs0, cs0;
lock (txLock)
{
    (tx0, txs0, cs0) = (transactions, transactionSeconds, commitSeconds);
}

var io0 = ProcIo.Read();
var simCpu0 = await sink.CpuAsync();
var cpu0 = process.TotalProcessorTime;
var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
var started = Stopwatch.GetTimestamp();
if (group <= 1)
{
    for (var m = 0; m < messages; m++)
    {
        await pipeline.SubmitAsync(new PushRequest("t" + m, "c-t" + m, "sender", "Sender", PushCategory.Im, "hello", recipients));
    }
}
else
{
    // As PushBridge hands the pipeline its backlog: up to `group` messages and 1,000 recipients per SubmitManyAsync.
    var perSubmit = Math.Clamp(1_000 / Math.Max(1, devices), 1, group);
    for (var m = 0; m < messages; m += perSubmit)
    {
        var batch = new List<PushRequest>(perSubmit);
        for (var k = m; k < Math.Min(messages, m + perSubmit); k++)
        {
            batch.Add(new PushRequest("t" + k, "c-t" + k, "sender", "Sender", PushCategory.Im, "hello", recipients));
        }

        await pipeline.SubmitManyAsync(batch);
    }
}

var submitted = Stopwatch.GetElapsedTime(started);
while ((await sink.StatsAsync()).Received < (long)devices * messages)
{
    await Task.Delay(50);
}

var total = Stopwatch.GetElapsedTime(started, (await sink.StatsAsync()).LastArrival);
var pushes = (double)devices * messages;

// Until every row is settled (the last answers' writes), then the per-push costs of the phase.
while (pipeline.LaneDepth(0) > 0 || (await pipeline.GetMessagePushesAsync("t" + (messages - 1))).Any(r => r.State is PushState.Pending or PushState.Sending))
{
    await Task.Delay(50);
}

process.Refresh();
var cpu = process.TotalProcessorTime - cpu0;
var alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
long tx;
double txs, cs;
lock (txLock)
{
    (tx, txs, cs) = (transactions - tx0, transactionSeconds - txs0, commitSeconds - cs0);
}

var io = ProcIo.Read() - io0;

// The end of what is measured (push-prof.sh stops its perf recording here): the checks below read every journal row and
// the endpoint's ids.
Console.WriteLine("measured phase ended");

var simCpu = await sink.CpuAsync() - simCpu0;
var stats = await sink.StatsAsync();
var arrived = await sink.ArrivedIdsAsync();
var lost = 0;
for (var m = 0; m < messages; m++)
{
    lost += (await pipeline.GetMessagePushesAsync("t" + m)).Count(r => !arrived.Contains(r.PushId));
}

Console.WriteLine($"throughput: {devices * messages} device-pushes in {total.TotalSeconds:F2} s = {pushes / total.TotalSeconds:F0} /s (submit+journal {submitted.TotalSeconds:F2} s = {pushes / submitted.TotalSeconds:F0} /s)");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"per device-push ({(sim is null ? "this process, the vendor endpoint out of process" : "whole process, simulator included")}): CPU {cpu.TotalMilliseconds * 1000 / pushes:F0} us, allocated {alloc / pushes / 1024:F2} KB, SQLite transactions {tx / pushes:F3} (mean {txs * 1000 / Math.Max(1, tx):F1} ms each), vendor requests {stats.Received / pushes:F3}; lost {lost}, sent twice {stats.Duplicates}"));
if (sim is null)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"vendor endpoint process: CPU {simCpu.TotalMilliseconds * 1000 / pushes:F0} us per device-push"));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SQLite writer per device-push: {txs * 1e6 / pushes:F0} us in transactions ({txs / total.TotalSeconds * 100:F0} % of the phase), of which commits {cs * 1e6 / pushes:F0} us"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"I/O per device-push (this process, /proc/self/io): {io.WriteCalls / pushes:F2} write calls, {io.WriteBytes / pushes / 1024:F1} KB written (WAL frames and checkpoints), {io.ReadCalls / pushes:F2} read calls, {io.ReadBytes / pushes / 1024:F1} KB read"));
Console.WriteLine("calls per device-push: " + string.Join(", ", calls.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value / pushes:F3}"))));

// 2. IM latency while a marketing backlog drains.
var before = (await sink.StatsAsync()).Received;
var backlogRecipients = Enumerable.Range(0, backlog).Select(i => new PushRecipient("u" + i, 0)).ToArray();
var bs = Stopwatch.GetTimestamp();
await pipeline.SubmitAsync(new PushRequest("promo", "promo", "system", "Parley", PushCategory.Marketing, "", backlogRecipients)
{
    Templates = [new PushTemplate("a", "Sale", "Now")],
});
Console.WriteLine($"backlog: {backlog} marketing pushes journaled in {Stopwatch.GetElapsedTime(bs).TotalSeconds:F2} s; lane depth {pipeline.LaneDepth(2)}");

var latencies = new List<double>();
var depthsAtProbe = new List<int>();
for (var p = 0; p < probes; p++)
{
    var user = "u" + (p % devices);
    var t0 = Stopwatch.GetTimestamp();
    depthsAtProbe.Add(pipeline.LaneDepth(2));
    var r = await pipeline.SubmitAsync(new PushRequest("probe" + p, "c-probe" + p, "sender", "Sender", PushCategory.Im, "ping", [new PushRecipient(user, 1)]));
    var id = r.AcceptedPushIds[0];
    long? at;
    while ((at = await sink.ArrivalAsync(id)) is null)
    {
        await Task.Delay(1);
    }

    latencies.Add(Stopwatch.GetElapsedTime(t0, at.Value).TotalMilliseconds);
}

latencies.Sort();
double Pct(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
var drained = (await sink.StatsAsync()).Received - before - probes;
Console.WriteLine($"IM latency under marketing backlog (lane depth {depthsAtProbe.Min()}–{depthsAtProbe.Max()} during probes): p50 {Pct(0.5):F1} ms, p90 {Pct(0.9):F1} ms, p99 {Pct(0.99):F1} ms, max {latencies[^1]:F1} ms; marketing sent meanwhile {drained}");

await host.StopAsync();
if (sim is not null)
{
    await sim.StopAsync();
    await sim.DisposeAsync();
}
Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
Directory.Delete(dir, recursive: true);

int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;

/// <summary>Counts the calls of an interface's methods (by "prefix.Method") and forwards them to the real implementation.</summary>
#pragma warning disable CA1852 // DispatchProxy derives from it: it must not be sealed
internal class CountingProxy<T> : DispatchProxy
#pragma warning restore CA1852
    where T : class
{
    private T _target = null!;
    private string _prefix = "";
    private ConcurrentDictionary<string, long> _calls = null!;

    public static T Wrap(T target, string prefix, ConcurrentDictionary<string, long> calls)
    {
        var proxy = Create<T, CountingProxy<T>>();
        var self = (CountingProxy<T>)(object)proxy;
        self._target = target;
        self._prefix = prefix;
        self._calls = calls;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        _calls.AddOrUpdate(_prefix + "." + targetMethod!.Name, 1, (_, v) => v + 1);
        try
        {
            return targetMethod.Invoke(_target, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}

/// <summary>This process's I/O counters from /proc/self/io (wchar/rchar: bytes through write/read system calls).</summary>
internal readonly record struct ProcIo(long ReadBytes, long WriteBytes, long ReadCalls, long WriteCalls)
{
    public static ProcIo Read()
    {
        long Get(string[] lines, string name) => lines.Where(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Select(l => long.Parse(l[(name.Length + 1)..].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
        try
        {
            var lines = File.ReadAllLines("/proc/self/io");
            return new ProcIo(Get(lines, "rchar"), Get(lines, "wchar"), Get(lines, "syscr"), Get(lines, "syscw"));
        }
        catch (IOException)
        {
            return default;
        }
    }

    public static ProcIo operator -(ProcIo a, ProcIo b) => new(a.ReadBytes - b.ReadBytes, a.WriteBytes - b.WriteBytes, a.ReadCalls - b.ReadCalls, a.WriteCalls - b.WriteCalls);
}

/// <summary>What the vendor endpoint saw: requests, duplicates by push id, the Stopwatch timestamp of the last one.</summary>
internal readonly record struct SinkStats(long Received, long Duplicates, long LastArrival);

/// <summary>The vendor endpoint's record, in this process or read over HTTP from the out-of-process one.</summary>
internal interface IVendorSink
{
    Task<SinkStats> StatsAsync();

    Task<HashSet<string>> ArrivedIdsAsync();

    Task<long?> ArrivalAsync(string pushId);

    /// <summary>The endpoint's process CPU when it is out of process (zero in process: it is this process's).</summary>
    Task<TimeSpan> CpuAsync();

    /// <summary>Forgets what arrived (after a warm-up).</summary>
    Task ResetAsync();
}

internal sealed class LocalSink : IVendorSink
{
    private long _received;
    private long _duplicates;
    private long _lastArrival;

    public ConcurrentDictionary<string, long> Arrivals { get; } = new(StringComparer.Ordinal);

    public void Record(string pushId)
    {
        var now = Stopwatch.GetTimestamp();
        if (!Arrivals.TryAdd(pushId, now))
        {
            Interlocked.Increment(ref _duplicates);
        }

        Interlocked.Increment(ref _received);
        Interlocked.Exchange(ref _lastArrival, now);
    }

    public void Reset()
    {
        Arrivals.Clear();
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _duplicates, 0);
    }

    public SinkStats Stats => new(Interlocked.Read(ref _received), Interlocked.Read(ref _duplicates), Interlocked.Read(ref _lastArrival));

    public Task<SinkStats> StatsAsync() => Task.FromResult(Stats);

    public Task<HashSet<string>> ArrivedIdsAsync() => Task.FromResult(new HashSet<string>(Arrivals.Keys, StringComparer.Ordinal));

    public Task<long?> ArrivalAsync(string pushId) => Task.FromResult(Arrivals.TryGetValue(pushId, out var at) ? at : (long?)null);

    public Task<TimeSpan> CpuAsync() => Task.FromResult(TimeSpan.Zero);

    public Task ResetAsync()
    {
        Reset();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The out-of-process endpoint read over HTTP. Its timestamps are Stopwatch ticks of the other process: on Linux both are
/// CLOCK_MONOTONIC in nanoseconds, so they compare with this process's.
/// </summary>
internal sealed class RemoteSink(Uri baseUri) : IVendorSink, IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUri };

    public void Dispose() => _http.Dispose();

    public async Task ResetAsync() => (await _http.PostAsync("/bench/reset", null)).EnsureSuccessStatusCode();

    public async Task<SinkStats> StatsAsync()
    {
        var parts = (await _http.GetStringAsync("/bench/stats")).Split(' ');
        return new SinkStats(long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    public async Task<HashSet<string>> ArrivedIdsAsync() =>
        new((await _http.GetStringAsync("/bench/ids")).Split('\n', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    public async Task<long?> ArrivalAsync(string pushId)
    {
        var text = await _http.GetStringAsync("/bench/arrival?id=" + Uri.EscapeDataString(pushId));
        return text.Length == 0 ? null : long.Parse(text, CultureInfo.InvariantCulture);
    }

    public async Task<TimeSpan> CpuAsync() => TimeSpan.FromTicks(long.Parse(await _http.GetStringAsync("/bench/cpu"), CultureInfo.InvariantCulture));
}

/// <summary>The accept-all MiPush endpoint (<c>/v3/message/regid</c>, form-encoded) and its /bench read-outs.</summary>
internal static class Simulator
{
    public static WebApplication Build(LocalSink sink, int port)
    {
        var simBuilder = WebApplication.CreateSlimBuilder();
        simBuilder.Logging.ClearProviders();
        simBuilder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = simBuilder.Build();
        app.MapPost("/v3/message/regid", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            sink.Record(form["extra.push_id"].ToString());
            return Results.Text("""{"result":"ok","code":0,"data":{"id":"x"}}""", "application/json");
        });
        app.MapPost("/bench/reset", () =>
        {
            sink.Reset();
            return Results.Ok();
        });
        app.MapGet("/bench/stats", () =>
        {
            var s = sink.Stats;
            return Results.Text(string.Create(CultureInfo.InvariantCulture, $"{s.Received} {s.Duplicates} {s.LastArrival}"));
        });
        app.MapGet("/bench/ids", () => Results.Text(string.Join('\n', sink.Arrivals.Keys)));
        app.MapGet("/bench/arrival", (string id) => Results.Text(sink.Arrivals.TryGetValue(id, out var at) ? at.ToString(CultureInfo.InvariantCulture) : ""));
        app.MapGet("/bench/cpu", () =>
        {
            using var self = Process.GetCurrentProcess();
            return Results.Text(self.TotalProcessorTime.Ticks.ToString(CultureInfo.InvariantCulture));
        });
        return app;
    }
}
