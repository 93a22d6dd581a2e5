using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Business;
using Parley.Abstractions.Push;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core;

namespace Parley.Hosting.Business;

/// <summary>
/// Marketing campaigns and the marketing opt-out under <c>/admin/v1/business</c> (scope <c>business</c>, GETs also
/// <c>read</c>; audited). The edge only translates; the rules are <see cref="CampaignService"/>'s.
/// </summary>
internal static class CampaignAdminApi
{
    private const int MaxPage = 1000;

    public static RouteGroupBuilder MapCampaigns(this RouteGroupBuilder group)
    {
        group.MapPost("/campaigns", CreateAsync).WithName("business.campaigns.create").Produces<CampaignView>(201)
            .WithMetadata(new BodyLimitMetadata(http => http.RequestServices.GetRequiredService<IOptions<CampaignOptions>>().Value.MaxCreateBodyBytes));
        group.MapGet("/campaigns", ListAsync).WithName("business.campaigns.list").Produces<CampaignPage>();
        group.MapGet("/campaigns/{campaignId}", GetAsync).WithName("business.campaigns.get").Produces<CampaignReport>();
        group.MapPost("/campaigns/{campaignId}/cancel", CancelAsync).WithName("business.campaigns.cancel").Produces<CampaignReport>();
        group.MapGet("/campaigns/{campaignId}/targets", TargetsAsync).WithName("business.campaigns.targets").Produces<CampaignTargetPage>();
        group.MapPut("/marketing-opt-out/{userId}", SetOptOutAsync).WithName("business.optout.set").Produces(204);
        group.MapGet("/marketing-opt-out/{userId}", GetOptOutAsync).WithName("business.optout.get").Produces<MarketingOptOutBody>();
        return group;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, CampaignCreateRequest? request, CampaignService campaigns, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return Fail(400, "bad_request", "A campaign needs name, audience, templates and expiresAt.");
        }

        var result = await campaigns.CreateAsync(request, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk)
        {
            return Refusal(result.Failure);
        }

        var view = result.Value!;
        AuditWriter.SetTarget(http, "campaign:" + view.CampaignId);
        AuditWriter.SetDetail(http, $"audience={view.Audience} size={view.AudienceSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"} templates={view.Templates.Count} rate={view.RatePerSecond}");
        return Results.Json(view, statusCode: 201);
    }

    private static async Task<IResult> ListAsync(string? state, string? after, int? limit, CampaignService campaigns, CancellationToken cancellationToken)
    {
        CampaignState? filter = null;
        if (state is not null)
        {
            if (!Enum.TryParse<CampaignState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(state, out _))
            {
                return Fail(400, "bad_request", "state must be scheduled, running, cancelled, done or expired.");
            }

            filter = parsed;
        }

        return limit is < 1 or > 200
            ? Fail(400, "bad_request", "limit must be 1..200.")
            : Results.Ok(await campaigns.ListAsync(filter, after, limit ?? 50, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> GetAsync(string campaignId, CampaignService campaigns, CancellationToken cancellationToken) =>
        await campaigns.GetReportAsync(campaignId, cancellationToken).ConfigureAwait(false) is { } report
            ? Results.Ok(report)
            : Fail(404, "not_found", $"No campaign {campaignId}.");

    private static async Task<IResult> CancelAsync(HttpContext http, string campaignId, CampaignService campaigns, CancellationToken cancellationToken)
    {
        AuditWriter.SetTarget(http, "campaign:" + campaignId);
        var cancelled = await campaigns.CancelAsync(campaignId, cancellationToken).ConfigureAwait(false);
        var report = await campaigns.GetReportAsync(campaignId, cancellationToken).ConfigureAwait(false);
        return report is null ? Fail(404, "not_found", $"No campaign {campaignId}.")
            : cancelled ? Results.Ok(report)
            : Fail(409, "finished", $"Campaign {campaignId} is {report.Campaign.State} already.");
    }

    private static async Task<IResult> TargetsAsync(string campaignId, string? after, int? limit, ICampaignStore store, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxPage)
        {
            return Fail(400, "bad_request", $"limit must be 1..{MaxPage}.");
        }

        if (await store.GetAsync(campaignId, cancellationToken).ConfigureAwait(false) is null)
        {
            return Fail(404, "not_found", $"No campaign {campaignId}.");
        }

        var take = limit ?? 100;
        var page = await store.ListTargetsAsync(campaignId, after, take + 1, cancellationToken).ConfigureAwait(false);
        var shown = page.Take(take).Select(t => new CampaignTargetView(t.UserId, t.State switch { CampaignTargetState.Sent => "sent", CampaignTargetState.Delayed => "delayed", _ => "skipped" }, t.Reason, t.TemplateId, t.Pushes, t.At)).ToList();
        return Results.Ok(new CampaignTargetPage(shown, page.Count > take ? shown[^1].UserId : null));
    }

    private static async Task<IResult> SetOptOutAsync(HttpContext http, string userId, MarketingOptOutBody? body, IPushSettingsStore settings, TimeProvider time, CancellationToken cancellationToken)
    {
        if (body?.OptOut is not { } optOut || !Parley.Protocol.Ids.IsValid(userId))
        {
            return Fail(400, "bad_request", "A valid user id and {\"optOut\": true|false} are required.");
        }

        AuditWriter.SetTarget(http, "user:" + userId);
        AuditWriter.SetDetail(http, "optOut=" + (optOut ? "true" : "false"));
        await settings.SetMarketingOptOutAsync(userId, optOut, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static async Task<IResult> GetOptOutAsync(string userId, IPushSettingsStore settings, CancellationToken cancellationToken) =>
        Results.Ok(new MarketingOptOutBody((await settings.GetAsync(userId, cancellationToken).ConfigureAwait(false)).MarketingOptOut));

    private static IResult Refusal(CoreFailure failure) => failure.Error switch
    {
        CoreError.NotFound => Fail(404, "not_found", failure.Message),
        CoreError.AlreadyExists => Fail(409, "already_exists", failure.Message),
        _ => Fail(400, "bad_request", failure.Message),
    };

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ErrorBody(code, message)), statusCode: status);
}

public sealed record MarketingOptOutBody(bool? OptOut);

/// <param name="State"><c>sent</c> (pushes journaled, going now), <c>delayed</c> (journaled, held for quiet hours or the learned send
/// time: <paramref name="Reason"/>) or <c>skipped</c> (with <paramref name="Reason"/>).</param>
public sealed record CampaignTargetView(string UserId, string State, string? Reason, string? TemplateId, int Pushes, long At);

public sealed record CampaignTargetPage(IReadOnlyList<CampaignTargetView> Targets, string? Next);
