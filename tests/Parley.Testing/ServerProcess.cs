using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Testing;

/// <summary>The real server executable in its own process, so a test can kill -9 it and start it again on the same data.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly string _serverDll;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private Process? _process;

    public ServerProcess(string dataDirectory)
    {
        DataDirectory = dataDirectory;
        var httpPort = TestServer.FreePort();
        SiloPort = TestServer.FreePort();
        GatewayPort = TestServer.FreePort();
        AdminSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        _serverDll = LocateServer();
        UseHttpPort(httpPort);
    }

    /// <summary>
    /// Sets <see cref="HttpPort"/> and what is built on it: the base and WebSocket URIs and a new <see cref="Admin"/> client
    /// (an HttpClient's base address is fixed once it has sent a request, so a new port needs a new client; the caller
    /// disposes the old one).
    /// </summary>
    [MemberNotNull(nameof(BaseUri), nameof(WebSocketUri), nameof(Admin))]
    private void UseHttpPort(int port)
    {
        HttpPort = port;
        BaseUri = new Uri($"http://127.0.0.1:{port}");
        WebSocketUri = new Uri($"ws://127.0.0.1:{port}/ws");
        Admin = new HttpClient { BaseAddress = BaseUri };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminSecret);
    }

    /// <summary>
    /// Picks new free ports for every listener but <paramref name="keep"/>: for a run that lost a port to another process
    /// between the pick and the server's bind (the ports are picked free, not reserved).
    /// </summary>
    public void PickNewPorts(int keep = 0)
    {
        if (HttpPort != keep)
        {
            var oldAdmin = Admin;
            UseHttpPort(TestServer.FreePort());
            oldAdmin.Dispose();
        }

        if (SiloPort != keep)
        {
            SiloPort = TestServer.FreePort();
        }

        if (GatewayPort != keep)
        {
            GatewayPort = TestServer.FreePort();
        }
    }

    public string DataDirectory { get; }

    public int HttpPort { get; private set; }

    public int SiloPort { get; private set; }

    public int GatewayPort { get; private set; }

    public string AdminSecret { get; }

    public Uri BaseUri { get; private set; }

    public Uri WebSocketUri { get; private set; }

    public HttpClient Admin { get; private set; }

    /// <summary>Extra settings for <see cref="StartAsync"/> (environment variables, e.g. <c>Parley__Cluster__Mode</c>).</summary>
    public Dictionary<string, string> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds settings written as configuration keys (<c>Parley:Push:CoalesceWindow</c>), as the in-process
    /// <see cref="TestServer"/> takes them, to <see cref="Settings"/> (as <c>Parley__Push__CoalesceWindow</c>).
    /// </summary>
    public void Configure(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        foreach (var (key, value) in settings)
        {
            Settings[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }
    }

    /// <summary>How long <see cref="StartAsync"/> waits for <c>/readyz</c>: long enough for a start on a machine at load 60-75.</summary>
    public static TimeSpan ReadyTimeout { get; } = TimeSpan.FromSeconds(300);

    /// <summary>The running server's process id (for signals a test sends itself, e.g. SIGSTOP), or null.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Whether the server process was started and has not exited.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>"running", "exited with N" or "not started": the process as a failure message describes it.</summary>
    public string ProcessState => _process is null ? "not started" : _process.HasExited ? $"exited with {_process.ExitCode}" : "running";

    /// <summary>The last lines the running (or last) process wrote, for failure messages.</summary>
    public string RecentOutput => string.Join('\n', _output);

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    public async Task StartAsync()
    {
        // The Orleans ports are picked free when this object is made, but another test process running at the same time
        // can take one before the server binds it (CI: "SiloPort … is already in use"): pick new ones and start again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync();
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("is already in use", StringComparison.Ordinal)
                                                       && (ex.Message.Contains("SiloPort", StringComparison.Ordinal) || ex.Message.Contains("GatewayPort", StringComparison.Ordinal)))
            {
                await KillAsync(); // it has exited: releases the process handle
                SiloPort = TestServer.FreePort();
                GatewayPort = TestServer.FreePort();
            }
            catch (InvalidOperationException ex) when (attempt < 3
                                                       && ex.Message.Contains($"127.0.0.1:{HttpPort}", StringComparison.Ordinal)
                                                       && ex.Message.Contains("already in use", StringComparison.Ordinal))
            {
                // The same race on the HTTP port (CI: EdgeProcessClusterTests' node 0): a new port, URIs and admin client.
                // Taken before the start, the server's own check says "The server URL http://127.0.0.1:N/ (…): port N is
                // already in use"; taken between that check and Kestrel's bind, Kestrel's "127.0.0.1:N: address already in use".
                await KillAsync();
                var oldAdmin = Admin;
                UseHttpPort(TestServer.FreePort());
                oldAdmin.Dispose();
            }
        }
    }

    private async Task StartOnceAsync()
    {
        var info = StartInfo(BaseUri.ToString(), Settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the server.");
        _output.Clear();
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var watch = Stopwatch.StartNew();
        var lastAnswer = "none (not listening yet)";
        // Generous: at load 45-75 on two cores a node was not even listening after 120 s (its start needs seconds of CPU),
        // and a cluster node also joins Orleans membership before it is ready.
        while (watch.Elapsed < ReadyTimeout)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(); // drains its output
                throw new InvalidOperationException($"The server exited with {_process.ExitCode} during start:\n{RecentOutput}");
            }

            // Each poll is bounded, so that an exit is noticed even when something else on the port accepts and never answers.
            using var poll = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                using var ready = await Admin.GetAsync("/readyz", poll.Token);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }

                lastAnswer = $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync(poll.Token)}";
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (poll.IsCancellationRequested)
            {
                lastAnswer = "no answer in 20 s";
            }

            await Task.Delay(100);
        }

        // What it was waiting for (listening or not, the readiness answer) and its warnings, for the failure's diagnosis.
        throw new TimeoutException($"The server did not become ready in {ReadyTimeout.TotalSeconds} s; last /readyz answer: {lastAnswer}; its output:\n{RecentOutput}");
    }

    /// <summary>Creates a user through the admin API; returns its id.</summary>
    public async Task<string> CreateUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        (await Admin.PostAsJsonAsync("/admin/v1/users", new { userId }, cancellationToken)).EnsureSuccessStatusCode();
        return userId;
    }

    /// <summary>Issues a device token through the admin API.</summary>
    public async Task<IssuedToken> IssueTokenAsync(string userId, string deviceId = "d1", Platform platform = Platform.Linux)
    {
        var response = await Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId, platform = platform.ToString().ToLowerInvariant() });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<IssuedToken>())!;
    }

    /// <summary>
    /// A client of this server (not connected): sends and requests waited for <paramref name="sendTimeout"/> (120 s; a
    /// loaded machine answers slowly), reconnects after 0.1-1 s.
    /// </summary>
    public ParleyClient CreateClient(string token, string deviceId = "d1", Platform platform = Platform.Linux, TimeSpan? sendTimeout = null) => new(new ParleyClientOptions
    {
        ServerUri = WebSocketUri,
        Token = token,
        DeviceId = deviceId,
        Platform = platform,
        SendTimeout = sendTimeout ?? TimeSpan.FromSeconds(120),
        RequestTimeout = sendTimeout ?? TimeSpan.FromSeconds(120),
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromSeconds(1),
    });

    /// <summary>
    /// A connected client of <paramref name="userId"/> (a device token from the admin API, see <see cref="CreateClient"/>),
    /// added to <paramref name="clients"/> before it connects, for the test to dispose.
    /// </summary>
    public async Task<ParleyClient> ConnectAsync(string userId, ICollection<ParleyClient> clients, string deviceId = "d1", Platform platform = Platform.Linux, TimeSpan? sendTimeout = null)
    {
        var client = CreateClient((await IssueTokenAsync(userId, deviceId, platform)).Token, deviceId, platform, sendTimeout);
        clients.Add(client);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>
    /// Starts the server with extra environment settings (null removes one) and waits until it exits by itself, for
    /// start-up failures; kills it and fails when it is still running after <paramref name="timeout"/> (180 s by default).
    /// </summary>
    public async Task<(int ExitCode, string Output, string Error)> RunUntilExitAsync(IDictionary<string, string?> environment, TimeSpan? timeout = null, string? urls = null)
    {
        using var process = Process.Start(StartInfo(urls ?? BaseUri.ToString(), environment)) ?? throw new InvalidOperationException("Could not start the server.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(180)); // a start that fails at once took over 60 s at load 75
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The server was still running after the timeout. stderr: {await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// SIGTERM, as an orchestrator stops a container: the graceful shutdown. Returns the exit code, or fails when the
    /// process is still running after <paramref name="timeout"/>.
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("The server is not running.");
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The server was still running {timeout.TotalSeconds} s after SIGTERM.");
        }

        var code = process.ExitCode;
        process.Dispose();
        _process = null;
        return code;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushes.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// A test's cleanup: disposes <paramref name="clients"/> (if any), kills the server (-9) and deletes its data directory.
    /// A file still held (a pooled SQLite connection of the test's own) leaves the directory behind rather than failing the test.
    /// </summary>
    public async Task KillAndDeleteDataAsync(IEnumerable<ParleyClient>? clients = null)
    {
        foreach (var client in clients ?? [])
        {
            await client.DisposeAsync();
        }

        await KillAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Admin.Dispose();
    }

    /// <summary>
    /// <c>dotnet Parley.Server.dll --urls …</c> in the server's folder with this server's secret, data directory, Orleans
    /// ports and warning-level logs, then <paramref name="environment"/> (a null value removes a variable).
    /// </summary>
    private ProcessStartInfo StartInfo(string urls, IEnumerable<KeyValuePair<string, string?>> environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(_serverDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(_serverDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(urls);
        info.Environment["Parley__Admin__Secret"] = AdminSecret;
        info.Environment["Parley__Storage__DataDirectory"] = DataDirectory;
        info.Environment["Parley__Orleans__SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["Parley__Orleans__GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return info;
    }

    private static string LocateServer()
    {
        var baseDir = AppContext.BaseDirectory;
        var configuration = baseDir.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(baseDir);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException("Cannot find the repository root (Parley.slnx).");
        }

        var dll = Path.Combine(dir.FullName, "src", "Parley.Server", "bin", configuration, "net10.0", "Parley.Server.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"Build the server first: {dll} is missing.");
    }
}

/// <summary>A device token issued by the admin API.</summary>
public sealed record IssuedToken(string Token, string TokenId, long ExpiresAt);
