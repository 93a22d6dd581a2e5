using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Parley.Push.Vendors;

/// <summary>HttpClient plumbing shared by the adapters: handler setup, HTTP version, timeouts, Retry-After.</summary>
internal static class VendorHttp
{
    public static VendorClient CreateClient(PushVendorOptions options)
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
        return new VendorClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// An adapter's client, whose requests <see cref="SendAsync"/> sends straight to its handler through an
    /// <see cref="HttpMessageInvoker"/> (issue 17, stop 46): HttpClient's own send added a linked cancellation source, its
    /// state machine and the pending-request bookkeeping per request, for a timeout (infinite here), default headers and a
    /// base address none of the adapters use. The handler's chain (tracing headers, metrics, telemetry) is the same one;
    /// the client itself still serves any other call and owns the handler. <see cref="SendAsync"/> takes only this type
    /// (stop 47): every vendor request has the one send path.
    /// </summary>
    internal sealed class VendorClient(SocketsHttpHandler handler) : HttpClient(handler)
    {
        public HttpMessageInvoker Invoker { get; } = new(handler, disposeHandler: false);
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
        VendorClient client, HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cts = RentTimeout();
        var link = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        cts.CancelAfter(timeout);
        try
        {
            // The body read under the same timeout as HttpClient's buffering did; a response whose body fails is disposed
            // (its connection given up) before the failure is classified below, as HttpClient did.
            var response = await client.Invoker.SendAsync(request, cts.Token).ConfigureAwait(false);
            try
            {
                return (response, await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false), null);
            }
            catch
            {
                response.Dispose();
                throw;
            }
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
        finally
        {
            // Disposing the link waits for a caller's cancel that is running, so a source handed back is never cancelled later.
            link.Dispose();
            ReturnTimeout(cts);
        }
    }

    // The per-request timeout's sources, reused (issue 17, stop 45): a linked source per request was a new source, its
    // timer, its registration list and node (~0.35 KB of ~8.3 KB per device-push, and a timer created and deleted in the
    // runtime's timer queue each time). Now a source is linked to the caller's token by one registration and handed back
    // after the request when TryReset succeeds (it was not cancelled, its timer is stopped); a cancelled one is dropped.
    private const int MaxPooledTimeouts = 256;
    private static readonly ConcurrentQueue<CancellationTokenSource> s_timeouts = new();
    private static int s_pooledTimeouts;

    internal static int PooledTimeouts => Volatile.Read(ref s_pooledTimeouts);

    private static CancellationTokenSource RentTimeout()
    {
        if (s_timeouts.TryDequeue(out var cts))
        {
            Interlocked.Decrement(ref s_pooledTimeouts);
            return cts;
        }

        return new CancellationTokenSource();
    }

    private static void ReturnTimeout(CancellationTokenSource cts)
    {
        if (cts.TryReset())
        {
            if (Interlocked.Increment(ref s_pooledTimeouts) <= MaxPooledTimeouts)
            {
                s_timeouts.Enqueue(cts);
                return;
            }

            Interlocked.Decrement(ref s_pooledTimeouts);
        }

        cts.Dispose();
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
