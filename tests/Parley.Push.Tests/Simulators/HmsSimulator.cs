using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Push.Tests.Simulators;

/// <summary>
/// Huawei Push Kit (and, with <c>honor: true</c>, Honor Push): client_credentials token endpoint; send answers HTTP 200
/// with HMS codes (80000000, 80100001, 80200003, 80300007, 80300008 …), HTTP 503 for flow control. Validates category
/// and importance values, ttl bound and body size.
/// </summary>
public sealed class HmsSimulator : SimServer
{
    public const string AppId = "10086";
    public const string Secret = "hms-secret";
    private static readonly HashSet<string> Categories = ["IM", "VOIP", "SUBSCRIPTION", "TRAVEL", "HEALTH", "WORK", "ACCOUNT", "EXPRESS", "FINANCE", "DEVICE_REMINDER", "MAIL", "MARKETING"];
    private readonly bool _honor;
    private readonly ConcurrentDictionary<string, bool> _tokens = new();

    public HmsSimulator(TimeProvider time, bool honor = false)
        : base(http2Tls: false, time)
    {
        _honor = honor;
    }

    public string TokenPath => _honor ? "/auth/token" : "/oauth2/v3/token";

    private int _issued;

    public int TokensIssued => _issued;

    /// <summary>Expire every issued access token (the next send answers 80200003).</summary>
    public void ExpireAccessTokens() => _tokens.Clear();

    protected override string? PushIdOf(HttpContext context, byte[] body) =>
        JsonHelpers.TryParse(body)?["message"]?["android"]?["bi_tag"]?.GetValue<string>();

    protected override void Map(WebApplication app)
    {
        app.MapPost(TokenPath, async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            if (form["grant_type"] != "client_credentials" || form["client_id"] != AppId || form["client_secret"] != Secret)
            {
                return Json(400, new { error = 1101, error_description = "invalid client" });
            }

            var token = Guid.NewGuid().ToString("N");
            _tokens[token] = true;
            Interlocked.Increment(ref _issued);
            return Json(200, new { access_token = token, expires_in = 3600, token_type = "Bearer" });
        });

        var sendPath = _honor ? "/api/v1/{appId}/sendMessage" : "/v1/{appId}/messages:send";
        app.MapPost(sendPath, async (HttpContext ctx, string appId) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var pushId = PushIdOf(ctx, body);
            var auth = ctx.Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.ContainsKey(auth[7..]))
            {
                Record(ctx, body, pushId, 401, false);
                return Json(401, new { code = "80200003", msg = "OAuth token expired" });
            }

            var code = Validate(appId, body);
            Record(ctx, body, pushId, 200, code == "80000000");
            return Json(200, new { code, msg = code == "80000000" ? "Success" : "error", requestId = Guid.NewGuid().ToString("N") });
        });
    }

    private string Validate(string appId, byte[] body)
    {
        if (appId != AppId)
        {
            return "80300002";
        }

        var message = JsonHelpers.TryParse(body)?["message"];
        if (message?["token"] is not JsonArray tokens || tokens.Count == 0)
        {
            return "80100003";
        }

        if (tokens.Count > 1000)
        {
            return "80300010";
        }

        var android = message["android"];
        var notification = android?["notification"];
        if (notification?["title"] is null || notification["body"] is null)
        {
            return "80100003";
        }

        if (notification["importance"]?.GetValue<string>() is { } imp && imp is not ("LOW" or "NORMAL"))
        {
            return "80100001";
        }

        if (!_honor && android?["category"]?.GetValue<string>() is { } cat && !Categories.Contains(cat))
        {
            return "80100001";
        }

        if (android?["ttl"]?.GetValue<string>() is { } ttl && long.Parse(ttl.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 1_296_000)
        {
            return "80100001";
        }

        if (body.Length > 4096 + 200)
        {
            return "80300008";
        }

        if (Misconfigured || InvalidTokens.ContainsKey(tokens[0]!.GetValue<string>()))
        {
            return "80300007";
        }

        return "80000000";
    }
}
