using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Parley.LoadTest;

if (args.Length == 2 && args[0] == "--serve-relay")
{
    return await RawRelay.RunAsync(args[1]);
}

if (args.Length >= 2 && args[0] == "--media")
{
    return await MediaBench.RunAsync(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 256, args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200, Console.Out);
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
{
    await Console.Error.WriteLineAsync("Parley.LoadTest: " + ex.Message);
    return 2;
}

TargetProcess.ReadyTimeout = TimeSpan.FromSeconds(options.ReadyTimeoutSeconds);
TargetProcess.KeepData = options.KeepData;

if (options.TasksetServer is not null || options.TasksetGenerator is not null)
{
    Taskset.EnsureAvailable();
}

if (options.TasksetGenerator is not null && !options.NoReexec)
{
    // Pin the whole generator (every thread, from the start) by re-launching it under taskset.
    var psi = new ProcessStartInfo(Taskset.Path) { UseShellExecute = false };
    foreach (var a in new[] { "-c", options.TasksetGenerator, "dotnet", typeof(LoadOptions).Assembly.Location }.Concat(args).Append("--no-reexec"))
    {
        psi.ArgumentList.Add(a);
    }

    using var child = Process.Start(psi)!;
    await child.WaitForExitAsync();
    return child.ExitCode;
}

var log = Console.Out;
await log.WriteLineAsync($"# Parley.LoadTest {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, generator pid {Environment.ProcessId}, {Environment.ProcessorCount} cpu(s) available to the generator, smoke={options.Smoke}");
var runner = new Runner(options, log);
var wall = Stopwatch.StartNew();
await runner.RunAllAsync();

// Medians over runs, Parley next to the relay, as a ratio.
var medians = new List<Dictionary<string, object>>();
string[] Detail = ["sent", "acked", "refused", "delivered", "duplicates", "drain_s", "closed_connections", "server_rss_mb", "server_rss_mean_mb", "sent_per_s", "delivered_msgs_per_s", "delivery_ratio", "connections", "open_after_idle", "login_max_ms"];
await log.WriteLineAsync();
await log.WriteLineAsync($"{"scenario",-9} {"metric",-28} {"parley",12} {"relay",12} {"ratio",7}");
foreach (var scenario in options.Scenarios)
{
    var keys = runner.Summaries.Where(s => s.Scenario == scenario).SelectMany(s => s.Metrics.Keys).Distinct().ToList();
    foreach (var key in keys)
    {
        // The table shows the figures that matter; the JSON file has every figure of every step.
        var shown = !Detail.Any(d => key.EndsWith(d, StringComparison.Ordinal)) || key == "lost";
        var p = Median(runner.Summaries.Where(s => s.Scenario == scenario && s.Target == "parley").Select(s => s[key]));
        var r = Median(runner.Summaries.Where(s => s.Scenario == scenario && s.Target == "relay").Select(s => s[key]));
        var ratio = r is > 0 && !double.IsNaN(p) ? p / r : double.NaN;
        medians.Add(new Dictionary<string, object> { ["scenario"] = scenario, ["metric"] = key, ["parley"] = p, ["relay"] = r, ["ratio"] = ratio });
        if (!shown)
        {
            continue;
        }

        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{scenario,-9} {key,-28} {Fmt(p),12} {Fmt(r),12} {(double.IsNaN(ratio) ? "" : ratio.ToString("F2", CultureInfo.InvariantCulture)),7}"));
    }
}

var json = new
{
    date = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
    args = options.RawArgs,
    machine = new { nproc = Environment.ProcessorCount, os = Environment.OSVersion.ToString(), runtime = Environment.Version.ToString() },
    runs = options.Runs,
    steps = runner.Steps,
    summaries = runner.Summaries,
    medians,
    failures = runner.Failures,
    totalLost = runner.TotalLost,
};
var jsonOptions = new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
await File.WriteAllTextAsync(options.Out, JsonSerializer.Serialize(json, jsonOptions));
await log.WriteLineAsync($"# results: {Path.GetFullPath(options.Out)}");

var ok = runner.TotalLost == 0 && runner.Failures.Count == 0 && runner.Summaries.Count == options.Runs * options.Scenarios.Length * options.Targets.Length;
foreach (var f in runner.Failures)
{
    await log.WriteLineAsync("FAILED " + f);
}

await log.WriteLineAsync($"# {(ok ? "OK" : "FAILED")}: {runner.Summaries.Count} scenario runs, lost = {runner.TotalLost}, {runner.Failures.Count} failure(s), {wall.Elapsed.TotalSeconds:F0} s");
return ok ? 0 : 1;

static double Median(IEnumerable<double> values)
{
    var v = values.Where(x => !double.IsNaN(x)).Order().ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
}

static string Fmt(double v) => double.IsNaN(v) ? "-" : Math.Abs(v) >= 100 ? v.ToString("F0", CultureInfo.InvariantCulture) : v.ToString("F2", CultureInfo.InvariantCulture);
