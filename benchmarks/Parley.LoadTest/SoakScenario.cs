using System.Globalization;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>soak</c> (issue 17, "memory and tails under a soak"): the <c>chat</c> load (<c>--chat-users</c>, random
/// pairs unless <c>--chat-peers</c>) at a fixed <c>--soak-rate</c> for <c>--soak-minutes</c>, measured minute by minute:
/// each minute is one step (no warm-up, a 60 s window, then the step's drain, which is short when the server keeps up), so
/// every minute reports its delivered rate, latency percentiles, server CPU and the server's peak and mean RSS, and is
/// accounted message by message (lost, duplicates). After each minute the server's /metrics page is read beside the next
/// minute (a read can take seconds on a loaded machine; the sends do not wait for it): the conversation grains active
/// and created so far, the grains deactivated (idle or shed), the GC heap after the last collection and the memory the GC
/// has committed, and the RSS at that moment: what the RSS is made of, and whether idle conversations are shed. The
/// summary gives the latency percentiles over the whole soak, the RSS of the first and last minute, the RSS spread after
/// the second minute, and the grains and GC heap at the end.
/// </summary>
internal sealed partial class Runner
{
    private async Task<StepResult> SoakStepsAsync(int run, TargetProcess target, LeanConnection[] connections, Func<StepLedger, int, long, Random, ValueTask> sendOne)
    {
        var all = new LatencyHistogram();
        var minutes = new List<StepResult>();
        var gauges = new List<Task<Dictionary<string, double>>>();
        long lost = 0, busy = 0, busyRetried = 0;
        for (var k = 1; k <= o.SoakMinutes; k++)
        {
            var step = await StepAsync(run, "soak", target, connections, $"minute {k}", o.SoakRate, 1, o.Senders, sendOne,
                warmupSeconds: 0, windowSeconds: 60, measured: ledger => all.Add(ledger.Delivery)).ConfigureAwait(false);
            minutes.Add(step);
            lost += (long)step["lost"];
            busy += (long)step["busy"];
            busyRetried += (long)step["busy_retried"];
            gauges.Add(ReadSoakGaugesAsync(run, target, k));
        }

        for (var k = 0; k < minutes.Count; k++)
        {
            foreach (var (key, value) in await gauges[k].ConfigureAwait(false))
            {
                minutes[k].Metrics[key] = value;
            }
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
            ["conversation_grains_max"] = minutes.Max(x => x["conversation_grains"]),
            ["conversation_grains_last"] = minutes[^1]["conversation_grains"],
            ["conversation_grains_created"] = minutes[^1]["conversation_grains_created"],
            ["grains_deactivated"] = minutes[^1]["grains_deactivated"],
            ["gc_heap_last_mb"] = minutes[^1]["gc_heap_mb"],
            ["lost"] = lost,
            ["busy"] = busy,
            ["busy_retried"] = busyRetried,
        };
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} soak r{run}] {minutes.Count} min at {o.SoakRate}/s: p50 {m["p50_ms"]:F2} p99 {m["p99_ms"]:F2} p99.9 {m["p999_ms"]:F2} max {m["max_ms"]:F1} ms | rss {rss[0]:F0} -> {rss[^1]:F0} MB (spread after minute 2: {m["rss_settled_spread_pct"]:F1} %) | conversation grains max {m["conversation_grains_max"]:F0}, last {m["conversation_grains_last"]:F0} of {m["conversation_grains_created"]:F0} created | busy {busy} busy_retried {busyRetried} lost {lost}")).ConfigureAwait(false);
        return new StepResult(run, "soak", target.Name, "summary", m);
    }

    /// <summary>
    /// The server's memory gauges after soak minute <paramref name="minute"/>, from its /metrics page (NaN for the ones it
    /// does not have, or when the read failed), logged as one line.
    /// </summary>
    private async Task<Dictionary<string, double>> ReadSoakGaugesAsync(int run, TargetProcess target, int minute)
    {
        var page = await ServerAllocations.ReadPageAsync(target).ConfigureAwait(false);
        var rss = ProcStats.RssBytes(target.Pid) / 1048576.0;
        if (o.Out is { Length: > 0 } outFile && page.Length > 0)
        {
            // Every minute's page, for prom-hist.py between any two minutes (GC, per-hop latency, commit histograms).
            await File.WriteAllTextAsync(string.Create(CultureInfo.InvariantCulture, $"{outFile}.soak.r{run}.minute-{minute:D2}.metrics.txt"), page).ConfigureAwait(false);
        }

        var g = new Dictionary<string, double>
        {
            ["conversation_grains"] = PrometheusText.Sum(page, "orleans_catalog_activations", "grain_type=\"conversation\""),
            ["grains"] = PrometheusText.Sum(page, "orleans_catalog_activations"),
            ["conversation_grains_created"] = PrometheusText.Sum(page, "orleans_catalog_activation_created_total", "grain_type=\"conversation\""),
            // Deactivations of every kind (idle collection, memory-pressure shedding, shutdown), every grain type.
            ["grains_deactivated"] = PrometheusText.Sum(page, "orleans_catalog_activation_shutdown_total"),
            ["gc_heap_mb"] = PrometheusText.Sum(page, "dotnet_gc_last_collection_heap_size_bytes") / 1048576.0,
            ["gc_committed_mb"] = PrometheusText.Sum(page, "dotnet_gc_last_collection_memory_committed_size_bytes") / 1048576.0,
            ["rss_at_read_mb"] = rss,
            // Cumulative; the per-minute figures are the differences (soak-gc.py).
            ["conversation_grains_destroyed"] = PrometheusText.Sum(page, "orleans_catalog_activation_destroyed_total", "grain_type=\"conversation\""),
            ["gc_pause_s"] = PrometheusText.Sum(page, "dotnet_gc_pause_time_seconds_total"),
            ["gc_gen0"] = PrometheusText.Sum(page, "dotnet_gc_collections_total", "gc_heap_generation=\"gen0\""),
            ["gc_gen1"] = PrometheusText.Sum(page, "dotnet_gc_collections_total", "gc_heap_generation=\"gen1\""),
            ["gc_gen2"] = PrometheusText.Sum(page, "dotnet_gc_collections_total", "gc_heap_generation=\"gen2\""),
            ["gc_gen2_mb"] = PrometheusText.Sum(page, "dotnet_gc_last_collection_heap_size_bytes", "gc_heap_generation=\"gen2\"") / 1048576.0,
            ["gc_loh_mb"] = PrometheusText.Sum(page, "dotnet_gc_last_collection_heap_size_bytes", "gc_heap_generation=\"loh\"") / 1048576.0,
            ["gc_allocated_mb"] = PrometheusText.Sum(page, "dotnet_gc_heap_total_allocated_bytes_total") / 1048576.0,
        };
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} soak r{run} minute {minute}] conversation grains {g["conversation_grains"]:F0} (created {g["conversation_grains_created"]:F0}, deactivated {g["grains_deactivated"]:F0}), all grains {g["grains"]:F0} | gc heap {g["gc_heap_mb"]:F0} MB (gen2 {g["gc_gen2_mb"]:F0}, loh {g["gc_loh_mb"]:F0}), committed {g["gc_committed_mb"]:F0} MB | gc pause {g["gc_pause_s"]:F2} s, collections {g["gc_gen0"]:F0}/{g["gc_gen1"]:F0}/{g["gc_gen2"]:F0} (cumulative) | rss {rss:F0} MB")).ConfigureAwait(false);
        return g;
    }
}

/// <summary>Sums the samples of one metric family in a Prometheus text page.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// The sum of the samples named exactly <paramref name="name"/> (any labels, or only those whose label set contains
    /// <paramref name="label"/>); NaN when the page has none (or is empty: the read failed).
    /// </summary>
    public static double Sum(string page, string name, string? label = null)
    {
        var sum = 0.0;
        var found = false;
        foreach (var line in page.AsSpan().EnumerateLines())
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] is not ('{' or ' '))
            {
                continue;
            }

            var rest = line[name.Length..];
            if (rest[0] == '{')
            {
                var close = rest.IndexOf('}');
                if (close < 0 || (label is not null && !rest[..close].Contains(label, StringComparison.Ordinal)))
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }
            else if (label is not null)
            {
                continue;
            }

            // The value, then an optional timestamp.
            rest = rest.TrimStart();
            var end = rest.IndexOf(' ');
            if (double.TryParse(end > 0 ? rest[..end] : rest, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                sum += v;
                found = true;
            }
        }

        return found ? sum : double.NaN;
    }
}
