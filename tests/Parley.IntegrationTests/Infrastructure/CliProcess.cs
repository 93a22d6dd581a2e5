using System.Diagnostics;
using System.Text.Json;

namespace Parley.IntegrationTests.Infrastructure;

/// <summary>Runs the real <c>parley</c> CLI executable (src/Parley.Cli's build output) as an operator would.</summary>
internal static class CliProcess
{
    private static readonly Lazy<string> Dll = new(Locate);

    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public JsonElement Json
        {
            get
            {
                Assert.True(ExitCode == 0, $"parley exited {ExitCode}: {Error}\n{Out}");
                return JsonDocument.Parse(Out).RootElement;
            }
        }
    }

    /// <summary>Runs <c>parley args…</c> with <paramref name="environment"/> (null removes a variable) and waits for its exit.</summary>
    public static async Task<Result> RunAsync(IDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll.Value);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // No credentials leak in from the machine running the tests; wide output so tables do not wrap ids.
        info.Environment.Remove("PARLEY_URL");
        info.Environment.Remove("PARLEY_TOKEN");
        // A home of its own: no ~/.config/parley/cli.json of the machine is read.
        info.Environment.Remove("PARLEY_CONFIG");
        var home = Path.Combine(Path.GetTempPath(), "parley-cli-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        info.Environment["HOME"] = home;
        info.Environment["COLUMNS"] = "240";
        info.Environment["NO_COLOR"] = "1";
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

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the CLI.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"parley {string.Join(' ', args)} did not exit in 120 s");
        }

        Directory.Delete(home, recursive: true);
        return new Result(process.ExitCode, await output, await error);
    }

    private static string Locate()
    {
        var baseDir = AppContext.BaseDirectory;
        var configuration = baseDir.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = new DirectoryInfo(baseDir);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Parley.slnx")))
        {
            dir = dir.Parent;
        }

        var dll = Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root."), "src", "Parley.Cli", "bin", configuration, "net10.0", "Parley.Cli.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"Build the CLI first: {dll} is missing.");
    }
}
