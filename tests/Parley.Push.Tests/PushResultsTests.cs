using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

public sealed class PushResultsTests
{
    private static readonly PushRecipient Bob = new("bob", 1);

    [Fact]
    public async Task InvalidToken_AllowListed_DeletedOnceTheAppIsProvenHealthy()
    {
        await using var h = await PushHarness.StartAsync();
        var dead = PushHarness.ApnsToken(10);
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "old-phone", PushVendor.Apns, dead));
        await h.Devices.UpsertAsync(PushHarness.Device("carol", "phone", PushVendor.Apns, PushHarness.ApnsToken(11)));
        h.Apns.Unregistered[dead] = PushHarness.Start.ToUnixTimeMilliseconds(); // became invalid after registration

        var r1 = await h.Pipeline.SubmitAsync(PushHarness.Im("t1", "c-t1", Bob));
        await h.WaitForStateAsync(r1.AcceptedPushIds[0], PushState.InvalidToken);
        Assert.Equal(dead, (await h.Devices.GetAsync("bob", "old-phone"))!.Token); // held until the app is proven healthy

        var r2 = await h.Pipeline.SubmitAsync(PushHarness.Im("t2", "c-t2", new PushRecipient("carol", 1)));
        await h.WaitForStateAsync(r2.AcceptedPushIds[0], PushState.Accepted);
        await PushHarness.WaitUntilAsync(async () => (await h.Devices.GetAsync("bob", "old-phone"))!.Token.Length == 0, "the dead token to be deleted");
        var device = (await h.Devices.GetAsync("bob", "old-phone"))!;
        Assert.NotNull(device.TokenInvalidAt);

        // The counter is raised after the row is written (CI once read 0 between the two): wait for it, then it must be exactly 1.
        await PushHarness.WaitUntilAsync(() => Task.FromResult(h.Sum("parley.push.tokens.invalidated", ("vendor", "apns")) >= 1), "the invalidation to be counted");
        Assert.Equal(1, h.Sum("parley.push.tokens.invalidated", ("vendor", "apns")));

        // The next message does not even try the dead token.
        var r3 = await h.Pipeline.SubmitAsync(PushHarness.Im("t3", "c-t3", Bob));
        Assert.Equal(1, r3.Filtered["no_token"]);
    }

    [Fact]
    public async Task Apns410_OlderThanRegistration_TokenKept()
    {
        await using var h = await PushHarness.StartAsync();
        var token = PushHarness.ApnsToken(12);
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "phone", PushVendor.Apns, token));
        await h.Devices.UpsertAsync(PushHarness.Device("carol", "phone", PushVendor.Apns, PushHarness.ApnsToken(13)));
        h.Apns.Unregistered[token] = PushHarness.Start.AddDays(-10).ToUnixTimeMilliseconds(); // re-registered since

        var r1 = await h.Pipeline.SubmitAsync(PushHarness.Im("k1", "c-k1", Bob));
        await h.WaitForStateAsync(r1.AcceptedPushIds[0], PushState.InvalidToken);
        var r2 = await h.Pipeline.SubmitAsync(PushHarness.Im("k2", "c-k2", new PushRecipient("carol", 1)));
        await h.WaitForStateAsync(r2.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(token, (await h.Devices.GetAsync("bob", "phone"))!.Token);
    }

    [Fact]
    public async Task WholeAppMisconfigured_EveryTokenInvalid_NothingDeletedConfigAlarm()
    {
        await using var h = await PushHarness.StartAsync(o => o.InvalidTokenAlarmThreshold = 5);
        h.Huawei.Misconfigured = true; // answers 80300007 for every token
        var recipients = new List<PushRecipient>();
        for (var u = 0; u < 6; u++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + u, "p", PushVendor.Huawei, "hms-" + u));
            recipients.Add(new PushRecipient("u" + u, 1));
        }

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("bad-app", "c-bad", [.. recipients]));
        foreach (var id in result.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.InvalidToken);
        }

        // Fix the app, prove it healthy: still nothing is deleted, because the run was an alarm, not dead tokens.
        h.Huawei.Misconfigured = false;
        var ok = await h.Pipeline.SubmitAsync(PushHarness.Im("good-app", "c-good", recipients[0]));
        await h.WaitForStateAsync(ok.AcceptedPushIds[0], PushState.Accepted);

        Assert.True(h.Sum("parley.push.config.alarms", ("vendor", "huawei"), ("reason", "all_tokens_invalid")) >= 1);
        Assert.Equal(0, h.Sum("parley.push.tokens.invalidated"));
        for (var u = 0; u < 6; u++)
        {
            Assert.Equal("hms-" + u, (await h.Devices.GetAsync("u" + u, "p"))!.Token);
        }
    }

    [Fact]
    public async Task QuotaExceeded_WithRetryAfter_ImWaitsExactlyThatLong_SamePushId()
    {
        await using var h = await PushHarness.StartAsync(o => o.RetryBaseDelay = TimeSpan.FromSeconds(1));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-bob-quota"));
        h.Fcm.Enqueue(new SimFault(429, """{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"quota","details":[{"errorCode":"QUOTA_EXCEEDED"}]}}""", RetryAfter: TimeSpan.FromSeconds(120), Path: "messages:send"));

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("q1", "c-q1", Bob));
        var pushId = result.AcceptedPushIds[0];
        await PushHarness.WaitUntilAsync(async () => (await h.Journal.GetAsync(pushId)) is { State: PushState.Pending, Attempts: 1 }, "the 429 to be answered and the retry scheduled");
        var row = (await h.Journal.GetAsync(pushId))!;
        Assert.Equal(PushHarness.Start.AddSeconds(120).ToUnixTimeMilliseconds(), row.NotBefore);
        Assert.Equal(PushHarness.Start.AddSeconds(120).ToUnixTimeMilliseconds(), h.Services.GetRequiredService<Vendors.Fcm.FcmAdapter>().Limits.PausedUntil);

        h.Time.Advance(TimeSpan.FromSeconds(119));
        Assert.Single(h.Fcm.Requests, r => r.Path.Contains("messages:send", StringComparison.Ordinal));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForStateAsync(pushId, PushState.Accepted);
        var sends = h.Fcm.Requests.Where(r => r.Path.Contains("messages:send", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, sends.Count);
        Assert.All(sends, s => Assert.Equal(pushId, s.PushId));
        Assert.Equal(1, h.Fcm.Delivered[pushId]);
    }

    [Fact]
    public async Task MarketingQuotaExceeded_DroppedWithReason_ImUnaffected()
    {
        await using var h = await PushHarness.StartAsync(o => o.QuietHoursStart = o.QuietHoursEnd);
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Vivo, "vivo-bob-quota"));
        await h.Devices.UpsertAsync(PushHarness.Device("carol", "p", PushVendor.Vivo, "vivo-carol-quota"));
        h.Vivo.Enqueue(new SimFault(200, """{"result":10070,"desc":"超过单日推送量"}""", Path: "/message/send"));
        PushRequest Promo(string id, string user) => new(id, "campaign", "system", "Parley", PushCategory.Marketing, "", [new PushRecipient(user, 0)])
        {
            Templates = [new PushTemplate("t", "Sale", "Now")],
        };

        var p1 = await h.Pipeline.SubmitAsync(Promo("mk1", "bob"));
        var filtered = await h.WaitForStateAsync(p1.AcceptedPushIds[0], PushState.Filtered);
        Assert.Equal("vendor_quota", filtered.Reason);

        var p2 = await h.Pipeline.SubmitAsync(Promo("mk2", "carol"));
        Assert.Equal("vendor_quota", (await h.WaitForStateAsync(p2.AcceptedPushIds[0], PushState.Filtered)).Reason);

        var im = await h.Pipeline.SubmitAsync(PushHarness.Im("im-after-quota", "c-q", Bob));
        await h.WaitForStateAsync(im.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(1, h.Vivo.AcceptedCount);
    }

    [Fact]
    public async Task ServerError_RetriedWithBackoff_SameApnsIdAndPushId()
    {
        await using var h = await PushHarness.StartAsync(o => o.RetryBaseDelay = TimeSpan.FromSeconds(2));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Apns, PushHarness.ApnsToken(20)));
        h.Apns.Enqueue(new SimFault(500, """{"reason":"InternalServerError"}"""));
        h.Apns.Enqueue(new SimFault(503, """{"reason":"ServiceUnavailable"}"""));

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("r1", "c-r1", Bob));
        var pushId = result.AcceptedPushIds[0];
        await h.WaitForRowAsync(pushId, r => r is { State: PushState.Pending, Attempts: 1 }, "first retry scheduled");
        h.Time.Advance(TimeSpan.FromSeconds(2));
        await h.WaitForRowAsync(pushId, r => r is { State: PushState.Pending, Attempts: 2 }, "second retry scheduled");
        h.Time.Advance(TimeSpan.FromSeconds(4));
        await h.WaitForStateAsync(pushId, PushState.Accepted);

        var requests = h.Apns.Requests.ToList();
        Assert.Equal(3, requests.Count);
        Assert.Single(requests.Select(r => r.Headers["apns-id"]).Distinct());
        Assert.All(requests, r => Assert.Equal(pushId, r.PushId));
        Assert.Equal(2, h.Sum("parley.push.retries", ("vendor", "apns")));
    }

    [Fact]
    public async Task Timeout_VendorWithoutDedup_DeadLetteredThenReplayedWithSamePushId()
    {
        await using var h = await PushHarness.StartAsync(services: s => s.Configure<Vendors.Apns.ApnsOptions>(o => o.RequestTimeout = TimeSpan.FromSeconds(1)));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Apns, PushHarness.ApnsToken(21)));
        h.Apns.Enqueue(new SimFault(Hang: true));

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("h1", "c-h1", Bob));
        var pushId = result.AcceptedPushIds[0];
        var dead = await h.WaitForStateAsync(pushId, PushState.DeadLettered);
        Assert.Equal("outcome_unknown:timeout", dead.Reason);
        Assert.Contains(await h.Pipeline.ListDeadLettersAsync(), r => r.PushId == pushId);

        Assert.True(await h.Pipeline.ReplayDeadLetterAsync(pushId));
        await h.WaitForStateAsync(pushId, PushState.Accepted);
        Assert.Equal(1, h.Apns.Delivered[pushId]);
        Assert.False(await h.Pipeline.ReplayDeadLetterAsync(pushId));
    }

    [Fact]
    public async Task Timeout_VendorWithDedupKey_ResentWithSameRequestId_DeliveredOnce()
    {
        await using var h = await PushHarness.StartAsync(
            o => o.RetryBaseDelay = TimeSpan.FromSeconds(1),
            s => s.Configure<Vendors.Vivo.VivoOptions>(o => o.RequestTimeout = TimeSpan.FromSeconds(1)));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Vivo, "vivo-bob-slow"));
        var warm = await h.Pipeline.SubmitAsync(PushHarness.Im("v0", "c-v0", Bob));
        await h.WaitForStateAsync(warm.AcceptedPushIds[0], PushState.Accepted);

        // vivo gets the request but answers after our timeout: the outcome is unknown, and requestId makes a re-send safe.
        h.Vivo.Enqueue(new SimFault(Delay: TimeSpan.FromSeconds(3), Path: "/message/send"));
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("v1", "c-v1", Bob));
        var pushId = result.AcceptedPushIds[0];
        await PushHarness.WaitUntilAsync(async () => (await h.Journal.GetAsync(pushId)) is { State: PushState.Pending, Attempts: 1 }, "retry after unknown outcome");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await h.WaitForStateAsync(pushId, PushState.Accepted);
        await PushHarness.WaitUntilAsync(() => h.Vivo.RequestsByPushId.GetValueOrDefault(pushId) == 2, "both requests reached vivo");
        Assert.Equal(1, h.Vivo.Delivered[pushId]);
    }

    [Fact]
    public async Task Hms_ExpiredAccessToken_RefreshedOnceAndSent()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Huawei, "hms-bob-auth"));
        var r1 = await h.Pipeline.SubmitAsync(PushHarness.Im("a1", "c-a1", Bob));
        await h.WaitForStateAsync(r1.AcceptedPushIds[0], PushState.Accepted);
        h.Huawei.ExpireAccessTokens();
        var r2 = await h.Pipeline.SubmitAsync(PushHarness.Im("a2", "c-a2", Bob));
        await h.WaitForStateAsync(r2.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(2, h.Huawei.TokensIssued);
        Assert.Equal(1, h.Huawei.Delivered[r2.AcceptedPushIds[0]]);
    }

    [Fact]
    public async Task ApnsJwt_ReusedFor50Minutes_ThenRefreshed_NeverTooOften()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Apns, PushHarness.ApnsToken(30)));
        var adapter = h.Services.GetRequiredService<Vendors.Apns.ApnsAdapter>();
        for (var i = 0; i < 3; i++)
        {
            var r = await h.Pipeline.SubmitAsync(PushHarness.Im("j" + i, "c-j" + i, Bob));
            await h.WaitForStateAsync(r.AcceptedPushIds[0], PushState.Accepted);
            h.Time.Advance(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(1, adapter.TokensMinted);
        h.Time.Advance(TimeSpan.FromMinutes(21)); // 51 min after the first token
        var last = await h.Pipeline.SubmitAsync(PushHarness.Im("j-last", "c-jl", Bob));
        await h.WaitForStateAsync(last.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(2, adapter.TokensMinted);
        Assert.Equal(2, h.Apns.DistinctJwts);

        // An ExpiredProviderToken answer within 20 min of the last refresh does not mint again (Apple would answer 429).
        h.Apns.Enqueue(new SimFault(403, """{"reason":"ExpiredProviderToken"}"""));
        var again = await h.Pipeline.SubmitAsync(PushHarness.Im("j-exp", "c-je", Bob));
        await PushHarness.WaitUntilAsync(async () => (await h.Journal.GetAsync(again.AcceptedPushIds[0])) is { State: PushState.Pending, Attempts: 1 }, "auth error retried later");
        Assert.Equal(2, adapter.TokensMinted);
    }

    [Fact]
    public async Task ClickedMarketingPushes_RewardTheirTemplate()
    {
        await using var h = await PushHarness.StartAsync(o =>
        {
            o.QuietHoursStart = o.QuietHoursEnd;
            o.BanditEpsilon = 0;
        });
        var templates = new[] { new PushTemplate("a", "Deal A", "a"), new PushTemplate("b", "Deal B", "b") };
        var chosen = new List<string>();
        for (var u = 0; u < 8; u++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + u, "p", PushVendor.Fcm, "fcm-bandit-" + u));
            var r = await h.Pipeline.SubmitAsync(new PushRequest("promo-" + u, "campaign", "system", "Parley", PushCategory.Marketing, "", [new PushRecipient("u" + u, 0)])
            {
                Templates = templates,
                CampaignId = "spring",
            });
            var row = await h.WaitForStateAsync(r.AcceptedPushIds[0], PushState.Accepted);
            var template = JsonNode.Parse(h.Fcm.Requests.Last().Body)!["message"]!["notification"]!["title"]!.GetValue<string>();
            chosen.Add(template);
            if (template == "Deal B")
            {
                Assert.True(await h.Pipeline.ReportClickedAsync(row.PushId, row.TraceId));
            }
        }

        // B is tried once (exploration of an unseen arm), gets clicked, and then wins every time.
        Assert.Equal("Deal B", chosen[^1]);
        Assert.True(h.Pipeline.TemplateStats("spring", "b").Clicks >= 1);
        Assert.True(h.Pipeline.TemplateStats("spring", "b").Sends > h.Pipeline.TemplateStats("spring", "a").Sends);
    }

    [Fact]
    public async Task LearnedSendTime_DelaysContentToTheHourTheUserClicks()
    {
        await using var h = await PushHarness.StartAsync(o =>
        {
            o.QuietHoursStart = o.QuietHoursEnd;
            o.SendTimeMinClicks = 2;
        });
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-learn"));
        for (var i = 0; i < 2; i++)
        {
            var r = await h.Pipeline.SubmitAsync(PushHarness.Im("l" + i, "c-l" + i, Bob));
            var row = await h.WaitForStateAsync(r.AcceptedPushIds[0], PushState.Accepted);
            Assert.True(await h.Pipeline.ReportClickedAsync(row.PushId, row.TraceId)); // clicked at 12:xx UTC
        }

        Assert.Equal(12, h.Pipeline.LearnedSendHour("bob"));
        h.Time.Advance(TimeSpan.FromHours(2)); // 14:00
        var content = await h.Pipeline.SubmitAsync(new PushRequest("post-1", "feed", "creator", "Creator", PushCategory.FollowedContent, "new post", [Bob]));
        var pending = (await h.Journal.GetAsync(content.AcceptedPushIds[0]))!;
        Assert.Equal("send_time", pending.Reason);
        Assert.Equal(PushHarness.Start.AddDays(1).ToUnixTimeMilliseconds(), pending.NotBefore);
    }
}

