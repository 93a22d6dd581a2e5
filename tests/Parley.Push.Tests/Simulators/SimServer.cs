using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Push.Tests.Simulators;

/// <summary>One request a simulator saw.</summary>
public sealed record SimRequest(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, string? PushId, int Status, string Protocol);

/// <summary>A scripted answer for the next request(s): a status with a vendor body, or a hang/delay.</summary>
/// <param name="Path">Only requests whose path contains this (e.g. the send endpoint, not the auth endpoint); null = any.</param>
/// <param name="RetryAfterDate">Retry-After as an HTTP-date instead of seconds.</param>
public sealed record SimFault(int Status = 0, string? Body = null, TimeSpan? RetryAfter = null, TimeSpan? Delay = null, bool Hang = false, string? Path = null, DateTimeOffset? RetryAfterDate = null);

/// <summary>
/// Base of the vendor simulators: a real Kestrel server on 127.0.0.1 (HTTP/1.1 + h2c-less plain, or HTTP/2 over TLS
/// with an in-process self-signed certificate), recording every request and counting deliveries per push id.
/// </summary>
public abstract class SimServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<SimFault> _faults = new();

    protected SimServer(bool http2Tls, TimeProvider time)
    {
        Time = time;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (http2Tls)
        {
            Certificate = CreateCertificate();
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.Http2.MaxStreamsPerConnection = 1500;
            k.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (Certificate is not null)
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listen.UseHttps(Certificate);
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1;
                }
            });
        });
        _app = builder.Build();
        _app.Use(async (ctx, next) =>
        {
            if (DelayAll is { } slow)
            {
                await Task.Delay(slow, ctx.RequestAborted);
            }

            if (HoldAll)
            {
                // Read, counted in Held by push id, and never answered (until the client goes away).
                ctx.Request.EnableBuffering();
                var held = await ReadBodyAsync(ctx.Request);
                if (PushIdOf(ctx, held) is { } id)
                {
                    Held.AddOrUpdate(id, 1, (_, v) => v + 1);
                }

                await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            if (_faults.TryPeek(out var head) && (head.Path is null || ctx.Request.Path.Value!.Contains(head.Path, StringComparison.Ordinal)) && _faults.TryDequeue(out var fault))
            {
                if (fault.Hang)
                {
                    await Task.Delay(Timeout.Infinite, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                if (fault.Delay is { } delay)
                {
                    ctx.Request.EnableBuffering();
                    await ReadBodyAsync(ctx.Request);

                    // Not cancelled by the client giving up: the vendor still processes it (outcome unknown to the client).
                    await Task.Delay(delay);
                }

                if (fault.Status != 0)
                {
                    ctx.Request.EnableBuffering();
                    var raw = await ReadBodyAsync(ctx.Request);
                    Record(ctx, raw, PushIdOf(ctx, raw), fault.Status, accepted: false);
                    ctx.Response.StatusCode = fault.Status;
                    if (fault.RetryAfterDate is { } date)
                    {
                        ctx.Response.Headers.RetryAfter = date.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                    }

                    if (fault.RetryAfter is { } ra)
                    {
                        ctx.Response.Headers.RetryAfter = ((int)ra.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }

                    if (fault.Body is not null)
                    {
                        ctx.Response.ContentType = "application/json";
                        await ctx.Response.WriteAsync(fault.Body);
                    }

                    return;
                }
            }

            await next(ctx);
        });
    }

    public TimeProvider Time { get; }

    /// <summary>Slow responses: every request waits this long before it is handled.</summary>
    public TimeSpan? DelayAll { get; set; }

    /// <summary>Every request from now on is read (its push id counted in <see cref="Held"/>) and never answered.</summary>
    public bool HoldAll { get; set; }

    /// <summary>Requests held by <see cref="HoldAll"/> per push id (not in <see cref="Requests"/>).</summary>
    public ConcurrentDictionary<string, int> Held { get; } = new();

    public X509Certificate2? Certificate { get; }

    public Uri BaseUri { get; private set; } = null!;

    public ConcurrentQueue<SimRequest> Requests { get; } = new();

    /// <summary>Deliveries per push id (accepted requests; de-duplicated vendors count a repeat once).</summary>
    public ConcurrentDictionary<string, int> Delivered { get; } = new();

    /// <summary>Requests per push id, whatever the answer.</summary>
    public ConcurrentDictionary<string, int> RequestsByPushId { get; } = new();

    /// <summary>Every token answers "invalid" (e.g. wrong app id): the whole-app misconfiguration fault.</summary>
    public bool Misconfigured { get; set; }

    public ConcurrentDictionary<string, bool> InvalidTokens { get; } = new();

    public int AcceptedCount => Delivered.Values.Sum();

    public void Enqueue(SimFault fault, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _faults.Enqueue(fault);
        }
    }

    /// <summary>
    /// Drops faults not yet consumed: on a loaded machine a client may time out before the simulator even read the
    /// request a fault was meant for, and the fault must not leak into a later request.
    /// </summary>
    public void ClearFaults() => _faults.Clear();

    public async Task<SimServer> StartAsync()
    {
        Map(_app);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        BaseUri = new Uri($"{(Certificate is null ? "http" : "https")}://127.0.0.1:{port}");
        return this;
    }

    /// <summary>Client-side check that pins this simulator's certificate.</summary>
    public bool ValidateCertificate(object sender, X509Certificate? cert, X509Chain? chain, System.Net.Security.SslPolicyErrors errors) =>
        cert is not null && Certificate is not null && cert.GetCertHashString() == Certificate.GetCertHashString();

    protected abstract void Map(WebApplication app);

    protected abstract string? PushIdOf(HttpContext context, byte[] body);

    protected static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms);
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
        }

        return ms.ToArray();
    }

    /// <summary>Records a request; <paramref name="accepted"/> counts a delivery unless <paramref name="duplicate"/>.</summary>
    protected void Record(HttpContext ctx, byte[] body, string? pushId, int status, bool accepted, bool duplicate = false)
    {
        var headers = ctx.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        Requests.Enqueue(new SimRequest(ctx.Request.Path, headers, body, pushId, status, ctx.Request.Protocol));
        if (pushId is not null)
        {
            RequestsByPushId.AddOrUpdate(pushId, 1, (_, v) => v + 1);
            if (accepted && !duplicate)
            {
                Delivered.AddOrUpdate(pushId, 1, (_, v) => v + 1);
            }
        }
    }

    protected static IResult Json(int status, object body) => Results.Json(body, statusCode: status);

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate?.Dispose();
        GC.SuppressFinalize(this);
    }
}
