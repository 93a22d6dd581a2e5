using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM.Tests;

public sealed class GroupNotificationTests
{
    private const long Time = 1_700_000_000_000;

    private static Message Of(Content content, string sender = "op") => new()
    {
        ConversationId = "sg_g1",
        Seq = 7,
        ServerMsgId = "smid",
        ClientMsgId = "cmid",
        SenderId = sender,
        ServerTime = Time,
        Content = content,
        Version = 42,
    };

    private static (MsgData Data, JsonElement Tips) Map(Content content, string sender = "op")
    {
        var data = OpenImNotifications.FromGroupContent(Of(content, sender));
        Assert.NotNull(data);
        Assert.Equal(3, data.SessionType);
        Assert.Equal(200, data.MsgFrom);
        Assert.Equal("g1", data.GroupID);
        Assert.Equal(7, data.Seq);
        Assert.Equal(Time, data.SendTime);
        Assert.Equal("smid", data.ServerMsgID);
        Assert.Equal("cmid", data.ClientMsgID);
        Assert.Equal(sender, data.SendID);
        using var outer = JsonDocument.Parse(data.Content.ToStringUtf8());
        var detail = outer.RootElement.GetProperty("detail").GetString()!;
        using var tips = JsonDocument.Parse(detail);
        var root = tips.RootElement.Clone();
        Assert.Equal("g1", root.GetProperty("group").GetProperty("groupID").GetString());
        return (data, root);
    }

    private static string[] UserIds(JsonElement list) => [.. list.EnumerateArray().Select(m => m.GetProperty("userID").GetString()!)];

    [Fact]
    public void GroupCreated_maps_to_1501_with_group_owner_and_members()
    {
        var (data, tips) = Map(new Content { GroupCreated = new GroupCreatedContent { GroupId = "g1", Name = "Team", CreatorId = "op", MemberIds = { "op", "a", "b" } } });

        Assert.Equal(1501, data.ContentType);
        Assert.Equal("Team", tips.GetProperty("group").GetProperty("groupName").GetString());
        Assert.Equal("op", tips.GetProperty("group").GetProperty("ownerUserID").GetString());
        Assert.Equal(3, tips.GetProperty("group").GetProperty("memberCount").GetInt32());
        Assert.Equal("op", tips.GetProperty("opUser").GetProperty("userID").GetString());
        Assert.Equal(100, tips.GetProperty("groupOwnerUser").GetProperty("roleLevel").GetInt32());
        Assert.Equal(["a", "b"], UserIds(tips.GetProperty("memberList")));
        Assert.Equal(Time, tips.GetProperty("operationTime").GetInt64());
    }

    [Fact]
    public void MembersAdded_by_oneself_maps_to_1510_entered_and_by_invitation_to_1509()
    {
        var (joined, joinTips) = Map(new Content { MembersAdded = new MembersAddedContent { GroupId = "g1", UserIds = { "op" }, OperatorId = "op" } });
        Assert.Equal(1510, joined.ContentType);
        Assert.Equal("op", joinTips.GetProperty("entrantUser").GetProperty("userID").GetString());

        var (approved, approvedTips) = Map(new Content { MembersAdded = new MembersAddedContent { GroupId = "g1", UserIds = { "u" }, OperatorId = "op" } });
        Assert.Equal(1510, approved.ContentType);
        Assert.Equal("u", approvedTips.GetProperty("entrantUser").GetProperty("userID").GetString());

        var (invited, inviteTips) = Map(new Content { MembersAdded = new MembersAddedContent { GroupId = "g1", UserIds = { "a", "b" }, OperatorId = "op", InviterId = "op" } });
        Assert.Equal(1509, invited.ContentType);
        Assert.Equal(["a", "b"], UserIds(inviteTips.GetProperty("invitedUserList")));
        Assert.Equal("op", inviteTips.GetProperty("opUser").GetProperty("userID").GetString());
    }

