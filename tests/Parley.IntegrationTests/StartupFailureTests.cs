using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15, defects 5 and 6: operator mistakes end in one line naming the setting or path and a non-zero exit. Each
/// test starts the real server executable and reads what it printed.
/// </summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-startup-" + Guid.NewGuid().ToString("N"));

    public StartupFailureTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    [Theory]
    [InlineData("not base64 at all!", "is not base64")]
    [InlineData("AAAAAAAAAAA=", "decodes to 8 bytes")]
    public async Task ConfiguredSigningKey_NotBase64OrTooShort_OneLineNamingTheSetting(string key, string reason)
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new() { ["Parley__Tokens__SigningKey"] = key });
        Assert.Contains("Parley:Tokens:SigningKey", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigningKeyFile_TooShort_OneLineNamingTheFile()
    {
        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "token-signing.key"), Convert.ToBase64String(new byte[8]));
        var line = await FailAsync(new ServerProcess(data), []);
        Assert.Contains(Path.Combine(data, "token-signing.key"), line, StringComparison.Ordinal);
        Assert.Contains("decodes to 8 bytes", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataDirectory_IsAFile_OneLineNamingTheSetting()
    {
        var file = Path.Combine(_root, "plain-file");
        await File.WriteAllTextAsync(file, "x");
        var line = await FailAsync(new ServerProcess(file), []);
        Assert.Contains("Parley:Storage:DataDirectory", line, StringComparison.Ordinal);
        Assert.Contains(file, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataDirectory_Uncreatable_OneLineNamingTheSetting()
    {
        var file = Path.Combine(_root, "plain-file");
        await File.WriteAllTextAsync(file, "x");
        var line = await FailAsync(new ServerProcess(Path.Combine(file, "data")), []);
        Assert.Contains("Parley:Storage:DataDirectory", line, StringComparison.Ordinal);
        Assert.Contains("not writable", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Database_Corrupt_OneLineNamingThePath()
    {
        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(data);
        var db = Path.Combine(data, "parley.db");
        await File.WriteAllBytesAsync(db, [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 31))]);
        var line = await FailAsync(new ServerProcess(data), []);
        Assert.Contains(db, line, StringComparison.Ordinal);
        Assert.Contains("not a valid SQLite database", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiloPort_InUse_OneLineNamingTheSetting()
    {
        var server = new ServerProcess(Path.Combine(_root, "data"));
        using var squatter = new TcpListener(IPAddress.Loopback, server.SiloPort);
        squatter.Start();
        var line = await FailAsync(server, [], squattedPort: server.SiloPort);
        Assert.Contains("Parley:Orleans:SiloPort", line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpPort_InUse_OneLineNamingTheAddress()
    {
        var server = new ServerProcess(Path.Combine(_root, "data"));
        using var squatter = new TcpListener(IPAddress.Loopback, server.HttpPort);
        squatter.Start();
        var line = await FailAsync(server, [], squattedPort: server.HttpPort);
        Assert.Contains($"127.0.0.1:{server.HttpPort}", line, StringComparison.Ordinal);
        Assert.Contains("Urls", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenImEnabled_WithoutSecret_OneLineNamingTheSetting()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__OpenIM__Enabled"] = "true",
            ["Parley__OpenIM__ApiPort"] = TestServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Parley__OpenIM__WsPort"] = TestServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Assert.Contains("Parley:OpenIM:Secret", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManagementUrls_Malformed_OneLineNamingTheSetting()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new() { ["Parley__Management__Urls"] = "not a url" });
        Assert.Contains("Parley:Management:Urls", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MemoryTargetNotBelowLimit_OneLineNamingBothSettings()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Orleans__MemoryLimitPercent"] = "70",
            ["Parley__Orleans__MemoryTargetPercent"] = "70",
        });
        Assert.Contains("Parley:Orleans:MemoryTargetPercent (70) must be below Parley:Orleans:MemoryLimitPercent (70)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CollectionQuantumNotBelowIdleAge_OneLineNamingBothSettings()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Orleans__IdleAge"] = "00:01:00",
            ["Parley__Orleans__CollectionQuantum"] = "00:01:00",
        });
        Assert.Contains("Parley:Orleans:CollectionQuantum (00:01:00) must be at least 00:00:00.1 and shorter than Parley:Orleans:IdleAge (00:01:00)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SqliteTuningOutOfRange_OneLineNamingTheSettings()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Storage__Sqlite__WalAutoCheckpointPages"] = "0",
        });
        Assert.Contains("Parley:Storage:Sqlite: WriterCacheSizeKb (16384) and WalAutoCheckpointPages (0) must be at least 1", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchMergeShareOutOfRange_OneLineNamingTheSetting()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Storage__Sqlite__SearchMergeShare"] = "1.5",
        });
        Assert.Contains("Parley:Storage:Sqlite:SearchMergeShare (1.5) must be above 0 and at most 1", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PageSizeNotAPowerOfTwo_OneLineNamingTheSetting()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Storage__Sqlite__PageSize"] = "1000",
        });
        Assert.Contains("Parley:Storage:Sqlite:PageSize (1000) must be a power of two from 512 to 65536", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchMergePagesPerRowNegative_OneLineNamingTheSetting()
    {
        var line = await FailAsync(new ServerProcess(Path.Combine(_root, "data")), new()
        {
            ["Parley__Storage__Sqlite__SearchMergePagesPerRow"] = "-0.5",
        });
        Assert.Contains("Parley:Storage:Sqlite:SearchMergePagesPerRow (-0.5) must be a number, 0 or more", line, StringComparison.Ordinal);
    }

    /// <summary>Runs the server to its exit and returns its one line, after checking the exit code and that nothing else (no stack trace) was printed.</summary>
    private static async Task<string> FailAsync(ServerProcess server, Dictionary<string, string?> environment, int squattedPort = 0)
    {
        await using var _ = server;
        var (exitCode, output, error) = await server.RunUntilExitAsync(environment);
        for (var attempt = 1; attempt < 3 && exitCode != 0 && error.Contains("already in use", StringComparison.Ordinal)
                              && (squattedPort == 0 || !error.Contains(squattedPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)); attempt++)
        {
            // Another process took one of the ports picked free for this run before the server bound it (CI: the
            // server-URL check refused before the problem under test was reached): the same run on new ports.
            server.PickNewPorts(keep: squattedPort);
            (exitCode, output, error) = await server.RunUntilExitAsync(environment);
        }

        Assert.True(exitCode != 0, $"exit code 0; stderr: {error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{error}\nstdout:\n{output}");
        Assert.StartsWith("Parley cannot start: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        return lines[0];
    }
}
