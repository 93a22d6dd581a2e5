using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Push.Internal;

namespace Parley.Push.Tests;

/// <summary>
/// Issue 17 (stop 41): a push id starts with 4 bytes of its message's keyed HMAC, and a message's pushes are journaled and
/// dispatched in push id order, so that the SQLite journal (keyed by push id) reads and writes a batch's rows on a few
/// pages instead of one random page per push. What must hold: ids stay stable and keyed, every push is sent once, and a
/// message journaled by an earlier build (ids without the prefix) keeps its ids when it is submitted again.
/// </summary>
public sealed class PushIdOrderTests
{
    [Fact]
    public async Task OneMessage_IdsShareTheMessagePrefix_ClaimedInPushIdOrder_EachSentOnce()
    {
        var log = new DispatchPipeliningTests.JournalLog();
        await using var h = await PushHarness.StartAsync(
            o =>
            {
                o.Workers = 4;
                o.DispatchBatch = 4; // one send loop of four: its claims are the lanes' order
            },
            s => DispatchPipeliningTests.JournalRecorder.Register(s, log));
        var recipients = new List<PushRecipient>();
        for (var i = 0; i < 12; i++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + i, "phone", PushVendor.Xiaomi, "regid-" + i));
            recipients.Add(new PushRecipient("u" + i, 1));
        }

        var r = await h.Pipeline.SubmitAsync(PushHarness.Im("m1", "c-m1", [.. recipients]));
        Assert.Equal(12, r.AcceptedPushIds.Count);
        foreach (var id in r.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        // The ids: 16 bytes as before (22 characters), the first 4 the message's, the rest each device's; keyed.
        var key = h.Services.GetRequiredService<PushIdKey>();
        var prefix = PushIds.MessagePrefix(key, "m1");
        var rows = r.Rows!.ToDictionary(x => x.PushId, x => x.UserId);
        foreach (var id in r.AcceptedPushIds)
        {
            Assert.Equal(22, id.Length);
            var bytes = PushIds.FromBase64Url(id);
            Assert.Equal(prefix, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
            Assert.Equal(PushIds.PushId(key, "m1", rows[id], "phone"), id);
        }

        Assert.Equal(12, r.AcceptedPushIds.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(recipients.Select(x => x.UserId).ToList(), r.AcceptedPushIds.Select(id => rows[id]).ToList()); // the result keeps the recipients' order

        // Claimed in push id order (journaled and queued sorted), each once, and each sent once.
        var claimed = log.Snapshot().SelectMany(c => c.Claims).ToList();
        Assert.Equal(r.AcceptedPushIds.Order(StringComparer.Ordinal).ToList(), claimed);
        Assert.Equal(12, h.Xiaomi.RequestsByPushId.Count);
        Assert.All(h.Xiaomi.RequestsByPushId, kv => Assert.Equal(1, kv.Value));

        // Another message: another prefix (a 2^-32 chance of the same one), so its rows are elsewhere in the key order.
        var other = await h.Pipeline.SubmitAsync(PushHarness.Im("m2", "c-m2", recipients[0]));
        Assert.NotEqual(prefix, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(PushIds.FromBase64Url(other.AcceptedPushIds.Single())));
    }

    [Fact]
    public async Task MessageJournaledWithLegacyIds_SubmittedAgain_KeepsItsIds_NothingSentTwice()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "phone", PushVendor.Xiaomi, "regid-phone"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "tablet", PushVendor.Xiaomi, "regid-tablet"));
        await h.Devices.UpsertAsync(PushHarness.Device("amy", "phone", PushVendor.Xiaomi, "regid-amy"));
        var key = h.Services.GetRequiredService<PushIdKey>();

        // What a build before stop 41 left: m1 journaled for bob's two devices under the ids without the message prefix, sent.
        var now = h.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var legacy = new[] { "phone", "tablet" }
            .Select(d => new PushRecord(PushIds.LegacyPushId(key, "m1", "bob", d), "m1", PushIds.TraceId("m1"), "bob", d, PushVendor.Xiaomi, PushCategory.Im, PushState.Accepted, "{}", now, now, 1, null, null, now, null, null))
            .ToArray();
        Assert.Equal(2, (await h.Journal.AppendAsync(legacy)).Count);

        // m1 again (a resumed page, a retried submit) after the upgrade: the same ids, already journaled, nothing new sent.
        var again = await h.Pipeline.SubmitAsync(PushHarness.Im("m1", "c-m1", new PushRecipient("bob", 1)));
        Assert.Empty(again.AcceptedPushIds);
        Assert.Equal(legacy.Select(x => x.PushId).Order(StringComparer.Ordinal).ToList(), again.Rows!.Select(x => x.PushId).Order(StringComparer.Ordinal).ToList());

        // A message first journaled now gets the prefixed ids and is sent; the legacy message's journal is untouched.
        var fresh = await h.Pipeline.SubmitAsync(PushHarness.Im("m2", "c-m2", new PushRecipient("bob", 1), new PushRecipient("amy", 1)));
        Assert.Equal(3, fresh.AcceptedPushIds.Count);
        foreach (var id in fresh.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
            Assert.Equal(PushIds.MessagePrefix(key, "m2"), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(PushIds.FromBase64Url(id)));
        }

        Assert.Equal(3, h.Xiaomi.RequestsByPushId.Count);
        Assert.DoesNotContain(h.Xiaomi.RequestsByPushId.Keys, id => legacy.Any(l => l.PushId == id));
        Assert.All(legacy, l => Assert.Equal(PushState.Accepted, h.Journal.GetAsync(l.PushId).Result!.State));
    }
}
