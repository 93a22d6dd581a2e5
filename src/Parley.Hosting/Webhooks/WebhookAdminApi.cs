using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Webhooks;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core.Webhooks;

namespace Parley.Hosting.Webhooks;

/// <summary>
/// After-hook outbox administration under <c>/admin/v1/webhooks</c> (scope <c>webhooks</c>, audited): the outbox's
/// counts, the dead letters (never their bodies: they may carry message content), and their replay with the same
/// event id. The outbox is the store's, so this works on every node of a cluster and while hooks are switched off.
/// </summary>
internal static class WebhookAdminApi
{
    private const int MaxPage = 500;
    private const int MaxReplayIds = 1000;

    public static RouteGroupBuilder MapParleyWebhookAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/webhooks").RequireParleyAdmin(OperatorScopes.Webhooks);
        group.MapGet("/outbox", GetOutboxAsync).WithName("webhooks.outbox").Produces<WebhookOutboxResponse>();
        group.MapGet("/dead-letters", ListDeadLettersAsync).WithName("webhooks.dead-letters.list").Produces<WebhookDeadLetter[]>();
        group.MapPost("/dead-letters/replay", ReplayAsync).WithName("webhooks.dead-letters.replay").Produces<WebhookReplayResponse>();
        return group;
    }

    private static async Task<IResult> GetOutboxAsync(IWebhookOutbox outbox, CancellationToken cancellationToken)
    {
        var counts = await outbox.CountAsync(cancellationToken).ConfigureAwait(false);
        return Results.Ok(new WebhookOutboxResponse(counts.Pending, counts.DeadLettered));
    }

    private static async Task<IResult> ListDeadLettersAsync(IWebhookOutbox outbox, string? hook, int? limit, CancellationToken cancellationToken)
    {
        if (hook is not null && !WebhookOptions.AfterHooks.Contains(hook, StringComparer.Ordinal))
        {
            return Fail(400, "bad_request", $"hook must be one of {string.Join(", ", WebhookOptions.AfterHooks)}.");
        }

        if (limit is < 1 or > MaxPage)
        {
            return Fail(400, "bad_request", $"limit must be 1..{MaxPage}.");
        }

        var rows = await outbox.ListDeadLettersAsync(hook, limit ?? 100, cancellationToken).ConfigureAwait(false);
        return Results.Ok(rows.Select(e => new WebhookDeadLetter(e.EventId, e.Hook, e.Attempts, e.LastError, e.CreatedAt, e.FinishedAt)).ToArray());
    }

    private static async Task<IResult> ReplayAsync(HttpContext http, WebhookReplayRequest? request, IWebhookOutbox outbox, WebhookSignal signal, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request is null || (request.EventIds is null) == (request.All != true))
        {
            return Fail(400, "bad_request", "Name the dead letters to replay: eventIds (up to 1000), or all: true (optionally with hook).");
        }

        if (request.EventIds is { } ids && (ids.Length is 0 or > MaxReplayIds || ids.Any(id => string.IsNullOrEmpty(id) || id.Length > 64)))
        {
            return Fail(400, "bad_request", $"eventIds must hold 1..{MaxReplayIds} event ids.");
        }

        if (request.Hook is { } hook && !WebhookOptions.AfterHooks.Contains(hook, StringComparer.Ordinal))
        {
            return Fail(400, "bad_request", $"hook must be one of {string.Join(", ", WebhookOptions.AfterHooks)}.");
        }

        AuditWriter.SetTarget(http, request.EventIds is { Length: 1 } one ? "webhook-event:" + one[0] : "webhooks:" + (request.Hook ?? "*"));
        AuditWriter.SetDetail(http, request.EventIds is { } named ? "events=" + named.Length : "all");
        var replayed = await outbox.ReplayAsync(request.EventIds, request.Hook, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        signal.Notify();
        return Results.Ok(new WebhookReplayResponse(replayed));
    }

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ErrorBody(code, message)), statusCode: status);
}

public sealed record WebhookOutboxResponse(long Pending, long DeadLettered);

/// <param name="LastError">Why the last attempt failed: timeout, unreachable, status_NNN, hook_disabled.</param>
public sealed record WebhookDeadLetter(string EventId, string Hook, int Attempts, string? LastError, long CreatedAt, long? DeadLetteredAt);

/// <param name="EventIds">The dead letters to replay; or null with <see cref="All"/> true for every one (of <see cref="Hook"/> when given).</param>
public sealed record WebhookReplayRequest(string[]? EventIds, bool? All, string? Hook);

public sealed record WebhookReplayResponse(int Replayed);
