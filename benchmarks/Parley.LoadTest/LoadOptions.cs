using System.Globalization;
using System.Net;

namespace Parley.LoadTest;

/// <summary>Command-line options. Every size, rate and duration is bounded so a typo cannot run away.</summary>
internal sealed class LoadOptions
{
    public string? StartServer { get; private set; }
    public Uri? ServerUrl { get; private set; }
    public int ServerPid { get; private set; }

    /// <summary>More nodes of the same cluster (--endpoint, repeatable): connection i uses node i mod (1 + count), the first being --server-url.</summary>
    public List<Uri> Endpoints { get; } = [];
    public string? TasksetServer { get; private set; }
    public string? TasksetGenerator { get; private set; }
    public bool NoReexec { get; private set; }
    public bool Smoke { get; private set; }
    public string[] Scenarios { get; private set; } = ["login", "chat", "group", "biggroup"];
    public string[] Targets { get; private set; } = ["relay", "parley"];
    public int Runs { get; private set; } = 1;
    public double WarmupSeconds { get; private set; } = 2;
    public double WindowSeconds { get; private set; } = 5;
    public double DrainSeconds { get; private set; } = 10;
    public int ChatUsers { get; private set; } = 1000;
    public int[] ChatRates { get; private set; } = [1000, 2000, 4000, 8000, 16000, 32000];
    public int Senders { get; private set; } = 8;

    /// <summary>0: each message goes to a uniformly random other user (mostly new conversations); K: to one of K fixed peers.</summary>
    public int ChatPeers { get; private set; }

    /// <summary>
    /// --chat-peer-step D (with --chat-peers K): sender s writes to s + D·(1..K) (mod users). With two nodes (connection i on
    /// node i mod 2), D = 1 puts every pair on different nodes and D = 2 on the same node (cross-node vs same-node, issue 11).
    /// </summary>
    public int ChatPeerStep { get; private set; } = 1;

    /// <summary>
    /// --reconnect (chat): a connection that ends mid-run reconnects to the next node, resumes from its cursor and resends its
    /// unanswered sends; sends answered Internal/Unavailable are retried. What a client of a killed node does (<see cref="Reconnector"/>).
    /// </summary>
    public bool Reconnect { get; private set; }

    /// <summary>
    /// --retry-busy (chat, soak): a send refused as busy (ADR 0031/0035: UNAVAILABLE with a retry-after) is sent again on its
    /// connection under the same request and client message id after the SDK's wait (<c>ParleyClient.SendAsync</c>: its
    /// jittered exponential back-off from 200 ms, at most 10 s, raised to the retry-after), at most 100 times; the retries are
    /// counted apart (<c>busy_retried</c>), and a send's latency is from its first attempt. Without it a busy refusal is final
    /// (counted as <c>busy</c>).
    /// </summary>
    public bool RetryBusy { get; private set; }

    /// <summary>
    /// --every-step: a ramp runs every rate even after one did not keep up (fixed-rate comparisons of CPU and allocation per
    /// message on a loaded machine, where the first step may fall behind while the server warms up).
    /// </summary>
    public bool EveryStep { get; private set; }
    public int GroupSize { get; private set; } = 500;

    /// <summary>
    /// <c>--raw-receivers</c>: the group scenarios' receiving members on <see cref="RawReceiver"/>s (a plain socket, frames
    /// counted from their bytes) instead of ClientWebSockets, so the generator's core can receive millions of deliveries a
    /// second; the sender stays a <see cref="LeanConnection"/>.
    /// </summary>
    public bool RawReceivers { get; private set; }
    public int[] GroupRates { get; private set; } = [20, 50, 100, 200, 400, 800];
    public int BigMembers { get; private set; } = 10_000;
    public int BigOnline { get; private set; } = 1000;
    public int BigRate { get; private set; } = 20;

