using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using System.Security.Cryptography;
using System.Text;

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
    /// Each marks the push arrived (source = vendor) when the push was sent through that vendor. A vendor with a secret in
    /// <see cref="ReceiptOptions"/> must present it (401 otherwise); malformed or wrongly typed bodies get a typed 400.
    /// </summary>
    public static RouteGroupBuilder MapParleyPushReceipts(this IEndpointRouteBuilder endpoints, string prefix = "/push/receipts")
    {
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/huawei", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "huawei", ParseHms, ct));
        group.MapPost("/honor", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "honor", ParseHms, ct));
        group.MapPost("/oppo", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "oppo", ParseOppo, ct));
        group.MapPost("/vivo", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "vivo", ParseParamMap, ct));
        group.MapPost("/xiaomi", (HttpRequest r, CancellationToken ct) => HandleAsync(r, "xiaomi", ParseParamMap, ct));
        return group;
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, string vendor, Func<JsonNode?, IEnumerable<string>> parse, CancellationToken ct)
    {
        var services = request.HttpContext.RequestServices;
        var options = services.GetService<IOptions<ReceiptOptions>>()?.Value ?? new ReceiptOptions();
        if (!Authorized(request, vendor, options))
        {
            return Refuse(StatusCodes.Status401Unauthorized, "unauthenticated", $"The {vendor} receipt callback needs its configured secret.");
        }

        if (request.ContentLength > options.MaxBodyBytes)
        {
            return Refuse(StatusCodes.Status413PayloadTooLarge, "too_large", $"A receipt callback body is at most {options.MaxBodyBytes} bytes.");
        }

        JsonNode? body;
        try
        {
            string text;
            if (vendor == "xiaomi")
            {
                if (!request.HasFormContentType)
                {
                    return Refuse(StatusCodes.Status415UnsupportedMediaType, "bad_request", "The xiaomi receipt is a form with a 'data' field.");
                }

                text = (await request.ReadFormAsync(ct).ConfigureAwait(false))["data"].ToString();
            }
            else
            {
                using var reader = new StreamReader(request.Body);
                var buffer = new char[options.MaxBodyBytes + 1];
                var read = await reader.ReadBlockAsync(buffer, ct).ConfigureAwait(false);
                if (read > options.MaxBodyBytes)
                {
                    return Refuse(StatusCodes.Status413PayloadTooLarge, "too_large", $"A receipt callback body is at most {options.MaxBodyBytes} bytes.");
                }

                text = new string(buffer, 0, read);
            }

            body = JsonNode.Parse(text.Length == 0 ? "null" : text, documentOptions: new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or BadHttpRequestException)
        {
            return Refuse(StatusCodes.Status400BadRequest, "bad_request", $"The {vendor} receipt is not valid JSON.");
        }

        var pipeline = services.GetRequiredService<PushPipeline>();
        var count = 0;
        foreach (var pushId in parse(body).Take(1000))
        {
            count += await pipeline.ReportArrivedAsync(pushId, "", vendor, ct).ConfigureAwait(false) ? 1 : 0;
        }

        return Results.Ok(new { accepted = count });
    }

    private static bool Authorized(HttpRequest request, string vendor, ReceiptOptions options)
    {
        if (!options.Secrets.TryGetValue(vendor, out var secret) || string.IsNullOrEmpty(secret))
        {
            return true;
        }

        var presented = request.Query["secret"].ToString();
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                presented = decoded[(decoded.IndexOf(':', StringComparison.Ordinal) + 1)..];
            }
            catch (FormatException)
            {
                return false;
            }
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }

    private static IResult Refuse(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);

    // A string member, or null when absent or of another JSON type (a vendor body is untrusted input).
    private static string? Text(JsonNode? node, string name) =>
        node is JsonObject o && o[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= 128 ? s : null;

    // HMS: {"statuses":[{"biTag":"…","status":0,…}]}; status 0 = delivered.
    private static IEnumerable<string> ParseHms(JsonNode? body)
    {
        if (body is not JsonObject { } root || root["statuses"] is not JsonArray statuses)
        {
            yield break;
        }

        foreach (var s in statuses)
        {
            if (Text(s, "biTag") is { } tag && s is JsonObject o && o["status"] is JsonValue v && v.TryGetValue<int>(out var status) && status == 0)
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
            if (Text(i, "param") is { } p)
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
            if (Text(v, "param") is { } p)
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
