// Usage: dotnet run -c Release --project benchmarks/Parley.Push.Benchmarks -- [devices=2000] [messages=10] [backlog=100000] [imProbes=200]
// 1. Throughput: <devices> Xiaomi devices × <messages> IM messages through the whole pipeline (durable SQLite journal)
//    into an accept-all loopback endpoint; reports device-pushes/s from the first submit to the last vendor request.
// 2. IM latency under backlog: a marketing push to <backlog> devices is queued, then <imProbes> IM messages are sent
//    one at a time; reports enqueue → vendor-request latency percentiles of the IM pushes while marketing drains.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
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
    arrivals.TryAdd(form["extra.push_id"].ToString(), now);
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
builder.Services.AddParleySqliteStorage(_ => storeOptions);
builder.Services.AddSingleton(new DeviceTokenKey(key));
builder.Services.AddParleyPush(o =>
{
    o.QuietHoursStart = o.QuietHoursEnd; // measure the pipeline, not the clock
    o.MarketingDailyCapPerUser = 1000;
    o.Workers = 32;
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

// 1. Throughput.
var recipients = Enumerable.Range(0, devices).Select(i => new PushRecipient("u" + i, 1)).ToArray();
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
Console.WriteLine($"throughput: {devices * messages} device-pushes in {total.TotalSeconds:F2} s = {devices * messages / total.TotalSeconds:F0} /s (submit+journal {submitted.TotalSeconds:F2} s = {devices * messages / submitted.TotalSeconds:F0} /s)");

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
