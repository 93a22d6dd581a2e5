using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Vivo;

/// <summary>vivo push settings, bound to <c>Parley:Push:Vivo</c>.</summary>
public sealed class VivoOptions : PushVendorOptions
{
    public VivoOptions()
    {
        BaseUri = new Uri("https://api-push.vivo.com.cn");
    }

    public string AppId { get; set; } = "";

    public string AppKey { get; set; } = "";

    /// <summary>AppSecret (signs the auth request). A secret.</summary>
    public string AppSecret { get; set; } = "";

    /// <summary>category per Parley category: system (IM, ORDER) or operation (CONTENT, MARKETING).</summary>
    public Dictionary<PushCategory, string> Categories { get; } = new()
    {
        [PushCategory.Im] = "IM",
        [PushCategory.Service] = "ORDER",
        [PushCategory.FollowedContent] = "CONTENT",
        [PushCategory.Marketing] = "MARKETING",
    };

    public Uri? ReceiptCallbackUri { get; set; }

    internal override IEnumerable<string> Problems()
    {
        return base.Problems().Concat(Required((nameof(AppId), AppId), (nameof(AppKey), AppKey), (nameof(AppSecret), AppSecret)));
    }
}

/// <summary>
/// vivo push: MD5-signed auth (authToken cached 23 h), <c>/message/send</c> with classification 1 (system: IM/service)
/// or 0 (operation), category, and requestId = push id — vivo de-duplicates on it, so an unknown outcome may be re-sent.
/// </summary>
public sealed class VivoAdapter : IPushVendorAdapter, IDisposable
{
    // timeToLive is in seconds, at least 60 and at most 7 days (vivo's API documentation; verify against a real account).
    private const long MinTimeToLiveSeconds = 60;
    private const long MaxTimeToLiveSeconds = 7 * 86_400;

    private readonly VivoOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly SemaphoreSlim _authGate = new(1, 1);
    private string? _authToken;
    private DateTimeOffset _authExpires;

    public VivoAdapter(IOptions<VivoOptions> options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(_options);
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Vivo;

    public bool HasDedupKey => true;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        var result = await SendOnceAsync(device, notification, false, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == PushOutcome.AuthError && result.Reason == "10000")
        {
            result = await SendOnceAsync(device, notification, true, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    internal JsonObject Body(PushDevice device, PushNotification n)
    {
        var urgent = PushPayloadFields.Urgent(n.Category);
        var extra = new JsonObject();
        if (_options.ReceiptCallbackUri is { } callback)
        {
            extra["callback"] = callback.ToString();
            extra["callback.param"] = n.PushId;
        }

        var clientCustom = PushPayloadFields.Custom(n);

        return new JsonObject
        {
            ["regId"] = device.Token,
            ["notifyType"] = 4,
            ["title"] = PushPayloadFields.Truncate(n.Title, 40),
            ["content"] = PushPayloadFields.Truncate(n.Body, 100),
            ["timeToLive"] = PushPayloadFields.TtlSeconds(n, MinTimeToLiveSeconds, MaxTimeToLiveSeconds),
            ["skipType"] = 1,
            ["networkType"] = -1,
            ["classification"] = urgent ? 1 : 0,
            ["category"] = _options.Categories.GetValueOrDefault(n.Category, "IM"),
            ["pushMode"] = 0,
            ["requestId"] = n.PushId,
            ["clientCustomMap"] = clientCustom,
            ["extra"] = extra,
        };
    }

    private async Task<PushSendResult> SendOnceAsync(PushDevice device, PushNotification n, bool forceAuth, CancellationToken cancellationToken)
    {
        var token = await AuthAsync(forceAuth, cancellationToken).ConfigureAwait(false);
        if (token is null)
        {
            return new PushSendResult(PushOutcome.AuthError, "auth_failed", TimeSpan.FromSeconds(30));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, "/message/send"));
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.TryAddWithoutValidation("authToken", token);
        request.Content = new StringContent(Body(device, n).ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
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
            var code = node?["result"]?.ToString() ?? "";
            return code switch
            {
                "0" => PushSendResult.Accepted(node?["taskId"]?.ToString()),
                "10000" => new PushSendResult(PushOutcome.AuthError, code),                             // authToken invalid/expired
                "10302" => new PushSendResult(PushOutcome.InvalidToken, code, DeleteToken: true),        // regId invalid (verify)
                "10070" => new PushSendResult(PushOutcome.QuotaExceeded, code),                          // daily quota (verify)
                "10071" => new PushSendResult(PushOutcome.RetryAfter, code, TimeSpan.FromSeconds(1), VendorWide: true), // QPS (verify)
                _ => new PushSendResult(PushOutcome.PermanentBadRequest, code),
            };
        }
        catch (JsonException)
        {
            return new PushSendResult(PushOutcome.OutcomeUnknown, "unparseable");
        }
    }

#pragma warning disable CA5351 // vivo's API mandates MD5 for the auth signature.
    internal static string Sign(string appId, string appKey, long timestampMs, string appSecret) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(appId + appKey + timestampMs.ToString(CultureInfo.InvariantCulture) + appSecret)));
#pragma warning restore CA5351

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
            var body = new JsonObject
            {
                ["appId"] = _options.AppId,
                ["appKey"] = _options.AppKey,
                ["timestamp"] = ts,
                ["sign"] = Sign(_options.AppId, _options.AppKey, ts, _options.AppSecret),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, "/message/auth"));
            VendorHttp.UseHttp11OrHigher(request);
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            using (response)
            {
                if (failure is not null || !response!.IsSuccessStatusCode)
                {
                    return null;
                }

                var node = JsonNode.Parse(text);
                if (node?["result"]?.ToString() != "0")
                {
                    return null;
                }

                _authToken = node["authToken"]?.GetValue<string>();
                _authExpires = _time.GetUtcNow().AddHours(23);
                _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "vivo"));
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
