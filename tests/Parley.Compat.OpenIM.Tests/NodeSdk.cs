using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Runs the unmodified <c>@openim/client-sdk@0.0.14</c> in Node.js (tests/Parley.Compat.OpenIM.Tests/node). The packages
/// are installed with <c>npm ci</c> once per test run; each <see cref="NodeSdkClient"/> is one SDK instance in its own
/// process, driven over stdin (driver.js commands) and observed through its stdout records.
/// </summary>
internal static class NodeSdk
{
    private static readonly Lazy<Task<string>> Installed = new(InstallAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Task<string> DirectoryAsync() => Installed.Value;

    /// <summary>tests/Parley.Compat.OpenIM.Tests/node, found from the repository root (the directory holding Parley.slnx).</summary>
    public static string FindNodeDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
            {
                return Path.Combine(dir.FullName, "tests", "Parley.Compat.OpenIM.Tests", "node");
            }
        }

        throw new InvalidOperationException("Parley.slnx not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> InstallAsync()
    {
        var directory = FindNodeDirectory();
        foreach (var tool in new[] { "node", "npm" })
        {
            var (code, output) = await RunAsync(tool, "--version", directory, TimeSpan.FromSeconds(30));
            if (code != 0)
            {
                throw new InvalidOperationException($"The OpenIM SDK tests need Node.js 18+ and npm on PATH; '{tool} --version' failed: {output}");
            }
        }

        var (ci, log) = await RunAsync("npm", "ci --no-audit --no-fund --loglevel=error", directory, TimeSpan.FromMinutes(5));
        if (ci != 0)
        {
            throw new InvalidOperationException($"'npm ci' in {directory} failed ({ci}); the OpenIM SDK tests need the npm registry once per run:\n{log}");
        }

        return directory;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string arguments, string directory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException(file + " did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, "timed out");
            }

            return (process.ExitCode, await stdout + await stderr);
        }
    }
}

