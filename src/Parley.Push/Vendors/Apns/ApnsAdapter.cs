using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Internal;

namespace Parley.Push.Vendors.Apns;

/// <summary>
/// APNs provider API over HTTP/2 with token auth. Category mapping: IM/service → push-type alert, priority 10,
/// thread-id = conversation; content/marketing → priority 5 (power-aware). apns-id is derived from the push id, so a
/// retry carries the same id; apns-collapse-id = conversation.
/// </summary>
public sealed class ApnsAdapter : IPushVendorAdapter, IDisposable
{
    private readonly ApnsOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly ApnsJwtSigner _signer;

    public ApnsAdapter(IOptions<ApnsOptions> options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(_options);
        _signer = new ApnsJwtSigner(_options, time);
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Apns;

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    /// <summary>Provider tokens minted so far (tests check the refresh rules).</summary>
    public int TokensMinted => _signer.Minted;

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        var body = Encoding.UTF8.GetBytes(Payload(notification).ToJsonString());
        if (body.Length > _options.MaxPayloadBytes)
        {
            return new PushSendResult(PushOutcome.PermanentBadRequest, "PayloadTooLarge");
        }

        var result = await SendOnceAsync(device, notification, body, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == PushOutcome.AuthError && result.Reason is "ExpiredProviderToken" && _signer.TryForceRefresh())
        {
            _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "apns"));
            result = await SendOnceAsync(device, notification, body, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    private async Task<PushSendResult> SendOnceAsync(PushDevice device, PushNotification n, byte[] body, CancellationToken cancellationToken)
    {
        var baseUri = device.Environment == PushEnvironment.Sandbox ? _options.SandboxBaseUri : _options.BaseUri!;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "/3/device/" + device.Token));
        VendorHttp.UseHttp2(request);
        var jwt = _signer.Current(out var minted);
        if (minted)
        {
            _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "apns"));
        }

        var urgent = n.Category is PushCategory.Im or PushCategory.Service;
        request.Headers.TryAddWithoutValidation("authorization", "bearer " + jwt);
        request.Headers.TryAddWithoutValidation("apns-topic", string.IsNullOrEmpty(device.AppId) ? _options.BundleId : device.AppId);
        request.Headers.TryAddWithoutValidation("apns-push-type", "alert");
        request.Headers.TryAddWithoutValidation("apns-priority", urgent ? "10" : "5");
        request.Headers.TryAddWithoutValidation("apns-id", PushIds.Uuid(n.PushId).ToString("D"));
        request.Headers.TryAddWithoutValidation("apns-collapse-id", Truncate(n.CollapseKey, 64));
        var ttl = urgent ? _options.Expiration : _options.Expiration * 3;
        if (n.TtlSeconds is { } left && TimeSpan.FromSeconds(left) < ttl)
        {
            ttl = TimeSpan.FromSeconds(left);
        }

        request.Headers.TryAddWithoutValidation("apns-expiration", VendorHttp.Invariant(_time.GetUtcNow().Add(ttl).ToUnixTimeSeconds()));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.TryAddWithoutValidation("content-type", "application/json");

        var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            return Classify(response!, text);
        }
    }

    private PushSendResult Classify(HttpResponseMessage response, string text)
    {
        var status = (int)response.StatusCode;
        if (status == 200)
        {
            return PushSendResult.Accepted(response.Headers.TryGetValues("apns-id", out var ids) ? ids.FirstOrDefault() : null);
        }

        string reason = "";
        long? timestamp = null;
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrEmpty(text) ? "{}" : text);
            if (doc.RootElement.TryGetProperty("reason", out var r))
            {
                reason = r.GetString() ?? "";
            }

            if (doc.RootElement.TryGetProperty("timestamp", out var t) && t.TryGetInt64(out var ts))
            {
                timestamp = ts;
            }
        }
        catch (JsonException)
        {
            reason = "unparseable";
        }

        var retryAfter = VendorHttp.RetryAfter(response, _time);
        return (status, reason) switch
        {
            (410, _) => new PushSendResult(PushOutcome.InvalidToken, reason, DeleteToken: true, InvalidSince: timestamp),
            (400, "BadDeviceToken" or "DeviceTokenNotForTopic") => new PushSendResult(PushOutcome.InvalidToken, reason, DeleteToken: true),
            (400, "TopicDisallowed" or "BadTopic" or "MissingTopic") => new PushSendResult(PushOutcome.AuthError, reason),
            (403, _) => new PushSendResult(PushOutcome.AuthError, reason),
            (429, "TooManyProviderTokenUpdates") => new PushSendResult(PushOutcome.AuthError, reason, RetryAfter: _options.TokenMinRefreshInterval),
            (429, _) => new PushSendResult(PushOutcome.RetryAfter, reason, retryAfter ?? TimeSpan.FromMinutes(1)),
            (500 or 503, _) => new PushSendResult(PushOutcome.RetryAfter, reason, retryAfter, VendorWide: retryAfter is not null),
            _ when status >= 500 => new PushSendResult(PushOutcome.RetryAfter, reason, retryAfter),
            _ => new PushSendResult(PushOutcome.PermanentBadRequest, status.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + reason),
        };
    }

    internal static JsonObject Payload(PushNotification n)
    {
        var aps = new JsonObject
        {
            ["alert"] = new JsonObject { ["title"] = n.Title, ["body"] = n.Body },
            ["badge"] = n.Badge,
            ["sound"] = "default",
            ["thread-id"] = n.ConversationId,
            ["mutable-content"] = 1,
        };
        if (n.Category is PushCategory.FollowedContent or PushCategory.Marketing)
        {
            aps["interruption-level"] = "passive";
        }

        return new JsonObject
        {
            ["aps"] = aps,
            ["parley"] = PushPayloadFields.Custom(n),
        };
    }

    private static string Truncate(string s, int maxBytes) => Encoding.UTF8.GetByteCount(s) <= maxBytes ? s : PushIds.Base64Url(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..43];

    public void Dispose()
    {
        _http.Dispose();
        _signer.Dispose();
    }
}
