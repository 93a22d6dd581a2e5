using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>campaign</c> (issue 19): a marketing campaign to <c>--campaign-users</c> users (each with a Xiaomi device,
/// registered through the device API with the user's own token), two templates, asking <c>--campaign-rate</c> users per
/// second, run by the server's campaign runner through the marketing lane to an accept-all MiPush endpoint hosted in
/// this process. Reports targeted users per second (create → the report's <c>done</c>; journaled with each chunk) and
/// pushes per second that reached the endpoint, and the IM latency of a 1:1 stream at <c>--campaign-im-rate</c> between
/// two other users: once before the campaign (the baseline of the run) and again while it runs. Parley only: against
/// the relay it runs the same 1:1 stream (there is no campaign to run).
/// </summary>
internal sealed partial class Runner
{
    private PushEndpoint? _pushEndpoint;

    private async Task<IEnumerable<KeyValuePair<string, string>>> CampaignServerEnvAsync()
    {
        _pushEndpoint = await PushEndpoint.StartAsync().ConfigureAwait(false);
        var rate = o.CampaignRate.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("Parley__Push__Xiaomi__BaseUri", _pushEndpoint.BaseUri.ToString()),
            new("Parley__Push__Xiaomi__AppSecret", "loadtest"),
            new("Parley__Push__Xiaomi__PackageName", "com.parley.loadtest"),
            new("Parley__Push__Xiaomi__RatePerSecond", "1000000"),
            new("Parley__Push__Xiaomi__RateBurst", "1000000"),
            new("Parley__Push__MarketingDailyCapPerUser", "100"),

            // An empty quiet-hours window: the campaign is measured, not the time of day it runs at.
            new("Parley__Push__QuietHoursStart", "00:00"),
            new("Parley__Push__QuietHoursEnd", "00:00"),
            new("Parley__Campaigns__PollInterval", "00:00:00.200"),
            new("Parley__Campaigns__MaxRatePerSecond", rate),
        ];
    }

    private async Task<StepResult> CampaignAsync(int run, TargetProcess target, AdminClient admin, string prefix)
    {
        // The IM stream: two users, both online, one sends to the other at --campaign-im-rate.
        var imTokens = await admin.CreateUsersAsync(prefix + "im", 2, 2).ConfigureAwait(false);
        var im = await ConnectAllAsync(target, prefix + "im", imTokens, 2, 2, null).ConfigureAwait(false);
        try
        {
            var receiver = new Target { UserId = prefix + "im1" };
            async ValueTask SendOne(StepLedger ledger, int idx, long ts, Random rnd)
            {
                var frame = new ClientFrame
                {
                    RequestId = ledger.RequestId(idx),
                    Send = new SendRequest
                    {
                        ClientMsgId = ledger.ClientMsgId('c', idx),
                        Target = receiver,
                        Content = new Content { Text = new TextContent { Text = ledger.Text(idx, ts, o.PayloadBytes) } },
                    },
                };
                await im[0].SendAsync(frame.ToByteArray()).ConfigureAwait(false);
            }

            var baseline = await StepAsync(run, "campaign", target, im, "im alone", o.CampaignImRate, 1, 1, SendOne).ConfigureAwait(false);
            if (target.Name == "relay" || _pushEndpoint is null)
            {
                return new StepResult(run, "campaign", target.Name, "summary", Prefixed(baseline, "im_alone_"));
            }

            // The audience: users with a Xiaomi device each, registered the way an app does (PUT /api/v1/device).
            var n = o.CampaignUsers;
            var clock = Stopwatch.StartNew();
            var tokens = await admin.CreateUsersAsync(prefix, n, n).ConfigureAwait(false);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = target.BaseUrl, Timeout = TimeSpan.FromMinutes(2) };
            await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Put, "api/v1/device")
                {
                    Content = JsonContent.Create(new { vendor = "xiaomi", token = "xm-regid-" + prefix + i, appId = "com.parley.loadtest" }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[i]);
                using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"device registration failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
                }
            }).ConfigureAwait(false);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[parley campaign r{run}] {n} users with a device in {clock.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);

            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", target.AdminSecret);
            var campaignId = prefix.TrimEnd('-') + "c";
            var pushes0 = _pushEndpoint.Received;
            var server = ProcWindow.Start(target.Pid);
            var started = Stopwatch.GetTimestamp();
            using (var created = await http.PostAsJsonAsync("admin/v1/business/campaigns", new
            {
                campaignId,
                name = "Load test",
                audience = new { userIds = Enumerable.Range(0, n).Select(i => prefix + i).ToArray() },
                templates = new[]
                {
                    new { templateId = "a", title = "Spring sale", body = "20 % off everything" },
                    new { templateId = "b", title = "Spring is here", body = "New arrivals, 20 % off" },
                },
                expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(),
                ratePerSecond = o.CampaignRate,
            }).ConfigureAwait(false))
            {
                if (created.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"campaign create failed: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync().ConfigureAwait(false)}");
                }
            }

            // The IM stream again while the campaign runs; the report is polled meanwhile.
            var during = StepAsync(run, "campaign", target, im, "im during campaign", o.CampaignImRate, 1, 1, SendOne);
            JsonElement report = default;
            var doneAt = 0L;
            var timeout = Stopwatch.StartNew();
            while (timeout.Elapsed < TimeSpan.FromMinutes(10))
            {
                report = await http.GetFromJsonAsync<JsonElement>($"admin/v1/business/campaigns/{campaignId}").ConfigureAwait(false);
                if (report.GetProperty("campaign").GetProperty("state").GetString() is "done" or "cancelled" or "expired")
                {
                    doneAt = Stopwatch.GetTimestamp();
                    break;
                }

                await Task.Delay(100).ConfigureAwait(false);
            }

            if (doneAt == 0)
            {
                throw new TimeoutException($"campaign {campaignId} did not finish in 10 minutes: {report}");
            }

            var progress = report.GetProperty("progress");
            var targeted = progress.GetProperty("targeted").GetInt64();
            var sent = progress.GetProperty("sent").GetInt64();

            // Every push the runner journaled reaches the endpoint (bounded wait), then the lanes are idle.
            while (_pushEndpoint.Received - pushes0 < sent && timeout.Elapsed < TimeSpan.FromMinutes(10))
            {
                await Task.Delay(50).ConfigureAwait(false);
            }

            var lastPush = _pushEndpoint.LastArrival;
            var usage = await server.StopAsync().ConfigureAwait(false);
            var imDuring = await during.ConfigureAwait(false);
            var pushes = _pushEndpoint.Received - pushes0;
            var targetedSeconds = Stopwatch.GetElapsedTime(started, doneAt).TotalSeconds;
            var pushedSeconds = Stopwatch.GetElapsedTime(started, lastPush).TotalSeconds;
            var m = new Dictionary<string, double>
            {
                ["users"] = n,
                ["asked_rate"] = o.CampaignRate,
                ["targeted"] = targeted,
                ["sent"] = sent,
                ["pushes_at_vendor"] = pushes,
                ["duplicate_pushes"] = _pushEndpoint.Duplicates,
                ["targeted_per_s"] = targeted / targetedSeconds,
                ["pushed_per_s"] = pushes / pushedSeconds,
                ["campaign_s"] = targetedSeconds,
                ["server_cpu_pct"] = usage.CpuPercent,
                ["server_cpu_ms_per_user"] = usage.CpuSeconds * 1000 / Math.Max(1, targeted),
                ["lost"] = (sent - pushes) + baseline["lost"] + imDuring["lost"],
            };
            foreach (var (k, v) in Prefixed(baseline, "im_alone_").Concat(Prefixed(imDuring, "im_during_")))
            {
                m[k] = v;
            }

            var r = new StepResult(run, "campaign", target.Name, "summary", m);
            Steps.Add(r);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"[parley campaign r{run}] {n} users at {o.CampaignRate}/s asked: targeted {targeted} (sent {sent}) in {targetedSeconds:F2} s = {m["targeted_per_s"]:F0}/s; {pushes} pushes at the endpoint by {pushedSeconds:F2} s = {m["pushed_per_s"]:F0}/s, duplicates {_pushEndpoint.Duplicates} | srv cpu {usage.CpuPercent:F0}%, {m["server_cpu_ms_per_user"]:F3} ms/user | IM p99 alone {baseline["p99_ms"]:F2} ms, during {imDuring["p99_ms"]:F2} ms (p50 {baseline["p50_ms"]:F2} → {imDuring["p50_ms"]:F2})")).ConfigureAwait(false);
            return r;
        }
        finally
        {
            await DisposeAllAsync(im).ConfigureAwait(false);
        }
    }

    private static Dictionary<string, double> Prefixed(StepResult step, string prefix)
    {
        var m = new Dictionary<string, double>();
        foreach (var key in new[] { "p50_ms", "p99_ms", "max_ms", "ack_p99_ms", "sent_per_s", "delivery_ratio", "lost" })
        {
            m[prefix + key] = step[key];
        }

        m["lost"] = step["lost"];
        return m;
    }

    /// <summary>An accept-all MiPush <c>/v3/message/regid</c> endpoint on loopback: counts pushes, duplicates (by push id) and the last arrival.</summary>
    private sealed class PushEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);
        private long _received;
        private long _duplicates;
        private long _lastArrival;

        private PushEndpoint(WebApplication app) => _app = app;

        public Uri BaseUri { get; private set; } = null!;

        public long Received => Interlocked.Read(ref _received);

        public long Duplicates => Interlocked.Read(ref _duplicates);

        public long LastArrival => Interlocked.Read(ref _lastArrival);

        public static async Task<PushEndpoint> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var endpoint = new PushEndpoint(app);
            app.MapPost("/v3/message/regid", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync().ConfigureAwait(false);
                if (!endpoint._seen.TryAdd(form["extra.push_id"].ToString(), 0))
                {
                    Interlocked.Increment(ref endpoint._duplicates);
                }

                Interlocked.Increment(ref endpoint._received);
                Interlocked.Exchange(ref endpoint._lastArrival, Stopwatch.GetTimestamp());
                return Results.Text("""{"result":"ok","code":0,"data":{"id":"lt"}}""", "application/json");
            });
            await app.StartAsync().ConfigureAwait(false);
            endpoint.BaseUri = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return endpoint;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync().ConfigureAwait(false);
    }
}
