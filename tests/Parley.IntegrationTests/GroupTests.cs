using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class GroupTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Create_WithSettings_OwnerFirstAndInfoReadable()
    {
        var (owner, members) = await UsersAsync(3);
        var client = await Server.ConnectAsync(owner);
        var created = await client.CreateGroupAsync(new CreateGroupRequest
        {
            Name = "Design",
            MemberIds = { members },
            AvatarUrl = "https://example.test/a.png",
            Introduction = "intro",
            Announcement = "ship it",
            Ex = "{\"team\":7}",
            JoinPolicy = JoinPolicy.Approval,
        });

        var info = Assert.Single(await client.GetGroupsAsync([created.GroupId]));
        Assert.Equal(("Design", owner, JoinPolicy.Approval, 4U, "ship it"), (info.Name, info.OwnerId, info.JoinPolicy, info.MemberCount, info.Announcement));
        var list = await client.GetMembersAsync(created.GroupId);
        Assert.Equal(4U, list.Total);
        Assert.Equal(owner, list.Members[0].UserId);
        Assert.Equal(GroupRole.Owner, list.Members[0].Role);
        Assert.All(list.Members.Skip(1), m => Assert.Equal(GroupRole.Member, m.Role));

        var mine = await client.SyncGroupsAsync(0);
        Assert.True(mine.FullReset);
        Assert.Contains(mine.Groups, g => g.GroupId == created.GroupId);
        var badEx = await Assert.ThrowsAsync<ParleyException>(() => client.CreateGroupAsync(new CreateGroupRequest { Name = "x", Ex = "{nope" }));
        Assert.Equal(ErrorCode.BadRequest, badEx.Code);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task JoinPolicies_FreeApprovalInviteOnly(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(3);
        var ownerClient = new Recorder(await Server.CreateClientAsync(owner));
        await ownerClient.Client.ConnectAsync();
        var free = await ownerClient.Client.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "free", JoinPolicy = JoinPolicy.Free });
        var approval = await ownerClient.Client.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "approval", JoinPolicy = JoinPolicy.Approval });
        var closed = await ownerClient.Client.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "closed", JoinPolicy = JoinPolicy.InviteOnly });
        var joiner = await Server.ConnectAsync(others[0]);
        var refused = await Server.ConnectAsync(others[1]);

        Assert.True(await joiner.JoinGroupAsync(free.GroupId));
        // The creator's own connection got the creation as a result, not as an event; the join arrives live.
        await Wait.UntilAsync(
            () => ownerClient.MessagesIn(free.ConversationId).Any(m => m.Content.MembersAdded?.UserIds.Contains(others[0]) == true),
            "the owner saw the join notice");
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<ParleyException>(() => joiner.JoinGroupAsync(free.GroupId))).Code);

        Assert.False(await joiner.JoinGroupAsync(approval.GroupId, "let me in"));
        Assert.False(await refused.JoinGroupAsync(approval.GroupId, "me too"));
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => joiner.SendTextToConversationAsync(approval.ConversationId, "early"))).Code);
        var pending = await ownerClient.Client.GetGroupRequestsAsync(approval.GroupId);
        Assert.Equal([others[0], others[1]], pending.Select(r => r.UserId).Order());
        Assert.Equal("let me in", pending.Single(r => r.UserId == others[0]).Message);
        await ownerClient.Client.RespondGroupRequestAsync(approval.GroupId, others[0], accept: true);
        await ownerClient.Client.RespondGroupRequestAsync(approval.GroupId, others[1], accept: false);
        Assert.Empty(await ownerClient.Client.GetGroupRequestsAsync(approval.GroupId));
        await joiner.SendTextToConversationAsync(approval.ConversationId, "in");
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => refused.SendTextToConversationAsync(approval.ConversationId, "no"))).Code);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.Client.RespondGroupRequestAsync(approval.GroupId, others[1], true))).Code);

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => joiner.JoinGroupAsync(closed.GroupId))).Code);
        var added = await ownerClient.Client.InviteToGroupAsync(closed.GroupId, [others[0]]);
        Assert.Equal([others[0]], added.Added);

        // The stored notice names who was added (it was once serialised before the list was filled in).
        var notice = (await ownerClient.Client.GetHistoryAsync(closed.ConversationId, 0, Direction.Backward, 1)).Messages.Single();
        Assert.Equal([others[0]], notice.Content.MembersAdded.UserIds);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => joiner.InviteToGroupAsync(closed.GroupId, [others[2]]))).Code);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Invite_InApprovalGroup_ByMemberWaitsByAdminAdds(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(4);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "g", MemberIds = { others[0], others[1] }, JoinPolicy = JoinPolicy.Approval });
        await ownerClient.SetMemberRoleAsync(group.GroupId, others[1], GroupRole.Admin);
        var member = await Server.ConnectAsync(others[0]);
        var admin = await Server.ConnectAsync(others[1]);

        var byMember = await member.InviteToGroupAsync(group.GroupId, [others[2]]);
        Assert.Empty(byMember.Added);
        Assert.Equal([others[2]], byMember.Pending);
        var request = Assert.Single(await admin.GetGroupRequestsAsync(group.GroupId));
        Assert.Equal((GroupRequestKind.Invite, others[0]), (request.Kind, request.InviterId));
        await admin.RespondGroupRequestAsync(group.GroupId, others[2], true);
        var byAdmin = await admin.InviteToGroupAsync(group.GroupId, [others[3]]);
        Assert.Equal([others[3]], byAdmin.Added);
        Assert.Equal(5U, (await ownerClient.GetMembersAsync(group.GroupId)).Total);
        var members = (await ownerClient.GetMembersAsync(group.GroupId)).Members;
        Assert.Equal(others[0], members.Single(m => m.UserId == others[2]).InviterId);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Notifications_EveryChangeIsAMessageInSeqOrder(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(3);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "ops", MemberIds = { others[0], others[1] } });
        var watcher = new Recorder(await Server.CreateClientAsync(others[0]));
        await watcher.Client.ConnectAsync();

        await ownerClient.SendTextToConversationAsync(group.ConversationId, "hello");
        await ownerClient.UpdateGroupAsync(group.GroupId, new GroupSettings { Name = "ops 2", Announcement = "read me" });
        await ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Admin);
        await ownerClient.MuteMemberAsync(group.GroupId, others[1], TimeSpan.FromMinutes(5));
        await ownerClient.SetMemberNicknameAsync(group.GroupId, "boss");
        await ownerClient.InviteToGroupAsync(group.GroupId, [others[2]]);
        await ownerClient.KickMembersAsync(group.GroupId, [others[2]], "bye");
        await ownerClient.TransferGroupOwnerAsync(group.GroupId, others[0]);

        await watcher.WaitForMessagesAsync(group.ConversationId, 9);
        var kinds = watcher.MessagesIn(group.ConversationId).Select(m => m.Content.BodyCase).ToList();
        Assert.Equal(
            [
                Content.BodyOneofCase.GroupCreated, Content.BodyOneofCase.Text, Content.BodyOneofCase.GroupInfoChanged,
                Content.BodyOneofCase.MemberRoleChanged, Content.BodyOneofCase.MemberMuted, Content.BodyOneofCase.MemberNicknameChanged,
                Content.BodyOneofCase.MembersAdded, Content.BodyOneofCase.MembersRemoved, Content.BodyOneofCase.OwnerTransferred,
            ],
            kinds);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => (ulong)i), watcher.MessagesIn(group.ConversationId).Select(m => m.Seq));
        var info = Assert.Single(await ownerClient.GetGroupsAsync([group.GroupId]));
        Assert.Equal(("ops 2", others[0], kind), (info.Name, info.OwnerId, info.Kind));
        var members = (await watcher.Client.GetMembersAsync(group.GroupId)).Members;
        Assert.Single(members, m => m.Role == GroupRole.Owner);
        Assert.Equal(GroupRole.Member, members.Single(m => m.UserId == owner).Role);
        Assert.Equal("boss", members.Single(m => m.UserId == owner).Nickname);
        Assert.True(members.Single(m => m.UserId == others[1]).MutedUntil > 0);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Mute_MemberAndMuteAll_AdminsMayStillSpeak(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(2);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "quiet", MemberIds = { others } });
        await ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Admin);
        var admin = await Server.ConnectAsync(others[0]);
        var member = await Server.ConnectAsync(others[1]);

        await admin.MuteMemberAsync(group.GroupId, others[1], TimeSpan.FromMinutes(1));
        Assert.Equal(ErrorCode.Muted, (await Assert.ThrowsAsync<ParleyException>(() => member.SendTextToConversationAsync(group.ConversationId, "x"))).Code);
        await admin.MuteMemberAsync(group.GroupId, others[1], TimeSpan.Zero);
        await member.SendTextToConversationAsync(group.ConversationId, "free again");

        await admin.UpdateGroupAsync(group.GroupId, new GroupSettings { MuteAll = true });
        Assert.Equal(ErrorCode.Muted, (await Assert.ThrowsAsync<ParleyException>(() => member.SendTextToConversationAsync(group.ConversationId, "x"))).Code);
        await admin.SendTextToConversationAsync(group.ConversationId, "admins speak");
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "owner speaks");
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => admin.MuteMemberAsync(group.GroupId, owner, TimeSpan.FromMinutes(1)))).Code);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Dismiss_StopsSendingButKeepsHistory(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(1);
        var ownerClient = await Server.ConnectAsync(owner);
        var member = await Server.ConnectAsync(others[0]);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "bye", MemberIds = { others[0] } });
        await member.SendTextToConversationAsync(group.ConversationId, "last words");
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => member.DismissGroupAsync(group.GroupId))).Code);
        await ownerClient.DismissGroupAsync(group.GroupId);
        Assert.Equal(ErrorCode.GroupDismissed, (await Assert.ThrowsAsync<ParleyException>(() => member.SendTextToConversationAsync(group.ConversationId, "x"))).Code);
        Assert.Equal(ErrorCode.GroupDismissed, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.InviteToGroupAsync(group.GroupId, [owner]))).Code);
        var history = await member.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 10);
        Assert.Equal(Content.BodyOneofCase.GroupDismissed, history.Messages[^1].Content.BodyCase);
        Assert.True(Assert.Single(await member.GetGroupsAsync([group.GroupId])).Dismissed);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Roles_ExactlyOneOwner_NoSelfRaise_DemotedAdminLosesRightsAtOnce(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(3);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "roles", MemberIds = { others } });
        var a = await Server.ConnectAsync(others[0]);
        var b = await Server.ConnectAsync(others[1]);

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => a.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Admin))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.SetMemberRoleAsync(group.GroupId, owner, GroupRole.Admin))).Code);
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Owner))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.QuitGroupAsync(group.GroupId))).Code);

        await ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Admin);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => a.SetMemberRoleAsync(group.GroupId, others[1], GroupRole.Admin))).Code);
        await a.MuteMemberAsync(group.GroupId, others[1], TimeSpan.FromSeconds(30));
        await ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Member);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => a.MuteMemberAsync(group.GroupId, others[1], TimeSpan.Zero))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => a.KickMembersAsync(group.GroupId, [others[1]]))).Code);

        await ownerClient.TransferGroupOwnerAsync(group.GroupId, others[1]);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => ownerClient.TransferGroupOwnerAsync(group.GroupId, owner))).Code);
        var roles = (await b.GetMembersAsync(group.GroupId)).Members;
        Assert.Equal([others[1]], roles.Where(m => m.Role == GroupRole.Owner).Select(m => m.UserId));
        await ownerClient.QuitGroupAsync(group.GroupId);
        Assert.Equal(3U, (await b.GetMembersAsync(group.GroupId)).Total);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task AuthorizationMatrix_AdminOnlyOperations(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(5);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "matrix", MemberIds = { others[0], others[1], others[2], others[4] } });
        await ownerClient.SetMemberRoleAsync(group.GroupId, others[0], GroupRole.Admin);
        await ownerClient.KickMembersAsync(group.GroupId, [others[4]]);
        var admin = await Server.ConnectAsync(others[0]);
        var member = await Server.ConnectAsync(others[1]);
        var outsider = await Server.ConnectAsync(others[3]);
        var removed = await Server.ConnectAsync(others[4]);

        // (operation, who may) — everyone else gets a typed refusal.
        var operations = new (string Name, Func<ParleyClient, Task> Run, bool Admin)[]
        {
            ("update info", c => c.UpdateGroupAsync(group.GroupId, new GroupSettings { Announcement = "x" }), true),
            ("mute member", c => c.MuteMemberAsync(group.GroupId, others[2], TimeSpan.FromSeconds(5)), true),
            ("list requests", c => c.GetGroupRequestsAsync(group.GroupId), true),
            ("set role", c => c.SetMemberRoleAsync(group.GroupId, others[2], GroupRole.Member), false),
            ("dismiss", c => c.UpdateGroupAsync(group.GroupId, new GroupSettings { MuteAll = false }), true),
        };
        foreach (var (name, run, adminMay) in operations)
        {
            await run(ownerClient);
            if (adminMay)
            {
                await run(admin);
            }
            else
            {
                Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => run(admin))).Code);
            }

            Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => run(member))).Code);
            Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => run(outsider))).Code);
            var removedError = await Assert.ThrowsAsync<ParleyException>(() => run(removed));
            Assert.True(removedError.Code == ErrorCode.NotMember, $"{name} by a removed member: {removedError.Code}");
        }

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => member.KickMembersAsync(group.GroupId, [others[2]]))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => admin.KickMembersAsync(group.GroupId, [owner]))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => outsider.KickMembersAsync(group.GroupId, [others[2]]))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => removed.GetMembersAsync(group.GroupId))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => outsider.SyncMembersAsync(group.GroupId, 0))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<ParleyException>(() => admin.DismissGroupAsync(group.GroupId))).Code);
        await admin.KickMembersAsync(group.GroupId, [others[2]]);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task Removed_SeesNothingAfterRemovalOnAnyPath_AndRejoinSkipsTheGap(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(2);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "leaky?", MemberIds = { others } });
        var state = new InMemoryParleyClientState();
        var victim = new Recorder(await Server.CreateClientAsync(others[0], "d1", Platform.Linux, state));
        await victim.Client.ConnectAsync();
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "before");
        await ownerClient.KickMembersAsync(group.GroupId, [others[0]]);
        await victim.WaitForMessagesAsync(group.ConversationId, 3);
        var removalSeq = victim.MessagesIn(group.ConversationId)[^1].Seq;
        Assert.Equal(Content.BodyOneofCase.MembersRemoved, victim.MessagesIn(group.ConversationId)[^1].Content.BodyCase);
        await victim.Client.DisposeAsync();

        for (var i = 0; i < 5; i++)
        {
            await ownerClient.SendTextToConversationAsync(group.ConversationId, "secret " + i);
        }

        var back = new Recorder(await Server.CreateClientAsync(others[0], "d1", Platform.Linux, state));
        await back.Client.ConnectAsync();
        Assert.Empty(back.MessagesIn(group.ConversationId));
        var forged = await back.Client.GetHistoryAsync(group.ConversationId, removalSeq + 1, Direction.Forward, 50);
        Assert.Empty(forged.Messages);
        var latest = await back.Client.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 50);
        Assert.Equal(removalSeq, latest.Messages[^1].Seq);
        Assert.DoesNotContain(latest.Messages, m => m.Content?.Text?.Text?.StartsWith("secret", StringComparison.Ordinal) == true);
        var preview = (await back.Client.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == group.ConversationId);
        Assert.Equal(removalSeq, preview.LastMessage.Seq);
        Assert.Equal(removalSeq, preview.MaxSeq);
        var fresh = new Recorder(await Server.CreateClientAsync(others[0], "tablet", Platform.Ipad));
        await fresh.Client.ConnectAsync();
        Assert.True(fresh.MessagesIn(group.ConversationId).All(m => m.Seq <= removalSeq));
        var left = await back.Client.SyncGroupsAsync(0);
        Assert.DoesNotContain(left.Groups, g => g.GroupId == group.GroupId);

        // Rejoin: the gap stays hidden, new messages arrive.
        await ownerClient.InviteToGroupAsync(group.GroupId, [others[0]]);
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "welcome back");
        await Wait.UntilAsync(() => back.MessagesIn(group.ConversationId).Any(m => m.Content?.Text?.Text == "welcome back"), "the rejoined member gets new messages");
        var all = new List<Message>();
        var page = await back.Client.GetHistoryAsync(group.ConversationId, 1, Direction.Forward, 200);
        all.AddRange(page.Messages);
        Assert.DoesNotContain(all, m => m.Content?.Text?.Text?.StartsWith("secret", StringComparison.Ordinal) == true);
        Assert.Contains(all, m => m.Content?.Text?.Text == "before");
        Assert.Contains(all, m => m.Content?.Text?.Text == "welcome back");
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task NewMembers_SeeEarlierHistoryOnlyWhenTheGroupAllowsIt(GroupKind kind)
    {
        var (owner, others) = await UsersAsync(2);
        var ownerClient = await Server.ConnectAsync(owner);
        var open = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "open", HistoryVisibleToNewMembers = true });
        var closed = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "closed" });
        await ownerClient.SendTextToConversationAsync(open.ConversationId, "old news");
        await ownerClient.SendTextToConversationAsync(closed.ConversationId, "old news");
        await ownerClient.InviteToGroupAsync(open.GroupId, [others[0]]);
        await ownerClient.InviteToGroupAsync(closed.GroupId, [others[0]]);

        var newcomer = await Server.ConnectAsync(others[0]);
        var openHistory = await newcomer.GetHistoryAsync(open.ConversationId, 0, Direction.Backward, 50);
        Assert.Contains(openHistory.Messages, m => m.Content?.Text?.Text == "old news");
        var closedHistory = await newcomer.GetHistoryAsync(closed.ConversationId, 0, Direction.Backward, 50);
        Assert.DoesNotContain(closedHistory.Messages, m => m.Content?.Text?.Text == "old news");
        Assert.Equal(Content.BodyOneofCase.MembersAdded, Assert.Single(closedHistory.Messages).Content.BodyCase);
        // Only the join notice is unread, whether or not earlier history is visible.
        var views = (await newcomer.GetConversationsAsync()).Conversations;
        Assert.Equal(1UL, views.Single(c => c.ConversationId == closed.ConversationId).Unread);
        Assert.Equal(1UL, views.Single(c => c.ConversationId == open.ConversationId).Unread);
    }

    [Fact]
    public async Task IncrementalSync_MembersAndGroupsReturnOnlyTheDelta()
    {
        var (owner, others) = await UsersAsync(3);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "delta", MemberIds = { others[0], others[1] } });
        var other = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "other", MemberIds = { others[0] } });
        var member = await Server.ConnectAsync(others[0]);

        var full = await member.SyncMembersAsync(group.GroupId, 0);
        Assert.True(full.FullReset);
        Assert.Equal(3, full.Members.Count);
        var groups = await member.SyncGroupsAsync(0);
        Assert.Equal(2, groups.Groups.Count(g => g.GroupId == group.GroupId || g.GroupId == other.GroupId));

        await ownerClient.SetMemberNicknameAsync(group.GroupId, "nick", others[1]);
        await ownerClient.InviteToGroupAsync(group.GroupId, [others[2]]);
        await ownerClient.KickMembersAsync(group.GroupId, [others[1]]);
        var delta = await member.SyncMembersAsync(group.GroupId, full.Version);
        Assert.False(delta.FullReset);
        Assert.Equal([others[2]], delta.Members.Select(m => m.UserId));
        Assert.Equal([others[1]], delta.RemovedUserIds);
        Assert.Empty((await member.SyncMembersAsync(group.GroupId, delta.Version)).Members);

        await ownerClient.UpdateGroupAsync(group.GroupId, new GroupSettings { Name = "delta 2" });
        var groupDelta = await member.SyncGroupsAsync(groups.Version);
        Assert.Equal([group.GroupId], groupDelta.Groups.Select(g => g.GroupId));
        Assert.Equal("delta 2", groupDelta.Groups[0].Name);

        var kicked = await Server.ConnectAsync(others[1]);
        var kickedDelta = await kicked.SyncGroupsAsync(groups.Version);
        Assert.Contains(group.GroupId, kickedDelta.LeftGroupIds);
    }

    // Every group invariant holds for a super group too (read diffusion, ADR 0017).
    [Theory]
    [InlineData(GroupKind.Normal)]
    [InlineData(GroupKind.Super)]
    public async Task RemovalRace_KickDuringBurst_KickedGetsNothingAfterOthersGetEverything(GroupKind kind)
    {
        const int Members = 50;
        const int Messages = 1500;
        var (owner, others) = await UsersAsync(Members - 1);
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "race", MemberIds = { others } });
        var sender = await Server.ConnectAsync(others[0]);
        var victimId = others[1];
        var victim = new Recorder(await Server.CreateClientAsync(victimId));
        await victim.Client.ConnectAsync();
        var watchers = new List<Recorder>();
        foreach (var w in others.Skip(2).Take(8))
        {
            var r = new Recorder(await Server.CreateClientAsync(w));
            await r.Client.ConnectAsync();
            watchers.Add(r);
        }

        var random = new Random(4242);
        var kickAfter = random.Next(Messages / 10, Messages * 8 / 10);
        var acked = 0;
        var kicked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var burst = Task.Run(async () =>
        {
            using var gate = new SemaphoreSlim(16);
            var tasks = new List<Task>();
            for (var i = 0; i < Messages; i++)
            {
                await gate.WaitAsync();
                var n = i;
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await sender.SendTextToConversationAsync(group.ConversationId, "m" + n);
                        if (Interlocked.Increment(ref acked) == kickAfter)
                        {
                            kicked.TrySetResult();
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            await Task.WhenAll(tasks);
        });

        await kicked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await ownerClient.KickMembersAsync(group.GroupId, [victimId]);
        await burst.WaitAsync(TimeSpan.FromSeconds(120));

        var total = (ulong)Messages + 2; // creation notice + messages + removal notice
        foreach (var w in watchers)
        {
            await w.WaitForMessagesAsync(group.ConversationId, (int)total, TimeSpan.FromSeconds(60));
            Assert.Equal(Enumerable.Range(1, (int)total).Select(i => (ulong)i), w.MessagesIn(group.ConversationId).Select(m => m.Seq));
        }

        var removal = watchers[0].MessagesIn(group.ConversationId).Single(m => m.Content.BodyCase == Content.BodyOneofCase.MembersRemoved);
        Assert.True(removal.Seq > 1 && removal.Seq < total, "the kick landed in the middle of the burst");
        await victim.WaitForMessagesAsync(group.ConversationId, (int)removal.Seq);
        var seen = victim.MessagesIn(group.ConversationId).Select(m => m.Seq).ToList();
        Assert.Equal(Enumerable.Range(1, (int)removal.Seq).Select(i => (ulong)i), seen);
        var forged = await victim.Client.GetHistoryAsync(group.ConversationId, removal.Seq + 1, Direction.Forward, 200);
        Assert.Empty(forged.Messages);
        Assert.Equal(removal.Seq, (await victim.Client.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == group.ConversationId).MaxSeq);
    }

    // Parley:Messaging:FanOutWakeEntries (issue 17, stop 43): above 1, the commit pipeline's dispatch of a committed batch
    // wakes each recipient's send loop once every that many entries and at the batch's end, not at its first frame. Three
    // senders with 48 sends in flight each commit in batches of many entries: every online member gets every message once
    // and in seq order, at once (1) and deferred (4: flushed mid-batch too). A wake-up held back and never given would leave
    // a member's frames queued with nobody writing them (the waits time out); one given twice would fault the send loop's
    // wait (its connection closes, and its messages are missing).
    [Theory]
    [InlineData(GroupKind.Normal, "1")]
    [InlineData(GroupKind.Normal, "4")]
    [InlineData(GroupKind.Super, "4")]
    public async Task Burst_CommittedInBatches_EveryMemberGetsEveryMessageOnceInOrder(GroupKind kind, string wakeEntries)
    {
        const int Members = 30;
        const int PerSender = 200;
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Messaging:FanOutWakeEntries"] = wakeEntries });
        var owner = await server.CreateUserAsync("own");
        var others = new List<string>();
        for (var i = 0; i < Members - 1; i++)
        {
            others.Add(await server.CreateUserAsync("u" + i));
        }

        var ownerClient = await server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Kind = kind, Name = "burst", MemberIds = { others } });
        var senders = await Task.WhenAll(others.Take(3).Select(id => server.ConnectAsync(id)));
        var watchers = new List<Recorder>();
        foreach (var id in others.Skip(3))
        {
            var r = new Recorder(await server.CreateClientAsync(id));
            await r.Client.ConnectAsync();
            watchers.Add(r);
        }

        await Task.WhenAll(senders.Select((sender, s) => Task.Run(async () =>
        {
            using var gate = new SemaphoreSlim(48);
            var sends = new List<Task>();
            for (var i = 0; i < PerSender; i++)
            {
                await gate.WaitAsync();
                var text = $"s{s}-{i}";
                sends.Add(Task.Run(async () =>
                {
                    try
                    {
                        await sender.SendTextToConversationAsync(group.ConversationId, text);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            await Task.WhenAll(sends);
        }))).WaitAsync(TimeSpan.FromSeconds(120));

        var total = 1 + (senders.Length * PerSender); // the creation notice, then the messages
        var texts = Enumerable.Range(0, senders.Length).SelectMany(s => Enumerable.Range(0, PerSender).Select(i => $"s{s}-{i}")).Order(StringComparer.Ordinal);
        foreach (var w in watchers)
        {
            await w.WaitForMessagesAsync(group.ConversationId, total, TimeSpan.FromSeconds(60));
            var got = w.MessagesIn(group.ConversationId).ToList();
            Assert.Equal(Enumerable.Range(1, total).Select(i => (ulong)i), got.Select(m => m.Seq));
            Assert.Equal(texts, got.Where(m => m.Content.BodyCase == Content.BodyOneofCase.Text).Select(m => m.Content.Text.Text).Order(StringComparer.Ordinal));
        }
    }

    private async Task<(string Owner, List<string> Others)> UsersAsync(int others)
    {
        var owner = await Server.CreateUserAsync("own");
        var list = new List<string>();
        for (var i = 0; i < others; i++)
        {
            list.Add(await Server.CreateUserAsync("u" + i));
        }

        return (owner, list);
    }
}
