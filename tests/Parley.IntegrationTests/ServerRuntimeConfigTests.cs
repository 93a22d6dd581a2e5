using System.Text.Json;

namespace Parley.IntegrationTests;

/// <summary>
/// The runtime settings the server executable is built with: what <c>dotnet Parley.Server.dll</c> reads from its
/// <c>Parley.Server.runtimeconfig.json</c> at start (the process tests start that very file).
/// </summary>
public sealed class ServerRuntimeConfigTests
{
    [Fact]
    public void ServerRuntimeConfig_ThreadPoolWorkersDoNotSpin_AndMethodsAreJittedOptimised()
    {
        var properties = ServerConfigProperties();

        // Issue 17: spinning idle workers were 16 % of the warm 1:1 send's CPU samples (docs/performance.md, stop 38).
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.False(properties.GetProperty("System.Runtime.TieredCompilation.QuickJit").GetBoolean());
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
    }

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
