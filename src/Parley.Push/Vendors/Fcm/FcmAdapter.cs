using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Fcm;

/// <summary>
/// FCM HTTP v1 (<c>/v1/projects/{id}/messages:send</c>), one request per token over HTTP/2 where offered. OAuth via
/// Google.Apis.Auth (service-account JWT-bearer; token cached and refreshed by the library). Category mapping:
/// IM/service → android.priority HIGH + the category's channel_id; content/marketing → NORMAL.
/// collapse_key and notification.tag = conversation.
/// </summary>
public sealed class FcmAdapter : IPushVendorAdapter, IDisposable
{
    private const string Scope = "https://www.googleapis.com/auth/firebase.messaging";
    private readonly FcmOptions _options;
    private readonly TimeProvider _time;
    private readonly PushMetrics _metrics;
    private readonly VendorHttp.VendorClient _http;
    private readonly ServiceAccountCredential _credential;
    private string? _lastToken;

    public FcmAdapter(IOptions<FcmOptions> options, TimeProvider time, PushMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _http = VendorHttp.CreateClient(_options);
        using var doc = JsonDocument.Parse(_options.ServiceAccountJson);
        var root = doc.RootElement;
        var tokenUri = _options.TokenUri?.ToString()
            ?? (root.TryGetProperty("token_uri", out var t) ? t.GetString() : null)
            ?? "https://oauth2.googleapis.com/token";
        _credential = new ServiceAccountCredential(
            new ServiceAccountCredential.Initializer(root.GetProperty("client_email").GetString()!, tokenUri) { Scopes = [Scope] }
                .FromPrivateKey(root.GetProperty("private_key").GetString()!));
        Limits = new VendorLimits(_options, time);
    }

    public PushVendor Vendor => PushVendor.Fcm;

    public bool HasDedupKey => false;

    public VendorLimits Limits { get; }

    public async Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(notification);
        var body = Encoding.UTF8.GetBytes(Body(device.Token, notification, _options).ToJsonString());
        if (body.Length > _options.MaxPayloadBytes + 512)
        {
            return new PushSendResult(PushOutcome.PermanentBadRequest, "payload_too_large");
        }

        string accessToken;
        try
        {
            accessToken = await _credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Google.Apis.Auth.OAuth2.Responses.TokenResponseException or HttpRequestException or InvalidOperationException)
        {
            return new PushSendResult(PushOutcome.AuthError, "oauth_failed:" + ex.GetType().Name, TimeSpan.FromSeconds(30));
        }

        if (!string.Equals(accessToken, Volatile.Read(ref _lastToken), StringComparison.Ordinal))
        {
            Volatile.Write(ref _lastToken, accessToken);
            _metrics.AuthRefreshes.Add(1, new KeyValuePair<string, object?>("vendor", "fcm"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUri!, $"/v1/projects/{_options.ProjectId}/messages:send"));
        VendorHttp.UseHttp11OrHigher(request);
        request.Headers.Authorization = VendorHttp.Bearer(accessToken);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var (response, text, failure) = await VendorHttp.SendAsync(_http, request, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return failure;
        }

        using (response)
        {
            return Classify((int)response!.StatusCode, text, VendorHttp.RetryAfter(response, _time));
        }
    }

    internal static JsonObject Body(string token, PushNotification n, FcmOptions options)
    {
        var urgent = PushPayloadFields.Urgent(n.Category);
        var data = PushPayloadFields.Custom(n);

        return new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = token,
                ["notification"] = new JsonObject { ["title"] = n.Title, ["body"] = n.Body },
                ["data"] = data,
                ["android"] = new JsonObject
                {
                    ["priority"] = urgent ? "HIGH" : "NORMAL",
                    ["collapse_key"] = n.CollapseKey,
                    ["ttl"] = VendorHttp.Invariant(PushPayloadFields.TtlSeconds(n)) + "s",
                    ["notification"] = new JsonObject
                    {
                        ["channel_id"] = options.ChannelIds.GetValueOrDefault(n.Category, "parley_im"),
                        ["tag"] = n.CollapseKey,
                        ["notification_count"] = n.Badge,
                    },
                },
                ["fcm_options"] = new JsonObject { ["analytics_label"] = PushMetrics.CategoryTag(n.Category) },
            },
        };
    }

    internal static PushSendResult Classify(int status, string text, TimeSpan? retryAfter)
    {
        if (status == 200)
        {
            string? name = null;
            try
            {
                name = JsonNode.Parse(text)?["name"]?.GetValue<string>();
            }
            catch (JsonException)
            {
            }

            return PushSendResult.Accepted(name);
        }

        string errorStatus = "";
        string errorCode = "";
        string message = "";
        try
        {
            var error = JsonNode.Parse(string.IsNullOrEmpty(text) ? "{}" : text)?["error"];
            errorStatus = error?["status"]?.GetValue<string>() ?? "";
            message = error?["message"]?.GetValue<string>() ?? "";
            if (error?["details"] is JsonArray details)
            {
                foreach (var d in details)
                {
                    if (d?["errorCode"]?.GetValue<string>() is { } code)
                    {
                        errorCode = code;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        var reason = string.IsNullOrEmpty(errorCode) ? errorStatus : errorCode;
        return (status, errorCode) switch
        {
            (404, _) or (_, "UNREGISTERED") => new PushSendResult(PushOutcome.InvalidToken, "UNREGISTERED", DeleteToken: true),
            (403, "SENDER_ID_MISMATCH") => new PushSendResult(PushOutcome.InvalidToken, "SENDER_ID_MISMATCH", DeleteToken: true),
            (400, _) when message.Contains("registration token", StringComparison.OrdinalIgnoreCase) =>
                new PushSendResult(PushOutcome.InvalidToken, "INVALID_ARGUMENT:token", DeleteToken: true),
            (429, _) => new PushSendResult(PushOutcome.QuotaExceeded, reason, retryAfter ?? TimeSpan.FromSeconds(60), VendorWide: true),
            (401 or 403, _) => new PushSendResult(PushOutcome.AuthError, reason),
            (500 or 503, _) => new PushSendResult(PushOutcome.RetryAfter, reason, retryAfter, VendorWide: retryAfter is not null),
            _ when status >= 500 => new PushSendResult(PushOutcome.RetryAfter, reason, retryAfter),
            _ => new PushSendResult(PushOutcome.PermanentBadRequest, reason),
        };
    }

    public void Dispose() => _http.Dispose();
}