    [Fact]
    public void MembersRemoved_maps_to_1504_quit_or_1508_kicked()
    {
        var (quit, quitTips) = Map(new Content { MembersRemoved = new MembersRemovedContent { GroupId = "g1", UserIds = { "op" }, OperatorId = "op", Quit = true } });
        Assert.Equal(1504, quit.ContentType);
        Assert.Equal("op", quitTips.GetProperty("quitUser").GetProperty("userID").GetString());

        var (kicked, kickTips) = Map(new Content { MembersRemoved = new MembersRemovedContent { GroupId = "g1", UserIds = { "a", "b" }, OperatorId = "op", Reason = "spam" } });
        Assert.Equal(1508, kicked.ContentType);
        Assert.Equal(["a", "b"], UserIds(kickTips.GetProperty("kickedUserList")));
        Assert.Equal("op", kickTips.GetProperty("opUser").GetProperty("userID").GetString());
    }

    [Fact]
    public void GroupDismissed_maps_to_1511_with_status_dismissed()
    {
        var (data, tips) = Map(new Content { GroupDismissed = new GroupDismissedContent { GroupId = "g1", OperatorId = "op" } });
        Assert.Equal(1511, data.ContentType);
        Assert.Equal(2, tips.GetProperty("group").GetProperty("status").GetInt32());
        Assert.Equal("op", tips.GetProperty("opUser").GetProperty("userID").GetString());
    }

    [Fact]
    public void OwnerTransferred_maps_to_1507_with_new_and_old_owner()
    {
        var (data, tips) = Map(new Content { OwnerTransferred = new OwnerTransferredContent { GroupId = "g1", OldOwnerId = "op", NewOwnerId = "heir" } });
        Assert.Equal(1507, data.ContentType);
        Assert.Equal("heir", tips.GetProperty("group").GetProperty("ownerUserID").GetString());
        Assert.Equal("heir", tips.GetProperty("newGroupOwner").GetProperty("userID").GetString());
        Assert.Equal(100, tips.GetProperty("newGroupOwner").GetProperty("roleLevel").GetInt32());
        Assert.Equal("op", tips.GetProperty("oldGroupOwnerInfo").GetProperty("userID").GetString());
        Assert.Equal(20, tips.GetProperty("oldGroupOwnerInfo").GetProperty("roleLevel").GetInt32());
        Assert.Equal("op", tips.GetProperty("oldGroupOwner").GetString());
    }

    [Fact]
    public void MemberRoleChanged_maps_to_1517_admin_or_1518_ordinary()
    {
        var (admin, adminTips) = Map(new Content { MemberRoleChanged = new MemberRoleChangedContent { GroupId = "g1", UserId = "u", Role = GroupRole.Admin, OperatorId = "op" } });
        Assert.Equal(1517, admin.ContentType);
        Assert.Equal("u", adminTips.GetProperty("changedUser").GetProperty("userID").GetString());
        Assert.Equal(60, adminTips.GetProperty("changedUser").GetProperty("roleLevel").GetInt32());

        var (member, memberTips) = Map(new Content { MemberRoleChanged = new MemberRoleChangedContent { GroupId = "g1", UserId = "u", Role = GroupRole.Member, OperatorId = "op" } });
        Assert.Equal(1518, member.ContentType);
        Assert.Equal(20, memberTips.GetProperty("changedUser").GetProperty("roleLevel").GetInt32());
    }

    [Fact]
    public void MemberMuted_maps_to_1512_with_end_time_or_1513_when_lifted()
    {
        var (muted, mutedTips) = Map(new Content { MemberMuted = new MemberMutedContent { GroupId = "g1", UserId = "u", MutedUntil = Time + 60_000, OperatorId = "op" } });
        Assert.Equal(1512, muted.ContentType);
        Assert.Equal("u", mutedTips.GetProperty("mutedUser").GetProperty("userID").GetString());
        Assert.Equal(Time + 60_000, mutedTips.GetProperty("mutedUser").GetProperty("muteEndTime").GetInt64());
        Assert.Equal(60, mutedTips.GetProperty("mutedSeconds").GetInt64());

        var (lifted, liftedTips) = Map(new Content { MemberMuted = new MemberMutedContent { GroupId = "g1", UserId = "u", MutedUntil = 0, OperatorId = "op" } });
        Assert.Equal(1513, lifted.ContentType);
        Assert.False(liftedTips.GetProperty("mutedUser").TryGetProperty("muteEndTime", out _));
    }