public sealed class VendorInvalidTokenTests
{
    public static TheoryData<PushVendor> Vendors => [PushVendor.Fcm, PushVendor.Honor, PushVendor.Xiaomi, PushVendor.Oppo, PushVendor.Vivo, PushVendor.WebPush];

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task VendorSaysTokenDead_MappedToInvalidToken_DeletedAfterAHealthyAccept(PushVendor vendor)
    {
        await using var h = await PushHarness.StartAsync();
        var (sim, dead, good) = vendor switch
        {
            PushVendor.Fcm => ((SimServer)h.Fcm, "fcm-dead-token", "fcm-good-token"),
            PushVendor.Honor => (h.Honor, "honor-dead", "honor-good"),
            PushVendor.Xiaomi => (h.Xiaomi, "xm-dead", "xm-good"),
            PushVendor.Oppo => (h.Oppo, "oppo-dead", "oppo-good"),
            PushVendor.Vivo => (h.Vivo, "vivo-dead", "vivo-good"),
            _ => (h.WebPush, h.WebPush.Subscribe("dead-sub"), h.WebPush.Subscribe("good-sub")),
        };
        sim.InvalidTokens[vendor == PushVendor.WebPush ? "dead-sub" : dead] = true;
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "old", vendor, dead));
        await h.Devices.UpsertAsync(PushHarness.Device("carol", "new", vendor, good));

        var r1 = await h.Pipeline.SubmitAsync(PushHarness.Im("x1", "c-x1", new PushRecipient("bob", 1)));
        var invalid = await h.WaitForStateAsync(r1.AcceptedPushIds[0], PushState.InvalidToken);
        var r2 = await h.Pipeline.SubmitAsync(PushHarness.Im("x2", "c-x2", new PushRecipient("carol", 1)));
        await h.WaitForStateAsync(r2.AcceptedPushIds[0], PushState.Accepted);
        await PushHarness.WaitUntilAsync(async () => (await h.Devices.GetAsync("bob", "old"))!.Token.Length == 0, () => $"{vendor} token deleted after {invalid.Reason}");
        Assert.Equal(good, (await h.Devices.GetAsync("carol", "new"))!.Token);
    }
}

