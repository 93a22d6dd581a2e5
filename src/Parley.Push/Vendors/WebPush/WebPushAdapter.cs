using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Internal;

namespace Parley.Push.Vendors.WebPush;

/// <summary>Web Push (VAPID, RFC 8292) settings, bound to <c>Parley:Push:WebPush</c>.</summary>
public sealed class WebPushOptions : PushVendorOptions
{
    /// <summary>VAPID subject: <c>mailto:</c> or <c>https:</c> contact.</summary>
    public string Subject { get; set; } = "";

    /// <summary>VAPID public key, base64url of the 65-byte uncompressed P-256 point.</summary>
    public string PublicKey { get; set; } = "";

    /// <summary>VAPID private key, base64url of the 32-byte scalar. A secret.</summary>
    public string PrivateKey { get; set; } = "";

    /// <summary>VAPID JWT lifetime (≤ 24 h per RFC 8292); reused until 1 h before expiry per push-service origin.</summary>
    public TimeSpan JwtLifetime { get; set; } = TimeSpan.FromHours(12);

    internal override IEnumerable<string> Problems()
    {
        // No BaseUri: every subscription carries its push service's endpoint.
        return base.Problems().Where(p => !p.StartsWith(nameof(BaseUri), StringComparison.Ordinal)).Concat(Required((nameof(Subject), Subject), (nameof(PublicKey), PublicKey), (nameof(PrivateKey), PrivateKey)));
    }
}

/// <summary>
/// Web Push: the device token is the subscription JSON (endpoint + p256dh + auth). Payload encrypted per RFC 8291
/// (aes128gcm). Category mapping: Urgency high (IM), normal (service), low (content/marketing); Topic = conversation
/// (hashed to 32 base64url chars) so a newer push replaces the undelivered older one.
/// </summary>
public sealed class WebPushAdapter : IPushVendorAdapter, IDisposable
{
    private readonly WebPushOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly ECDsa _vapidKey;
    private readonly ConcurrentDictionary<string, (string Jwt, DateTimeOffset Expires)> _jwts = new(StringComparer.Ordinal);

    public WebPushAdapter(IOptions<WebPushOptions> options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(_options);
        var pub = PushIds.FromBase64Url(_options.PublicKey);
        _vapidKey = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = PushIds.FromBase64Url(_options.PrivateKey),
            Q = new ECPoint { X = pub[1..33], Y = pub[33..65] },
        });
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.WebPush;

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        Uri endpoint;
        byte[] p256dh;
        byte[] auth;
        try
        {
            var sub = JsonNode.Parse(device.Token);
            endpoint = new Uri(sub!["endpoint"]!.GetValue<string>());
            p256dh = PushIds.FromBase64Url(sub["keys"]!["p256dh"]!.GetValue<string>());
            auth = PushIds.FromBase64Url(sub["keys"]!["auth"]!.GetValue<string>());
        }
        catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException or FormatException or UriFormatException)
        {
            return new PushSendResult(PushOutcome.InvalidToken, "bad_subscription", DeleteToken: true);
        }

        var plain = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["title"] = notification.Title,
            ["body"] = notification.Body,
            ["badge"] = notification.Badge,
            ["tag"] = notification.CollapseKey,
            ["parley"] = PushPayloadFields.Custom(notification),
        }.ToJsonString());
        if (plain.Length > _options.MaxPayloadBytes - 103)
        {
            return new PushSendResult(PushOutcome.PermanentBadRequest, "payload_too_large");
        }

        byte[] body;
        try
        {
            body = WebPushCrypto.Encrypt(plain, p256dh, auth);
        }
        catch (CryptographicException)
        {
            return new PushSendResult(PushOutcome.InvalidToken, "bad_p256dh", DeleteToken: true);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.TryAddWithoutValidation("Authorization", $"vapid t={Jwt(endpoint)}, k={_options.PublicKey}");
        request.Headers.TryAddWithoutValidation("TTL", VendorHttp.Invariant(PushPayloadFields.TtlSeconds(notification)));
        request.Headers.TryAddWithoutValidation("Urgency", notification.Category switch
        {
            PushCategory.Im => "high",
            PushCategory.Service => "normal",
            _ => "low",
        });
        request.Headers.TryAddWithoutValidation("Topic", PushIds.Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(notification.CollapseKey)))[..32]);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        var (response, _, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            var status = (int)response!.StatusCode;
            var retryAfter = VendorHttp.RetryAfter(response, _time);
            var code = status.ToString(CultureInfo.InvariantCulture);
            return status switch
            {
                200 or 201 or 202 => PushSendResult.Accepted(response.Headers.Location?.ToString()),
                404 or 410 => new PushSendResult(PushOutcome.InvalidToken, code, DeleteToken: true),
                401 or 403 => new PushSendResult(PushOutcome.AuthError, code),
                429 => new PushSendResult(PushOutcome.RetryAfter, code, retryAfter ?? TimeSpan.FromSeconds(60), VendorWide: true),
                >= 500 => new PushSendResult(PushOutcome.RetryAfter, code, retryAfter),
                _ => new PushSendResult(PushOutcome.PermanentBadRequest, code),
            };
        }
    }

    private string Jwt(Uri endpoint)
    {
        var audience = endpoint.GetLeftPart(UriPartial.Authority);
        var now = _time.GetUtcNow();
        if (_jwts.TryGetValue(audience, out var cached) && cached.Expires - now > TimeSpan.FromHours(1))
        {
            return cached.Jwt;
        }

        var expires = now.Add(_options.JwtLifetime);
        var header = PushIds.Base64Url("""{"typ":"JWT","alg":"ES256"}"""u8);
        var claims = PushIds.Base64Url(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["aud"] = audience,
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["sub"] = _options.Subject,
        }.ToJsonString()));
        var input = header + "." + claims;
        var jwt = input + "." + PushIds.Base64Url(_vapidKey.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        _jwts[audience] = (jwt, expires);
        _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "webpush"));
        return jwt;
    }

    public void Dispose()
    {
        _http.Dispose();
        _vapidKey.Dispose();
    }
}