    [Fact]
    public void MemberNicknameChanged_maps_to_1516_with_the_new_nickname()
    {
        var (data, tips) = Map(new Content { MemberNicknameChanged = new MemberNicknameChangedContent { GroupId = "g1", UserId = "u", Nickname = "Nick" } }, sender: "u");
        Assert.Equal(1516, data.ContentType);
        Assert.Equal("Nick", tips.GetProperty("changedUser").GetProperty("nickname").GetString());
        Assert.Equal("u", tips.GetProperty("opUser").GetProperty("userID").GetString());
    }

    [Fact]
    public void GroupInfoChanged_maps_to_name_announcement_mute_or_general_info_notifications()
    {
        (MsgData Data, JsonElement Tips) Changed(GroupSettings settings) =>
            Map(new Content { GroupInfoChanged = new GroupInfoChangedContent { GroupId = "g1", OperatorId = "op", Changed = settings } });

        var (name, nameTips) = Changed(new GroupSettings { Name = "New" });
        Assert.Equal(1520, name.ContentType);
        Assert.Equal("New", nameTips.GetProperty("group").GetProperty("groupName").GetString());

        var (announcement, announcementTips) = Changed(new GroupSettings { Announcement = "Read" });
        Assert.Equal(1519, announcement.ContentType);
        Assert.Equal("Read", announcementTips.GetProperty("group").GetProperty("notification").GetString());
        Assert.Equal("op", announcementTips.GetProperty("group").GetProperty("notificationUserID").GetString());

        var (mute, muteTips) = Changed(new GroupSettings { MuteAll = true });
        Assert.Equal(1514, mute.ContentType);
        Assert.Equal(3, muteTips.GetProperty("group").GetProperty("status").GetInt32());
        Assert.Equal(1515, Changed(new GroupSettings { MuteAll = false }).Data.ContentType);

        var (info, infoTips) = Changed(new GroupSettings { Name = "N", Introduction = "I", AvatarUrl = "https://x/y.png", JoinPolicy = JoinPolicy.Free });
        Assert.Equal(1502, info.ContentType);
        var group = infoTips.GetProperty("group");
        Assert.Equal("N", group.GetProperty("groupName").GetString());
        Assert.Equal("I", group.GetProperty("introduction").GetString());
        Assert.Equal("https://x/y.png", group.GetProperty("faceURL").GetString());
        Assert.Equal(2, group.GetProperty("needVerification").GetInt32());
        Assert.Equal("op", infoTips.GetProperty("opUser").GetProperty("userID").GetString());
    }

    [Fact]
    public void Member_rows_of_the_change_describe_the_named_members_in_full()
    {
        var kicked = new Parley.Abstractions.Messaging.MemberChange("sg_g1", "a", Parley.Abstractions.Messaging.MemberRole.Admin, "Ann", 0, 1_600_000_000_000, "op", false, 1, 7, 42);
        var content = new Content { MembersRemoved = new MembersRemovedContent { GroupId = "g1", UserIds = { "a", "b" }, OperatorId = "op" } };

        var data = OpenImNotifications.FromGroupContent(Of(content), null, [kicked]);

        Assert.NotNull(data);
        using var outer = JsonDocument.Parse(data.Content.ToStringUtf8());
        using var tips = JsonDocument.Parse(outer.RootElement.GetProperty("detail").GetString()!);
        var list = tips.RootElement.GetProperty("kickedUserList").EnumerateArray().ToArray();
        Assert.Equal(60, list[0].GetProperty("roleLevel").GetInt32());
        Assert.Equal("Ann", list[0].GetProperty("nickname").GetString());
        Assert.Equal(1_600_000_000_000, list[0].GetProperty("joinTime").GetInt64());
        Assert.Equal("op", list[0].GetProperty("inviterUserID").GetString());
        // A member the change has no row for keeps only its ids.
        Assert.False(list[1].TryGetProperty("joinTime", out _));
        Assert.False(tips.RootElement.GetProperty("opUser").TryGetProperty("joinTime", out _));
    }

