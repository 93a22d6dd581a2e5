using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Push.Internal;

namespace Parley.Push.Tests;

/// <summary>
/// Issue 17 (stop 41): <see cref="PushPipeline.SubmitManyAsync"/> journals several messages' pushes in one append (one
/// SQLite transaction instead of one per message, for 1:1 traffic), and each message keeps its own result, ids and sends.
/// The kill -9 side is <see cref="CrashRecoveryTests"/>' grouped burst.
/// </summary>
public sealed class GroupSubmitTests
{
    [Fact]
    public async Task SubmitMany_OneAppendForTheGroup_EachMessageItsOwnResult_TheSameMessageTwiceSentOnce()
    {
        var log = new DispatchPipeliningTests.JournalLog();
        await using var h = await PushHarness.StartAsync(
            null,
            s => DispatchPipeliningTests.JournalRecorder.Register(s, log));
        await h.Devices.UpsertAsync(PushHarness.Device("amy", "phone", PushVendor.Xiaomi, "regid-amy"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "phone", PushVendor.Xiaomi, "regid-bob-phone"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "tablet", PushVendor.Xiaomi, "regid-bob-tablet"));

        // Ten 1:1 messages (amy's 1 device, bob's 2), then m3's push ids planned again in the same group (m3 under another
        // conversation id, so that it is not coalesced into a digest as a resubmission in m3's own conversation would be).
        var requests = Enumerable.Range(0, 10)
            .Select(i => PushHarness.Im("m" + i, "c-" + i, new PushRecipient(i % 2 == 0 ? "amy" : "bob", 1)))
            .Append(PushHarness.Im("m3", "c-3-again", new PushRecipient("bob", 1)))
            .ToList();
        log.ClearAppends();

        var results = await h.Pipeline.SubmitManyAsync(requests);

        Assert.Equal([15 + 2], log.Appends()); // one append: 5 x 1 + 5 x 2 rows, and m3's two again (journaled once)

        Assert.Equal(11, results.Count);
        var key = h.Services.GetRequiredService<PushIdKey>();
        for (var i = 0; i < 10; i++)
        {
            var user = i % 2 == 0 ? "amy" : "bob";
            var devices = i % 2 == 0 ? new[] { "phone" } : ["phone", "tablet"];
            Assert.Equal(devices.Length, results[i].Planned);
            Assert.Equal(devices.Select(d => PushIds.PushId(key, "m" + i, user, d)).ToList(), results[i].AcceptedPushIds);
        }

        Assert.Equal(2, results[10].Planned);
        Assert.Empty(results[10].AcceptedPushIds); // the first m3 journaled and queued them

        var accepted = results.SelectMany(r => r.AcceptedPushIds).ToList();
        Assert.Equal(15, accepted.Count);
        foreach (var id in accepted)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        Assert.Equal(15, h.Xiaomi.RequestsByPushId.Count);
        Assert.All(h.Xiaomi.RequestsByPushId, kv => Assert.Equal(1, kv.Value));

        // One request through SubmitAsync is a group of one: the same result as before.
        var one = await h.Pipeline.SubmitAsync(PushHarness.Im("m10", "c-10", new PushRecipient("bob", 1)));
        Assert.Equal(["phone", "tablet"], one.AcceptedPushIds.Select(id => one.Rows!.Single(r => r.PushId == id).DeviceId).ToList());
        Assert.Equal([17, 2], log.Appends());
    }

    [Fact]
    public async Task SubmitMany_MorePushesThanTheLaneHolds_SplitsTheGroup_NoWaitOnItself()
    {
        var log = new DispatchPipeliningTests.JournalLog();
        await using var h = await PushHarness.StartAsync(o => o.ImLaneCapacity = 4, s => DispatchPipeliningTests.JournalRecorder.Register(s, log));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "phone", PushVendor.Xiaomi, "regid-bob-phone"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "tablet", PushVendor.Xiaomi, "regid-bob-tablet"));
        log.ClearAppends();

        // Three messages of 2 pushes each into an IM lane of 4: one group would hold 4 slots until its append and wait for
        // a fifth that only its own queueing could free. The third message starts the next group, which waits for slots as a
        // single submit does.
        var results = await h.Pipeline.SubmitManyAsync([.. Enumerable.Range(0, 3).Select(i => PushHarness.Im("m" + i, "c-" + i, new PushRecipient("bob", 1)))])
            .WaitAsync(TimeSpan.FromSeconds(30)); // a group waiting on itself never returns; 30 s is a wide margin for 6 pushes

        Assert.All(results, r => Assert.Equal(2, r.AcceptedPushIds.Count));
        Assert.Equal([4, 2], log.Appends()); // m0 and m1 (the lane's 4 slots), then m2
        foreach (var id in results.SelectMany(r => r.AcceptedPushIds))
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        Assert.Equal(6, h.Xiaomi.RequestsByPushId.Count);
        Assert.All(h.Xiaomi.RequestsByPushId, kv => Assert.Equal(1, kv.Value));
    }
}
