using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Super groups across nodes (ADR 0017): two real server processes on one PostgreSQL schema and one Redis (the
/// <see cref="ClusterHarness"/>), members online on both; each node's roster gets one broadcast per message. Every
/// member gets every message once and in seq order, and joins and removals reach the other node's roster.
/// </summary>
public sealed class SuperGroupClusterTests(ITestOutputHelper output) : ClusterTest("sgc", output)
{
    [ClusterFact]
    public async Task TwoNodes_MembersOnBoth_EveryMessageOnceInOrder_JoinsAndRemovalsReachTheOtherNodesRoster()
    {
        await Cluster.StartAsync(2);
        string[] users = ["owner", "ann", "ben", "cat", "dan", "eve"];
        foreach (var user in users)
        {
            await Cluster.CreateUserAsync(user);
        }

        // owner and ann on node 0; ben and cat on node 1; ann also has a second device on node 1. dan (node 0) and
        // eve (node 1) are online before they join.
        var owner = new Recorder(await ConnectAsync("owner", 0, "d1"));
        var ann = new Recorder(await ConnectAsync("ann", 0, "d1"));
        var ann2 = new Recorder(await ConnectAsync("ann", 1, "d2", Platform.Web));
        var ben = new Recorder(await ConnectAsync("ben", 1, "d1"));
        var cat = new Recorder(await ConnectAsync("cat", 1, "d1"));
        var dan = new Recorder(await ConnectAsync("dan", 0, "d1"));
        var eve = new Recorder(await ConnectAsync("eve", 1, "d1"));
        await WaitForMeshAsync(owner, ben);

        var group = await owner.Client.CreateGroupAsync(new CreateGroupRequest { Name = "across", Kind = GroupKind.Super, MemberIds = { "ann", "ben", "cat" } });
        var conversation = group.ConversationId;

        // Senders on both nodes at once.
        const int PerSender = 15;
        await Task.WhenAll(
            Task.Run(async () =>
            {
                for (var k = 0; k < PerSender; k++)
                {
                    await owner.Client.SendTextToConversationAsync(conversation, $"o-{k}");
                }
            }),
            Task.Run(async () =>
            {
                for (var k = 0; k < PerSender; k++)
                {
                    await ben.Client.SendTextToConversationAsync(conversation, $"b-{k}");
                }
            }));
        var stored = await SendBurst.ReadAllAsync(owner.Client, conversation);
        Assert.Equal(Enumerable.Range(1, (int)stored[^1].Seq).Select(i => (ulong)i), stored.Select(m => m.Seq));
        var members = new Dictionary<string, Recorder[]> { ["owner"] = [owner], ["ann"] = [ann, ann2], ["ben"] = [ben], ["cat"] = [cat] };
        foreach (var (user, devices) in members)
        {
            var expected = stored.Where(m => m.SenderId != user && m.Content.BodyCase == Content.BodyOneofCase.Text).Select(m => (m.Seq, m.ServerMsgId)).ToList();
            Assert.Equal(user is "owner" or "ben" ? PerSender : 2 * PerSender, expected.Count);
            foreach (var device in devices)
            {
                await Wait.UntilAsync(
                    () => expected.All(e => device.MessagesIn(conversation).Any(m => m.Seq == e.Seq)),
                    $"{user} ({device.Client.UserId}) to receive every message of the others live",
                    TimeSpan.FromSeconds(30));
                AssertOnceInOrder(device, conversation, expected);
            }
        }

        // dan (node 0) and eve (node 1) join: the next message reaches both live, and nothing from before their join.
        await owner.Client.InviteToGroupAsync(group.GroupId, ["dan", "eve"]);
        var afterJoin = await ben.Client.SendTextToConversationAsync(conversation, "welcome");
        foreach (var joined in new[] { dan, eve })
        {
            await Wait.UntilAsync(() => joined.MessagesIn(conversation).Any(m => m.Seq == afterJoin.Seq), $"{joined.Client.UserId} to receive the first message after joining live", TimeSpan.FromSeconds(30));
            Assert.DoesNotContain(joined.MessagesIn(conversation), m => m.Content.BodyCase == Content.BodyOneofCase.Text && m.Seq < afterJoin.Seq);
        }

        // cat (node 1) is removed by the owner on node 0: cat sees the removal notice and nothing after it, on node 1's
        // roster, while ben on the same node and dan on the other keep receiving.
        await owner.Client.KickMembersAsync(group.GroupId, ["cat"]);
        var removal = (await SendBurst.ReadAllAsync(owner.Client, conversation)).Last(m => m.Content.BodyCase == Content.BodyOneofCase.MembersRemoved);
        await Wait.UntilAsync(() => cat.MessagesIn(conversation).Any(m => m.Seq == removal.Seq), "cat to receive the removal notice", TimeSpan.FromSeconds(30));
        var afterKick = new List<ulong>();
        for (var k = 0; k < 5; k++)
        {
            afterKick.Add((await owner.Client.SendTextToConversationAsync(conversation, $"after-{k}")).Seq);
            afterKick.Add((await dan.Client.SendTextToConversationAsync(conversation, $"dan-{k}")).Seq);
        }

        foreach (var r in new[] { ben, eve, ann2 })
        {
            await Wait.UntilAsync(() => afterKick.All(s => r.MessagesIn(conversation).Any(m => m.Seq == s)), $"{r.Client.UserId} to receive the messages after the removal", TimeSpan.FromSeconds(30));
        }

        Assert.DoesNotContain(cat.MessagesIn(conversation), m => m.Seq > removal.Seq);
        var everything = await SendBurst.ReadAllAsync(owner.Client, conversation);
        foreach (var (r, user) in new[] { (ben, "ben"), (eve, "eve"), (dan, "dan"), (ann, "ann"), (ann2, "ann") })
        {
            var expected = everything.Where(m => m.SenderId != user && m.Content.BodyCase == Content.BodyOneofCase.Text && m.Seq > (user is "dan" or "eve" ? afterJoin.Seq - 1 : 0)).Select(m => (m.Seq, m.ServerMsgId)).ToList();
            await Wait.UntilAsync(() => expected.All(e => r.MessagesIn(conversation).Any(m => m.Seq == e.Seq)), $"{user} ({r.Client.UserId}) to have every message", TimeSpan.FromSeconds(30));
            AssertOnceInOrder(r, conversation, expected);
        }
    }

    // Every expected message exactly once, and the live messages in ascending seq order.
    private static void AssertOnceInOrder(Recorder recorder, string conversation, List<(ulong Seq, string ServerMsgId)> expected)
    {
        var live = recorder.MessagesIn(conversation).Where(m => m.Content.BodyCase == Content.BodyOneofCase.Text && m.SenderId != recorder.Client.UserId).ToList();
        var seqs = live.Select(m => m.Seq).ToList();
        Assert.Equal(seqs.Distinct().Count(), seqs.Count);
        Assert.Equal(seqs.Order(), seqs);
        foreach (var (seq, id) in expected)
        {
            Assert.Equal(id, live.Single(m => m.Seq == seq).ServerMsgId);
        }
    }

    // The nodes forward to each other: typing in an ordinary group reaches the other node (retried until it does).
    private static async Task WaitForMeshAsync(Recorder a, Recorder b)
    {
        var probe = await a.Client.CreateGroupAsync("mesh", [b.Client.UserId!]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(a.Typing.Any(t => t.ConversationId == probe.ConversationId) && b.Typing.Any(t => t.ConversationId == probe.ConversationId)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the nodes did not reach each other within 30 s");
            await a.Client.SetTypingAsync(probe.ConversationId, true);
            await b.Client.SetTypingAsync(probe.ConversationId, true);
            await Task.Delay(300);
        }
    }

    private Task<ParleyClient> ConnectAsync(string userId, int node, string deviceId, Platform platform = Platform.Linux) => Cluster.ConnectAsync(userId, node, deviceId, platform);
}
