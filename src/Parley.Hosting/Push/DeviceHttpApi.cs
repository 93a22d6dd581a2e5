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
        group.MapPut("/device", RegisterAsync);
        group.MapDelete("/device", UnregisterAsync);
        group.MapPost("/push/{pushId}/arrived", (HttpContext c, string pushId, PushReportBody body, IPushClientApi push) => ReportAsync(c, pushId, body, PushReportKind.Arrived, push));
        group.MapPost("/push/{pushId}/clicked", (HttpContext c, string pushId, PushReportBody body, IPushClientApi push) => ReportAsync(c, pushId, body, PushReportKind.Clicked, push));
        group.MapPut("/push/settings", SettingsAsync);
        return group;
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, DeviceBody body, IPushClientApi push)
    {
        var identity = Identity(context);
        if (!Enum.TryParse<PushVendor>(body.Vendor, ignoreCase: true, out var vendor) && !Enum.TryParse(body.Vendor?.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out vendor))
        {
            return Error(ErrorCode.BadRequest, "vendor must be one of apns, fcm, huawei, honor, xiaomi, oppo, vivo, webpush.");
        }

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
        return Outcome(await push.RegisterDeviceAsync(identity.UserId, identity.DeviceId, (Platform)identity.Platform, request).ConfigureAwait(false));
    }

    private static async Task<IResult> UnregisterAsync(HttpContext context, IPushClientApi push)
    {
        var identity = Identity(context);
        return Outcome(await push.UnregisterDeviceAsync(identity.UserId, identity.DeviceId).ConfigureAwait(false));
    }

    private static async Task<IResult> ReportAsync(HttpContext context, string pushId, PushReportBody body, PushReportKind kind, IPushClientApi push) =>
        Outcome(await push.ReportAsync(Identity(context).UserId, new PushReportRequest { PushId = pushId, TraceId = body.TraceId ?? string.Empty, Kind = kind }).ConfigureAwait(false));

    private static async Task<IResult> SettingsAsync(HttpContext context, PushSettingsBody body, IPushClientApi push)
    {
        var request = new UpdatePushSettingsRequest();
        if (body.DoNotDisturb is { } dnd)
        {
            request.DoNotDisturb = dnd;
        }

        if (body.Privacy is { } privacy)
        {
            if (!Enum.TryParse<PushPrivacy>(privacy.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var parsed))
            {
                return Error(ErrorCode.BadRequest, "privacy must be full, sender_only or generic.");
            }

            request.Privacy = parsed;
        }

        return Outcome(await push.UpdateSettingsAsync(Identity(context).UserId, request).ConfigureAwait(false));
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
        return Results.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "RATE_LIMITED",
            detail: $"Too many requests; retry after {decision.RetryAfterMs} ms.",
            extensions: new Dictionary<string, object?> { ["code"] = "RATE_LIMITED", ["retryAfterMs"] = decision.RetryAfterMs });
    }

    private static TokenIdentity Identity(HttpContext context) => DeviceAuthenticationHandler.Identity(context);

    private static IResult Outcome(CoreResult result) => result.IsOk ? Results.NoContent() : Error(NativeErrors.ToWire(result.Error), result.Message ?? "The request was refused.");

    private static IResult Error(ErrorCode code, string message) =>
        Results.Json(new { error = new { code = code.ToString(), message } }, statusCode: code switch
        {
            ErrorCode.NotFound => StatusCodes.Status404NotFound,
            ErrorCode.Conflict => StatusCodes.Status409Conflict,
            _ => StatusCodes.Status400BadRequest,
        });
}

public sealed record DeviceBody(string? Vendor, string? Token, string? AppId, bool Sandbox, bool? NotificationsEnabled, string? Locale, string? TimeZone);

public sealed record PushReportBody(string? TraceId);

public sealed record PushSettingsBody(bool? DoNotDisturb, string? Privacy);
