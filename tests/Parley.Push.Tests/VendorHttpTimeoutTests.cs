using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Push.Vendors;
using Parley.Push.Vendors.Xiaomi;

namespace Parley.Push.Tests;

/// <summary>
/// The per-request timeout's sources are reused (issue 17, stop 45): a request after a timeout, after a caller's cancel
/// and after many quick requests still gets its whole timeout, a timeout is still "outcome unknown: timeout", and a
/// caller's cancel still throws. Real HttpClient, real Kestrel endpoint over loopback.
/// </summary>
public sealed class VendorHttpTimeoutTests
{
    [Fact]
    public async Task ReusedTimeoutSources_TimeoutClassified_CallerCancelThrows_LaterRequestsUnaffected()
    {
        await using var endpoint = await Endpoint.StartAsync(app =>
        {
            app.MapPost("/fast", () => Results.Text("ok"));
            app.MapPost("/slow", async (HttpContext c) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(int.Parse(c.Request.Query["ms"]!, System.Globalization.CultureInfo.InvariantCulture)), c.RequestAborted).ConfigureAwait(false);
                return Results.Text("late");
            });
        });

        // Many quick requests: their sources go back to the pool with their timers stopped (a wide timeout: the machine may be loaded).
        for (var i = 0; i < 50; i++)
        {
            var (response, body, failure) = await endpoint.Send("/fast", TimeSpan.FromSeconds(20));
            Assert.Null(failure);
            Assert.Equal("ok", body);
            response!.Dispose();
        }

        Assert.True(VendorHttp.PooledTimeouts > 0);

        // A request that outlasts its timeout is classified, not thrown.
        var timedOut = await endpoint.Send("/slow?ms=5000", TimeSpan.FromMilliseconds(300));
        Assert.Equal(PushOutcome.OutcomeUnknown, timedOut.Failure!.Outcome);
        Assert.Equal("timeout", timedOut.Failure.Reason);

        // A caller's cancel is the caller's: thrown as before.
        using (var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => endpoint.Send("/slow?ms=5000", TimeSpan.FromSeconds(30), caller.Token));
        }

        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => endpoint.Send("/fast", TimeSpan.FromSeconds(30), cancelled.Token));
        }

        // Afterwards, reused sources: a request slower than the earlier 300 ms timeout but within its own succeeds
        // (a cancelled source handed back to the pool would fail it at once), several at once.
        using var live = new CancellationTokenSource();
        var later = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => endpoint.Send("/slow?ms=800", TimeSpan.FromSeconds(20), live.Token)));
        foreach (var (response, body, failure) in later)
        {
            Assert.Null(failure);
            Assert.Equal("late", body);
            Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
            response.Dispose();
        }

        // And the pool's sources still time out: a reused source's timer is armed again by each request.
        var again = await endpoint.Send("/slow?ms=5000", TimeSpan.FromMilliseconds(300));
        Assert.Equal("timeout", again.Failure!.Reason);
    }

    /// <summary>
    /// Stop 46: an adapter's client sends through an HttpMessageInvoker and reads the body itself, no longer inside
    /// HttpClient's buffering. A body that stalls past the timeout is still "outcome unknown: timeout", a body cut short is
    /// still an "outcome unknown" transport failure, a caller's cancel during the body still throws, and the client serves
    /// the next requests. Real Kestrel endpoint over loopback.
    /// </summary>
    [Fact]
    public async Task DirectSend_BodyStalledOrCut_ClassifiedAsBefore_ClientStillServes()
    {
        await using var endpoint = await Endpoint.StartAsync(app =>
        {
            app.MapPost("/fast", () => Results.Text("{\"result\":\"ok\"}"));
            app.MapPost("/stall", async (HttpContext c) =>
            {
                c.Response.ContentLength = 100;
                await c.Response.Body.WriteAsync("{\"res"u8.ToArray());
                await c.Response.Body.FlushAsync();
                await Task.Delay(TimeSpan.FromSeconds(5), c.RequestAborted).ConfigureAwait(false);
            });
            app.MapPost("/cut", async (HttpContext c) =>
            {
                c.Response.ContentLength = 100;
                await c.Response.Body.WriteAsync("{\"res"u8.ToArray());
                await c.Response.Body.FlushAsync();
                c.Abort();
            });
        });

        // Headers in time, the body not: the timeout covers the body too (a wide stall: 5 s against 300 ms).
        var stalled = await endpoint.Send("/stall", TimeSpan.FromMilliseconds(300));
        Assert.Null(stalled.Response);
        Assert.Equal((PushOutcome.OutcomeUnknown, "timeout"), (stalled.Failure!.Outcome, stalled.Failure.Reason));

        // The connection closed mid-body: the request was written, so the outcome is unknown; classified, not thrown.
        var cut = await endpoint.Send("/cut", TimeSpan.FromSeconds(20));
        Assert.Null(cut.Response);
        Assert.Equal(PushOutcome.OutcomeUnknown, cut.Failure!.Outcome);
        Assert.StartsWith("transport:", cut.Failure.Reason, StringComparison.Ordinal);

        // A caller's cancel while the body stalls is the caller's: thrown.
        using (var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => endpoint.Send("/stall", TimeSpan.FromSeconds(30), caller.Token));
        }

        // The client still serves, several requests at once.
        var after = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => endpoint.Send("/fast", TimeSpan.FromSeconds(20))));
        foreach (var (response, body, failure) in after)
        {
            Assert.Null(failure);
            Assert.Equal("{\"result\":\"ok\"}", body);
            Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
            response.Dispose();
        }
    }

    /// <summary>A Kestrel endpoint over loopback and an adapter's client (VendorHttp.CreateClient) pointed at it.</summary>
    private sealed class Endpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Uri _baseUri;
        private readonly VendorHttp.VendorClient _client;

        private Endpoint(WebApplication app, Uri baseUri)
        {
            _app = app;
            _baseUri = baseUri;
            _client = VendorHttp.CreateClient(new XiaomiOptions { BaseUri = baseUri });
        }

        public static async Task<Endpoint> StartAsync(Action<WebApplication> map)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            map(app);
            await app.StartAsync();
            return new Endpoint(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
        }

        public async Task<(HttpResponseMessage? Response, string Body, PushSendResult? Failure)> Send(string path, TimeSpan timeout, CancellationToken ct = default)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUri, path));
            return await VendorHttp.SendAsync(_client, request, timeout, ct);
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _app.DisposeAsync();
        }
    }
}
