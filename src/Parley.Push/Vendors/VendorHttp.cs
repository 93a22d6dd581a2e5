using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Parley.Push.Vendors;

/// <summary>HttpClient plumbing shared by the adapters: handler setup, HTTP version, timeouts, Retry-After.</summary>
internal static class VendorHttp
{
    public static HttpClient CreateClient(PushVendorOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(30),
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
            ConnectTimeout = TimeSpan.FromSeconds(20),
        };
        if (options.ServerCertificateValidation is { } validate)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = validate;
        }

        // Per-request timeouts are applied with a linked token so a timeout is classified, not thrown.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>HTTP/2 only (APNs): an h2c or TLS+ALPN endpoint; hand-built requests must set the version themselves.</summary>
    public static void UseHttp2(HttpRequestMessage request)
    {
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
    }

    public static void UseHttp11OrHigher(HttpRequestMessage request)
    {
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher;
    }

    /// <summary>Sends with a timeout; a timeout or connection failure after the request started is "outcome unknown".</summary>
    public static async Task<(HttpResponseMessage? Response, string Body, PushSendResult? Failure)> SendAsync(
        HttpClient client, HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
            return (response, body, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "", new PushSendResult(PushOutcome.OutcomeUnknown, "timeout"));
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            // Never connected: nothing was written, so it is safe to retry.
            return (null, "", new PushSendResult(PushOutcome.RetryAfter, "connect_failed:" + ex.HttpRequestError));
        }
        catch (HttpRequestException ex)
        {
            return (null, "", new PushSendResult(PushOutcome.OutcomeUnknown, "transport:" + ex.HttpRequestError));
        }
    }

    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var d = date - time.GetUtcNow();
            return d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }

        return null;
    }

    public static long UnixMs(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds();

    public static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);
}
