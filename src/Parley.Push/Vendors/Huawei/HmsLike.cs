using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Huawei;

/// <summary>Settings shared by Huawei Push Kit and Honor Push (same OAuth and near-identical message shape).</summary>
public abstract class HmsLikeOptions : PushVendorOptions
{
    /// <summary>Vendor app id / OAuth client id (also in the send URL).</summary>
    public string AppId { get; set; } = "";

    /// <summary>OAuth client secret. A secret.</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>OAuth client_credentials token endpoint.</summary>
    public Uri? TokenUri { get; set; }

    /// <summary>Where vendor receipts should be posted (configured in the vendor console; sent as receipt_id where supported).</summary>
    public string? ReceiptId { get; set; }

    internal override IEnumerable<string> Problems() =>
        base.Problems().Concat(Required((nameof(AppId), AppId), (nameof(ClientSecret), ClientSecret), (nameof(TokenUri), TokenUri?.ToString())));
}

/// <summary>
/// The Huawei-style flow: client_credentials OAuth (token cached until 5 min before expiry, refreshed once on
/// 80200003/80200005), JSON send answered with HTTP 200 and a code in the body.
/// </summary>
public abstract class HmsLikeAdapter : IPushVendorAdapter, IDisposable
{
    private readonly HmsLikeOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private string? _accessToken;
    private DateTimeOffset _expiresAt;

    protected HmsLikeAdapter(HmsLikeOptions options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(options);
        Limits = new VendorLimits(options, time);
    }

    public abstract PushVendor Vendor { get; }

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    protected abstract string SendPath { get; }

    protected abstract JsonObject AndroidConfig(PushNotification n);

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        var body = Encoding.UTF8.GetBytes(Body(device.Token, notification).ToJsonString());
        if (body.Length - device.Token.Length > _options.MaxPayloadBytes)
        {
            return new PushSendResult(PushOutcome.PermanentBadRequest, "80300008");
        }

        var result = await SendOnceAsync(body, forceToken: false, cancellationToken).ConfigureAwait(false);
        if (result.Outcome == PushOutcome.AuthError && result.Reason is "80200003" or "80200005")
        {
            result = await SendOnceAsync(body, forceToken: true, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    internal JsonObject Body(string token, PushNotification n)
    {
        var android = AndroidConfig(n);
        android["bi_tag"] = n.PushId;
        android["ttl"] = VendorHttp.Invariant(PushPayloadFields.TtlSeconds(n)) + "s";
        if (_options.ReceiptId is { } receipt)
        {
            android["receipt_id"] = receipt;
        }

        return new JsonObject
        {
            ["validate_only"] = false,
            ["message"] = new JsonObject
            {
                ["data"] = PushPayloadFields.CustomJson(n),
                ["android"] = android,
                ["token"] = new JsonArray(token),
            },
        };
    }

    private async Task<PushSendResult> SendOnceAsync(byte[] body, bool forceToken, CancellationToken cancellationToken)
    {
        var token = await AccessTokenAsync(forceToken, cancellationToken).ConfigureAwait(false);
        if (token is null)
        {
            return new PushSendResult(PushOutcome.AuthError, "80600003", TimeSpan.FromSeconds(30));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, SendPath));
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.Authorization = VendorHttp.Bearer(token);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            var status = (int)response!.StatusCode;
            var retryAfter = VendorHttp.RetryAfter(response, _time);
            if (status == 503)
            {
                return new PushSendResult(PushOutcome.RetryAfter, "flow_control", retryAfter ?? TimeSpan.FromSeconds(10), VendorWide: true);
            }

            if (status >= 500)
            {
                return new PushSendResult(PushOutcome.RetryAfter, "http_" + status.ToString(CultureInfo.InvariantCulture), retryAfter);
            }

            if (status == 401)
            {
                return new PushSendResult(PushOutcome.AuthError, "80200003");
            }

            return Classify(text);
        }
    }

    internal static PushSendResult Classify(string text)
    {
        string code;
        string msg;
        string? requestId;
        try
        {
            var node = JsonNode.Parse(text);
            code = node?["code"]?.ToString() ?? "";
            msg = node?["msg"]?.ToString() ?? "";
            requestId = node?["requestId"]?.ToString();
        }
        catch (JsonException)
        {
            return new PushSendResult(PushOutcome.OutcomeUnknown, "unparseable");
        }

        return code switch
        {
            "80000000" => PushSendResult.Accepted(requestId),
            // Partial success of a multi-token request: with one token per request, failure means this token.
            "80100000" when msg.Contains("illegal_tokens", StringComparison.Ordinal) && !msg.Contains("\"failure\":0", StringComparison.Ordinal) =>
                new PushSendResult(PushOutcome.InvalidToken, "80100000", DeleteToken: true),
            "80100000" => PushSendResult.Accepted(requestId),
            "80300007" => new PushSendResult(PushOutcome.InvalidToken, code, DeleteToken: true),
            "80200001" or "80200003" or "80200005" or "80300002" or "80300011" or "80600003" => new PushSendResult(PushOutcome.AuthError, code),
            "81000001" => new PushSendResult(PushOutcome.RetryAfter, code),
            _ => new PushSendResult(PushOutcome.PermanentBadRequest, code),
        };
    }

    private async Task<string?> AccessTokenAsync(bool force, CancellationToken cancellationToken)
    {
        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!force && _accessToken is not null && _time.GetUtcNow() < _expiresAt)
            {
                return _accessToken;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _options.TokenUri);
            VendorHttp.UseHttp11OrHigher(request);
            request.Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = _options.AppId,
                ["client_secret"] = _options.ClientSecret,
            });
            var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            using (response)
            {
                if (failure is not null || !response!.IsSuccessStatusCode)
                {
                    return null;
                }

                var node = JsonNode.Parse(text);
                _accessToken = node?["access_token"]?.GetValue<string>();
                var expiresIn = node?["expires_in"]?.GetValue<int>() ?? 3600;
                _expiresAt = _time.GetUtcNow().AddSeconds(Math.Max(60, expiresIn - 300));
                _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", PushMetrics.VendorTag(Vendor)));
                return _accessToken;
            }
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            _tokenGate.Release();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _tokenGate.Dispose();
        GC.SuppressFinalize(this);
    }
}
