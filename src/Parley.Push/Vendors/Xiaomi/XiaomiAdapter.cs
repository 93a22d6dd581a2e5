using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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
    private readonly XiaomiOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    public XiaomiAdapter(IOptions<XiaomiOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _http = VendorHttp.CreateClient(_options);
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Xiaomi;

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, "/v3/message/regid"));
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.TryAddWithoutValidation("Authorization", "key=" + _options.AppSecret);
        request.Content = new FormUrlEncodedContent(Form(device, notification));
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

    internal Dictionary<string, string> Form(PushDevice device, PushNotification n)
    {
        var urgent = PushPayloadFields.Urgent(n.Category);
        var form = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["registration_id"] = device.Token,
            ["restricted_package_name"] = string.IsNullOrEmpty(device.AppId) ? _options.PackageName : device.AppId,
            ["title"] = PushPayloadFields.Truncate(n.Title, 49),
            ["description"] = PushPayloadFields.Truncate(n.Body, 127),
            ["payload"] = PushPayloadFields.Custom(n).ToJsonString(),
            ["pass_through"] = "0",
            ["notify_type"] = "-1",
            ["notify_id"] = ((uint)StringComparer.Ordinal.GetHashCode(n.CollapseKey) % 1_000_000).ToString(CultureInfo.InvariantCulture),
            ["time_to_live"] = (urgent ? 86_400_000L : 259_200_000L).ToString(CultureInfo.InvariantCulture),
            ["extra.channel_id"] = _options.ChannelIds.GetValueOrDefault(n.Category, "parley_im"),
            ["extra.push_id"] = n.PushId,
            ["extra.trace_id"] = n.TraceId,
        };
        if (_options.ReceiptCallbackUri is { } callback)
        {
            form["extra.callback"] = callback.ToString();
            form["extra.callback.param"] = n.PushId;
            form["extra.callback.type"] = "3";
        }

        return form;
    }

    internal static PushSendResult Classify(string text, string token)
    {
        try
        {
            var node = JsonNode.Parse(text);
            var result = node?["result"]?.GetValue<string>();
            var code = node?["code"]?.ToString() ?? "";
            if (result == "ok")
            {
                var bad = node?["data"]?["bad_regids"]?.ToString() ?? "";
                return bad.Split(',').Contains(token, StringComparer.Ordinal)
                    ? new PushSendResult(PushOutcome.InvalidToken, "bad_regids", DeleteToken: true)
                    : PushSendResult.Accepted(node?["data"]?["id"]?.ToString());
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

    public void Dispose() => _http.Dispose();
}
