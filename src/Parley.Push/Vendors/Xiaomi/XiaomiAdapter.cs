using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Xiaomi;

/// <summary>Xiaomi MiPush settings, bound to <c>Parley:Push:Xiaomi</c>.</summary>
public sealed class XiaomiOptions : PushVendorOptions
{
    public XiaomiOptions()
    {
        BaseUri = new Uri("https://api.xmpush.xiaomi.com");
    }

    /// <summary>AppSecret, sent as <c>Authorization: key=…</c>. A secret.</summary>
    public string AppSecret { get; set; } = "";

    /// <summary>restricted_package_name (default when the device has no app id).</summary>
    public string PackageName { get; set; } = "";

    /// <summary>extra.channel_id per category. The IM channel must be registered as 私信 (private) in the console.</summary>
    public Dictionary<PushCategory, string> ChannelIds { get; } = new()
    {
        [PushCategory.Im] = "parley_im",
        [PushCategory.Service] = "parley_service",
        [PushCategory.FollowedContent] = "parley_content",
        [PushCategory.Marketing] = "parley_marketing",
    };

    /// <summary>Receipt callback URL (extra.callback) — Parley's receipt endpoint, or null.</summary>
    public Uri? ReceiptCallbackUri { get; set; }

    internal override IEnumerable<string> Problems()
    {
        return base.Problems().Concat(Required((nameof(AppSecret), AppSecret), (nameof(PackageName), PackageName)));
    }
}

/// <summary>
/// MiPush <c>/v3/message/regid</c>, form-encoded with static key auth. Category mapping: extra.channel_id (IM → the
/// private-message channel). notify_id from the conversation makes newer notifications replace older ones.
/// Error codes for quota/flow control are from third-party client code (verify against a real account).
/// </summary>
public sealed class XiaomiAdapter : IPushVendorAdapter, IDisposable
{
    // MiPush keeps an offline message two weeks at most (time_to_live is in ms).
    private const long MaxTimeToLiveSeconds = 14 * 86_400;

    private readonly XiaomiOptions _options;
    private readonly TimeProvider _time;
    private readonly VendorHttp.VendorClient _http;
    private readonly Uri _endpoint;
    private readonly string _authorization;
    private readonly string? _callback;

    public XiaomiAdapter(IOptions<XiaomiOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _http = VendorHttp.CreateClient(_options);
        _endpoint = new Uri(_options.BaseUri!, "/v3/message/regid");
        _authorization = "key=" + _options.AppSecret;
        _callback = _options.ReceiptCallbackUri?.ToString();
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Xiaomi;

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint);
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        request.Content = Body(device, notification);
        var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            var status = (int)response!.StatusCode;
            if (status >= 500)
            {
                return new PushSendResult(PushOutcome.RetryAfter, "http_" + status.ToString(CultureInfo.InvariantCulture), VendorHttp.RetryAfter(response, _time));
            }

            if (status is 401 or 403)
            {
                return new PushSendResult(PushOutcome.AuthError, "http_" + status.ToString(CultureInfo.InvariantCulture));
            }

            return Classify(text, device.Token);
        }
    }

    /// <summary>
    /// The form MiPush documents for <c>/v3/message/regid</c>, in this order: registration_id, restricted_package_name,
    /// title (≤ 49 chars), description (≤ 127), payload (the Parley ids as JSON), pass_through 0, notify_type -1,
    /// notify_id (from the collapse key), time_to_live (ms: the time left until the push's expiry, else the category's
    /// default; at most two weeks), extra.channel_id, extra.push_id, extra.trace_id, and with a
    /// receipt callback extra.callback, extra.callback.param (the push id), extra.callback.type 3. Written straight into
    /// a pooled buffer (issue 17); the bytes are FormUrlEncodedContent's for the same fields.
    /// </summary>
    internal FormBody Body(PushDevice device, PushNotification n)
    {
        var body = new FormBody();
        try
        {
            body.Add("registration_id", device.Token)
                .Add("restricted_package_name", string.IsNullOrEmpty(device.AppId) ? _options.PackageName : device.AppId)
                .Add("title", PushPayloadFields.Truncate(n.Title, 49))
                .Add("description", PushPayloadFields.Truncate(n.Body, 127))
                .AddUtf8("payload", PushPayloadFields.CustomUtf8(n))
                .Add("pass_through", 0)
                .Add("notify_type", -1)
                .Add("notify_id", (uint)StringComparer.Ordinal.GetHashCode(n.CollapseKey) % 1_000_000)
                .Add("time_to_live", PushPayloadFields.TtlSeconds(n, 1, MaxTimeToLiveSeconds) * 1000)
                .Add("extra.channel_id", _options.ChannelIds.GetValueOrDefault(n.Category, "parley_im"))
                .Add("extra.push_id", n.PushId)
                .Add("extra.trace_id", n.TraceId);
            if (_callback is not null)
            {
                body.Add("extra.callback", _callback)
                    .Add("extra.callback.param", n.PushId)
                    .Add("extra.callback.type", 3);
            }

            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The answer: <c>{"result":"ok","data":{"id":…,"bad_regids":"a,b"}}</c> or <c>{"result":"error","code":…}</c>.
    /// Read with a JsonDocument (pooled) rather than a JsonNode tree; an answer that is not a JSON object is a permanent
    /// bad request with no code, as a JSON null was.
    /// </summary>
    internal static PushSendResult Classify(string text, string token)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new PushSendResult(PushOutcome.PermanentBadRequest, "");
            }

            var code = root.TryGetProperty("code"u8, out var c) ? Text(c) ?? "" : "";
            if (root.TryGetProperty("result"u8, out var result) && result.ValueKind == JsonValueKind.String && result.ValueEquals("ok"u8))
            {
                var data = root.TryGetProperty("data"u8, out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
                if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty("bad_regids"u8, out var bad) && IsListed(Text(bad), token))
                {
                    return new PushSendResult(PushOutcome.InvalidToken, "bad_regids", DeleteToken: true);
                }

                return PushSendResult.Accepted(data.ValueKind == JsonValueKind.Object && data.TryGetProperty("id"u8, out var id) ? Text(id) : null);
            }

            return code switch
            {
                "20301" => new PushSendResult(PushOutcome.InvalidToken, code, DeleteToken: true), // invalid registration id (verify)
                "21301" or "22022" => new PushSendResult(PushOutcome.AuthError, code),             // auth failure / package mismatch (verify)
                "200001" => new PushSendResult(PushOutcome.RetryAfter, code, TimeSpan.FromSeconds(1), VendorWide: true), // QPS (verify)
                "200002" => new PushSendResult(PushOutcome.QuotaExceeded, code),                     // daily quota (verify)
                _ => new PushSendResult(PushOutcome.PermanentBadRequest, code),
            };
        }
        catch (JsonException)
        {
            return new PushSendResult(PushOutcome.OutcomeUnknown, "unparseable");
        }
    }

    // A value as JsonNode.ToString gave it: a string unquoted, anything else as its JSON text; a JSON null as null.
    private static string? Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Null => null,
        _ => e.GetRawText(),
    };

    private static bool IsListed(string? commaList, string token) =>
        !string.IsNullOrEmpty(commaList) && commaList.Split(',').Contains(token, StringComparer.Ordinal);

    public void Dispose() => _http.Dispose();
}
