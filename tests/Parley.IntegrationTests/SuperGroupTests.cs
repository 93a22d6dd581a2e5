using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// Super groups at scale (ADR 0017): a 100,000-member group built through the admin bulk API on a SQLite temp file, with
/// real clients online over real sockets.
/// </summary>
public sealed class SuperGroupTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    private const int Imported = 100_000;

    private TestServer Server => fixture.Server;

    [Fact]
    public async Task HundredThousandMembers_BulkImport_LiveSendReadUnreadKickAndNewcomerHistory()
    {
        var clock = Stopwatch.StartNew();
        var owner = await Server.CreateUserAsync("own");
        var online = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            online.Add(await Server.CreateUserAsync("on" + i));
        }

        // The imported members are accounts created in the store (an account import is not what this test is about).
        var prefix = "m" + Guid.NewGuid().ToString("N")[..6] + "-";
        var imported = Enumerable.Range(0, Imported).Select(i => $"{prefix}{i:D6}").ToArray();
        var accounts = Server.Services.GetRequiredService<IAccountStore>();
        await Parallel.ForEachAsync(imported, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (id, ct) =>
            Assert.True(await accounts.CreateUserAsync(new UserRecord(id, id, "", "{}", 1, 1), ct)));
        output.WriteLine($"accounts: {clock.Elapsed}");

        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "everyone", Kind = GroupKind.Super, MemberIds = { online } });
        var a = await RecordAsync(online[0]);
        var b = await RecordAsync(online[1]);
        var kicked = await RecordAsync(online[2]);
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "before the import");

        var started = await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = imported });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var job = (await started.Content.ReadFromJsonAsync<JobBody>())!;
        await Wait.UntilAsync(
            () => (job = Server.Admin.GetFromJsonAsync<JobBody>($"/admin/v1/groups/jobs/{job.JobId}").GetAwaiter().GetResult()!).State != "running",
            () => $"the bulk import finishes (job after {clock.Elapsed.TotalSeconds:0} s: {job})",
            TimeSpan.FromSeconds(180));
        output.WriteLine($"import: {clock.Elapsed}");
        Assert.Equal(("completed", Imported, Imported, Imported), (job.State, job.Total, job.Processed, job.Changed));
        var info = Assert.Single(await ownerClient.GetGroupsAsync([group.GroupId]));
        Assert.Equal((GroupKind.Super, (uint)(Imported + 5)), (info.Kind, info.MemberCount));

        // Submitting the same import again changes nothing.
        var again = (await (await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = imported[..2500] })).Content.ReadFromJsonAsync<JobBody>())!;
        await Wait.UntilAsync(
            () => (again = Server.Admin.GetFromJsonAsync<JobBody>($"/admin/v1/groups/jobs/{again.JobId}").GetAwaiter().GetResult()!).State != "running",
            () => $"the repeated import finishes (job: {again})");
        Assert.Equal(("completed", 0), (again.State, again.Changed));

        // Live: every online member gets every message, gapless, in the same order.
        for (var i = 0; i < 3; i++)
        {
            await ownerClient.SendTextToConversationAsync(group.ConversationId, "hello " + i);
        }

        var max = (await ownerClient.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 1)).Messages[^1].Seq;
        foreach (var r in new[] { a, b, kicked })
        {
            await r.WaitForMessagesAsync(group.ConversationId, (int)max);
            var seqs = r.MessagesIn(group.ConversationId).Select(m => m.Seq).ToArray();
            Assert.True(
                seqs.SequenceEqual(Enumerable.Range(1, (int)max).Select(i => (ulong)i)),
                $"{r.Client.UserId} should have seqs 1..{max} once each, in order: {r.Describe(group.ConversationId)}");
        }

        // Unread is computed: max seq − read seq; reading clears it, a new message makes it one.
        Assert.Equal(max, await UnreadAsync(b.Client, group.ConversationId));
        await b.Client.MarkReadAsync(group.ConversationId, max);
        Assert.Equal(0UL, await UnreadAsync(b.Client, group.ConversationId));
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "one more");
        await b.WaitForMessagesAsync(group.ConversationId, (int)max + 1);
        Assert.Equal(1UL, await UnreadAsync(b.Client, group.ConversationId));
        Assert.Equal(0UL, await UnreadAsync(ownerClient, group.ConversationId));

        // Kick: the removed member gets the removal notice and nothing after it, live or by history.
        await ownerClient.KickMembersAsync(group.GroupId, [online[2]]);
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "after the kick");
        await Wait.UntilAsync(
            () => a.MessagesIn(group.ConversationId).Any(m => m.Content.Text?.Text == "after the kick"),
            () => $"a member gets the message after the kick ({a.Describe(group.ConversationId)})");
        var removal = kicked.MessagesIn(group.ConversationId)[^1];
        Assert.True(
            removal.Content.BodyCase == Content.BodyOneofCase.MembersRemoved,
            $"the kicked member's last message should be its removal notice, was seq {removal.Seq} {removal.Content.BodyCase} ({kicked.Describe(group.ConversationId)})");
        Assert.Empty((await kicked.Client.GetHistoryAsync(group.ConversationId, removal.Seq + 1, Direction.Forward, 50)).Messages);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => kicked.Client.SendTextToConversationAsync(group.ConversationId, "x"))).Code);

        // A newcomer of the import (never connected before): the group is in its sync, history starts at its join.
        var newcomerId = imported[Imported / 2];
        var newcomer = await RecordAsync(newcomerId);
        var synced = newcomer.MessagesIn(group.ConversationId);
        Assert.True(synced.Count > 0, $"the newcomer's first sync should bring the group ({newcomer.Describe(group.ConversationId)}; syncs: {newcomer.Syncs.Count})");
        var history = await newcomer.Client.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 200);
        Assert.DoesNotContain(history.Messages, m => m.Content.Text?.Text == "before the import");
        Assert.Contains(history.Messages, m => m.Content.Text?.Text == "after the kick");
        var joinSeq = history.Messages[0].Seq;
        Assert.True(
            history.Messages[0].Content.BodyCase == Content.BodyOneofCase.MembersAdded && history.Messages[0].Content.MembersAdded.Count == 1000U,
            $"the newcomer's history should start at its chunk's notice (1000 added), starts with seq {joinSeq} {history.Messages[0].Content.BodyCase} "
            + $"count {history.Messages[0].Content.MembersAdded?.Count}; {history.Messages.Count} messages");
        Assert.DoesNotContain((await newcomer.Client.GetHistoryAsync(group.ConversationId, 1, Direction.Forward, 50)).Messages, m => m.Seq < joinSeq);
        var lastSeq = history.Messages[^1].Seq;
        Assert.Equal(lastSeq - joinSeq + 1, await UnreadAsync(newcomer.Client, group.ConversationId));
        await newcomer.Client.SendTextToConversationAsync(group.ConversationId, "hi from the crowd");
        await Wait.UntilAsync(
            () => a.MessagesIn(group.ConversationId).Any(m => m.Content.Text?.Text == "hi from the crowd"),
            () => $"the newcomer's message reaches the others ({a.Describe(group.ConversationId)})");

        // Members: paged and searched from the store, roles without the roster.
        var page = await newcomer.Client.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId, Query = prefix + "0500", Limit = 30 });
        Assert.Equal(100U, page.Total);
        Assert.Equal(30, page.Members.Count);
        var next = await newcomer.Client.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId, Query = prefix + "0500", Limit = 30, AfterUserId = page.NextAfterUserId });
        Assert.True(string.CompareOrdinal(next.Members[0].UserId, page.Members[^1].UserId) > 0);
        var admins = await a.Client.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId, MinRole = GroupRole.Admin });
        Assert.Equal([owner], admins.Members.Select(m => m.UserId));
        Assert.Equal((uint)(Imported + 4), (await a.Client.GetMembersAsync(group.GroupId, 0, 10)).Total);
        // Offset paging (older clients, the OpenIM edge) reads one page from the store, ordered by user id.
        Assert.Equal(imported[50_000..50_003], (await a.Client.GetMembersAsync(group.GroupId, 50_000, 3)).Members.Select(m => m.UserId));
        Assert.Equal(ErrorCode.Unsupported, (await Assert.ThrowsAsync<ParleyException>(() => a.Client.SyncMembersAsync(group.GroupId, 0))).Code);
        output.WriteLine($"total: {clock.Elapsed}");
    }

    [Fact]
    public async Task Channel_OnlyAdminsPost_Promotion_KeepsHistoryAndDeliversThroughTheRosters()
    {
        var owner = await Server.CreateUserAsync("own");
        var member = await Server.CreateUserAsync("mem");
        var ownerClient = await Server.ConnectAsync(owner);
        var channel = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "news", Kind = GroupKind.Channel, MemberIds = { member } });
        var reader = await RecordAsync(member);
        await ownerClient.SendTextToConversationAsync(channel.ConversationId, "headline");
        await reader.WaitForMessagesAsync(channel.ConversationId, 2);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => reader.Client.SendTextToConversationAsync(channel.ConversationId, "me too"))).Code);
        await ownerClient.SetMemberRoleAsync(channel.GroupId, member, GroupRole.Admin);
        await reader.Client.SendTextToConversationAsync(channel.ConversationId, "now I may");

        // Promotion of an ordinary group: the connected members keep getting messages, now through the rosters.
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "grows", MemberIds = { member } });
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "small talk");
        Assert.Equal(HttpStatusCode.Conflict, (await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = new[] { owner } })).StatusCode);
        var promoted = await Server.Admin.PostAsync($"/admin/v1/groups/{group.GroupId}/promote", null);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Server.Admin.PostAsync($"/admin/v1/groups/{group.GroupId}/promote", null)).StatusCode);
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "big talk");
        await reader.WaitForMessagesAsync(group.ConversationId, 4);
        Assert.Equal(
            [Content.BodyOneofCase.GroupCreated, Content.BodyOneofCase.Text, Content.BodyOneofCase.GroupInfoChanged, Content.BodyOneofCase.Text],
            reader.MessagesIn(group.ConversationId).Select(m => m.Content.BodyCase));
        Assert.Equal(GroupKind.Super, reader.MessagesIn(group.ConversationId)[2].Content.GroupInfoChanged.Changed.Kind);
        Assert.Equal(GroupKind.Super, Assert.Single(await ownerClient.GetGroupsAsync([group.GroupId])).Kind);

        // A reconnecting member resumes from its cursor: the super group that advanced comes back, nothing twice.
        var state = new InMemoryParleyClientState();
        var resumer = new Recorder(await Server.CreateClientAsync(member, "d2", Platform.Linux, state));
        await resumer.Client.ConnectAsync();
        await resumer.WaitForMessagesAsync(group.ConversationId, 4);
        await resumer.Client.DisposeAsync();
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "while away");
        var back = new Recorder(await Server.CreateClientAsync(member, "d2", Platform.Linux, state));
        await back.Client.ConnectAsync();
        await back.WaitForMessagesAsync(group.ConversationId, 1);
        Assert.Equal(["while away"], back.MessagesIn(group.ConversationId).Select(m => m.Content.Text.Text));
    }

    [Fact]
    public async Task AutomaticPromotion_AnOrdinaryGroupPassingTheThreshold_BecomesSuper_AndKeepsDelivering()
    {
        // Parley:Messaging:SuperGroupPromotionThreshold = 3: a group of 3 stays ordinary, the admission of a 4th promotes it.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Messaging:SuperGroupPromotionThreshold"] = "3" });
        var owner = await server.CreateUserAsync("own");
        var a = await server.CreateUserAsync("a");
        var b = await server.CreateUserAsync("b");
        var c = await server.CreateUserAsync("c");
        var ownerClient = await server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "grows", MemberIds = { a, b } });
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "small talk");
        Assert.Equal(GroupKind.Normal, Assert.Single(await ownerClient.GetGroupsAsync([group.GroupId])).Kind);

        await ownerClient.InviteToGroupAsync(group.GroupId, [c]);
        await Wait.UntilAsync(
            () => ownerClient.GetGroupsAsync([group.GroupId]).GetAwaiter().GetResult().Single().Kind == GroupKind.Super,
            "the group to be promoted once it passed 3 members");

        // The newcomer and an earlier member get what is sent after the promotion, through the rosters.
        var newcomer = new Recorder(await server.CreateClientAsync(c));
        await newcomer.Client.ConnectAsync();
        var earlier = new Recorder(await server.CreateClientAsync(a));
        await earlier.Client.ConnectAsync();
        var big = await ownerClient.SendTextToConversationAsync(group.ConversationId, "big talk");
        await Wait.UntilAsync(() => newcomer.MessagesIn(group.ConversationId).Any(m => m.Seq == big.Seq), "the newcomer to get the message sent after the promotion");
        await Wait.UntilAsync(() => earlier.MessagesIn(group.ConversationId).Any(m => m.Seq == big.Seq), "an earlier member to get it");
        Assert.Equal("big talk", newcomer.MessagesIn(group.ConversationId).Single(m => m.Seq == big.Seq).Content.Text.Text);
        Assert.Contains(earlier.MessagesIn(group.ConversationId), m => m.Content.Text?.Text == "small talk");
    }

    [Fact]
    public async Task MemberNoticesAsEvents_JoinKickAndBulk_WriteNoMessage_AndTheEventReachesTheModesAudience()
    {
        var owner = await Server.CreateUserAsync("own");
        var admin = await Server.CreateUserAsync("adm");
        var plain = await Server.CreateUserAsync("pln");
        var joiner = await Server.CreateUserAsync("jnr");
        var ownerRec = await RecordAsync(owner);
        var group = await ownerRec.Client.CreateGroupAsync(new CreateGroupRequest { Name = "quiet", Kind = GroupKind.Super, MemberIds = { admin, plain } });
        await ownerRec.Client.SetMemberRoleAsync(group.GroupId, admin, GroupRole.Admin);
        var adminRec = await RecordAsync(admin);
        var plainRec = await RecordAsync(plain);
        var joinerRec = await RecordAsync(joiner);
        var events = new Dictionary<string, ConcurrentQueue<GroupMembershipChangedEventArgs>>();
        foreach (var (id, recorder) in new[] { (owner, ownerRec), (admin, adminRec), (plain, plainRec), (joiner, joinerRec) })
        {
            var queue = events[id] = new ConcurrentQueue<GroupMembershipChangedEventArgs>();
            recorder.Client.GroupMembershipChanged += (_, e) => queue.Enqueue(e);
        }

        string Seen(string id) => string.Join("; ", events[id].Select(e => $"{(e.Added ? "+" : "-")}[{string.Join(",", e.Added ? e.Membership.Added.UserIds : e.Membership.Removed.UserIds)}] count {e.Membership.MemberCount}"));

        // Only an owner or admin sets it, only for a super group.
        var normal = await ownerRec.Client.CreateGroupAsync(new CreateGroupRequest { Name = "small", MemberIds = { plain } });
        var eventsMode = new GroupSettings { MemberNotices = MemberNotices.Events };
        Assert.Equal(ErrorCode.Unsupported, (await Assert.ThrowsAsync<ParleyException>(() => ownerRec.Client.UpdateGroupAsync(normal.GroupId, eventsMode))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => plainRec.Client.UpdateGroupAsync(group.GroupId, eventsMode))).Code);
        Assert.Equal(MemberNotices.Events, (await ownerRec.Client.UpdateGroupAsync(group.GroupId, eventsMode)).MemberNotices);
        await ownerRec.Client.SendTextToConversationAsync(group.ConversationId, "before");
        var before = await MaxSeqAsync(ownerRec.Client, group.ConversationId);

        // Events: a join writes no message; the online members see the event (the joining connection has its answer).
        Assert.True(await joinerRec.Client.JoinGroupAsync(group.GroupId));
        foreach (var id in new[] { owner, admin, plain })
        {
            await Wait.UntilAsync(() => events[id].Any(e => e.Added && e.Membership.Added.UserIds.Contains(joiner)), () => $"{id} sees the join (saw: {Seen(id)})");
        }

        var join = events[plain].Single(e => e.Added);
        Assert.Equal((group.ConversationId, group.GroupId, 4U, (ulong)before), (join.Membership.ConversationId, join.Membership.GroupId, join.Membership.MemberCount, join.Membership.MaxSeq));
        Assert.False(join.AboutMe);
        Assert.Empty(events[joiner]);
        Assert.Equal(before, await MaxSeqAsync(ownerRec.Client, group.ConversationId));
        await ownerRec.Client.SendTextToConversationAsync(group.ConversationId, "welcome");
        await joinerRec.WaitForMessagesAsync(group.ConversationId, 1);
        Assert.Equal(["welcome"], joinerRec.MessagesIn(group.ConversationId).Select(m => m.Content.Text?.Text));
        Assert.Equal(before + 1, joinerRec.MessagesIn(group.ConversationId)[0].Seq);
        Assert.Equal(["welcome"], (await joinerRec.Client.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 50)).Messages.Select(m => m.Content.Text?.Text));
        Assert.Equal(1UL, await UnreadAsync(joinerRec.Client, group.ConversationId));

        // Admin events (through the admin API): a kick reaches the kicked member and the admin, not the plain member (nor
        // the owner's connection that kicked).
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.PutAsJsonAsync($"/admin/v1/groups/{group.GroupId}/member-notices", new { mode = "loud" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Server.Admin.PutAsJsonAsync($"/admin/v1/groups/{group.GroupId}/member-notices", new { mode = "admin-events" })).StatusCode);
        Assert.Equal(MemberNotices.AdminEvents, Assert.Single(await plainRec.Client.GetGroupsAsync([group.GroupId])).MemberNotices);
        var lastSeen = await MaxSeqAsync(ownerRec.Client, group.ConversationId);
        await joinerRec.WaitForMessagesAsync(group.ConversationId, (int)(lastSeen - before));
        await ownerRec.Client.KickMembersAsync(group.GroupId, [joiner]);
        foreach (var id in new[] { admin, joiner })
        {
            await Wait.UntilAsync(() => events[id].Any(e => !e.Added && e.Membership.Removed.UserIds.Contains(joiner)), () => $"{id} sees the kick (saw: {Seen(id)})");
        }

        Assert.True(events[joiner].Single(e => !e.Added).AboutMe);
        var kick = events[admin].Single(e => !e.Added).Membership;
        Assert.Equal((false, owner, 3U, (ulong)lastSeen), (kick.Removed.Quit, kick.Removed.OperatorId, kick.MemberCount, kick.MaxSeq));
        await ownerRec.Client.SendTextToConversationAsync(group.ConversationId, "after the kick");
        await Wait.UntilAsync(() => plainRec.MessagesIn(group.ConversationId).Any(m => m.Content.Text?.Text == "after the kick"), "the plain member gets the message after the kick");
        Assert.DoesNotContain(events[plain], e => !e.Added);
        Assert.DoesNotContain(events[owner], e => !e.Added);
        Assert.DoesNotContain(joinerRec.MessagesIn(group.ConversationId), m => m.Seq > (ulong)lastSeen);
        Assert.All((await joinerRec.Client.GetHistoryAsync(group.ConversationId, 1, Direction.Forward, 50)).Messages, m => Assert.InRange(m.Seq, (ulong)before + 1, (ulong)lastSeen));
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => joinerRec.Client.SendTextToConversationAsync(group.ConversationId, "x"))).Code);

        // A bulk import writes no summary notice either: the owner and the admin see one event with the count.
        string[] crowd = [await Server.CreateUserAsync("c0"), await Server.CreateUserAsync("c1"), await Server.CreateUserAsync("c2")];
        var maxBeforeBulk = await MaxSeqAsync(ownerRec.Client, group.ConversationId);
        var started = await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = crowd });
        var job = (await started.Content.ReadFromJsonAsync<JobBody>())!;
        await Wait.UntilAsync(
            () => (job = Server.Admin.GetFromJsonAsync<JobBody>($"/admin/v1/groups/jobs/{job.JobId}").GetAwaiter().GetResult()!).State != "running",
            () => $"the bulk job finishes (last seen: {job})");
        Assert.Equal(("completed", 3), (job.State, job.Changed));
        await Wait.UntilAsync(() => events[admin].Any(e => e.Added && e.Membership.Added.Count == 3), () => $"the admin sees the bulk add (saw: {Seen(admin)})");
        Assert.Equal(6U, events[admin].Single(e => e.Added && e.Membership.Added.Count == 3).Membership.MemberCount);
        Assert.Equal(maxBeforeBulk, await MaxSeqAsync(ownerRec.Client, group.ConversationId));
        Assert.Equal(6U, Assert.Single(await ownerRec.Client.GetGroupsAsync([group.GroupId])).MemberCount);

        // What the members saw in the conversation: gapless seqs, not one join or leave notice.
        var max = await MaxSeqAsync(ownerRec.Client, group.ConversationId);
        await plainRec.WaitForMessagesAsync(group.ConversationId, (int)max);
        Assert.Equal(Enumerable.Range(1, (int)max).Select(i => (ulong)i), plainRec.MessagesIn(group.ConversationId).Select(m => m.Seq));
        Assert.DoesNotContain(plainRec.MessagesIn(group.ConversationId), m => m.Content.BodyCase is Content.BodyOneofCase.MembersAdded or Content.BodyOneofCase.MembersRemoved);
    }

    private static async Task<ulong> MaxSeqAsync(ParleyClient client, string conversationId) =>
        (await client.GetHistoryAsync(conversationId, 0, Direction.Backward, 1)).Messages[^1].Seq;

    private static async Task<ulong> UnreadAsync(ParleyClient client, string conversationId) =>
        (await client.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == conversationId).Unread;

    private async Task<Recorder> RecordAsync(string userId)
    {
        var recorder = new Recorder(await Server.CreateClientAsync(userId));
        await recorder.Client.ConnectAsync();
        return recorder;
    }

    private sealed record JobBody(string JobId, string GroupId, string State, int Total, int Processed, int Changed, string? Error);
}
