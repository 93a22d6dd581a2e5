using System.Globalization;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>soak</c> (issue 17, "memory and tails under a soak"): the <c>chat</c> load (<c>--chat-users</c>, random
/// pairs unless <c>--chat-peers</c>) at a fixed <c>--soak-rate</c> for <c>--soak-minutes</c>, measured minute by minute:
/// each minute is one step (no warm-up, a 60 s window, then the step's drain, which is short when the server keeps up), so
/// every minute reports its delivered rate, latency percentiles, server CPU and the server's peak RSS, and is accounted
/// message by message (lost, duplicates). The summary gives the latency percentiles over the whole soak, the RSS of the
/// first and last minute and the RSS spread after the second minute.
/// </summary>
internal sealed partial class Runner
{
    private async Task<StepResult> SoakStepsAsync(int run, TargetProcess target, LeanConnection[] connections, Func<StepLedger, int, long, Random, ValueTask> sendOne)
    {
        var all = new LatencyHistogram();
        var minutes = new List<StepResult>();
        long lost = 0;
        for (var k = 1; k <= o.SoakMinutes; k++)
        {
            var step = await StepAsync(run, "soak", target, connections, $"minute {k}", o.SoakRate, 1, o.Senders, sendOne,
                warmupSeconds: 0, windowSeconds: 60, measured: ledger => all.Add(ledger.Delivery)).ConfigureAwait(false);
            minutes.Add(step);
            lost += (long)step["lost"];
        }

        var rss = minutes.Select(m => m["server_rss_mb"]).ToList();
        var settled = rss.Skip(Math.Min(2, rss.Count - 1)).ToList();
        var m = new Dictionary<string, double>
        {
            ["minutes"] = minutes.Count,
            ["rate"] = o.SoakRate,
            ["delivered_msgs_per_s_min"] = minutes.Min(x => x["delivered_msgs_per_s"]),
            ["p50_ms"] = all.Percentile(50) / 1000.0,
            ["p99_ms"] = all.Percentile(99) / 1000.0,
            ["p999_ms"] = all.Percentile(99.9) / 1000.0,
            ["max_ms"] = all.Max / 1000.0,
            ["worst_minute_p99_ms"] = minutes.Max(x => x["p99_ms"]),
            ["server_cpu_pct_mean"] = minutes.Average(x => x["server_cpu_pct"]),
            ["rss_first_minute_mb"] = rss[0],
            ["rss_last_minute_mb"] = rss[^1],
            ["rss_settled_spread_pct"] = settled.Count == 0 || settled.Average() == 0 ? 0 : 100.0 * (settled.Max() - settled.Min()) / settled.Average(),
            ["lost"] = lost,
        };
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} soak r{run}] {minutes.Count} min at {o.SoakRate}/s: p50 {m["p50_ms"]:F2} p99 {m["p99_ms"]:F2} p99.9 {m["p999_ms"]:F2} max {m["max_ms"]:F1} ms | rss {rss[0]:F0} -> {rss[^1]:F0} MB (spread after minute 2: {m["rss_settled_spread_pct"]:F1} %) | lost {lost}")).ConfigureAwait(false);
        return new StepResult(run, "soak", target.Name, "summary", m);
    }
}
