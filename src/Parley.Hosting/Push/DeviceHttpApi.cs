using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Api.Admin.Operators;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core;
using Parley.Core.Auth;
using Parley.Core.Limits;
using Parley.Gateway.Requests;
using Parley.Core.Push;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Hosting.Push;

/// <summary>
/// The client HTTP API for devices and push reports (for apps that register from a push service extension or a
/// background task without a WebSocket). Authenticated by the device's own token (<c>Authorization: Bearer</c>); the
/// device id comes from the token, never from the request.
/// </summary>
internal static class DeviceHttpApi
{
    /// <summary>Request bodies of the device API are small JSON objects.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static RouteGroupBuilder MapParleyDeviceApi(this IEndpointRouteBuilder endpoints)
    {
        // Authenticated by the authorization middleware from the header alone, before anything reads the body.
        var group = endpoints.MapGroup("/api/v1")
            .RequireAuthorization(p => p.AddAuthenticationSchemes(DeviceAuthenticationHandler.SchemeName).RequireAuthenticatedUser())
            .WithMetadata(new BodyLimitMetadata(_ => MaxBodyBytes))
            .AddEndpointFilter(RateLimitAsync);
        // Bodies are read by the handlers (so every refusal names its field); Accepts keeps them in the OpenAPI document.
        group.MapPut("/device", RegisterAsync).Accepts<DeviceBody>("application/json");
        group.MapDelete("/device", UnregisterAsync);
        group.MapPost("/push/{pushId}/arrived", (HttpContext c, string pushId, IPushClientApi push) => ReportAsync(c, pushId, PushReportKind.Arrived, push));
        group.MapPost("/push/{pushId}/clicked", (HttpContext c, string pushId, IPushClientApi push) => ReportAsync(c, pushId, PushReportKind.Clicked, push));
        group.MapPut("/push/settings", SettingsAsync).Accepts<PushSettingsBody>("application/json");
        return group;
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, IPushClientApi push)
    {
        var (body, refused) = await ReadBodyAsync<DeviceBody>(context, required: true).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        if (!PushClientRules.TryParseVendor(body!.Vendor, out var vendor, out var problem))
        {
            return Invalid(problem);
        }

        var identity = Identity(context);
        var request = new RegisterDeviceRequest
        {
            Vendor = vendor,
            Token = body.Token ?? string.Empty,
            AppId = body.AppId ?? string.Empty,
            Sandbox = body.Sandbox,
            NotificationsEnabled = body.NotificationsEnabled ?? true,
            Locale = body.Locale ?? string.Empty,
            TimeZone = body.TimeZone ?? string.Empty,
        };
        if (PushClientRules.Check(request) is { } invalid)
        {
            return Invalid(invalid);
        }

        return Outcome(await push.RegisterDeviceAsync(identity.UserId, identity.DeviceId, (Platform)identity.Platform, request).ConfigureAwait(false));
    }

    private static async Task<IResult> UnregisterAsync(HttpContext context, IPushClientApi push)
    {
        var identity = Identity(context);
        return Outcome(await push.UnregisterDeviceAsync(identity.UserId, identity.DeviceId).ConfigureAwait(false));
    }

    private static async Task<IResult> ReportAsync(HttpContext context, string pushId, PushReportKind kind, IPushClientApi push)
    {
        // The body is optional here ({"traceId": "..."} when the payload carried one).
        var (body, refused) = await ReadBodyAsync<PushReportBody>(context, required: false).ConfigureAwait(false);
        return refused ?? Outcome(await push.ReportAsync(Identity(context).UserId, new PushReportRequest { PushId = pushId, TraceId = body?.TraceId ?? string.Empty, Kind = kind }).ConfigureAwait(false));
    }

    private static async Task<IResult> SettingsAsync(HttpContext context, IPushClientApi push)
    {
        var (body, refused) = await ReadBodyAsync<PushSettingsBody>(context, required: true).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        var request = new UpdatePushSettingsRequest();
        if (body!.DoNotDisturb is { } dnd)
        {
            request.DoNotDisturb = dnd;
        }

        if (body.MarketingOptOut is { } optOut)
        {
            request.MarketingOptOut = optOut;
        }

        if (body.Privacy is { } privacy)
        {
            if (!PushClientRules.TryParsePrivacy(privacy, out var parsed, out var problem))
            {
                return Invalid(problem);
            }

            request.Privacy = parsed;
        }

        return PushClientRules.Check(request) is { } invalid
            ? Invalid(invalid)
            : Outcome(await push.UpdateSettingsAsync(Identity(context).UserId, request).ConfigureAwait(false));
    }