    // supergroup (issue 12): members, online members, sender rate, and the resume user's groups / changed groups.
    public int SuperMembers { get; private set; } = 100_000;
    public int SuperOnline { get; private set; } = 2000;
    public int SuperRate { get; private set; } = 20;
    public int ResumeGroups { get; private set; } = 500;
    public int ResumeChanged { get; private set; } = 5;

    /// <summary>
    /// --super-existing G (with --super-user-prefix P): the supergroup scenario uses group G, already in the server's store
    /// (the benchmarks' <c>super-store</c> tool builds one: a 1,000,000-member channel), instead of creating accounts and
    /// importing members: it issues tokens through the admin API for the first --super-online users P0, P1, … (P0 is the
    /// owner and sender) and runs the online step; no import, no resume measurement.
    /// </summary>
    public string? SuperExisting { get; private set; }

    public string? SuperUserPrefix { get; private set; }

    // campaign (issue 19): audience size, the rate the campaign asks for, the 1:1 stream measured beside it.
    public int CampaignUsers { get; private set; } = 10_000;
    public int CampaignRate { get; private set; } = 20_000;
    public int CampaignImRate { get; private set; } = 100;
    // freshlogin (issue 17): each of --login-users is in this many groups of --fresh-group-size, each holding this many messages.
    public int FreshConversations { get; private set; } = 10;
    public int FreshMessages { get; private set; } = 20;
    public int FreshGroupSize { get; private set; } = 50;
    // soak (issue 17): a fixed rate of 1:1 messages (pairs as in chat) for this many minutes, one measured step per minute.
    public int SoakMinutes { get; private set; } = 8;
    public int SoakRate { get; private set; } = 1000;
    public int LoginUsers { get; private set; } = 2000;
    public int LoginConcurrency { get; private set; } = 64;
    // login / freshlogin: this many of the users log in (and out) once before the measured wave, so the wave measures the
    // server's steady state rather than its JIT (issue 17, stop 39; 0 = no warm-up, as before).
    public int LoginWarmup { get; private set; }
    public double IdleSeconds { get; private set; } = 15;
    public int PayloadBytes { get; private set; } = 100;
    public string Out { get; private set; } = "loadtest-results.json";

    /// <summary>
    /// --acked-out DIR: each step writes every acknowledged message there ("conversation seq serverMsgId" a line, one file
    /// a step), so a check against the store can prove each acked message is stored (the cluster kill run, issue 11).
    /// </summary>
    public string? AckedOut { get; private set; }

    /// <summary>
    /// --window-metrics DIR: each step saves the server's two /metrics pages read around its measured window (the reads of
    /// the allocation counter, nothing more is asked of the server) as window-SCENARIO-rRUN-NNN.w0 and .w1, so the server's
    /// own histograms (per-hop send times, issue 17) cover exactly the window, without the warm-up (prom-hist.py).
    /// </summary>
    public string? WindowMetrics { get; private set; }

    /// <summary>
    /// --timeline-out DIR: each step writes every message of its measured window there ("sent_ns ack_us delivery_us" a line,
    /// sent on CLOCK_MONOTONIC; timeline-SCENARIO-rRUN-NNN.txt), to line slow messages up with a kernel trace of the
    /// server (issue 17, stop 43: what the commit's ~90 ms stalls coincide with).
    /// </summary>
    public string? TimelineOut { get; private set; }
    public string[] RawArgs { get; private set; } = [];
    public List<KeyValuePair<string, string>> ServerEnv { get; } = [];

    /// <summary>Seconds a server started here (--start-server) may take to become ready.</summary>
    public double ReadyTimeoutSeconds { get; private set; } = 300;