/// <summary>One OpenIM SDK instance (driver.js) logged in as one user.</summary>
internal sealed class NodeSdkClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<JsonElement> _records = new();
    private readonly StringBuilder _stderr = new();
    private int _nextId;
    private Task? _readers;

    private NodeSdkClient(Process process, string userId)
    {
        _process = process;
        UserId = userId;
    }

    public string UserId { get; }

    public IReadOnlyCollection<JsonElement> Records => _records;

    /// <summary>A new SDK process for <paramref name="userId"/> on <paramref name="platformId"/>, logged in (disposed if the login fails).</summary>
    public static async Task<NodeSdkClient> LoggedInAsync(OpenImTestServer server, string userId, int platformId = 5, string? webSocketAddress = null)
    {
        var sdk = await StartAsync(server, userId, await OpenImUsers.TokenAsync(server, userId, platformId), platformId, webSocketAddress);
        try
        {
            await sdk.LoginAsync();
        }
        catch
        {
            await sdk.DisposeAsync();
            throw;
        }

        return sdk;
    }

    /// <param name="webSocketAddress">The SDK's wsAddr when not the server's own (e.g. through a <see cref="TcpGate"/>).</param>
    public static async Task<NodeSdkClient> StartAsync(OpenImTestServer server, string userId, string token, int platformId = 5, string? webSocketAddress = null)
    {
        string directory;
        try
        {
            directory = await NodeSdk.DirectoryAsync();
        }
        catch (InvalidOperationException ex)
        {
            Assert.Fail(ex.Message);
            throw;
        }

        var info = new ProcessStartInfo("node", "driver.js")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["PARLEY_WS"] = webSocketAddress ?? $"ws://{server.BaseUri.Host}:{server.BaseUri.Port}/openim/ws";
        info.Environment["PARLEY_API"] = $"http://{server.BaseUri.Host}:{server.BaseUri.Port}";
        info.Environment["OPENIM_USER"] = userId;
        info.Environment["OPENIM_TOKEN"] = token;
        info.Environment["OPENIM_PLATFORM"] = platformId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        info.Environment["OPENIM_LOG_LEVEL"] = Environment.GetEnvironmentVariable("OPENIM_LOG_LEVEL") ?? "5";
        var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        var client = new NodeSdkClient(process, userId);
        client._readers = Task.WhenAll(
            Task.Factory.StartNew(() => client.Pump(process.StandardOutput, client.OnLine), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            Task.Factory.StartNew(() => client.Pump(process.StandardError, client.OnErrorLine), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        await client.WaitAsync(r => Kind(r) == "ready", "the SDK driver started");
        return client;
    }

    // Dedicated threads read the child's output, so a busy thread pool can never stop the draining (a child blocked on
    // a full pipe would stop its timers and look hung).
    private void Pump(StreamReader reader, Action<string?> onLine)
    {
        try
        {
            while (reader.ReadLine() is { } line)
            {
                try
                {
                    onLine(line);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    OnErrorLine("harness: " + ex.Message);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process ended.
        }
    }

    private void OnErrorLine(string? line)
    {
        lock (_stderr)
        {
            _stderr.AppendLine(line);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (!line.StartsWith("@@ ", StringComparison.Ordinal))
        {
            // The SDK's own console output: kept for diagnostics.
            lock (_stderr)
            {
                _stderr.AppendLine(line);
            }

            return;
        }

        try
        {
            using var doc = JsonDocument.Parse(line.AsMemory(3));
            _records.Enqueue(doc.RootElement.Clone());
        }
        catch (JsonException)
        {
            // Not ours.
        }
    }

    private static string? Kind(JsonElement r) => r.TryGetProperty("kind", out var k) ? k.GetString() : null;

    /// <summary>REST paths the SDK called that the server does not serve (HTTP status other than 200).</summary>
    public IReadOnlyList<string> MissingEndpoints() =>
        [.. _records.Where(r => Kind(r) == "http" && r.GetProperty("status").GetInt32() != 200).Select(r => r.GetProperty("path").GetString()!).Distinct()];

    public IEnumerable<JsonElement> Events(string name) =>
        _records.Where(r => Kind(r) == "event" && r.GetProperty("event").GetString() == name);

    /// <summary>Every message the SDK raised in OnRecvNewMessages / OnRecvNewMessage so far.</summary>
    public List<JsonElement> ReceivedMessages() =>
        [.. Events("OnRecvNewMessages").SelectMany(e => e.GetProperty("data").EnumerateArray()).Concat(Events("OnRecvNewMessage").Select(e => e.GetProperty("data")))];

    /// <summary>Waits for a condition; on timeout fails with the driver's records and output as they are then.</summary>
    public async Task UntilAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0.#} s waiting until {because}.{Diagnostics()}");
            }

            await Task.Delay(20);
        }
    }

    public async Task<JsonElement> WaitAsync(Func<JsonElement, bool> predicate, string because, TimeSpan? timeout = null)
    {
        await UntilAsync(() => _records.Any(predicate) || _process.HasExited, because, timeout);
        return _records.FirstOrDefault(predicate) is { ValueKind: not JsonValueKind.Undefined } found
            ? found
            : throw new InvalidOperationException("The SDK driver exited: " + because + Diagnostics());
    }

    public Task<JsonElement> WaitEventAsync(string name, string because, TimeSpan? timeout = null) =>
        WaitAsync(r => Kind(r) == "event" && r.GetProperty("event").GetString() == name, because, timeout);

    /// <summary>Runs a driver command and returns its result record.</summary>
    public async Task<JsonElement> CommandAsync(string cmd, object? args = null, TimeSpan? timeout = null)
    {
        var id = "c" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var command = args is null ? new JsonObject() : JsonSerializer.SerializeToNode(args)!.AsObject();
        command["id"] = id;
        command["cmd"] = cmd;
        await _process.StandardInput.WriteLineAsync(command.ToJsonString());
        await _process.StandardInput.FlushAsync();
        return await WaitAsync(r => Kind(r) == "result" && r.GetProperty("id").GetString() == id, $"the result of '{cmd}'", timeout);
    }

    /// <summary>Runs a command that must succeed and returns its data.</summary>
    public async Task<JsonElement> OkAsync(string cmd, object? args = null, TimeSpan? timeout = null)
    {
        var result = await CommandAsync(cmd, args, timeout);
        Assert.True(result.GetProperty("ok").GetBoolean(), $"'{cmd}' failed for {UserId}: {result}");
        return result.GetProperty("data");
    }

    /// <summary>Logs in and waits for the connection (OnConnectSuccess) and the end of the login sync, successful or not.</summary>
    public async Task LoginAsync()
    {
        await OkAsync("login");
        await WaitEventAsync(CbConnectSuccess, $"{UserId} connected");
        var sync = await WaitAsync(r => Kind(r) == "event" && r.GetProperty("event").GetString() is "OnSyncServerFinish" or "OnSyncServerFailed", $"{UserId} finished its login sync");
        Assert.True(sync.GetProperty("event").GetString() == "OnSyncServerFinish", $"The SDK's login sync failed.{Diagnostics()}");
        Assert.True(MissingEndpoints().Count == 0, $"The SDK called endpoints the server does not serve: {string.Join(", ", MissingEndpoints())}");
    }

    public const string CbConnectSuccess = "OnConnectSuccess";

    public string Diagnostics()
    {
        string stderr;
        lock (_stderr)
        {
            stderr = _stderr.ToString();
        }

        var tail = string.Join("\n", _records.TakeLast(40).Select(r => r.GetRawText().Length > 400 ? r.GetRawText()[..400] : r.GetRawText()));
        return $" [{UserId}; exited={_process.HasExited}; records={_records.Count}]\nlast records:\n{tail}\nstderr:\n{(stderr.Length > 6000 ? stderr[^6000..] : stderr)}";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("{\"id\":\"bye\",\"cmd\":\"exit\"}");
                await _process.StandardInput.FlushAsync();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await _process.WaitForExitAsync(wait.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // Killed below.
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        if (_readers is not null)
        {
            await Task.WhenAny(_readers, Task.Delay(TimeSpan.FromSeconds(3)));
        }

        _process.Dispose();
    }
}
