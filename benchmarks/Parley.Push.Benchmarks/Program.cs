// Usage: dotnet run -c Release --project benchmarks/Parley.Push.Benchmarks -- [devices=2000] [messages=10] [backlog=100000] [imProbes=200]
// 1. Throughput: <devices> Xiaomi devices × <messages> IM messages through the whole pipeline (durable SQLite journal)
//    into an accept-all loopback endpoint; reports device-pushes/s from the first submit to the last vendor request, and
//    per device-push: the process's CPU and allocation (the simulator's included), SQLite transactions (fsyncs), journal
//    and registry calls, vendor requests; pushes lost (journaled, never at the endpoint) and sent twice.
//    PUSH_BENCH_WORKERS overrides PushOptions.Workers (32).
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

var devices = Arg(0, 2000);
var messages = Arg(1, 10);
var backlog = Arg(2, 100_000);
var probes = Arg(3, 200);

var arrivals = new ConcurrentDictionary<string, long>();
long received = 0;
long duplicates = 0;
long lastArrival = 0;

// Accept-all vendor endpoint (Xiaomi wire format), recording when each push id arrived.
var simBuilder = WebApplication.CreateSlimBuilder();
simBuilder.Logging.ClearProviders();
simBuilder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
await using var sim = simBuilder.Build();
sim.MapPost("/v3/message/regid", async (HttpContext ctx) =>
{
    var form = await ctx.Request.ReadFormAsync();
    var now = Stopwatch.GetTimestamp();
    if (!arrivals.TryAdd(form["extra.push_id"].ToString(), now))
    {
        Interlocked.Increment(ref duplicates);
    }

    Interlocked.Increment(ref received);
    Interlocked.Exchange(ref lastArrival, now);
    return Results.Text("""{"result":"ok","code":0,"data":{"id":"x"}}""", "application/json");
});
await sim.StartAsync();
var simUri = new Uri(sim.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

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

// SQLite transactions (each one commit, one fsync in durable mode).
long transactions = 0;
var transactionSeconds = 0.0;
var txLock = new Lock();
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Name == "parley.storage.sqlite.transaction.duration")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
{
    lock (txLock)
    {
        transactions++;
        transactionSeconds += seconds;
    }
});
listener.Start();

// 1. Throughput.
var recipients = Enumerable.Range(0, devices).Select(i => new PushRecipient("u" + i, 1)).ToArray();
var process = Process.GetCurrentProcess();
calls.Clear();
long tx0;
double txs0;
lock (txLock)
{
    (tx0, txs0) = (transactions, transactionSeconds);
}

var cpu0 = process.TotalProcessorTime;
var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
var started = Stopwatch.GetTimestamp();
for (var m = 0; m < messages; m++)
{
    await pipeline.SubmitAsync(new PushRequest("t" + m, "c-t" + m, "sender", "Sender", PushCategory.Im, "hello", recipients));
}

var submitted = Stopwatch.GetElapsedTime(started);
while (Interlocked.Read(ref received) < (long)devices * messages)
{
    await Task.Delay(50);
}

var total = Stopwatch.GetElapsedTime(started, Interlocked.Read(ref lastArrival));
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
double txs;
lock (txLock)
{
    (tx, txs) = (transactions - tx0, transactionSeconds - txs0);
}

var lost = 0;
for (var m = 0; m < messages; m++)
{
    lost += (await pipeline.GetMessagePushesAsync("t" + m)).Count(r => !arrivals.ContainsKey(r.PushId));
}

Console.WriteLine($"throughput: {devices * messages} device-pushes in {total.TotalSeconds:F2} s = {pushes / total.TotalSeconds:F0} /s (submit+journal {submitted.TotalSeconds:F2} s = {pushes / submitted.TotalSeconds:F0} /s)");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"per device-push (whole process, simulator included): CPU {cpu.TotalMilliseconds * 1000 / pushes:F0} us, allocated {alloc / pushes / 1024:F2} KB, SQLite transactions {tx / pushes:F3} (mean {txs * 1000 / Math.Max(1, tx):F1} ms each), vendor requests {Interlocked.Read(ref received) / pushes:F3}; lost {lost}, sent twice {Interlocked.Read(ref duplicates)}"));
Console.WriteLine("calls per device-push: " + string.Join(", ", calls.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value / pushes:F3}"))));

// 2. IM latency while a marketing backlog drains.
var before = Interlocked.Read(ref received);
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
    long arrived;
    while (!arrivals.TryGetValue(id, out arrived))
    {
        await Task.Delay(1);
    }

    latencies.Add(Stopwatch.GetElapsedTime(t0, arrived).TotalMilliseconds);
}

latencies.Sort();
double Pct(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
var drained = Interlocked.Read(ref received) - before - probes;
Console.WriteLine($"IM latency under marketing backlog (lane depth {depthsAtProbe.Min()}–{depthsAtProbe.Max()} during probes): p50 {Pct(0.5):F1} ms, p90 {Pct(0.9):F1} ms, p99 {Pct(0.99):F1} ms, max {latencies[^1]:F1} ms; marketing sent meanwhile {drained}");

await host.StopAsync();
await sim.StopAsync();
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