    [Fact]
    public void Non_group_content_and_revoked_messages_map_to_null()
    {
        Assert.Null(OpenImNotifications.FromGroupContent(Of(new Content { Text = new TextContent { Text = "hi" } })));
        Assert.Null(OpenImNotifications.FromGroupContent(Of(new Content { Custom = new CustomContent { Type = "x", Json = "{}" } })));
        var revoked = Of(new Content { GroupDismissed = new GroupDismissedContent { GroupId = "g1" } });
        revoked.Revoked = true;
        revoked.Content = null;
        Assert.Null(OpenImNotifications.FromGroupContent(revoked));
    }
}

/// <summary>The notifications the REST group operations produce, read back from the group's history and mapped.</summary>
public sealed class GroupNotificationFlowTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Rest_group_operations_write_messages_that_map_to_the_matching_openim_notifications()
    {
        var kit = new SocialTestKit(fixture.Server);
        var users = await kit.UsersAsync("o", "a", "m", "i");
        var (owner, admin, member, invited) = (users[0], users[1], users[2], users[3]);
        var groupId = SocialTestKit.NewId("g");
        await kit.OkAsync("/group/create_group", new
        {
            ownerUserID = owner.Id,
            memberUserIDs = new[] { member.Id },
            adminUserIDs = new[] { admin.Id },
            groupInfo = new { groupID = groupId, groupName = "Team", groupType = 2, needVerification = 2 },
        }, owner.Token);
        await kit.OkAsync("/group/invite_user_to_group", new { groupID = groupId, invitedUserIDs = new[] { invited.Id } }, owner.Token);
        await kit.OkAsync("/group/mute_group_member", new { groupID = groupId, userID = member.Id, mutedSeconds = 60 }, admin.Token);
        await kit.OkAsync("/group/cancel_mute_group_member", new { groupID = groupId, userID = member.Id }, admin.Token);
        await kit.OkAsync("/group/set_group_member_info", new { members = new[] { new { groupID = groupId, userID = member.Id, nickname = "M" } } }, member.Token);
        await kit.OkAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = new[] { invited.Id } }, admin.Token);
        await kit.OkAsync("/group/quit_group", new { groupID = groupId, userID = member.Id }, member.Token);
        await kit.OkAsync("/group/set_group_info_ex", new { groupID = groupId, groupName = "Renamed" }, owner.Token);
        await kit.OkAsync("/group/set_group_info_ex", new { groupID = groupId, notification = "Read me" }, owner.Token);
        await kit.OkAsync("/group/set_group_info_ex", new { groupID = groupId, introduction = "Intro", faceURL = "https://x/y.png" }, owner.Token);
        await kit.OkAsync("/group/mute_group", new { groupID = groupId }, owner.Token);
        await kit.OkAsync("/group/cancel_mute_group", new { groupID = groupId }, owner.Token);
        await kit.OkAsync("/group/set_group_member_info", new { members = new[] { new { groupID = groupId, userID = admin.Id, roleLevel = 20 } } }, owner.Token);
        await kit.OkAsync("/group/transfer_group", new { groupID = groupId, oldOwnerUserID = owner.Id, newOwnerUserID = admin.Id }, owner.Token);
        await kit.OkAsync("/group/dismiss_group", new { groupID = groupId }, admin.Token);

        var grains = fixture.Server.Services.GetRequiredService<Orleans.IGrainFactory>();
        var history = await grains.GetGrain<Parley.Core.Messaging.IConversationGrain>("sg_" + groupId)
            .GetHistoryAsync(admin.Id, 1, Parley.Abstractions.Messaging.ReadDirection.Forward, 100);
        Assert.True(history.IsOk, history.Message);
        var types = history.Value!.Messages
            .Select(m => OpenImNotifications.FromGroupContent(new Message
            {
                ConversationId = m.ConversationId,
                Seq = (ulong)m.Seq,
                ServerMsgId = m.ServerMsgId,
                ClientMsgId = m.ClientMsgId,
                SenderId = m.SenderId,
                ServerTime = m.ServerTime,
                Content = Content.Parser.ParseFrom(m.Content),
            }))
            .Select(d => d?.ContentType ?? 0)
            .ToArray();

        Assert.Equal([1501, 1509, 1512, 1513, 1516, 1508, 1504, 1520, 1519, 1502, 1514, 1515, 1518, 1507, 1511], types);
    }
}
