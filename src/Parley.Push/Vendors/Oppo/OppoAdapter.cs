using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Oppo;

/// <summary>OPPO push settings, bound to <c>Parley:Push:Oppo</c>.</summary>
public sealed class OppoOptions : PushVendorOptions
{
    public OppoOptions()
    {
        BaseUri = new Uri("https://api.push.oppomobile.com");
    }

    public string AppKey { get; set; } = "";

    /// <summary>MasterSecret (signs the auth request). A secret.</summary>
    public string MasterSecret { get; set; } = "";

    /// <summary>notification.category per Parley category (通讯与服务: IM, ORDER; 内容与营销: CONTENT, MARKETING).</summary>
    public Dictionary<PushCategory, string> Categories { get; } = new()
    {
        [PushCategory.Im] = "IM",
        [PushCategory.Service] = "ORDER",
        [PushCategory.FollowedContent] = "CONTENT",
        [PushCategory.Marketing] = "MARKETING",
    };

    /// <summary>notify_level for IM/service: 2 (shade + lock screen), 16 with the strong-reminder approval.</summary>
    public int ImNotifyLevel { get; set; } = 2;

    public string ChannelId { get; set; } = "parley_im";

    public Uri? ReceiptCallbackUri { get; set; }

    internal override IEnumerable<string> Problems()
    {
        return base.Problems().Concat(Required((nameof(AppKey), AppKey), (nameof(MasterSecret), MasterSecret)));
    }
}

/// <summary>
/// OPPO OPUSH: SHA-256-signed auth (auth_token cached 23 h, refreshed once on code 11), unicast with
/// <c>app_message_id</c> = push id, which OPPO de-duplicates, so an unknown outcome may be re-sent safely.
/// </summary>
public sealed class OppoAdapter : IPushVendorAdapter, IDisposable
{
    private readonly OppoOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly SemaphoreSlim _authGate = new(1, 1);
    private string? _authToken;
    private DateTimeOffset _authExpires;

    public OppoAdapter(IOptions<OppoOptions> options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(_options);
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Oppo;

    public bool HasDedupKey => true;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        var result = await SendOnceAsync(device, notification, false, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == PushOutcome.AuthError && result.Reason == "11")
        {
            result = await SendOnceAsync(device, notification, true, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    internal JsonObject Message(PushDevice device, PushNotification n)
    {
        var urgent = PushPayloadFields.Urgent(n.Category);
        var notification = new JsonObject
        {
            ["title"] = PushPayloadFields.Truncate(n.Title, 50),
            ["content"] = PushPayloadFields.Truncate(n.Body, 200),
            ["click_action_type"] = 0,
            ["action_parameters"] = PushPayloadFields.CustomJson(n),
            ["category"] = _options.Categories.GetValueOrDefault(n.Category, "IM"),
            ["notify_level"] = urgent ? _options.ImNotifyLevel : 1,
            ["app_message_id"] = n.PushId,
            ["off_line_ttl"] = PushPayloadFields.TtlSeconds(n),
        };
        if (urgent)
        {
            notification["channel_id"] = _options.ChannelId;
        }

        if (_options.ReceiptCallbackUri is { } callback)
        {
            notification["call_back_url"] = callback.ToString();
            notification["call_back_parameter"] = n.PushId;
        }

        return new JsonObject
        {
            ["target_type"] = 2,
            ["target_value"] = device.Token,
            ["notification"] = notification,
        };
    }

    private async Task<PushSendResult> SendOnceAsync(PushDevice device, PushNotification n, bool forceAuth, CancellationToken cancellationToken)
    {
        var token = await AuthAsync(forceAuth, cancellationToken).ConfigureAwait(false);
        if (token is null)
        {
            return new PushSendResult(PushOutcome.AuthError, "auth_failed", TimeSpan.FromSeconds(30));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, "/server/v1/message/notification/unicast"));
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.TryAddWithoutValidation("auth_token", token);
        request.Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["message"] = Message(device, n).ToJsonString() });
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

            return Classify(text);
        }
    }

    internal static PushSendResult Classify(string text)
    {
        try
        {
            var node = JsonNode.Parse(text);
            var code = node?["code"]?.ToString() ?? "";
            return code switch
            {
                "0" => PushSendResult.Accepted(node?["data"]?["messageId"]?.ToString()),
                "-1" => new PushSendResult(PushOutcome.RetryAfter, code),
                "-2" => new PushSendResult(PushOutcome.RetryAfter, code, TimeSpan.FromSeconds(1), VendorWide: true),
                "11" or "12" => new PushSendResult(PushOutcome.AuthError, code),
                "13" or "33" => new PushSendResult(PushOutcome.QuotaExceeded, code),                     // call limited / daily quota (verify 33)
                "10000" => new PushSendResult(PushOutcome.InvalidToken, code, DeleteToken: true),        // invalid registration id (verify)
                _ => new PushSendResult(PushOutcome.PermanentBadRequest, code),
            };
        }
        catch (JsonException)
        {
            return new PushSendResult(PushOutcome.OutcomeUnknown, "unparseable");
        }
    }

    internal static string Sign(string appKey, long timestampMs, string masterSecret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(appKey + timestampMs.ToString(CultureInfo.InvariantCulture) + masterSecret)));

    private async Task<string?> AuthAsync(bool force, CancellationToken cancellationToken)
    {
        await _authGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!force && _authToken is not null && _time.GetUtcNow() < _authExpires)
            {
                return _authToken;
            }

            var ts = VendorHttp.UnixMs(_time);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, "/server/v1/auth"));
            VendorHttp.UseHttp11OrHigher(request);
            request.Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["app_key"] = _options.AppKey,
                ["timestamp"] = ts.ToString(CultureInfo.InvariantCulture),
                ["sign"] = Sign(_options.AppKey, ts, _options.MasterSecret),
            });
            var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            using (response)
            {
                if (failure is not null || !response!.IsSuccessStatusCode)
                {
                    return null;
                }

                var node = JsonNode.Parse(text);
                if (node?["code"]?.ToString() != "0")
                {
                    return null;
                }

                _authToken = node["data"]?["auth_token"]?.GetValue<string>();
                _authExpires = _time.GetUtcNow().AddHours(23);
                _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "oppo"));
                return _authToken;
            }
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            _authGate.Release();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _authGate.Dispose();
    }
}