    // Every call costs a REST call of the token's user against the rate limits.
    private static async ValueTask<object?> RateLimitAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var decision = http.RequestServices.GetRequiredService<RateLimiter>().TryAcquire(RateLimitAction.Rest, Identity(http).UserId, null);
        if (decision.Allowed)
        {
            return await next(context).ConfigureAwait(false);
        }

        RateLimiter.SetRetryAfterHeader(http.Response, decision);
        return Problem(ErrorCode.RateLimited, $"Too many requests; retry after {decision.RetryAfterMs} ms.", new() { ["retryAfterMs"] = decision.RetryAfterMs });
    }

    /// <summary>
    /// Reads the JSON body itself (not by parameter binding), so a missing, malformed or wrongly typed body is a problem
    /// naming the field instead of an empty 400.
    /// </summary>
    private static async Task<(T? Body, IResult? Refused)> ReadBodyAsync<T>(HttpContext context, bool required)
        where T : class
    {
        if (context.Request.ContentLength is null or 0 && !context.Request.Headers.TransferEncoding.Any(v => v?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true))
        {
            return required ? (null, Invalid(new FieldProblem("body", "a JSON object is required"))) : (null, null);
        }

        if (!context.Request.HasJsonContentType())
        {
            return (null, Problem(ErrorCode.BadRequest, "The body must be JSON (Content-Type: application/json).", new() { ["errors"] = new Dictionary<string, string[]> { ["body"] = ["must be application/json"] } }, StatusCodes.Status415UnsupportedMediaType));
        }

        try
        {
            var body = await context.Request.ReadFromJsonAsync<T>(BodyJson, context.RequestAborted).ConfigureAwait(false);
            return body is null && required ? (null, Invalid(new FieldProblem("body", "a JSON object is required"))) : (body, null);
        }
        catch (System.Text.Json.JsonException ex)
        {
            // Path is "$.sandbox" for a wrongly typed field, "$" or empty for broken JSON.
            var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
            return (null, Invalid(new FieldProblem(field, field == "body" ? "is not valid JSON" : "has the wrong type")));
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions BodyJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    private static TokenIdentity Identity(HttpContext context) => DeviceAuthenticationHandler.Identity(context);

    private static IResult Outcome(CoreResult result)
    {
        if (result.IsOk)
        {
            return Results.NoContent();
        }

        var message = result.Message ?? result.Error.ToString();

        // The core's field refusals read "{field}: {reason}" (PushClientRules).
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return result.Error == CoreError.InvalidArgument && colon > 0 && !message[..colon].Contains(' ', StringComparison.Ordinal)
            ? Invalid(new FieldProblem(message[..colon], message[(colon + 2)..]))
            : Problem(NativeErrors.ToWire(result.Error), message);
    }

    private static IResult Invalid(FieldProblem problem) =>
        Problem(ErrorCode.BadRequest, $"{problem.Field} {problem.Reason}.", new() { ["errors"] = new Dictionary<string, string[]> { [problem.Field] = [problem.Reason] } });

    /// <summary>RFC 9457 problem details: <c>title</c> and <c>code</c> are the protocol's error code name, <c>detail</c> says what and why.</summary>
    private static IResult Problem(ErrorCode code, string detail, Dictionary<string, object?>? extensions = null, int? status = null)
    {
        var name = CodeName(code);
        extensions ??= [];
        extensions["code"] = name;
        return Results.Problem(
            statusCode: status ?? code switch
            {
                ErrorCode.NotFound => StatusCodes.Status404NotFound,
                ErrorCode.Conflict => StatusCodes.Status409Conflict,
                ErrorCode.RateLimited => StatusCodes.Status429TooManyRequests,
                ErrorCode.Unsupported => StatusCodes.Status501NotImplemented,
                ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status400BadRequest,
            },
            title: name,
            detail: detail,
            extensions: extensions);
    }

    // ErrorCode.RateLimited → "RATE_LIMITED", as in the protocol's enum.
    private static string CodeName(ErrorCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}

public sealed record DeviceBody(string? Vendor, string? Token, string? AppId, bool Sandbox, bool? NotificationsEnabled, string? Locale, string? TimeZone);

public sealed record PushReportBody(string? TraceId);

public sealed record PushSettingsBody(bool? DoNotDisturb, string? Privacy, bool? MarketingOptOut = null);
