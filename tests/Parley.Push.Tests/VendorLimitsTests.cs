using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Push.Vendors.Fcm;

namespace Parley.Push.Tests;

public sealed class VendorLimitsTests
{
    [Fact]
    public async Task RateBucket_SpacesRequestsAtTheVendorRate()
    {
        await using var h = await PushHarness.StartAsync(services: s => s.Configure<Vendors.Huawei.HuaweiOptions>(o =>
        {
            o.RatePerSecond = 1;
            o.RateBurst = 1;
        }));
        var ids = new List<string>();
        for (var u = 0; u < 3; u++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + u, "p", PushVendor.Huawei, "hms-rate-" + u));
        }

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("rate", "c-rate", new PushRecipient("u0", 1), new PushRecipient("u1", 1), new PushRecipient("u2", 1)));
        await PushHarness.WaitUntilAsync(() => h.Huawei.AcceptedCount == 1 && h.Pipeline.ScheduledCount == 2, "one push sent, two waiting for tokens");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await PushHarness.WaitUntilAsync(() => h.Huawei.AcceptedCount == 2 && h.Pipeline.ScheduledCount == 1, "second push after one second");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await PushHarness.WaitUntilAsync(() => h.Huawei.AcceptedCount == 3, "third push after two seconds");
        Assert.Equal(3, result.AcceptedPushIds.Count);
    }

    [Fact]
    public async Task PerDeviceDailyQuota_MarketingDroppedBeyondIt_NextDayAllowed()
    {
        await using var h = await PushHarness.StartAsync(
            o =>
            {
                o.QuietHoursStart = o.QuietHoursEnd;
                o.MarketingDailyCapPerUser = 10;
            },
            s => s.Configure<FcmOptions>(o => o.PerDeviceDailyQuota[PushCategory.Marketing] = 2));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-quota-ledger"));
        var states = new List<PushRecord>();
        for (var i = 0; i < 3; i++)
        {
            var r = await h.Pipeline.SubmitAsync(Promo("promo" + i));
            await PushHarness.WaitUntilAsync(async () => (await h.Journal.GetAsync(r.AcceptedPushIds[0]))!.State is PushState.Accepted or PushState.Filtered, "push finished");
            states.Add((await h.Journal.GetAsync(r.AcceptedPushIds[0]))!);
        }

        Assert.Equal([PushState.Accepted, PushState.Accepted, PushState.Filtered], states.Select(s => s.State));
        Assert.Equal("device_quota", states[2].Reason);

        h.Time.Advance(TimeSpan.FromDays(1));
        var tomorrow = await h.Pipeline.SubmitAsync(Promo("promo-next-day"));
        await h.WaitForStateAsync(tomorrow.AcceptedPushIds[0], PushState.Accepted);
    }

    [Fact]
    public async Task MarketingCapPerUser_FilteredAtPolicy()
    {
        await using var h = await PushHarness.StartAsync(o =>
        {
            o.QuietHoursStart = o.QuietHoursEnd;
            o.MarketingDailyCapPerUser = 1;
        });
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-cap"));
        Assert.Single((await h.Pipeline.SubmitAsync(Promo("cap1"))).AcceptedPushIds);
        var second = await h.Pipeline.SubmitAsync(Promo("cap2"));
        Assert.Empty(second.AcceptedPushIds);
        Assert.Equal(1, second.Filtered["user_cap"]);
    }

    private static PushRequest Promo(string id) => new(id, "campaign", "system", "Parley", PushCategory.Marketing, "", [new PushRecipient("bob", 0)])
    {
        Templates = [new PushTemplate("t", "Sale", "Now")],
    };
}
