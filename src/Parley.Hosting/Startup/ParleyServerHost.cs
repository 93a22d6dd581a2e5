using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Parley.Hosting.Startup;

/// <summary>
/// The executable's whole life: build, check, start, run. An operator mistake while starting ends in one line on stderr
/// (<c>Parley cannot start: …</c>) and exit code 2, never a stack trace.
/// </summary>
public static class ParleyServerHost
{
    public const int StartupFailedExitCode = 2;

    /// <summary>The graceful shutdown (SIGTERM) ran out of time and the process exits anyway.</summary>
    public const int ShutdownTimedOutExitCode = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        NativeAllocator.Apply();
        IConfiguration? config = null;
        WebApplication app;
        try
        {
            var builder = WebApplication.CreateBuilder(args);
            LoggingDefaults.Apply(builder.Configuration);
            config = builder.Configuration;
            StartupChecks.Preflight(builder);
            builder.AddParleyServer();
            StartupChecks.CheckUrlsFree(builder);
            app = builder.Build();
            // The keys load here, outside the host's start, so a bad key is the one line below and not a logged stack trace.
            _ = app.Services.GetRequiredService<ServerKeys>();
            await StartupChecks.InitializePostgresAsync(app.Services).ConfigureAwait(false);
            app.MapParley();
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (StartupChecks.Describe(ex, config) is { } line)
        {
            await Console.Error.WriteLineAsync("Parley cannot start: " + line).ConfigureAwait(false);
            return StartupFailedExitCode;
        }

        try
        {
            await app.WaitForShutdownAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A part did not stop within Parley:Shutdown:Timeout: what was durable stays durable; say so and exit.
            await Console.Error.WriteLineAsync("Parley: the shutdown did not finish within Parley:Shutdown:Timeout; exiting anyway.").ConfigureAwait(false);
            return ShutdownTimedOutExitCode;
        }

        return 0;
    }
}
