using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Push.Tests.Simulators;

/// <summary>
/// FCM HTTP v1 and Google's OAuth token endpoint: RS256 JWT-bearer assertion checked against the service account's key
/// (iss, scope, aud = Google's token audience, which Google.Apis.Auth sends whatever the token URI, lifetime); send checks the bearer, project, exactly one target, string data values, reserved keys,
/// android priority/ttl and size, and answers with FCM's error JSON (status + FcmError details).
/// </summary>
public sealed partial class FcmSimulator : SimServer
{
    public const string ProjectId = "parley-test";
    public const string ClientEmail = "push@parley-test.iam.gserviceaccount.com";
    private readonly ConcurrentDictionary<string, bool> _accessTokens = new();

    public FcmSimulator(TimeProvider time)
        : base(http2Tls: false, time)
    {
        Key = RSA.Create(2048);
    }

    public RSA Key { get; }

    public int TokensIssued => _accessTokens.Count;

    public string ServiceAccountJson => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = ProjectId,
        ["private_key_id"] = "k1",
        ["private_key"] = Key.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["token_uri"] = new Uri(BaseUri, "/token").ToString(),
    }.ToJsonString();

    /// <summary>
    /// The server settings that push through this simulator (FCM on, its credentials), every message its own push (no
    /// coalescing window), then <paramref name="extra"/>.
    /// </summary>
    public Dictionary<string, string?> ServerSettings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Push:Fcm:BaseUri"] = BaseUri.ToString(),
            ["Parley:Push:Fcm:ProjectId"] = ProjectId,
            ["Parley:Push:Fcm:ServiceAccountJson"] = ServiceAccountJson,
            ["Parley:Push:CoalesceWindow"] = "00:00:00",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    protected override string? PushIdOf(HttpContext context, byte[] body) =>
        JsonHelpers.TryParse(body)?["message"]?["data"]?["push_id"]?.GetValue<string>();

    protected override void Map(WebApplication app)
    {
        app.MapPost("/token", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                return Json(400, new { error = "unsupported_grant_type" });
            }

            var verified = JsonHelpers.VerifyRs256(form["assertion"].ToString(), Key);
            if (verified is not { } v
                || v.Claims["iss"]?.GetValue<string>() != ClientEmail
                || !(v.Claims["scope"]?.GetValue<string>() ?? "").Contains("https://www.googleapis.com/auth/firebase.messaging", StringComparison.Ordinal)
                || v.Claims["aud"]?.GetValue<string>() is not ("https://oauth2.googleapis.com/token" or "https://www.googleapis.com/oauth2/v4/token")
                || v.Claims["exp"]!.GetValue<long>() - v.Claims["iat"]!.GetValue<long>() > 3600)
            {
                return Json(400, new { error = "invalid_grant", error_description = verified?.Claims.ToJsonString() ?? "bad signature" });
            }

            var token = "ya29." + Guid.NewGuid().ToString("N");
            _accessTokens[token] = true;
            return Json(200, new { access_token = token, expires_in = 3600, token_type = "Bearer" });
        });

        app.MapPost("/v1/projects/{project}/messages:send", async (HttpContext ctx, string project) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var pushId = PushIdOf(ctx, body);
            var (status, errStatus, code, message) = Validate(ctx, project, body);
            Record(ctx, body, pushId, status, status == 200);
            if (status == 200)
            {
                return Json(200, new { name = $"projects/{project}/messages/{Guid.NewGuid():N}" });
            }

            var details = code is null ? new JsonArray() : new JsonArray(new JsonObject { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = code });
            return Results.Text(new JsonObject { ["error"] = new JsonObject { ["code"] = status, ["message"] = message, ["status"] = errStatus, ["details"] = details } }.ToJsonString(), "application/json", statusCode: status);
        });
    }

    private (int Status, string ErrStatus, string? Code, string Message) Validate(HttpContext ctx, string project, byte[] body)
    {
        var auth = ctx.Request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_accessTokens.ContainsKey(auth[7..]))
        {
            return (401, "UNAUTHENTICATED", null, "Request had invalid authentication credentials.");
        }

        if (project != ProjectId)
        {
            return (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch");
        }

        if (body.Length > 4096 + 1024)
        {
            return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Message is too big");
        }

        var message = JsonHelpers.TryParse(body)?["message"];
        if (message is null)
        {
            return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.");
        }

        var targets = new[] { "token", "topic", "condition" }.Count(k => message[k] is not null);
        if (targets != 1)
        {
            return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Exactly one of token, topic or condition must be set.");
        }

        if (message["data"] is JsonObject data)
        {
            foreach (var (k, v) in data)
            {
                if (v is not JsonValue value || value.GetValueKind() != System.Text.Json.JsonValueKind.String)
                {
                    return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", $"Invalid value at 'message.data[{k}]'");
                }

                if (k is "from" or "gcm" || k.StartsWith("google.", StringComparison.Ordinal))
                {
                    return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", $"Invalid data key {k}");
                }
            }
        }

        if (message["android"] is JsonObject android)
        {
            if (android["priority"]?.GetValue<string>() is { } p && p is not ("HIGH" or "NORMAL"))
            {
                return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid android priority");
            }

            if (android["ttl"]?.GetValue<string>() is { } ttl && !TtlFormat().IsMatch(ttl))
            {
                return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid ttl");
            }
        }

        var token = message["token"]?.GetValue<string>() ?? "";
        if (token.Length < 8)
        {
            return (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token");
        }

        if (Misconfigured)
        {
            return (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch");
        }

        if (InvalidTokens.ContainsKey(token))
        {
            return (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.");
        }

        return (200, "", null, "");
    }

    [GeneratedRegex(@"^\d+(\.\d+)?s$")]
    private static partial Regex TtlFormat();
}
