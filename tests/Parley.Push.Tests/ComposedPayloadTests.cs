using System.Text;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Pipeline;
using Parley.Push.Tests.Simulators;
using Parley.Push.Vendors.Xiaomi;

namespace Parley.Push.Tests;

/// <summary>
/// Issue 17, stop 46: the dispatch sends the notification composed at submit (kept with the row) instead of parsing the
/// journal's payload back. What the vendor gets must be what the journal holds, and a payload changed in the journal
/// after submit must be the one sent.
/// </summary>
public sealed class ComposedPayloadTests
{
    [Fact]
    public async Task ImmediatePushes_VendorGetsTheJournaledPayloadByteForByte_WithAndWithoutExpiry()
    {
        await using var h = await PushHarness.StartAsync();
        var device = PushHarness.Device("bob", "redmi", PushVendor.Xiaomi, "xm-regid-composed");
        await h.Devices.UpsertAsync(device);
        var nowMs = h.Time.GetUtcNow().ToUnixTimeMilliseconds();

        var plain = await h.Pipeline.SubmitAsync(PushHarness.Im("m-plain", "c-plain", new PushRecipient("bob", 4)));
        var expiring = await h.Pipeline.SubmitAsync(PushHarness.Im("m-exp", "c-exp", new PushRecipient("bob", 5)) with { ExpiresAt = nowMs + 3_600_500 });

        using var adapter = new XiaomiAdapter(
            Options.Create(new XiaomiOptions { BaseUri = h.Xiaomi.BaseUri, AppSecret = XiaomiSimulator.Secret, PackageName = XiaomiSimulator.Package }),
            TimeProvider.System);
        foreach (var id in plain.AcceptedPushIds.Concat(expiring.AcceptedPushIds))
        {
            var row = await h.WaitForStateAsync(id, PushState.Accepted);
            var parsed = PushPipeline.Deserialize(row.Payload)!;
            if (parsed.ExpiresAt is { } expiresAt)
            {
                parsed = parsed with { TtlSeconds = Math.Max(1, (expiresAt - nowMs) / 1000) }; // the manual clock did not move
            }

            using var expected = adapter.Body(device, parsed);
            var sent = h.Xiaomi.Requests.Single(r => r.PushId == id && r.Status == 200);
            Assert.Equal(Encoding.UTF8.GetString(expected.Written), Encoding.UTF8.GetString(sent.Body));
        }

        Assert.Equal(2, h.Xiaomi.AcceptedCount);
        Assert.Contains("time_to_live=3600000", Encoding.UTF8.GetString(h.Xiaomi.Requests.Single(r => r.PushId == expiring.AcceptedPushIds[0]).Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeldPush_PayloadChangedInTheJournal_TheChangedOneIsSent()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Xiaomi, "xm-bob-night", timeZone: "Asia/Shanghai"));
        h.Time.Advance(TimeSpan.FromHours(3)); // 15:00 UTC = 23:00 in Shanghai: marketing waits for the morning

        var promo = await h.Pipeline.SubmitAsync(new PushRequest("n-promo", "campaign", "system", "Parley", PushCategory.Marketing, "", [new PushRecipient("bob", 1)])
        {
            Templates = [new PushTemplate("t", "Sale", "Now")],
        });
        var id = Assert.Single(promo.AcceptedPushIds);
        var pending = await h.Journal.GetAsync(id);
        Assert.Equal((PushState.Pending, "quiet_hours"), (pending!.State, pending.Reason));
        var original = PushPipeline.Deserialize(pending.Payload)!;
        Assert.Equal("Sale", original.Title);

        // The row the scheduler holds was composed with "Sale"; the journal's row now says otherwise.
        Assert.True(await h.Journal.UpdatePendingAsync(id, PushPipeline.Serialize(original with { Title = "Changed" }), pending.NotBefore));

        h.Time.Advance(TimeSpan.FromHours(9)); // 08:00 Shanghai
        await h.WaitForStateAsync(id, PushState.Accepted);
        var form = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(h.Xiaomi.Requests.Single(r => r.PushId == id && r.Status == 200).Body));
        Assert.Equal("Changed", form["title"]);
    }

    [Fact]
    public void ComposedPayload_IsOutsideTheRowsValue_AndServesOnlyItsOwnString()
    {
        var json = "{\"pushId\":\"p1\"}";
        var value = new object();
        var row = new PushRecord("p1", "m1", "t1", "u1", "d1", PushVendor.Xiaomi, PushCategory.Im, PushState.Pending, json, 1, 1, 0, null, null, null, null, null);
        var carried = row with { Composed = new ComposedPayload(json, value) };

        Assert.Equal(row, carried);
        Assert.Equal(row.GetHashCode(), carried.GetHashCode());
        Assert.Equal(row.ToString(), carried.ToString()); // nothing of the composed object printed
        Assert.Same(value, carried.Composed.For<object>(json));
        Assert.Null(carried.Composed.For<object>(new string(json.AsSpan()))); // an equal string read back from a store is not the same payload
        Assert.Null((carried with { Payload = "{}" }).Composed.For<object>("{}"));
        Assert.Null(row.Composed.For<object>(json));
    }
}
