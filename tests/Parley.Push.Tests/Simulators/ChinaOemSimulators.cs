using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Parley.Push.Tests.Simulators;

/// <summary>
/// Xiaomi MiPush /v3/message/regid: <c>Authorization: key=</c>, form fields and length limits, channel ids registered as
/// private (私信) or public; unknown regids come back in data.bad_regids.
/// </summary>
public sealed class XiaomiSimulator(TimeProvider time) : SimServer(http2Tls: false, time)
{
    public const string Secret = "xm-secret";
    public const string Package = "com.parley.app";

    /// <summary>Channels registered in the console: id → private (true) / public (false).</summary>
    public Dictionary<string, bool> Channels { get; } = new() { ["parley_im"] = true, ["parley_service"] = true, ["parley_content"] = false, ["parley_marketing"] = false };

    protected override string? PushIdOf(HttpContext context, byte[] body) =>
        System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(body))["extra.push_id"];

    protected override void Map(WebApplication app) =>
        app.MapPost("/v3/message/regid", async (HttpContext ctx) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var form = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(body));
            var pushId = form["extra.push_id"];
            string? error = null;
            if (ctx.Request.Headers.Authorization.ToString() != "key=" + Secret)
            {
                error = "21301";
            }
            else if (Misconfigured || form["restricted_package_name"] != Package)
            {
                error = "22022";
            }
            else if (string.IsNullOrEmpty(form["registration_id"]) || (form["title"]?.Length ?? 99) >= 50 || (form["description"]?.Length ?? 999) >= 128 || form["payload"] is null
                || !long.TryParse(form["time_to_live"], NumberStyles.None, CultureInfo.InvariantCulture, out var ttl) || ttl is <= 0 or > 14 * 86_400_000L)
            {
                error = "10017";
            }
            else if (form["extra.channel_id"] is not { } ch || !Channels.ContainsKey(ch))
            {
                error = "22101";
            }

            if (error is not null)
            {
                Record(ctx, body, pushId, 200, false);
                return Json(200, new { result = "error", code = int.Parse(error, CultureInfo.InvariantCulture), reason = "rejected", description = "error" });
            }

            var regid = form["registration_id"]!;
            var bad = InvalidTokens.ContainsKey(regid);
            Record(ctx, body, pushId, 200, !bad);
            return Json(200, new { result = "ok", code = 0, data = new { id = "scm" + Guid.NewGuid().ToString("N")[..16], bad_regids = bad ? regid : "" }, description = "成功" });
        });
}

/// <summary>
/// OPPO OPUSH: SHA-256 signed auth → auth_token; unicast form <c>message</c> JSON with title/content limits, granted
/// categories, notify_level; <c>app_message_id</c> de-duplicates (a repeat is answered OK but not delivered again).
/// </summary>
public sealed class OppoSimulator(TimeProvider time) : SimServer(http2Tls: false, time)
{
    public const string AppKey = "oppo-key";
    public const string MasterSecret = "oppo-master";
    private static readonly HashSet<string> Granted = ["IM", "ACCOUNT", "ORDER", "TODO", "SUBSCRIPTION", "DEVICE_REMINDER", "NEWS", "CONTENT", "MARKETING", "SOCIAL"];
    private readonly ConcurrentDictionary<string, bool> _tokens = new();
    private readonly ConcurrentDictionary<string, bool> _seenMessageIds = new();

    public void ExpireAuthTokens() => _tokens.Clear();

    protected override string? PushIdOf(HttpContext context, byte[] body)
    {
        var message = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(body))["message"];
        return message is null ? null : JsonNode.Parse(message)?["notification"]?["app_message_id"]?.GetValue<string>();
    }

    protected override void Map(WebApplication app)
    {
        app.MapPost("/server/v1/auth", async (HttpContext ctx) =>
        {
            var form = await ctx.Request.ReadFormAsync();
            var ts = form["timestamp"].ToString();
            var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AppKey + ts + MasterSecret)));
            if (form["app_key"] != AppKey || form["sign"] != expected)
            {
                return Json(200, new { code = 14, message = "Invalid sign" });
            }

            var token = Guid.NewGuid().ToString("N");
            _tokens[token] = true;
            return Json(200, new { code = 0, message = "Success", data = new { auth_token = token, create_time = Time.GetUtcNow().ToUnixTimeMilliseconds() } });
        });

        app.MapPost("/server/v1/message/notification/unicast", async (HttpContext ctx) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var pushId = PushIdOf(ctx, body);
            if (!_tokens.ContainsKey(ctx.Request.Headers["auth_token"].ToString()))
            {
                Record(ctx, body, pushId, 200, false);
                return Json(200, new { code = 11, message = "Invalid AuthToken" });
            }

            var message = JsonNode.Parse(System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(body))["message"] ?? "{}");
            var n = message?["notification"];
            var code = 0;
            if (message?["target_type"]?.GetValue<int>() != 2 || n is null || (n["title"]?.GetValue<string>().Length ?? 99) > 50 || (n["content"]?.GetValue<string>().Length ?? 999) > 200)
            {
                code = 28; // invalid message content
            }
            else if (n["category"]?.GetValue<string>() is not { } cat || !Granted.Contains(cat))
            {
                code = 29;
            }
            else if (Misconfigured || InvalidTokens.ContainsKey(message!["target_value"]!.GetValue<string>()))
            {
                code = 10000;
            }

            var duplicate = code == 0 && pushId is not null && !_seenMessageIds.TryAdd(pushId, true);
            Record(ctx, body, pushId, 200, code == 0, duplicate);
            return Json(200, new { code, message = code == 0 ? "Success" : "error", data = new { messageId = Guid.NewGuid().ToString("N") } });
        });
    }
}

