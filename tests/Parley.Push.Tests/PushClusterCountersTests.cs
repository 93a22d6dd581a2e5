using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Abstractions.Push;
using Parley.Hosting.Push;
using Parley.Push.Vendors.Fcm;

namespace Parley.Push.Tests;

/// <summary>
/// ADR 0014 §6: two push pipelines (two nodes: each its own journal, dispatcher and vendor simulators) on one real Redis
/// (PARLEY_TEST_REDIS) share their counters, as the server does in <c>Parley:Cluster:Mode=Redis</c>. A vendor's daily
/// app quota and per-device quota, the marketing cap per user and the template bandit's counts then hold for the two
/// together, not once per node; so do FCM's send rate (one token bucket) and a vendor-wide pause one node was told.
/// (Each pipeline alone, with in-memory counters, would grant every quota twice and send at twice the rate.)
/// </summary>
public sealed class PushClusterCountersTests
{
    private readonly string _prefix = "parley-test-counters-" + Guid.NewGuid().ToString("N") + "/push/";

    // The app quota for marketing on FCM is 5 a day; 8 users, each with a phone registered on both nodes, get a promo
    // each, alternately through node A and node B: exactly 5 reach FCM (over both simulators), 3 are filtered app_quota.
    // Then a per-device quota of 1: a device that got a promo through A is refused through B.
    [ClusterFact]
    public async Task TheVendorsAppQuota_AndDeviceQuota_HoldForBothNodesTogether()
    {
        await using var a = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100, fcm => fcm.DailyQuota[PushCategory.Marketing] = 5);
        await using var b = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100, fcm => fcm.DailyQuota[PushCategory.Marketing] = 5);
        var finals = new List<PushRecord>();
        for (var u = 0; u < 8; u++)
        {
            var node = u % 2 == 0 ? a : b;
            var user = "u" + u;
            await node.Devices.UpsertAsync(PushHarness.Device(user, "p", PushVendor.Fcm, "fcm-quota-token-" + u));
            var result = await node.Pipeline.SubmitAsync(Promo("app-" + u, user));
            finals.Add(await node.WaitForRowAsync(result.AcceptedPushIds[0], r => r.State is PushState.Accepted or PushState.Filtered, "the promo to be sent or filtered"));
        }

        Assert.Equal(5, finals.Count(r => r.State == PushState.Accepted));
        Assert.All(finals.Where(r => r.State == PushState.Filtered), r => Assert.Equal("app_quota", r.Reason));
        Assert.Equal(5, a.Fcm.AcceptedCount + b.Fcm.AcceptedCount);
        Assert.True(a.Fcm.AcceptedCount > 0 && b.Fcm.AcceptedCount > 0, "both nodes sent some");

        // Per-device quota (1 a day), on a fresh pair of nodes: the second promo to the same phone, through the other node, is refused.
        await using var c = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100, fcm => fcm.PerDeviceDailyQuota[PushCategory.Marketing] = 1);
        await using var d = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100, fcm => fcm.PerDeviceDailyQuota[PushCategory.Marketing] = 1);
        foreach (var node in new[] { c, d })
        {
            await node.Devices.UpsertAsync(PushHarness.Device("dora", "p", PushVendor.Fcm, "fcm-device-quota-dora"));
        }

        var first = await c.Pipeline.SubmitAsync(Promo("dev-1", "dora"));
        await c.WaitForStateAsync(first.AcceptedPushIds[0], PushState.Accepted);
        var second = await d.Pipeline.SubmitAsync(Promo("dev-2", "dora"));
        var refused = await d.WaitForStateAsync(second.AcceptedPushIds[0], PushState.Filtered);
        Assert.Equal("device_quota", refused.Reason);
        Assert.Equal(0, d.Fcm.AcceptedCount);
    }

    // The marketing cap (1 a day per user): a user who got a promo through node A is capped through node B.
    [ClusterFact]
    public async Task TheMarketingCapPerUser_HoldsForBothNodesTogether()
    {
        await using var a = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 1);
        await using var b = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 1);
        foreach (var node in new[] { a, b })
        {
            await node.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-cap-token-bob"));
        }

        var first = await a.Pipeline.SubmitAsync(Promo("cap-1", "bob"));
        Assert.Single(first.AcceptedPushIds);
        var second = await b.Pipeline.SubmitAsync(Promo("cap-2", "bob"));
        Assert.Empty(second.AcceptedPushIds);
        Assert.Equal(1, second.Filtered["user_cap"]);

        // Another user is not capped by bob's count.
        await b.Devices.UpsertAsync(PushHarness.Device("carol", "p", PushVendor.Fcm, "fcm-cap-token-carol"));
        Assert.Single((await b.Pipeline.SubmitAsync(Promo("cap-3", "carol"))).AcceptedPushIds);
    }

    // The bandit (epsilon 0: always the best estimate, ties to the first template) learns from both nodes: node A sends
    // template "a" once without a click, so "b" (untried) scores higher; node B, alone, would choose "a" (a tie of two
    // untried arms), but with A's send counted it chooses "b". A click through A shows in the counts B reports.
    [ClusterFact]
    public async Task TheTemplateBandit_LearnsFromBothNodes()
    {
        await using var a = await StartNodeAsync(o => o.BanditEpsilon = 0);
        await using var b = await StartNodeAsync(o => o.BanditEpsilon = 0);
        await a.Devices.UpsertAsync(PushHarness.Device("ann", "p", PushVendor.Fcm, "fcm-bandit-token-ann"));
        await b.Devices.UpsertAsync(PushHarness.Device("ben", "p", PushVendor.Fcm, "fcm-bandit-token-ben"));

        var fromA = await a.Pipeline.SubmitAsync(Promo("bandit-a", "ann", campaign: "spring"));
        var rowA = await a.WaitForStateAsync(fromA.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal("Deal A", Title(a));

        var fromB = await b.Pipeline.SubmitAsync(Promo("bandit-b", "ben", campaign: "spring"));
        await b.WaitForStateAsync(fromB.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal("Deal B", Title(b));

        Assert.True(await a.Pipeline.ReportClickedAsync(rowA.PushId, rowA.TraceId));
        var stats = await b.Pipeline.TemplateStatsAsync("spring");
        Assert.Equal((1L, 1L), stats["a"]);
        Assert.Equal((1L, 0L), stats["b"]);
    }

    // FCM's rate is 1 request a second with a burst of 1, configured alike on both nodes; 4 IM pushes, 2 submitted through
    // each node, at once: exactly one reaches FCM (over both simulators) and three wait for the shared bucket; each second
    // (both nodes' clocks moved together) exactly one more. With a bucket per node, two would go at once and two a second.
    [ClusterFact]
    public async Task TheVendorsSendRate_HoldsForBothNodesTogether()
    {
        await using var a = await StartNodeAsync(_ => { }, fcm => (fcm.RatePerSecond, fcm.RateBurst) = (1, 1));
        await using var b = await StartNodeAsync(_ => { }, fcm => (fcm.RatePerSecond, fcm.RateBurst) = (1, 1));
        for (var u = 0; u < 4; u++)
        {
            await (u % 2 == 0 ? a : b).Devices.UpsertAsync(PushHarness.Device("r" + u, "p", PushVendor.Fcm, "fcm-rate-token-" + u));
        }

        var fromA = await a.Pipeline.SubmitAsync(PushHarness.Im("rate-a", "c-rate-a", new PushRecipient("r0", 1), new PushRecipient("r2", 1)));
        var fromB = await b.Pipeline.SubmitAsync(PushHarness.Im("rate-b", "c-rate-b", new PushRecipient("r1", 1), new PushRecipient("r3", 1)));
        Assert.Equal(2, fromA.AcceptedPushIds.Count);
        Assert.Equal(2, fromB.AcceptedPushIds.Count);
        for (var sent = 1; sent <= 4; sent++)
        {
            if (sent > 1)
            {
                a.Time.Advance(TimeSpan.FromSeconds(1));
                b.Time.Advance(TimeSpan.FromSeconds(1));
            }

            // Settled: every push either sent or back in a scheduler for the next token (nothing else can move before the
            // clocks do); the count must be exact.
            var expected = sent;
            await PushHarness.WaitUntilAsync(
                () => a.Fcm.AcceptedCount + b.Fcm.AcceptedCount >= expected && a.Pipeline.ScheduledCount + b.Pipeline.ScheduledCount == 4 - expected,
                () => $"{expected} pushes sent over both nodes and {4 - expected} waiting (sent {a.Fcm.AcceptedCount} + {b.Fcm.AcceptedCount}, waiting {a.Pipeline.ScheduledCount} + {b.Pipeline.ScheduledCount})");
            Assert.Equal(expected, a.Fcm.AcceptedCount + b.Fcm.AcceptedCount);
        }

        Assert.True(a.Fcm.AcceptedCount == 2 && b.Fcm.AcceptedCount == 2, "each node sent its own two");
    }

    // FCM answers node A 503 with Retry-After 60 s (a vendor-wide pause): node B, told nothing by FCM, holds its push until
    // the pause ends too (it learns the pause from the shared counters on its first try), then both are sent.
    [ClusterFact]
    public async Task AVendorPauseToldToOneNode_HoldsTheOtherNodeToo()
    {
        await using var a = await StartNodeAsync(_ => { });
        await using var b = await StartNodeAsync(_ => { });
        await a.Devices.UpsertAsync(PushHarness.Device("ann", "p", PushVendor.Fcm, "fcm-pause-token-ann"));
        await b.Devices.UpsertAsync(PushHarness.Device("ben", "p", PushVendor.Fcm, "fcm-pause-token-ben"));
        a.Fcm.Enqueue(new Simulators.SimFault(503, """{"error":{"code":503,"status":"UNAVAILABLE","message":"overloaded"}}""", RetryAfter: TimeSpan.FromSeconds(60), Path: "messages:send"));
        var pauseEnds = PushHarness.Start.AddSeconds(60).ToUnixTimeMilliseconds();

        var fromA = (await a.Pipeline.SubmitAsync(PushHarness.Im("pause-a", "c-pause-a", new PushRecipient("ann", 1)))).AcceptedPushIds[0];
        await a.WaitForRowAsync(fromA, r => r is { State: PushState.Pending, Attempts: 1 }, "node A's push to be answered 503 and its retry scheduled");
        Assert.Equal(pauseEnds, a.Services.GetRequiredService<FcmAdapter>().Limits.PausedUntil);

        var fromB = (await b.Pipeline.SubmitAsync(PushHarness.Im("pause-b", "c-pause-b", new PushRecipient("ben", 1)))).AcceptedPushIds[0];
        var limitsB = b.Services.GetRequiredService<FcmAdapter>().Limits;
        await PushHarness.WaitUntilAsync(() => limitsB.PausedUntil == pauseEnds && b.Pipeline.ScheduledCount == 1, () => $"node B to learn the pause and hold its push (paused until {limitsB.PausedUntil}, waiting {b.Pipeline.ScheduledCount})");
        Assert.Equal(0, b.Fcm.Requests.Count(r => r.Path.Contains("messages:send", StringComparison.Ordinal)));
        Assert.Equal(PushState.Pending, (await b.Journal.GetAsync(fromB))!.State);

        a.Time.Advance(TimeSpan.FromSeconds(60));
        b.Time.Advance(TimeSpan.FromSeconds(60));
        await a.WaitForStateAsync(fromA, PushState.Accepted);
        var rowB = await b.WaitForStateAsync(fromB, PushState.Accepted);
        Assert.Equal(1, rowB.Attempts);
        Assert.Equal(1, b.Fcm.Requests.Count(r => r.Path.Contains("messages:send", StringComparison.Ordinal)));
    }

    // vivo answers node A's promo 10070 (the day's marketing quota is used up; no Retry-After: the category is blocked until
    // the next UTC day). Node B, whose vivo would accept, drops its promo as vendor_quota without a request to vivo; its
    // pushes of other categories (service) and IM still go out, and the next UTC day its promos do too.
    [ClusterFact]
    public async Task AVendorsCategoryQuotaToldToOneNode_BlocksThatCategoryOnTheOtherNodeToo()
    {
        await using var a = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100);
        await using var b = await StartNodeAsync(o => o.MarketingDailyCapPerUser = 100);
        await a.Devices.UpsertAsync(PushHarness.Device("ann", "p", PushVendor.Vivo, "vivo-block-token-ann"));
        await b.Devices.UpsertAsync(PushHarness.Device("ben", "p", PushVendor.Vivo, "vivo-block-token-ben"));
        a.Vivo.Enqueue(new Simulators.SimFault(200, """{"result":10070,"desc":"超过单日推送量"}""", Path: "/message/send"));

        var fromA = (await a.Pipeline.SubmitAsync(Promo("block-a", "ann"))).AcceptedPushIds[0];
        Assert.Equal("vendor_quota", (await a.WaitForStateAsync(fromA, PushState.Filtered)).Reason);
        Assert.Single(a.Vivo.Requests, r => r.Path.Contains("/message/send", StringComparison.Ordinal));

        var fromB = (await b.Pipeline.SubmitAsync(Promo("block-b", "ben"))).AcceptedPushIds[0];
        Assert.Equal("vendor_quota", (await b.WaitForStateAsync(fromB, PushState.Filtered)).Reason);
        Assert.DoesNotContain(b.Vivo.Requests, r => r.Path.Contains("/message/send", StringComparison.Ordinal));

        var service = (await b.Pipeline.SubmitAsync(new PushRequest("block-svc", "c-block-svc", "shop", "Shop", PushCategory.Service, "Order shipped", [new PushRecipient("ben", 0)]))).AcceptedPushIds[0];
        await b.WaitForStateAsync(service, PushState.Accepted);
        var im = (await b.Pipeline.SubmitAsync(PushHarness.Im("block-im", "c-block-im", new PushRecipient("ben", 1)))).AcceptedPushIds[0];
        await b.WaitForStateAsync(im, PushState.Accepted);
        Assert.Equal(2, b.Vivo.AcceptedCount);

        a.Time.Advance(TimeSpan.FromDays(1));
        b.Time.Advance(TimeSpan.FromDays(1));
        var tomorrow = (await b.Pipeline.SubmitAsync(Promo("block-b-next-day", "ben"))).AcceptedPushIds[0];
        await b.WaitForStateAsync(tomorrow, PushState.Accepted);
        Assert.Equal(3, b.Vivo.AcceptedCount);
    }

    private static string Title(PushHarness node) =>
        JsonNode.Parse(node.Fcm.Requests.Last().Body)!["message"]!["notification"]!["title"]!.GetValue<string>();

    private static PushRequest Promo(string id, string user, string? campaign = null) =>
        new(id, "campaign", "system", "Parley", PushCategory.Marketing, "", [new PushRecipient(user, 0)])
        {
            Templates = [new PushTemplate("a", "Deal A", "a"), new PushTemplate("b", "Deal B", "b")],
            CampaignId = campaign,
        };

    private Task<PushHarness> StartNodeAsync(Action<PushOptions> configure, Action<FcmOptions>? fcm = null)
    {
        var redis = Environment.GetEnvironmentVariable(ClusterFactAttribute.RedisVariable) ?? throw new InvalidOperationException(ClusterFactAttribute.MissingMessage);
        return PushHarness.StartAsync(
            o =>
            {
                o.QuietHoursStart = o.QuietHoursEnd;
                configure(o);
            },
            s =>
            {
                s.Replace(ServiceDescriptor.Singleton<IPushCounters>(_ => new RedisPushCounters(redis, _prefix)));
                if (fcm is not null)
                {
                    s.Configure(fcm);
                }
            });
    }
}