    /// <summary>--keep-data: a server started here keeps its data directory and log (dbstat, the server's own log) instead of deleting them.</summary>
    public bool KeepData { get; private set; }

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions { RawArgs = args };
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Int(int min, int max) => Bounded(int.Parse(Next(), CultureInfo.InvariantCulture), min, max, a);
            double Dbl(double min, double max) => Bounded(double.Parse(Next(), CultureInfo.InvariantCulture), min, max, a);
            int[] Ints(int min, int max) => [.. Next().Split(',').Select(s => Bounded(int.Parse(s, CultureInfo.InvariantCulture), min, max, a))];
            switch (a)
            {
                case "--start-server": o.StartServer = Next(); break;
                case "--server-url": o.ServerUrl = RequireLoopback(new Uri(Next())); break;
                case "--server-pid": o.ServerPid = Int(1, int.MaxValue); break;
                case "--endpoint": o.Endpoints.Add(RequireLoopback(new Uri(Next()))); break;
                case "--taskset-server": o.TasksetServer = Cpus(Next()); break;
                case "--taskset-generator": o.TasksetGenerator = Cpus(Next()); break;
                case "--no-reexec": o.NoReexec = true; break;
                case "--smoke": o.Smoke = true; break;
                case "--scenarios": o.Scenarios = Next().Split(','); break;
                case "--targets": o.Targets = Next().Split(','); break;
                case "--runs": o.Runs = Int(1, 9); break;
                case "--warmup": o.WarmupSeconds = Dbl(0, 10); break;
                case "--window": o.WindowSeconds = Dbl(1, 300); break;
                case "--drain": o.DrainSeconds = Dbl(1, 60); break;
                case "--chat-users": o.ChatUsers = Int(2, 20_000); break;
                case "--chat-rates": o.ChatRates = Ints(1, 1_000_000); break;
                case "--senders": o.Senders = Int(1, 64); break;
                case "--chat-peers": o.ChatPeers = Int(0, 1000); break;
                case "--chat-peer-step": o.ChatPeerStep = Int(1, 1000); break;
                case "--reconnect": o.Reconnect = true; break;
                case "--retry-busy": o.RetryBusy = true; break;
                case "--every-step": o.EveryStep = true; break;
                case "--raw-receivers": o.RawReceivers = true; break;
                case "--group-size": o.GroupSize = Int(2, 10_000); break;
                case "--group-rates": o.GroupRates = Ints(1, 100_000); break;
                case "--big-members": o.BigMembers = Int(2, 100_000); break;
                case "--big-online": o.BigOnline = Int(2, 20_000); break;
                case "--big-rate": o.BigRate = Int(1, 10_000); break;
                case "--super-members": o.SuperMembers = Int(2, 1_000_000); break;
                case "--super-online": o.SuperOnline = Int(2, 20_000); break;
                case "--super-rate": o.SuperRate = Int(1, 10_000); break;
                case "--super-existing": o.SuperExisting = Id(Next(), a); break;
                case "--super-user-prefix": o.SuperUserPrefix = Id(Next(), a); break;
                case "--resume-groups": o.ResumeGroups = Int(1, 5000); break;
                case "--resume-changed": o.ResumeChanged = Int(0, 5000); break;
                case "--campaign-users": o.CampaignUsers = Int(1, 200_000); break;
                case "--campaign-rate": o.CampaignRate = Int(1, 1_000_000); break;
                case "--campaign-im-rate": o.CampaignImRate = Int(1, 10_000); break;
                case "--login-users": o.LoginUsers = Int(1, 20_000); break;
                case "--soak-minutes": o.SoakMinutes = Int(1, 240); break;
                case "--soak-rate": o.SoakRate = Int(1, 1_000_000); break;
                case "--fresh-conversations": o.FreshConversations = Int(1, 200); break;
                case "--fresh-messages": o.FreshMessages = Int(0, 1000); break;
                case "--fresh-group-size": o.FreshGroupSize = Int(2, 500); break;
                case "--login-concurrency": o.LoginConcurrency = Int(1, 1024); break;
                case "--login-warmup": o.LoginWarmup = Int(0, 20_000); break;
                case "--idle-seconds": o.IdleSeconds = Dbl(0, 60); break;
                case "--payload": o.PayloadBytes = Int(32, 16_000); break;
                case "--out": o.Out = Next(); break;
                case "--acked-out": o.AckedOut = Next(); break;
                case "--window-metrics": o.WindowMetrics = Next(); break;
                case "--timeline-out": o.TimelineOut = Next(); break;
                case "--server-env": o.ServerEnv.Add(EnvPair(Next())); break;
                case "--ready-timeout": o.ReadyTimeoutSeconds = Dbl(5, 3600); break;
                case "--keep-data": o.KeepData = true; break;
                default: throw new ArgumentException($"unknown option {a}");
            }
        }

        if (o.Smoke)
        {
            o.WarmupSeconds = 1;
            o.WindowSeconds = 3;
            o.DrainSeconds = 10;
            o.ChatUsers = 50;
            o.ChatRates = [200];
            o.GroupSize = 50;
            o.GroupRates = [20];
            o.BigMembers = 500;
            o.BigOnline = 50;
            o.BigRate = 5;
            o.SuperMembers = 500;
            o.SuperOnline = 50;
            o.SuperRate = 5;
            o.ResumeGroups = 20;
            o.ResumeChanged = 3;
            o.LoginUsers = 50;
            o.FreshConversations = 3;
            o.FreshMessages = 3;
            o.FreshGroupSize = 10;
            o.SoakMinutes = 1;
            o.SoakRate = 100;
            o.CampaignUsers = 300;
            o.CampaignImRate = 20;
            o.LoginConcurrency = 16;
            o.IdleSeconds = 1;
            o.Runs = 1;
        }

        if (o.StartServer is null && o.Targets.Contains("parley") && (o.ServerUrl is null || o.ServerPid == 0))
        {
            throw new ArgumentException("give --start-server path/to/Parley.Server.dll, or --server-url and --server-pid (admin secret in PARLEY_ADMIN_SECRET)");
        }

        if (o.Endpoints.Count > 0 && o.ServerUrl is null)
        {
            throw new ArgumentException("--endpoint adds nodes to --server-url (an existing cluster); give --server-url and --server-pid too");
        }

        if (o.Reconnect && o.Scenarios.Any(s => s != "chat"))
        {
            throw new ArgumentException("--reconnect is for --scenarios chat only");
        }

        if (o.RetryBusy && o.Scenarios.Any(s => s is not ("chat" or "soak")))
        {
            throw new ArgumentException("--retry-busy is for --scenarios chat and soak only");
        }

        if ((o.SuperExisting is null) != (o.SuperUserPrefix is null))
        {
            throw new ArgumentException("--super-existing and --super-user-prefix go together");
        }

        if (o.BigOnline > o.BigMembers)
        {
            throw new ArgumentException("--big-online must not exceed --big-members");
        }

        return o;
    }

    public static Uri RequireLoopback(Uri uri)
    {
        var loopback = uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        return loopback ? uri : throw new ArgumentException($"only loopback addresses are accepted, not {uri.Host}");
    }

    private static KeyValuePair<string, string> EnvPair(string value)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? new(value[..eq], value[(eq + 1)..]) : throw new ArgumentException("--server-env needs NAME=VALUE");
    }

    // Group ids and user prefixes go into admin API paths: letters, digits, '-' and '_' only.
    private static string Id(string value, string name) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? value : throw new ArgumentException($"{name}: 1..64 letters, digits, '-' or '_'");

    private static string Cpus(string value) =>
        value.All(c => char.IsAsciiDigit(c) || c is ',' or '-') && value.Length > 0 ? value : throw new ArgumentException("CPU list like 0 or 0-1 or 0,2");

    private static T Bounded<T>(T value, T min, T max, string name)
        where T : IComparable<T> =>
        value.CompareTo(min) < 0 || value.CompareTo(max) > 0 ? throw new ArgumentException($"{name} must be within {min}..{max}") : value;
}
