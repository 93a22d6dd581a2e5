using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Parley.LoadTest;

/// <summary>
/// A server under test: a Parley server or the raw relay, either started here (temp data dir, free ports, random
/// admin secret, optional taskset pinning; killed on dispose) or an existing one given by URL and pid.
/// </summary>
internal sealed class TargetProcess : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _dataDirectory;

    private TargetProcess(string name, Uri baseUrl, int pid, string adminSecret, Process? process, string? dataDirectory)
    {
        Name = name;
        BaseUrl = baseUrl;
        Pid = pid;
        AdminSecret = adminSecret;
        _process = process;
        _dataDirectory = dataDirectory;
    }

    public string Name { get; }

    /// <summary>The data directory of a server started here (null for an existing one).</summary>
    public string? DataDirectory => _dataDirectory;

    public Uri BaseUrl { get; }

    public Uri WebSocketUrl => WebSocketUrlOf(BaseUrl);

    /// <summary>Every node's base URL, this one first; clients are spread over them (multi-endpoint mode).</summary>
    public IReadOnlyList<Uri> Endpoints { get; private init; } = [];

    /// <summary>The WebSocket URL connection <paramref name="index"/> uses: node index mod the number of nodes.</summary>
    public Uri WebSocketUrlFor(int index) => Endpoints.Count <= 1 ? WebSocketUrl : WebSocketUrlOf(Endpoints[index % Endpoints.Count]);

    private static Uri WebSocketUrlOf(Uri baseUrl) => new(baseUrl.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "ws");

    public int Pid { get; }

    public string AdminSecret { get; }

    /// <summary>An existing server (its pid is measured), or the first node of a cluster whose other nodes are <paramref name="more"/>.</summary>
    public static TargetProcess Existing(Uri url, int pid, string secret, IReadOnlyList<Uri>? more = null) =>
        new("parley", url, pid, secret, null, null) { Endpoints = [url, .. more ?? []] };

    /// <summary>How long a started server may take to answer /readyz (--ready-timeout; a loaded shared machine needs minutes).</summary>
    public static TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Keep the data directory (and the server's log in it) of a server started here (--keep-data).</summary>
    public static bool KeepData { get; set; }

    /// <summary>
    /// Starts a server from its dll, in the dll's folder: the host's content root is the working directory, so that is
    /// where it finds its appsettings.json (log levels: without it every request was logged at Information). Its HTTP
    /// and Orleans ports are picked free here; a start that lost one of them to another process is tried again on new
    /// ones (<see cref="RetryOnPortRaceAsync"/>), unless <paramref name="extraEnv"/> sets the Orleans ports itself.
    /// </summary>
    public static Task<TargetProcess> StartParleyAsync(string serverDll, string? cpus, int maxGroupMembers, IEnumerable<KeyValuePair<string, string>> extraEnv, TextWriter log)
    {
        var extra = extraEnv.ToList();
        var dll = Path.GetFullPath(serverDll);
        var portsChosen = extra.Any(e => e.Key.StartsWith("Parley__Orleans__", StringComparison.Ordinal) && e.Key.EndsWith("Port", StringComparison.Ordinal));
        return RetryOnPortRaceAsync("parley", retry: !portsChosen, log, () =>
        {
            var dir = Directory.CreateTempSubdirectory("parley-loadtest-");
            var port = FreePort();
            var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            var env = new Dictionary<string, string>
            {
                ["Parley__Admin__Secret"] = secret,
                ["Parley__Storage__DataDirectory"] = Path.Combine(dir.FullName, "data"),
                // The generator measures the server, not its abuse limits: one user sending far faster than a person is the point.
                ["Parley__RateLimits__Enabled"] = "false",
                ["Parley__Orleans__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Parley__Orleans__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Parley__Messaging__MaxGroupMembers"] = maxGroupMembers.ToString(System.Globalization.CultureInfo.InvariantCulture),

                // The GC's young generation as the image and the launch profile set it (deploy/Dockerfile, docs/deploy.md):
                // without it .NET sizes it from the VM's reported L3 and each gen1 collection promotes ~40 MB in a 65-78 ms
                // pause every ~6 s at 1,000 msg/s (stop 43, tail), a configuration nothing ships. --server-env
                // DOTNET_GCgen0size=0 measures the runtime's own sizing.
                ["DOTNET_GCgen0size"] = "0x800000",
            };
            foreach (var (k, v) in extra)
            {
                env[k] = v;
            }

            var url = new Uri($"http://127.0.0.1:{port}/");
            return StartAsync("parley", [dll, "--urls", url.ToString().TrimEnd('/')], env, cpus, url, secret, dir.FullName, log, Path.GetDirectoryName(dll));
        });
    }

    public static Task<TargetProcess> StartRelayAsync(string? cpus, TextWriter log) =>
        RetryOnPortRaceAsync("relay", retry: true, log, () =>
        {
            var port = FreePort();
            var url = new Uri($"http://127.0.0.1:{port}/");
            var self = typeof(TargetProcess).Assembly.Location;
            return StartAsync("relay", [self, "--serve-relay", url.ToString().TrimEnd('/')], [], cpus, url, "relay", null, log, null);
        });

    /// <summary>
    /// Runs <paramref name="start"/> again, up to three attempts, when the process it started exited because a port was
    /// taken: <see cref="FreePort"/> hands out a port that is free now, and another process on the machine (a test run,
    /// another server) may bind it before the server does. <paramref name="start"/> must pick new ports each time.
    /// </summary>
    private static async Task<TargetProcess> RetryOnPortRaceAsync(string name, bool retry, TextWriter log, Func<Task<TargetProcess>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start().ConfigureAwait(false);
            }
            catch (ExitedDuringStartException ex) when (retry && attempt < 3 && ex.PortTaken)
            {
                await log.WriteLineAsync($"# {name} exited during start, a port it was given was taken ({ex.PortLine}); new ports, attempt {attempt + 1} of 3").ConfigureAwait(false);
            }
        }
    }

    private static async Task<TargetProcess> StartAsync(
        string name, string[] dotnetArgs, Dictionary<string, string> env, string? cpus, Uri url, string secret, string? dataDirectory, TextWriter log, string? workingDirectory)
    {
        var psi = new ProcessStartInfo
        {
            WorkingDirectory = workingDirectory ?? string.Empty,
            FileName = cpus is null ? "dotnet" : Taskset.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpus);
            psi.ArgumentList.Add("dotnet");
        }

        foreach (var a in dotnetArgs)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {name}");
        var logPath = Path.Combine(dataDirectory ?? Path.GetTempPath(), $"{name}-{process.Id}.log");
        var pumps = Task.WhenAll(PumpAsync(process.StandardOutput, logPath), PumpAsync(process.StandardError, logPath + ".err"));
        var target = new TargetProcess(name, url, process.Id, secret, process, dataDirectory);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (process.HasExited)
            {
                // Its last words (the logs are in its data directory, which the dispose below deletes).
                try
                {
                    await pumps.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Read what was written so far.
                }

                var lines = (await ReadLinesAsync(logPath).ConfigureAwait(false)).Concat(await ReadLinesAsync(logPath + ".err").ConfigureAwait(false)).ToList();
                var exitCode = process.ExitCode;
                await target.DisposeAsync().ConfigureAwait(false);
                throw new ExitedDuringStartException(
                    $"{name} exited with {exitCode} during start:\n{string.Join('\n', lines.TakeLast(20))}",
                    lines.FirstOrDefault(l => l.Contains("already in use", StringComparison.OrdinalIgnoreCase))?.Trim());
            }

            try
            {
                using var response = await http.GetAsync(new Uri("readyz", UriKind.Relative)).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    await log.WriteLineAsync($"# {name} ready at {url} (pid {process.Id}{(cpus is null ? "" : ", cpus " + cpus)}) after {deadline.Elapsed.TotalSeconds:F1} s").ConfigureAwait(false);
                    return target;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        await target.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException($"{name} did not become ready within {ReadyTimeout.TotalSeconds:F0} s (log: {logPath}; --ready-timeout sets the limit)");
    }

    private static async Task<string[]> ReadLinesAsync(string path)
    {
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return (await reader.ReadToEndAsync().ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static async Task PumpAsync(StreamReader reader, string path)
    {
        try
        {
            await using var file = new StreamWriter(path);
            string? line;
            while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                await file.WriteLineAsync(line).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            _process.Dispose();
        }

        if (_dataDirectory is not null && KeepData)
        {
            Console.Error.WriteLine($"# kept the data directory and log of {Name} (pid {Pid}): {_dataDirectory}");
        }
        else if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>A started server or relay exited before it was ready.</summary>
/// <param name="portLine">
/// The line of its output saying a port or address was taken ("SiloPort … is already in use", "address already in use"),
/// or null: then the exit had another cause, and a start on new ports would end the same way.
/// </param>
internal sealed class ExitedDuringStartException(string message, string? portLine) : InvalidOperationException(message)
{
    public string? PortLine { get; } = portLine;

    public bool PortTaken => PortLine is not null;
}

internal static class Taskset
{
    public const string Path = "/usr/bin/taskset";

    public static void EnsureAvailable()
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException("taskset was asked for but /usr/bin/taskset does not exist (apt-get install util-linux)");
        }
    }
}