public sealed class PushJournalRetentionTests
{
    [Fact]
    public async Task Purge_DeletesOldFinishedRows_KeepsPendingAndDeadLetters()
    {
        await using var h = await PushHarness.StartAsync(o => o.JournalRetention = TimeSpan.FromDays(7));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-purge"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "q", PushVendor.Fcm, "fcm-purge-2"));
        var sent = await h.Pipeline.SubmitAsync(PushHarness.Im("old", "c-old", new PushRecipient("bob", 1)));
        foreach (var id in sent.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        await h.Journal.UpdateStateAsync(sent.AcceptedPushIds[1], PushState.DeadLettered, 1, 0, "test", null);
        h.Time.Advance(TimeSpan.FromDays(8)); // the dispatcher's hourly purge fires
        await PushHarness.WaitUntilAsync(async () => await h.Journal.GetAsync(sent.AcceptedPushIds[0]) is null, "the old accepted row purged");
        Assert.Equal(0, await h.Pipeline.PurgeJournalAsync());
        Assert.NotNull(await h.Journal.GetAsync(sent.AcceptedPushIds[1]));
    }

    [Fact]
    public async Task ApnsExpiredProviderToken_AfterTwentyMinutes_RefreshedAndSentInOneAttempt()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Apns, PushHarness.ApnsToken(50)));
        var adapter = h.Services.GetRequiredService<Vendors.Apns.ApnsAdapter>();
        var first = await h.Pipeline.SubmitAsync(PushHarness.Im("e1", "c-e1", new PushRecipient("bob", 1)));
        await h.WaitForStateAsync(first.AcceptedPushIds[0], PushState.Accepted);
        h.Time.Advance(TimeSpan.FromMinutes(25));
        h.Apns.Enqueue(new SimFault(403, """{"reason":"ExpiredProviderToken"}"""));
        var second = await h.Pipeline.SubmitAsync(PushHarness.Im("e2", "c-e2", new PushRecipient("bob", 1)));
        var row = await h.WaitForStateAsync(second.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(1, row.Attempts);
        Assert.Equal(2, adapter.TokensMinted);
    }
}

public sealed class RetryAfterDateTests
{
    [Fact]
    public async Task WebPush429_RetryAfterAsHttpDate_Honoured()
    {
        await using var h = await PushHarness.StartAsync(o => o.RetryBaseDelay = TimeSpan.FromSeconds(1));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "web", PushVendor.WebPush, h.WebPush.Subscribe("bob-429")));
        h.WebPush.Enqueue(new SimFault(429, RetryAfterDate: PushHarness.Start.AddSeconds(90)));

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("w1", "c-w1", new PushRecipient("bob", 1)));
        var pushId = result.AcceptedPushIds[0];
        var row = await h.WaitForRowAsync(pushId, r => r is { State: PushState.Pending, Attempts: 1 }, "429 answered");
        Assert.Equal(PushHarness.Start.AddSeconds(90).ToUnixTimeMilliseconds(), row.NotBefore);
        h.Time.Advance(TimeSpan.FromSeconds(90));
        await h.WaitForStateAsync(pushId, PushState.Accepted);
        Assert.Equal(pushId, Assert.Single(h.WebPush.Decrypted)["parley"]!["push_id"]!.GetValue<string>());
    }
}
