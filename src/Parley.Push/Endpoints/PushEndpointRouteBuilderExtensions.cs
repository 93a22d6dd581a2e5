using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Parley.Push;

/// <summary>HTTP endpoints of the push subsystem. Authorisation is the caller's: chain <c>.RequireAuthorization(...)</c> on the returned group.</summary>
public static class PushEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Admin API under <paramref name="prefix"/>: GET dead-letters, POST dead-letters/{pushId}/replay,
    /// GET messages/{messageId}/pushes ("what happened to the pushes of message X"), GET funnel.
    /// </summary>
    public static RouteGroupBuilder MapParleyPushAdmin(this IEndpointRouteBuilder endpoints, string prefix = "/admin/push")
    {
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/dead-letters", async (PushPipeline pipeline, int? limit, CancellationToken ct) =>
            Results.Ok(Rows(await pipeline.ListDeadLettersAsync(limit ?? 100, ct).ConfigureAwait(false))));
        group.MapPost("/dead-letters/{pushId}/replay", async (PushPipeline pipeline, string pushId, CancellationToken ct) =>
            await pipeline.ReplayDeadLetterAsync(pushId, ct).ConfigureAwait(false) ? Results.Accepted() : Results.NotFound());
        group.MapGet("/messages/{messageId}/pushes", async (PushPipeline pipeline, string messageId, CancellationToken ct) =>
            Results.Ok(Rows(await pipeline.GetMessagePushesAsync(messageId, ct).ConfigureAwait(false))));
        group.MapGet("/funnel", (PushPipeline pipeline) => Results.Ok(pipeline.Funnel().Select(e => new
        {
            vendor = PushMetrics.VendorTag(e.Vendor),
            category = PushMetrics.CategoryTag(e.Category),
            step = e.Step,
            reason = e.Reason,
            count = e.Count,
        })));
        return group;
    }

    /// <summary>
    /// Vendor receipt callbacks under <paramref name="prefix"/>: POST huawei, honor (HMS receipt JSON with biTag = push id),
    /// xiaomi (form field <c>data</c>: JSON map msgId → {param}), oppo (JSON array with param), vivo (JSON map taskId → {param}).
    /// Each marks the push arrived (source = vendor). Vendors do not sign most callbacks: keep the path secret or IP-filter.
    /// </summary>
    public static RouteGroupBuilder MapParleyPushReceipts(this IEndpointRouteBuilder endpoints, string prefix = "/push/receipts")
    {
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/huawei", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "huawei", ParseHms, ct));
        group.MapPost("/honor", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "honor", ParseHms, ct));
        group.MapPost("/oppo", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "oppo", ParseOppo, ct));
        group.MapPost("/vivo", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "vivo", ParseParamMap, ct));
        group.MapPost("/xiaomi", async (HttpRequest r, CancellationToken ct) =>
        {
            var pipeline = r.HttpContext.RequestServices.GetRequiredService<PushPipeline>();
            var form = await r.ReadFormAsync(ct).ConfigureAwait(false);
            var count = 0;
            foreach (var id in ParseParamMap(JsonNode.Parse(form["data"].ToString() is { Length: > 0 } d ? d : "{}")))
            {
                count += await pipeline.ReportArrivedAsync(id, "", "xiaomi", ct).ConfigureAwait(false) ? 1 : 0;
            }

            return Results.Ok(new { accepted = count });
        });
        return group;
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, string source, Func<JsonNode?, IEnumerable<string>> parse, CancellationToken ct)
    {
        var pipeline = request.HttpContext.RequestServices.GetRequiredService<PushPipeline>();
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }

        var count = 0;
        foreach (var pushId in parse(body))
        {
            count += await pipeline.ReportArrivedAsync(pushId, "", source, ct).ConfigureAwait(false) ? 1 : 0;
        }

        return Results.Ok(new { accepted = count });
    }

    // HMS: {"statuses":[{"biTag":"…","status":0,…}]}; status 0 = delivered.
    private static IEnumerable<string> ParseHms(JsonNode? body)
    {
        if (body?["statuses"] is not JsonArray statuses)
        {
            yield break;
        }

        foreach (var s in statuses)
        {
            if (s?["biTag"]?.GetValue<string>() is { Length: > 0 } tag && (s["status"]?.GetValue<int>() ?? -1) == 0)
            {
                yield return tag;
            }
        }
    }

    // OPPO: [{"messageId":…,"param":"<call_back_parameter>","eventType":"push_arrive"}].
    private static IEnumerable<string> ParseOppo(JsonNode? body)
    {
        if (body is not JsonArray items)
        {
            yield break;
        }

        foreach (var i in items)
        {
            if (i?["param"]?.GetValue<string>() is { Length: > 0 } p)
            {
                yield return p;
            }
        }
    }

    // vivo / Xiaomi: {"<taskId or msgId>":{"param":"<push id>",…},…}.
    private static IEnumerable<string> ParseParamMap(JsonNode? body)
    {
        if (body is not JsonObject map)
        {
            yield break;
        }

        foreach (var (_, v) in map)
        {
            if (v?["param"]?.GetValue<string>() is { Length: > 0 } p)
            {
                yield return p;
            }
        }
    }

    private static IEnumerable<object> Rows(IReadOnlyList<Parley.Abstractions.Push.PushRecord> rows) =>
        rows.Select(r => new
        {
            pushId = r.PushId,
            messageId = r.MessageId,
            traceId = r.TraceId,
            userId = r.UserId,
            deviceId = r.DeviceId,
            vendor = PushMetrics.VendorTag(r.Vendor),
            category = PushMetrics.CategoryTag(r.Category),
            state = r.State.ToString(),
            reason = r.Reason,
            attempts = r.Attempts,
            digestPushId = r.DigestPushId,
            createdAt = r.CreatedAt,
            sentAt = r.SentAt,
            arrivedAt = r.ArrivedAt,
            clickedAt = r.ClickedAt,
        });
}
