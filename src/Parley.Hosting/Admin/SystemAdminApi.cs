using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Api.Admin.Operators;
using Parley.Core.Commit;
using Parley.Push;

namespace Parley.Hosting.Admin;

/// <summary><c>GET /admin/v1/system</c>: health and key figures for the admin console (any operator with <c>read</c>).</summary>
internal static class SystemAdminApi
{
    private static readonly long StartedAt = Environment.TickCount64;

    public static RouteGroupBuilder MapParleySystemAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/system").RequireParleyAdmin("system");
        group.MapGet("", GetAsync).WithName("system.get");
        return group;
    }

    private static async Task<IResult> GetAsync(CommitPipeline pipeline, MetricsSnapshot metrics, PushPipeline push, TimeProvider time, CancellationToken cancellationToken)
    {
        using var process = Process.GetCurrentProcess();
        var deadLetters = await push.ListDeadLettersAsync(1000, cancellationToken).ConfigureAwait(false);
        return Results.Ok(new SystemResponse(
            typeof(SystemAdminApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            (Environment.TickCount64 - StartedAt) / 1000,
            pipeline.IsRunning,
            process.WorkingSet64,
            GC.GetTotalMemory(false),
            process.Threads.Count,
            deadLetters.Count,
            metrics.Read()));
    }
}

/// <param name="DeadLetters">Dead-lettered pushes (counted up to 1000).</param>
/// <param name="Metrics">Totals of Parley's instruments since start (see docs/admin.md).</param>
public sealed record SystemResponse(string Version, long Now, long UptimeSeconds, bool Ready, long WorkingSetBytes, long ManagedHeapBytes, int Threads, int DeadLetters, IReadOnlyDictionary<string, MetricTotal> Metrics);
