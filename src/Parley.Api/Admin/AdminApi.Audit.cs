using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http;
using Parley.Abstractions.Admin;
using Parley.Api.Admin.Operators;

namespace Parley.Api.Admin;

/// <summary>The audit log: newest first, filtered by actor, action (exact or prefix: <c>users</c> matches <c>users.create</c>), target and time.</summary>
public static partial class AdminApi
{
    private static void MapAudit(RouteGroupBuilder group) =>
        group.MapGet("/audit", QueryAuditAsync).WithName("audit.query").RequireParleyAdmin(OperatorScopes.Audit);

    private static async Task<IResult> QueryAuditAsync(string? actor, string? action, string? target, long? since, long? until, long? before, int? limit, IAuditStore store)
    {
        if (actor?.Length > 128 || action?.Length > 128 || target?.Length > 512 || limit is < 1 or > MaxPage || before is < 1)
        {
            return Fail(400, "bad_request", $"actor and action must be at most 128 characters, target 512; limit 1..{MaxPage}; before a positive id.");
        }

        var page = limit ?? 50;
        var rows = await store.QueryAuditAsync(new AuditQuery(Blank(actor), Blank(action), Blank(target), since, until, before, page + 1)).ConfigureAwait(false);
        var items = rows.Take(page).ToList();
        return Results.Ok(new AuditPage(items, rows.Count > page ? items[^1].Id : null));
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <param name="Next">The <c>before</c> value of the next (older) page, or null on the last page.</param>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, long? Next);
