using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>One measured step: its figures keyed by metric name.</summary>
internal sealed record StepResult(int Run, string Scenario, string Target, string Step, Dictionary<string, double> Metrics)
{
    public double this[string key] => Metrics.TryGetValue(key, out var v) ? v : double.NaN;
}

/// <summary>Runs the scenarios against each target and collects per-step and per-scenario figures.</summary>
internal sealed partial class Runner(LoadOptions o, TextWriter log)
{
    private static int s_stepId;
    private static int s_ackedFiles;
    private static int s_windowPages;
    private readonly string _tag = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..6];

    public List<StepResult> Steps { get; } = [];

    public List<StepResult> Summaries { get; } = [];

    public long TotalLost { get; private set; }

    public List<string> Failures { get; } = [];

    public async Task RunAllAsync()
    {
        for (var run = 1; run <= o.Runs; run++)
        {
            foreach (var scenario in o.Scenarios)
            {
                foreach (var target in o.Targets)
                {
                    IEnumerable<KeyValuePair<string, string>> extraEnv = target != "parley" || o.StartServer is null ? []
                        : scenario == "campaign" ? await CampaignServerEnvAsync().ConfigureAwait(false)
                        : scenario == "openim" ? OpenImServerEnv()
                        : [];
                    await using var process = await StartTargetAsync(target, extraEnv).ConfigureAwait(false);
                    using var admin = new AdminClient(process);
                    var prefix = $"lt{_tag}r{run}{scenario[0]}-";
                    try
                    {
                        var summary = scenario switch
                        {
                            "login" => await LoginAsync(run, process, admin, prefix).ConfigureAwait(false),
                            "freshlogin" => await FreshLoginAsync(run, process, admin, prefix).ConfigureAwait(false),
                            "soak" => await ChatAsync(run, process, admin, prefix, soak: true).ConfigureAwait(false),
                            "chat" => await ChatAsync(run, process, admin, prefix).ConfigureAwait(false),
                            "openim" => await OpenImChatAsync(run, process, prefix).ConfigureAwait(false),
                            "group" => await GroupAsync(run, process, admin, prefix, "group", o.GroupSize, o.GroupSize, o.GroupRates).ConfigureAwait(false),
                            "biggroup" => await GroupAsync(run, process, admin, prefix, "biggroup", o.BigMembers, o.BigOnline, [o.BigRate]).ConfigureAwait(false),
                            "supergroup" => await SuperGroupAsync(run, process, admin, prefix).ConfigureAwait(false),
                            "campaign" => await CampaignAsync(run, process, admin, prefix).ConfigureAwait(false),
                            _ => throw new ArgumentException($"unknown scenario {scenario}"),
                        };
                        Summaries.Add(summary);
                        if (target == "parley")
                        {
                            // The server's own view (batch sizes, ack durations, GC) for the profile section of the report.
                            var metrics = await admin.MetricsAsync().ConfigureAwait(false);
                            await File.WriteAllTextAsync($"{o.Out}.{scenario}.r{run}.metrics.txt", metrics).ConfigureAwait(false);
                        }

                        TotalLost += (long)summary["lost"];
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or System.Net.WebSockets.WebSocketException or TimeoutException or OperationCanceledException)
                    {
                        Failures.Add($"run {run} {scenario} {target}: {ex.GetType().Name}: {ex.Message}");
                        await log.WriteLineAsync($"!! {scenario}/{target} failed: {ex.Message}").ConfigureAwait(false);
                    }
                    finally
                    {
                        if (_pushEndpoint is not null)
                        {
                            await _pushEndpoint.DisposeAsync().ConfigureAwait(false);
                            _pushEndpoint = null;
                        }
                    }
                }
            }
        }
    }

    private Task<TargetProcess> StartTargetAsync(string target, IEnumerable<KeyValuePair<string, string>> extraEnv) => target switch
    {
        "relay" => TargetProcess.StartRelayAsync(o.TasksetServer, log),
        "parley" when o.StartServer is not null => TargetProcess.StartParleyAsync(o.StartServer, o.TasksetServer, Math.Max(2000, o.BigMembers), extraEnv.Concat(o.ServerEnv), log),
        "parley" => Task.FromResult(TargetProcess.Existing(o.ServerUrl!, o.ServerPid, Environment.GetEnvironmentVariable("PARLEY_ADMIN_SECRET") ?? "", o.Endpoints)),
        _ => throw new ArgumentException($"unknown target {target}"),
    };

    // ───────────── login ─────────────

    private async Task<StepResult> LoginAsync(int run, TargetProcess target, AdminClient admin, string prefix)
    {
        var n = o.LoginUsers;
        var tokens = await admin.CreateUsersAsync(prefix, n, n).ConfigureAwait(false);
        await WarmUpLoginsAsync(run, target, prefix, tokens).ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var rssBase = ProcStats.RssBytes(target.Pid);
        var (connections, elapsed, su, gu, alloc0, alloc1, latency) = await MeasureLoginsAsync(target, prefix, tokens, n).ConfigureAwait(false);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(o.IdleSeconds)).ConfigureAwait(false);
            var rssIdle = ProcStats.RssBytes(target.Pid);
            var open = connections.Count(c => c.IsOpen);
            var m = new Dictionary<string, double>
            {
                ["connections"] = n,
                ["logins_per_s"] = n / elapsed,
                ["login_p50_ms"] = latency.Percentile(50) / 1000.0,
                ["login_p99_ms"] = latency.Percentile(99) / 1000.0,
                ["login_max_ms"] = latency.Max / 1000.0,
                ["server_cpu_pct"] = su.CpuPercent,
                ["server_cpu_ms_per_login"] = su.CpuSeconds * 1000 / n,
                ["server_alloc_kb_per_login"] = (alloc1 - alloc0) / 1024 / n,
                ["gen_cpu_pct"] = gu.CpuPercent,
                ["gen_bound"] = GeneratorBound(gu) ? 1 : 0,
                ["server_rss_mb"] = rssIdle / 1048576.0,
                ["idle_kb_per_conn"] = (rssIdle - rssBase) / 1024.0 / n,
                ["open_after_idle"] = open,
                ["lost"] = n - open,
            };
            var r = new StepResult(run, "login", target.Name, "login", m);
            Steps.Add(r);
            await log.WriteLineAsync($"[{target.Name} login r{run}] {n} logins in {elapsed:F2} s = {m["logins_per_s"]:F0}/s, p50 {m["login_p50_ms"]:F1} ms p99 {m["login_p99_ms"]:F1} ms | srv cpu {su.CpuPercent:F0}%, {m["server_cpu_ms_per_login"]:F2} ms/login, alloc {m["server_alloc_kb_per_login"]:F1} KB/login | gen cpu {gu.CpuPercent:F0}%{(GeneratorBound(gu) ? " GENERATOR-BOUND" : "")} | idle {o.IdleSeconds:F0} s: rss {m["server_rss_mb"]:F0} MB, {m["idle_kb_per_conn"]:F1} KB/conn, open {open}/{n}").ConfigureAwait(false);
            return r;
        }
        finally
        {
            await DisposeAllAsync(connections).ConfigureAwait(false);
        }
    }

    // ───────────── chat (1:1) ─────────────

    private async Task<StepResult> ChatAsync(int run, TargetProcess target, AdminClient admin, string prefix, bool soak = false)
    {
        var n = o.ChatUsers;
        var tokens = await admin.CreateUsersAsync(prefix, n, n).ConfigureAwait(false);
        var connections = await ConnectAllAsync(target, prefix, tokens, n, o.LoginConcurrency, null).ConfigureAwait(false);
        var reconnector = o.Reconnect ? new Reconnector(target, connections, prefix, tokens, log) : null;
        reconnector?.Start();
        try
        {
            var userIds = Enumerable.Range(0, n).Select(i => prefix + i).ToArray();
            async ValueTask SendOne(StepLedger ledger, int idx, long ts, Random rnd)
            {
                var (s, r) = ChatPair(rnd, n);
                var frame = new ClientFrame
                {
                    RequestId = ledger.RequestId(idx),
                    Send = new SendRequest
                    {
                        ClientMsgId = ledger.ClientMsgId('m', idx),
                        Target = new Target { UserId = userIds[r] },
                        Content = new Content { Text = new TextContent { Text = ledger.Text(idx, ts, o.PayloadBytes) } },
                    },
                };
                var bytes = frame.ToByteArray();
                ledger.Track(idx, s, bytes);
                await connections[s].SendAsync(bytes).ConfigureAwait(false);
            }

            return soak
                ? await SoakStepsAsync(run, target, connections, SendOne).ConfigureAwait(false)
                : await RampAsync(run, "chat", target, connections, o.ChatRates, 1, o.Senders, SendOne).ConfigureAwait(false);
        }
        finally
        {
            if (reconnector is not null)
            {
                await reconnector.StopAsync($"{o.Out}.reconnects.r{run}.txt").ConfigureAwait(false);
                reconnector.Dispose();
            }

            await DisposeAllAsync(connections).ConfigureAwait(false);
        }
    }

    /// <summary>A 1:1 message's sender and recipient among <paramref name="n"/> users: random pairs, or one of <c>--chat-peers</c> fixed peers.</summary>
    private (int Sender, int Recipient) ChatPair(Random rnd, int n)
    {
        var s = rnd.Next(n);
        int r;
        if (o.ChatPeers > 0)
        {
            // One of K fixed peers: the conversations stay warm after their first message. --chat-peer-step D spaces them.
            r = (int)((s + ((long)o.ChatPeerStep * (1 + rnd.Next(Math.Min(o.ChatPeers, n - 1))))) % n);
            r = r == s ? (s + 1) % n : r;
        }
        else
        {
            r = rnd.Next(n - 1);
            if (r >= s)
            {
                r++;
            }
        }

        return (s, r);
    }

    // ───────────── group / biggroup ─────────────

    private async Task<StepResult> GroupAsync(int run, TargetProcess target, AdminClient admin, string prefix, string scenario, int members, int online, int[] rates)
    {
        var tokens = await admin.CreateUsersAsync(prefix, members, online).ConfigureAwait(false);
        var conversation = await admin.CreateGroupAsync(prefix.TrimEnd('-') + "g", [.. Enumerable.Range(0, members).Select(i => prefix + i)]).ConfigureAwait(false);
        var (connections, logins) = await ConnectOnlineAsync(run, scenario, target, prefix, tokens, o.RawReceivers ? 1 : online).ConfigureAwait(false);
        var raw = o.RawReceivers ? new RawReceiver?[online - 1] : [];
        try
        {
            if (o.RawReceivers)
            {
                var clock = Stopwatch.StartNew();
                await Parallel.ForAsync(1, online, new ParallelOptions { MaxDegreeOfParallelism = o.LoginConcurrency }, async (i, _) =>
                    raw[i - 1] = await RawReceiver.ConnectAsync(target.WebSocketUrlFor(i), i, prefix + i, tokens[i], TimeSpan.FromSeconds(30)).ConfigureAwait(false)).ConfigureAwait(false);
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[{target.Name} {scenario} r{run}] {online - 1} raw receivers connected in {clock.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
            }

            IReadOnlyList<IStepConnection> all = o.RawReceivers ? [connections[0], .. raw.Select(r => (IStepConnection)r!)] : connections;
            var sender = connections[0];
            var to = new Target { ConversationId = conversation };
            async ValueTask SendOne(StepLedger ledger, int idx, long ts, Random rnd)
            {
                var frame = new ClientFrame
                {
                    RequestId = ledger.RequestId(idx),
                    Send = new SendRequest
                    {
                        ClientMsgId = ledger.ClientMsgId('g', idx),
                        Target = to,
                        Content = new Content { Text = new TextContent { Text = ledger.Text(idx, ts, o.PayloadBytes) } },
                    },
                };
                await sender.SendAsync(frame.ToByteArray()).ConfigureAwait(false);
            }

            var summary = await RampAsync(run, scenario, target, all, rates, online - 1, 1, SendOne).ConfigureAwait(false);
            foreach (var (k, v) in logins)
            {
                summary.Metrics[k] = v;
            }

            return summary;
        }
        finally
        {
            await DisposeAllAsync(connections).ConfigureAwait(false);
            foreach (var r in raw)
            {
                if (r is not null)
                {
                    await r.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// The online members' logins of a group scenario, timed (how long the storm took, login p50/p99/max), so a ramp that
    /// starts long after the first login can be seen as such; the figures go into the scenario's summary.
    /// </summary>
    private async Task<(LeanConnection[] Connections, Dictionary<string, double> Metrics)> ConnectOnlineAsync(int run, string scenario, TargetProcess target, string prefix, string[] tokens, int online)
    {
        var latency = new LatencyHistogram();
        var clock = Stopwatch.StartNew();
        var connections = await ConnectAllAsync(target, prefix, tokens, online, o.LoginConcurrency, latency).ConfigureAwait(false);
        var m = new Dictionary<string, double>
        {
            ["logins_s"] = clock.Elapsed.TotalSeconds,
            ["login_p50_ms"] = latency.Percentile(50) / 1000.0,
            ["login_p99_ms"] = latency.Percentile(99) / 1000.0,
            ["login_max_ms"] = latency.Max / 1000.0,
        };
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} {scenario} r{run}] {online} logins in {m["logins_s"]:F1} s at concurrency {o.LoginConcurrency}: p50 {m["login_p50_ms"]:F0} ms, p99 {m["login_p99_ms"]:F0} ms, max {m["login_max_ms"]:F0} ms")).ConfigureAwait(false);
        return (connections, m);
    }

    // ───────────── ramp and steps ─────────────

    private async Task<StepResult> RampAsync(
        int run, string scenario, TargetProcess target, IReadOnlyList<IStepConnection> connections, int[] rates, int expected, int senders,
        Func<StepLedger, int, long, Random, ValueTask> sendOne)
    {
        StepResult? best = null;
        var saturated = false;
        long lost = 0;
        foreach (var rate in rates)
        {
            var step = await StepAsync(run, scenario, target, connections, $"ramp {rate}/s", rate, expected, senders, sendOne).ConfigureAwait(false);
            lost += (long)step["lost"];
            if (best is null || step["delivered_msgs_per_s"] > best["delivered_msgs_per_s"])
            {
                best = step;
            }

            var keepsUp = step["sent_per_s"] >= 0.95 * rate && step["delivery_ratio"] >= 0.95 && step["ack_p99_ms"] < 1000 && step["lost"] == 0;
            if (!keepsUp)
            {
                saturated = true;
                if (!o.EveryStep)
                {
                    break;
                }
            }
        }

        var m = new Dictionary<string, double>
        {
            ["sat_msgs_per_s"] = best!["delivered_msgs_per_s"],
            ["sat_deliveries_per_s"] = best["delivered_per_s"],
            ["sat_server_cpu_pct"] = best["server_cpu_pct"],
            ["sat_gen_cpu_pct"] = best["gen_cpu_pct"],
            ["sat_gen_bound"] = best["gen_bound"],
            ["saturated"] = saturated ? 1 : 0,
        };
        if (rates.Length > 1)
        {
            var halfRate = Math.Max(1, (int)(best["delivered_msgs_per_s"] / 2));
            var half = await StepAsync(run, scenario, target, connections, $"half {halfRate}/s", halfRate, expected, senders, sendOne).ConfigureAwait(false);
            lost += (long)half["lost"];
            foreach (var (k, v) in half.Metrics)
            {
                m["half_" + k] = v;
            }
        }
        else
        {
            foreach (var (k, v) in best.Metrics)
            {
                m[k] = v;
            }
        }

        m["lost"] = lost;
        return new StepResult(run, scenario, target.Name, "summary", m);
    }

    private async Task<StepResult> StepAsync(
        int run, string scenario, TargetProcess target, IReadOnlyList<IStepConnection> connections, string label, int rate, int expected, int senders,
        Func<StepLedger, int, long, Random, ValueTask> sendOne, double? warmupSeconds = null, double? windowSeconds = null, Action<StepLedger>? measured = null)
    {
        var warmupS = warmupSeconds ?? o.WarmupSeconds;
        var windowS = windowSeconds ?? o.WindowSeconds;
        var stepId = (Interlocked.Increment(ref s_stepId) % 250) + 1;
        var capacity = (int)Math.Min(16_000_000, (rate * (warmupS + windowS) * 1.05) + 64);
        var ledger = new StepLedger(stepId, capacity, expected, recordAcks: o.AckedOut is not null, keepFrames: o.Reconnect, timeline: o.TimelineOut is not null, retryBusy: o.RetryBusy);
        if (o.Reconnect)
        {
            ledger.RetryTransient = (idx, slot, frame) => _ = RetryAsync(ledger, connections, idx, slot, frame);
        }

        if (o.RetryBusy)
        {
            ledger.RetryBusy = (idx, slot, frame, attempt, retryAfterMs) => _ = RetryBusyAsync(ledger, connections, idx, slot, frame, attempt, retryAfterMs);
        }

        foreach (var c in connections)
        {
            c.Ledger = ledger;
        }

        var freq = Stopwatch.Frequency;
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmupS * freq);
        var end = measureFrom + (long)(windowS * freq);
        ledger.MeasureFrom = measureFrom;

        var loops = Enumerable.Range(0, senders).Select(k => Task.Run(async () =>
        {
            var rnd = new Random((stepId * 131) + k);
            var perLoop = (double)rate / senders;
            long sent = 0;
            while (Stopwatch.GetTimestamp() < end)
            {
                var due = (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * perLoop);
                while (sent < due && Stopwatch.GetTimestamp() < end)
                {
                    var idx = ledger.Reserve();
                    if (idx < 0)
                    {
                        return;
                    }

                    var ts = Stopwatch.GetTimestamp();
                    if (ts >= measureFrom)
                    {
                        // How late the generator itself sent it: its due time is the (sent + 1)-th slot of this loop's schedule.
                        ledger.SendLag.Record((long)Math.Max(0, ((ts - start) / (double)freq - ((sent + 1) / perLoop)) * 1e6));
                    }

                    ledger.MarkSent(idx, ts);
                    try
                    {
                        await sendOne(ledger, idx, ts, rnd).ConfigureAwait(false);
                        ledger.MarkWritten(idx);
                    }
                    catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException or InvalidOperationException or OperationCanceledException)
                    {
                        // The sender's connection died (its node was killed): counted as send_failed, the step goes on.
                        ledger.MarkSendFailed(idx);
                    }

                    sent++;
                }

                await Task.Delay(1).ConfigureAwait(false);
            }
        })).ToArray();

        // The measurement window: counters and /proc samples between measureFrom and end.
        await Task.Delay(Stopwatch.GetElapsedTime(start, measureFrom)).ConfigureAwait(false);
        var issued0 = ledger.Issued;
        var deliveries0 = ledger.Deliveries;
        var acks0 = ledger.Acks;
        var pings0 = LeanConnection.PingsSent;

        // The window starts with the counters and the /proc samples (file reads), and ends on time. Reading the allocation
        // counter is an HTTP request to the server that took 5–30 s on a machine at load 50: a window timed from after it
        // gave rates of millions per second, a CPU window started after it came out too low per message, and a window
        // waiting for it ran on past the sends. So it runs beside the window, and its per-message figure counts only the
        // messages issued after it returned (NaN when it returned after the window). How late it was is reported.
        var windowStart = Stopwatch.GetTimestamp();
        var genGc = GeneratorGc.Start();
        var server = ProcWindow.Start(target.Pid);
        var self = ProcWindow.Start(Environment.ProcessId);
        string? windowPages = null;
        if (o.WindowMetrics is { } pagesDir)
        {
            Directory.CreateDirectory(pagesDir);
            windowPages = Path.Combine(pagesDir, string.Create(CultureInfo.InvariantCulture, $"window-{scenario}-r{run}-{Interlocked.Increment(ref s_windowPages):D3}"));
        }

        var allocStart = ReadAllocationAsync(target, ledger, windowStart, windowPages is null ? null : windowPages + ".w0");
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), end);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining).ConfigureAwait(false);
        }

        var window = Stopwatch.GetElapsedTime(windowStart).TotalSeconds;
        var issued1 = ledger.Issued;
        var deliveries1 = ledger.Deliveries;
        var acks1 = ledger.Acks;
        var pings1 = LeanConnection.PingsSent;
        var gg = genGc.Stop();
        var su = await server.StopAsync().ConfigureAwait(false);
        var gu = await self.StopAsync().ConfigureAwait(false);
        var (alloc0, issuedAlloc0, sampleLate) = await allocStart.ConfigureAwait(false);
        var alloc1 = await ServerAllocations.ReadAsync(target, windowPages is null ? null : windowPages + ".w1").ConfigureAwait(false);
        await Task.WhenAll(loops).ConfigureAwait(false);

        // Drain: wait for every ack and delivery; keep waiting while progress is made, bounded.
        var drain = Stopwatch.StartNew();
        var lastProgress = Stopwatch.StartNew();
        var lastSeen = -1L;
        while (!ledger.Settled() && drain.Elapsed.TotalSeconds < o.DrainSeconds * 3 && lastProgress.Elapsed.TotalSeconds < o.DrainSeconds)
        {
            var seen = ledger.Deliveries + ledger.Acks + ledger.Errors;
            if (seen != lastSeen)
            {
                lastSeen = seen;
                lastProgress.Restart();
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        var acc = ledger.Account();
        measured?.Invoke(ledger);
        var sentRate = (issued1 - issued0) / window;
        var deliveredRate = (deliveries1 - deliveries0) / window;
        var m = new Dictionary<string, double>
        {
            ["offered_per_s"] = rate,
            ["alloc_read_late_s"] = sampleLate, // the allocation counter's read (the /proc window starts on time)
            ["sent_per_s"] = sentRate,
            ["delivered_per_s"] = deliveredRate,
            ["delivered_msgs_per_s"] = deliveredRate / expected,
            ["delivery_ratio"] = sentRate > 0 ? deliveredRate / (sentRate * expected) : 0,
            ["p50_ms"] = ledger.Delivery.Percentile(50) / 1000.0,
            ["p90_ms"] = ledger.Delivery.Percentile(90) / 1000.0,
            ["p99_ms"] = ledger.Delivery.Percentile(99) / 1000.0,
            ["p999_ms"] = ledger.Delivery.Percentile(99.9) / 1000.0,
            ["max_ms"] = ledger.Delivery.Max / 1000.0,
            ["acks_per_s"] = (acks1 - acks0) / window,
            ["pings_per_s"] = (pings1 - pings0) / window, // keep-alive pings of idle receivers (in the server's CPU too)
            ["ack_p50_ms"] = ledger.Ack.Percentile(50) / 1000.0,
            ["ack_p99_ms"] = ledger.Ack.Percentile(99) / 1000.0,
            ["server_cpu_pct"] = su.CpuPercent,
            ["server_cpu_ms_per_msg"] = sentRate > 0 ? su.CpuSeconds * 1000 / (issued1 - issued0) : 0,
            ["server_alloc_bytes_per_msg"] = issued1 > issuedAlloc0 ? (alloc1 - alloc0) / (issued1 - issuedAlloc0) : double.NaN,
            ["server_rss_mb"] = su.RssPeakBytes / 1048576.0,
            ["server_rss_mean_mb"] = su.RssMeanBytes / 1048576.0,
            ["gen_cpu_pct"] = gu.CpuPercent,
            // The generator's own delays over the window (issue 17, stop 42): its GC pauses (every thread of this process
            // stops: a delivery read then is timed late by that much) and how late its sender loops sent against their schedule.
            ["gen_gc_pause_ms"] = gg.PauseMs,
            ["gen_gc_count"] = gg.Collections,
            ["gen_gc_gen1_count"] = gg.Gen1,
            ["gen_gc_gen2_count"] = gg.Gen2,
            ["gen_send_lag_p99_ms"] = ledger.SendLag.Percentile(99) / 1000.0,
            ["gen_send_lag_max_ms"] = ledger.SendLag.Max / 1000.0,
            ["gen_bound"] = GeneratorBound(gu) ? 1 : 0,
            ["sent"] = acc.Sent,
            ["acked"] = acc.Acked,
            ["refused"] = acc.Refused,
            // ADR 0031: refusals as busy (the server at its bound of outstanding send work; among "refused", never lost).
            ["busy"] = ledger.Busy,
            // --retry-busy: busy refusals answered by a retry (the retried sends' final answers count as any send's).
            ["busy_retried"] = ledger.BusyRetried,
            ["delivered"] = acc.Delivered,
            ["duplicates"] = acc.Duplicates,
            ["lost"] = acc.Lost,
            ["send_failed"] = acc.SendsFailed,
            ["resent"] = ledger.Resent,
            ["retried"] = ledger.Retried,
            ["sync_deliveries"] = ledger.SyncDeliveries,
            ["drain_s"] = drain.Elapsed.TotalSeconds,
            ["closed_connections"] = connections.Count(c => !c.IsOpen),
        };
        var r = new StepResult(run, scenario, target.Name, label, m);
        Steps.Add(r);
        if (o.AckedOut is { } ackedDir && ledger.AckedLog is { } acked)
        {
            Directory.CreateDirectory(ackedDir);
            var file = Path.Combine(ackedDir, string.Create(CultureInfo.InvariantCulture, $"acked-{scenario}-r{run}-{Interlocked.Increment(ref s_ackedFiles):D3}.txt"));
            await File.WriteAllLinesAsync(file, acked).ConfigureAwait(false);
        }

        if (o.TimelineOut is { } timelineDir)
        {
            Directory.CreateDirectory(timelineDir);
            ledger.WriteTimeline(Path.Combine(timelineDir, string.Create(CultureInfo.InvariantCulture, $"timeline-{scenario}-r{run}-{Interlocked.Increment(ref s_ackedFiles):D3}.txt")));
        }

        var closed = connections.Where(c => !c.IsOpen).Select(c => c.CloseInfo).FirstOrDefault();
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} {scenario} r{run} {label}] sent {sentRate:F0}/s deliv {deliveredRate:F0}/s ratio {m["delivery_ratio"]:F3} | lat p50 {m["p50_ms"]:F2} p90 {m["p90_ms"]:F2} p99 {m["p99_ms"]:F2} p99.9 {m["p999_ms"]:F2} max {m["max_ms"]:F1} ms | acks {m["acks_per_s"]:F0}/s p50 {m["ack_p50_ms"]:F2} p99 {m["ack_p99_ms"]:F2} ms | srv cpu {su.CpuPercent:F0}% rss {m["server_rss_mb"]:F0} MB | gen cpu {gu.CpuPercent:F0}%{(GeneratorBound(gu) ? " GENERATOR-BOUND" : "")} gc {gg.Collections} ({gg.Gen1} gen1, {gg.Gen2} gen2) pause {gg.PauseMs:F0} ms, send lag p99 {m["gen_send_lag_p99_ms"]:F2} max {m["gen_send_lag_max_ms"]:F1} ms | sent {acc.Sent} acked {acc.Acked} refused {acc.Refused}{(ledger.Busy > 0 ? $" (busy {ledger.Busy})" : "")} lost {acc.Lost} dup {acc.Duplicates}{(acc.SendsFailed > 0 ? $" send_failed {acc.SendsFailed}" : "")}{(ledger.Resent > 0 ? $" resent {ledger.Resent}" : "")}{(ledger.Retried > 0 ? $" retried {ledger.Retried}" : "")}{(ledger.BusyRetried > 0 ? $" busy_retried {ledger.BusyRetried}" : "")}{(ledger.SyncDeliveries > 0 ? $" deliv_by_resume {ledger.SyncDeliveries}" : "")}{(m["closed_connections"] > 0 ? $" closed {m["closed_connections"]} ({closed})" : "")}")).ConfigureAwait(false);
        if (sampleLate > window / 10)
        {
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"   !! the server's allocation counter was read {sampleLate:F1} s into the {window:F1} s window: its per-message figure covers the {Math.Max(issued1 - issuedAlloc0, 0)} messages after it")).ConfigureAwait(false);
        }

        return r;
    }

    // --reconnect: a send answered Internal/Unavailable goes again on its slot's connection (the current one: a reconnect
    // may have replaced it) after a jittered back-off; a failed write leaves it to that slot's reconnect.
    private static async Task RetryAsync(StepLedger ledger, IReadOnlyList<IStepConnection> connections, int idx, int slot, byte[] frame)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(100 + Random.Shared.Next(400))).ConfigureAwait(false);
        try
        {
            await ((LeanConnection)connections[slot]).SendAsync(frame).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException or InvalidOperationException or OperationCanceledException)
        {
            ledger.MarkSendFailed(idx);
        }
    }

    // --retry-busy: a send refused as busy goes again on its slot's connection after what the SDK waits (ParleyClient.SendAsync:
    // Backoff.Delay — uniform in [0, min(10 s, 200 ms · 2^attempt)] — raised to the server's retry-after, itself jittered).
    private static async Task RetryBusyAsync(StepLedger ledger, IReadOnlyList<IStepConnection> connections, int idx, int slot, byte[] frame, int attempt, uint retryAfterMs)
    {
        var backoff = Random.Shared.NextDouble() * Math.Min(10_000, 200 * Math.Pow(2, Math.Min(attempt, 30)));
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(backoff, retryAfterMs))).ConfigureAwait(false);
        try
        {
            await ((LeanConnection)connections[slot]).SendAsync(frame).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or ObjectDisposedException or IOException or InvalidOperationException or OperationCanceledException)
        {
            ledger.MarkSendFailed(idx);
        }
    }

    /// <summary>The server's allocation counter at a step's window start: its value, the messages issued when it came back, and how late (s).</summary>
    private static async Task<(double Value, long Issued, double LateSeconds)> ReadAllocationAsync(TargetProcess target, StepLedger ledger, long windowStart, string? savePage)
    {
        var value = await ServerAllocations.ReadAsync(target, savePage).ConfigureAwait(false);
        return (value, ledger.Issued, Stopwatch.GetElapsedTime(windowStart).TotalSeconds);
    }

    private static bool GeneratorBound(ProcUsage usage) => usage.CpuPercent >= 90.0 * Environment.ProcessorCount;

    /// <summary>
    /// <paramref name="n"/> logins at the configured concurrency, timed, with the server's and the generator's CPU and the
    /// server's allocation counter read around exactly that window (the login and fresh-login scenarios).
    /// </summary>
    private async Task<(LeanConnection[] Connections, double Elapsed, ProcUsage Server, ProcUsage Generator, double Alloc0, double Alloc1, LatencyHistogram Latency)> MeasureLoginsAsync(
        TargetProcess target, string prefix, string[] tokens, int n)
    {
        var alloc0 = await ServerAllocations.ReadAsync(target).ConfigureAwait(false);
        var server = ProcWindow.Start(target.Pid);
        var self = ProcWindow.Start(Environment.ProcessId);
        var latency = new LatencyHistogram();
        var sw = Stopwatch.StartNew();
        var connections = await ConnectAllAsync(target, prefix, tokens, n, o.LoginConcurrency, latency).ConfigureAwait(false);
        var elapsed = sw.Elapsed.TotalSeconds;
        var su = await server.StopAsync().ConfigureAwait(false);
        var gu = await self.StopAsync().ConfigureAwait(false);
        var alloc1 = await ServerAllocations.ReadAsync(target).ConfigureAwait(false);
        return (connections, elapsed, su, gu, alloc0, alloc1, latency);
    }

    /// <summary>
    /// <c>--login-warmup W</c>: the first W users log in as the measured wave will (same devices, cursor 0, their sync
    /// awaited), then log out; the measured wave follows a pause in which the server closes those sessions. Without it the
    /// wave starts seconds after the server, and its CPU per login holds the JIT's compilation of the login path.
    /// </summary>
    private async Task WarmUpLoginsAsync(int run, TargetProcess target, string prefix, string[] tokens)
    {
        var w = Math.Min(o.LoginWarmup, tokens.Length);
        if (w == 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        var connections = await ConnectAllAsync(target, prefix, tokens, w, o.LoginConcurrency, null).ConfigureAwait(false);
        await DisposeAllAsync(connections).ConfigureAwait(false);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{target.Name} warm-up r{run}] {w} logins and logouts in {clock.Elapsed.TotalSeconds:F1} s (not measured)")).ConfigureAwait(false);
        await Task.Delay(2000).ConfigureAwait(false);
    }

    private static async Task<LeanConnection[]> ConnectAllAsync(TargetProcess target, string prefix, string[] tokens, int count, int concurrency, LatencyHistogram? latency)
    {
        var connections = new LeanConnection[count];
        try
        {
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
            {
                var t0 = Stopwatch.GetTimestamp();
                connections[i] = await LeanConnection.ConnectAsync(target.WebSocketUrlFor(i), i, prefix + i, tokens[i], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                latency?.Record((long)Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }).ConfigureAwait(false);
        }
        catch
        {
            await DisposeAllAsync(connections).ConfigureAwait(false);
            throw;
        }

        return connections;
    }

    private static async Task DisposeAllAsync(LeanConnection?[] connections)
    {
        foreach (var c in connections)
        {
            if (c is not null)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>The generator's own collections and GC pause time between <see cref="Start"/> and <see cref="Stop"/> (issue 17, stop 42).</summary>
internal readonly record struct GeneratorGc(TimeSpan Pause, int Gen0, int Gen1, int Gen2)
{
    public static GeneratorGc Start() => new(GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    public (double PauseMs, int Collections, int Gen1, int Gen2) Stop()
    {
        var gen1 = GC.CollectionCount(1) - Gen1;
        var gen2 = GC.CollectionCount(2) - Gen2;
        return ((GC.GetTotalPauseDuration() - Pause).TotalMilliseconds, GC.CollectionCount(0) - Gen0, gen1, gen2);
    }
}
