using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Push.Tests.Simulators;

/// <summary>
/// APNs provider API: HTTP/2 over TLS only; validates like Pushy's validating handler (token format, provider JWT
/// signature/kid/team/age, refresh rate, topic, apns-id, priority, push type, collapse id, payload size) and answers
/// with APNs reasons.
/// </summary>
public sealed partial class ApnsSimulator : SimServer
{
    public const string TeamId = "TEAMID1234";
    public const string KeyId = "KEYID12345";
    private readonly ConcurrentDictionary<string, DateTimeOffset> _jwtsSeen = new();

    public ApnsSimulator(TimeProvider time)
        : base(http2Tls: true, time)
    {
        SigningKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    }

    public ECDsa SigningKey { get; }

    public string PrivateKeyPem => SigningKey.ExportPkcs8PrivateKeyPem();

    public string BundleId { get; set; } = "com.parley.app";

    /// <summary>Tokens answered with 410 Unregistered and this timestamp (Unix ms).</summary>
    public ConcurrentDictionary<string, long> Unregistered { get; } = new();

    public int DistinctJwts => _jwtsSeen.Count;

    protected override string? PushIdOf(HttpContext context, byte[] body) =>
        JsonHelpers.TryParse(body)?["parley"]?["push_id"]?.GetValue<string>();

    protected override void Map(WebApplication app) =>
        app.MapPost("/3/device/{token}", async (HttpContext ctx, string token) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var pushId = PushIdOf(ctx, body);
            var (status, reason, timestamp) = Validate(ctx, token, body);
            Record(ctx, body, pushId, status, status == 200);
            ctx.Response.Headers["apns-id"] = ctx.Request.Headers["apns-id"].ToString();
            if (status == 200)
            {
                return Results.Ok();
            }

            return timestamp is { } ts ? Json(status, new { reason, timestamp = ts }) : Json(status, new { reason });
        });

    private (int Status, string Reason, long? Timestamp) Validate(HttpContext ctx, string token, byte[] body)
    {
        if (ctx.Request.Protocol != "HTTP/2")
        {
            return (400, "BadProtocol", null);
        }

        var auth = ctx.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(auth))
        {
            return (403, "MissingProviderToken", null);
        }

        if (!auth.StartsWith("bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (403, "InvalidProviderToken", null);
        }

        var jwt = auth[7..];
        var verified = JsonHelpers.VerifyEs256(jwt, SigningKey);
        if (verified is not { } v || v.Header["alg"]?.GetValue<string>() != "ES256" || v.Header["kid"]?.GetValue<string>() != KeyId || v.Claims["iss"]?.GetValue<string>() != TeamId)
        {
            return (403, "InvalidProviderToken", null);
        }

        var iat = DateTimeOffset.FromUnixTimeSeconds(v.Claims["iat"]!.GetValue<long>());
        var now = Time.GetUtcNow();
        if (now - iat > TimeSpan.FromHours(1))
        {
            return (403, "ExpiredProviderToken", null);
        }

        if (_jwtsSeen.TryAdd(jwt, now) && _jwtsSeen.Values.Count(t => now - t < TimeSpan.FromMinutes(20)) > 2)
        {
            return (429, "TooManyProviderTokenUpdates", null);
        }

        if (!HexToken().IsMatch(token))
        {
            return (400, "BadDeviceToken", null);
        }

        var topic = ctx.Request.Headers["apns-topic"].ToString();
        if (string.IsNullOrEmpty(topic))
        {
            return (400, "MissingTopic", null);
        }

        if (!Guid.TryParseExact(ctx.Request.Headers["apns-id"].ToString(), "D", out _))
        {
            return (400, "BadMessageId", null);
        }

        if (ctx.Request.Headers["apns-priority"].ToString() is not ("1" or "5" or "10"))
        {
            return (400, "BadPriority", null);
        }

        if (ctx.Request.Headers["apns-push-type"].ToString() is not ("alert" or "background" or "voip"))
        {
            return (400, "InvalidPushType", null);
        }

        if (System.Text.Encoding.UTF8.GetByteCount(ctx.Request.Headers["apns-collapse-id"].ToString()) > 64)
        {
            return (400, "BadCollapseId", null);
        }

        if (body.Length == 0)
        {
            return (400, "PayloadEmpty", null);
        }

        if (body.Length > 4096)
        {
            return (413, "PayloadTooLarge", null);
        }

        if (JsonHelpers.TryParse(body)?["aps"] is not JsonObject)
        {
            return (400, "BadPayload", null);
        }

        if (Misconfigured || topic != BundleId)
        {
            return (400, "DeviceTokenNotForTopic", null);
        }

        if (Unregistered.TryGetValue(token, out var ts))
        {
            return (410, "Unregistered", ts);
        }

        if (InvalidTokens.ContainsKey(token))
        {
            return (400, "BadDeviceToken", null);
        }

        return (200, "", null);
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex HexToken();
}
