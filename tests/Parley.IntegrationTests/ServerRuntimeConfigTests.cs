using System.Text.Json;

namespace Parley.IntegrationTests;

/// <summary>
/// The runtime settings the server executable is built with: what <c>dotnet Parley.Server.dll</c> reads from its
/// <c>Parley.Server.runtimeconfig.json</c> at start (the process tests start that very file).
/// </summary>
public sealed class ServerRuntimeConfigTests
{
    [Fact]
    public void ServerRuntimeConfig_ThreadPoolSpinsAsTheRuntimeDefaults_AndMethodsAreJittedOptimised()
    {
        var properties = ServerConfigProperties();

        // Issue 17, stop 38: workers that slept at once instead of spinning (UnfairSemaphoreSpinLimit 0) looked cheaper
        // under load, but on a quiet core cost +20 % CPU per message, +40 % p50 and 2.5x the read calls on the 1:1 soak
        // (docs/performance.md, "Stop 38, lead"), so the server keeps the runtime's default; set in the runtimeconfig, it
        // also took precedence over DOTNET_ThreadPool_UnfairSemaphoreSpinLimit (a run with the variable at 0x46 matched it).
        Assert.False(properties.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out _));
        Assert.False(properties.GetProperty("System.Runtime.TieredCompilation.QuickJit").GetBoolean());
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
    }

    [Fact]
    public void ServerRuntimeConfig_Gen0BudgetIs8MiB_WhateverTheCacheTheCpuReports()
    {
        var properties = ServerConfigProperties();

        // Issue 17, stop 47 (ADR 0036): without it the workstation GC sizes gen0 from the CPU's reported L3 (90 MB on the
        // measured VM), and a plain start paused 94-122 ms per gen1 collection at 7,000 msg/s; the image's DOTNET_GCgen0size
        // was the only other place it was set. The runtimeconfig has no gen0size; the max budget caps the same number.
        Assert.Equal(8L * 1024 * 1024, ReadInt64(properties.GetProperty("System.GC.Gen0MaxBudget")));
    }

    // The SDK writes a RuntimeHostConfigurationOption's value as a JSON number or string; the runtime reads either.
    private static long ReadInt64(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static JsonElement ServerConfigProperties()
    {
        var baseDir = AppContext.BaseDirectory;
        var configuration = baseDir.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(baseDir);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var path = Path.Combine(dir.FullName, "src", "Parley.Server", "bin", configuration, "net10.0", "Parley.Server.runtimeconfig.json");
        Assert.True(File.Exists(path), $"Build the server first: {path} is missing.");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