/// <summary>
/// vivo push: MD5 signed auth (lowercase hex, ms timestamp) → authToken; /message/send requires requestId (vendor
/// de-duplication), classification 0/1, category, title/content limits.
/// </summary>
public sealed class VivoSimulator(TimeProvider time) : SimServer(http2Tls: false, time)
{
    public const string AppId = "vivo-app";
    public const string AppKey = "vivo-key";
    public const string AppSecret = "vivo-secret";
    private static readonly HashSet<string> System_ = ["IM", "ACCOUNT", "TODO", "DEVICE_REMINDER", "ORDER", "SUBSCRIPTION"];
    private static readonly HashSet<string> Operation = ["NEWS", "CONTENT", "MARKETING", "SOCIAL"];
    private readonly ConcurrentDictionary<string, bool> _tokens = new();
    private readonly ConcurrentDictionary<string, bool> _seenRequestIds = new();

    protected override string? PushIdOf(HttpContext context, byte[] body) => JsonHelpers.TryParse(body)?["requestId"]?.GetValue<string>();

    protected override void Map(WebApplication app)
    {
        app.MapPost("/message/auth", async (HttpContext ctx) =>
        {
            var body = JsonHelpers.TryParse(await ReadBodyAsync(ctx.Request));
            var ts = body?["timestamp"]?.GetValue<long>() ?? 0;
#pragma warning disable CA5351
            var expected = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(AppId + AppKey + ts.ToString(CultureInfo.InvariantCulture) + AppSecret)));
#pragma warning restore CA5351
            if (body?["appId"]?.GetValue<string>() != AppId || body["sign"]?.GetValue<string>() != expected)
            {
                return Json(200, new { result = 10001, desc = "sign error" });
            }

            var token = Guid.NewGuid().ToString("N");
            _tokens[token] = true;
            return Json(200, new { result = 0, desc = "请求成功", authToken = token });
        });

        app.MapPost("/message/send", async (HttpContext ctx) =>
        {
            var raw = await ReadBodyAsync(ctx.Request);
            var body = JsonHelpers.TryParse(raw);
            var pushId = PushIdOf(ctx, raw);
            if (!_tokens.ContainsKey(ctx.Request.Headers["authToken"].ToString()))
            {
                Record(ctx, raw, pushId, 200, false);
                return Json(200, new { result = 10000, desc = "authToken invalid" });
            }

            var result = 0;
            var cls = body?["classification"]?.GetValue<int>() ?? -1;
            var cat = body?["category"]?.GetValue<string>() ?? "";
            if (string.IsNullOrEmpty(pushId) || body?["regId"] is null || (body["title"]?.GetValue<string>().Length ?? 99) > 40 || (body["content"]?.GetValue<string>().Length ?? 999) > 100
                || body["timeToLive"]?.GetValue<long>() is not (>= 60 and <= 7 * 86_400))
            {
                result = 10050;
            }
            else if (!(cls == 1 && System_.Contains(cat)) && !(cls == 0 && Operation.Contains(cat)))
            {
                result = 10089;
            }
            else if (Misconfigured || InvalidTokens.ContainsKey(body["regId"]!.GetValue<string>()))
            {
                result = 10302;
            }

            var duplicate = result == 0 && !_seenRequestIds.TryAdd(pushId!, true);
            Record(ctx, raw, pushId, 200, result == 0, duplicate);
            return Json(200, new { result, desc = result == 0 ? "请求成功" : "error", taskId = Guid.NewGuid().ToString("N") });
        });
    }
}
