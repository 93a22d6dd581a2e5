using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Admin;

namespace Parley.Api.Admin.Operators;

/// <summary>Writes admin/operator actions to the durable audit log (who, what, target, when, from where, outcome).</summary>
public sealed partial class AuditWriter(IAuditStore store, TimeProvider time, ILogger<AuditWriter> logger)
{
    private const string TargetKey = "parley.audit.target";
    private const string DetailKey = "parley.audit.detail";

    /// <summary>Names what a request acted on (default: its path below <c>/admin/v1</c>).</summary>
    public static void SetTarget(HttpContext context, string target) => context.Items[TargetKey] = target;

    /// <summary>Adds short, non-secret detail to the request's audit entry.</summary>
    public static void SetDetail(HttpContext context, string detail) => context.Items[DetailKey] = detail;

    /// <summary>The action name of the request's endpoint: its name (<c>WithName</c>) or "METHOD pattern".</summary>
    public static string ActionOf(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var name = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (name is not null)
        {
            return name;
        }

        var pattern = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? string.Empty;
        return $"{context.Request.Method} {pattern}";
    }

    /// <summary>Appends the request's entry; a store failure is logged and rethrown (an unaudited action must not look successful).</summary>
    public async Task WriteAsync(HttpContext context, int status, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var user = context.User;
        var actor = user.FindFirstValue(AdminAuthenticationHandler.ActorClaim) ?? "anonymous";
        var actorName = user.FindFirstValue(AdminAuthenticationHandler.ActorNameClaim) ?? actor;
        var target = context.Items.TryGetValue(TargetKey, out var t) && t is string s ? s : DefaultTarget(context.Request.Path.Value);
        var entryDetail = context.Items.TryGetValue(DetailKey, out var d) && d is string ds ? ds : detail ?? string.Empty;
        var entry = new AuditEntry(
            0,
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            actor,
            actorName,
            ActionOf(context),
            Truncate(target, 512),
            context.Connection.RemoteIpAddress?.ToString() ?? string.Empty,
            status,
            Truncate(entryDetail, 1024));
        try
        {
            await store.AppendAuditAsync(entry, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogAuditFailed(logger, ex, entry.Action, entry.Actor);
            throw;
        }
    }

    private static string DefaultTarget(string? path)
    {
        const string Prefix = "/admin/v1/";
        var p = path ?? string.Empty;
        return p.StartsWith(Prefix, StringComparison.Ordinal) ? p[Prefix.Length..] : p;
    }

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    [LoggerMessage(EventId = 8001, Level = LogLevel.Error, Message = "Writing the audit entry of {Action} by {Actor} failed")]
    private static partial void LogAuditFailed(ILogger logger, Exception exception, string action, string actor);
}
