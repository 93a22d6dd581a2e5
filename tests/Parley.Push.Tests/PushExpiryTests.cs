using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Parley.Abstractions.Push;

namespace Parley.Push.Tests;

/// <summary>
/// A push's expiry is its time to live at the vendor: each adapter hands the vendor the time left until then (in the
/// vendor's unit, within its range), never a fixed lifetime past it; a push already expired is not sent at all.
/// </summary>
public sealed class PushExpiryTests
{
    private static readonly long StartMs = PushHarness.Start.ToUnixTimeMilliseconds();

    [Fact]
    public async Task Xiaomi_TimeToLive_IsTheTimeLeftUntilTheExpiry_InMilliseconds()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "redmi", PushVendor.Xiaomi, "xm-bob"));
        await h.Devices.UpsertAsync(PushHarness.Device("carol", "redmi", PushVendor.Xiaomi, "xm-carol"));
        await h.Devices.UpsertAsync(PushHarness.Device("dave", "redmi", PushVendor.Xiaomi, "xm-dave"));
        await h.Devices.UpsertAsync(PushHarness.Device("erin", "redmi", PushVendor.Xiaomi, "xm-erin"));

        // Two hours (and a half second, cut to whole seconds) left; past the IM default of a day; none; already gone.
        var twoHours = await SubmitAsync(h, "m-2h", "c", "bob", StartMs + 7_200_500);
        var tenDays = await SubmitAsync(h, "m-10d", "c", "carol", StartMs + (10 * 86_400_000L));
        var none = await SubmitAsync(h, "m-none", "c", "dave", null);
        var expired = await SubmitAsync(h, "m-gone", "c", "erin", StartMs - 1);

        Assert.Equal(7_200_000, TimeToLive(h, await h.WaitForStateAsync(twoHours, PushState.Accepted)));
        Assert.Equal(86_400_000, TimeToLive(h, await h.WaitForStateAsync(tenDays, PushState.Accepted)));
        Assert.Equal(86_400_000, TimeToLive(h, await h.WaitForStateAsync(none, PushState.Accepted)));
        var gone = await h.WaitForStateAsync(expired, PushState.Filtered);
        Assert.Equal("expired", gone.Reason);
        Assert.False(h.Xiaomi.RequestsByPushId.ContainsKey(expired), "an expired push is not sent");
        Assert.Equal(3, h.Xiaomi.Requests.Count);
    }

    [Fact]
    public async Task Vivo_TimeToLive_IsTheTimeLeftUntilTheExpiry_WithinVivosSixtySecondsToSevenDays()
    {
        await using var h = await PushHarness.StartAsync();
        foreach (var user in new[] { "bob", "carol", "dave", "erin" })
        {
            await h.Devices.UpsertAsync(PushHarness.Device(user, "x9", PushVendor.Vivo, "vivo-" + user));
        }

        // Two hours left; 30 s left (vivo keeps a message 60 s at least); none (IM: a day); already gone.
        var twoHours = await SubmitAsync(h, "v-2h", "c", "bob", StartMs + 7_200_500);
        var halfMinute = await SubmitAsync(h, "v-30s", "c", "carol", StartMs + 30_000);
        var none = await SubmitAsync(h, "v-none", "c", "dave", null);
        var expired = await SubmitAsync(h, "v-gone", "c", "erin", StartMs - 1);

        long TimeToLive(PushRecord row) => JsonNode.Parse(h.Vivo.Requests.Single(r => r.PushId == row.PushId).Body)!["timeToLive"]!.GetValue<long>();
        Assert.Equal(7_200, TimeToLive(await h.WaitForStateAsync(twoHours, PushState.Accepted)));
        Assert.Equal(60, TimeToLive(await h.WaitForStateAsync(halfMinute, PushState.Accepted)));
        Assert.Equal(86_400, TimeToLive(await h.WaitForStateAsync(none, PushState.Accepted)));
        Assert.Equal("expired", (await h.WaitForStateAsync(expired, PushState.Filtered)).Reason);
        Assert.False(h.Vivo.RequestsByPushId.ContainsKey(expired), "an expired push is not sent");
    }

    private static async Task<string> SubmitAsync(PushHarness h, string messageId, string conversation, string user, long? expiresAt)
    {
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im(messageId, conversation, new PushRecipient(user, 1)) with { ExpiresAt = expiresAt });
        return Assert.Single(result.AcceptedPushIds);
    }

    private static long TimeToLive(PushHarness h, PushRecord row)
    {
        var form = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(h.Xiaomi.Requests.Single(r => r.PushId == row.PushId).Body));
        return long.Parse(form["time_to_live"]!, CultureInfo.InvariantCulture);
    }
}
