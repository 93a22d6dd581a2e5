using System.Text.Json;
using static Parley.Compat.OpenIM.Tests.SocialTestKit;

namespace Parley.Compat.OpenIM.Tests;

public sealed class GroupRestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private SocialTestKit Kit => new(fixture.Server);

    [Fact]
    public async Task Create_group_with_members_and_admins_shows_info_joined_list_and_roles()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "a", "m");
        var (owner, admin, member) = (users[0], users[1], users[2]);
        var groupId = NewId("g");

        var created = await kit.OkAsync("/group/create_group", new
        {
            ownerUserID = owner.Id,
            memberUserIDs = new[] { member.Id },
            adminUserIDs = new[] { admin.Id },
            groupInfo = new { groupID = groupId, groupName = "Team", notification = "Read me", introduction = "About", faceURL = "https://example.org/g.png", ex = "", groupType = 2, needVerification = 2, creatorUserID = owner.Id },
        }, owner.Token);

        var info = created.GetProperty("groupInfo");
        Assert.Equal(groupId, Str(info, "groupID"));
        Assert.Equal("Team", Str(info, "groupName"));
        Assert.Equal("Read me", Str(info, "notification"));
        Assert.Equal("About", Str(info, "introduction"));
        Assert.Equal("https://example.org/g.png", Str(info, "faceURL"));
        Assert.Equal(owner.Id, Str(info, "ownerUserID"));
        Assert.Equal(3, Int(info, "memberCount"));
        Assert.Equal(2, Int(info, "groupType"));
        Assert.Equal(2, Int(info, "needVerification"));
        Assert.Equal(0, Int(info, "status"));
        Assert.Equal(JsonValueKind.Number, info.GetProperty("createTime").ValueKind);

        var infos = await kit.OkAsync("/group/get_groups_info", new { groupIDs = new[] { groupId } }, member.Token);
        Assert.Equal("Team", Str(Assert.Single(List(infos, "groupInfos")), "groupName"));

        var joined = await kit.OkAsync("/group/get_joined_group_list", new { fromUserID = member.Id, pagination = new { pageNumber = 1, showNumber = 10 } }, member.Token);
        Assert.Equal(1, Int(joined, "total"));
        Assert.Equal(groupId, Str(Assert.Single(List(joined, "groups")), "groupID"));

        var members = await kit.OkAsync("/group/get_group_member_list", new { groupID = groupId, filter = 0, keyword = "", pagination = new { pageNumber = 1, showNumber = 10 } }, member.Token);
        Assert.Equal(3, Int(members, "total"));
        var roles = List(members, "members").ToDictionary(m => Str(m, "userID")!, m => Int(m, "roleLevel"));
        Assert.Equal(100, roles[owner.Id]);
        Assert.Equal(60, roles[admin.Id]);
        Assert.Equal(20, roles[member.Id]);
        var first = List(members, "members")[0];
        Assert.Equal(owner.Id, Str(first, "userID"));
        Assert.Equal("N-" + owner.Id, Str(first, "nickname"));
        Assert.Equal("https://example.org/" + owner.Id, Str(first, "faceURL"));
        Assert.Equal(groupId, Str(first, "groupID"));

        var admins = await kit.OkAsync("/group/get_group_member_list", new { groupID = groupId, filter = 5 }, member.Token);
        Assert.Equal(2, Int(admins, "total"));
        var paged = await kit.OkAsync("/group/get_group_member_list", new { groupID = groupId, pagination = new { pageNumber = 2, showNumber = 2 } }, member.Token);
        Assert.Equal(member.Id, Str(Assert.Single(List(paged, "members")), "userID"));

        var specified = await kit.OkAsync("/group/get_group_members_info", new { groupID = groupId, userIDs = new[] { admin.Id } }, owner.Token);
        Assert.Equal(60, Int(Assert.Single(List(specified, "members")), "roleLevel"));
    }

    [Fact]
    public async Task Join_is_direct_in_a_free_group_and_goes_through_an_application_otherwise()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "j", "k");
        var (owner, joiner, refused) = (users[0], users[1], users[2]);
        var free = await CreateAsync(kit, owner, [], needVerification: 2);
        var strict = await CreateAsync(kit, owner, [], needVerification: 1);

        await kit.OkAsync("/group/join_group", new { groupID = free, reqMessage = "let me in", joinSource = 3, inviterUserID = joiner.Id, ex = "" }, joiner.Token);
        Assert.Equal(2, Int(await GroupInfoAsync(kit, free, joiner), "memberCount"));

        await kit.OkAsync("/group/join_group", new { groupID = strict, reqMessage = "please", joinSource = 3 }, joiner.Token);
        await kit.OkAsync("/group/join_group", new { groupID = strict, reqMessage = "me too", joinSource = 3 }, refused.Token);
        Assert.Equal(1, Int(await GroupInfoAsync(kit, strict, owner), "memberCount"));

        var own = await kit.OkAsync("/group/get_specified_user_group_request_info", new { groupID = strict, userID = joiner.Id }, joiner.Token);
        var mine = Assert.Single(List(own, "groupRequests"));
        Assert.Equal("please", Str(mine, "reqMsg"));
        Assert.Equal(strict, Str(mine.GetProperty("groupInfo"), "groupID"));
        var asApplicant = await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = joiner.Id, groupIDs = new[] { strict }, pagination = new { pageNumber = 1, showNumber = 10 } }, joiner.Token);
        Assert.Single(List(asApplicant, "groupRequests"));
        Assert.Empty(List(await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = joiner.Id, groupIDs = new[] { free } }, joiner.Token), "groupRequests"));

        // The official SDK sends no groupIDs: the caller's own requests across groups (the free group's join left none).
        var sdkPage = new { pageNumber = 1, showNumber = 10 };
        var mineAll = await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = joiner.Id, pagination = sdkPage }, joiner.Token);
        Assert.Equal(1, Int(mineAll, "total"));
        var pendingMine = Assert.Single(List(mineAll, "groupRequests"));
        Assert.Equal(strict, Str(pendingMine.GetProperty("groupInfo"), "groupID"));
        Assert.Equal(joiner.Id, Str(pendingMine.GetProperty("userInfo"), "userID"));
        Assert.Equal("please", Str(pendingMine, "reqMsg"));
        Assert.Equal(0, Int(pendingMine, "handleResult"));

        var received = await kit.OkAsync("/group/get_recv_group_applicationList", new { fromUserID = owner.Id, pagination = new { pageNumber = 1, showNumber = 10 } }, owner.Token);
        Assert.Equal(2, Int(received, "total"));
        var request = List(received, "groupRequests").Single(r => Str(r.GetProperty("userInfo"), "userID") == joiner.Id);
        Assert.Equal("N-" + joiner.Id, Str(request.GetProperty("userInfo"), "nickname"));
        Assert.Equal(0, Int(request, "handleResult"));
        Assert.True(request.GetProperty("reqTime").GetInt64() > 0);

        // Only owners and admins see or answer other users' requests.
        await kit.ErrorAsync("/group/get_specified_user_group_request_info", new { groupID = strict, userID = refused.Id }, joiner.Token, OpenImErrors.NotInGroup);
        await kit.ErrorAsync("/group/group_application_response", new { groupID = strict, fromUserID = refused.Id, handleResult = 1 }, joiner.Token, OpenImErrors.NotInGroup);

        await kit.OkAsync("/group/group_application_response", new { groupID = strict, fromUserID = joiner.Id, handledMsg = "ok", handleResult = 1 }, owner.Token);
        await kit.OkAsync("/group/group_application_response", new { groupID = strict, fromUserID = refused.Id, handledMsg = "no", handleResult = -1 }, owner.Token);

        Assert.Equal(2, Int(await GroupInfoAsync(kit, strict, owner), "memberCount"));
        Assert.Empty(List(await kit.OkAsync("/group/get_recv_group_applicationList", new { fromUserID = owner.Id }, owner.Token), "groupRequests"));

        // As in OpenIM, the applicant's list keeps handled requests with their result.
        var accepted = Assert.Single(List(await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = joiner.Id, pagination = sdkPage }, joiner.Token), "groupRequests"));
        Assert.Equal(1, Int(accepted, "handleResult"));
        Assert.Equal(owner.Id, Str(accepted, "handleUserID"));
        Assert.True(accepted.GetProperty("handleTime").GetInt64() >= accepted.GetProperty("reqTime").GetInt64());
        var rejected = Assert.Single(List(await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = refused.Id }, refused.Token), "groupRequests"));
        Assert.Equal(-1, Int(rejected, "handleResult"));
        Assert.Equal("me too", Str(rejected, "reqMsg"));
        await kit.ErrorAsync("/group/get_user_req_group_applicationList", new { userID = joiner.Id }, refused.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/group_application_response", new { groupID = strict, fromUserID = refused.Id, handleResult = 1 }, owner.Token, OpenImErrors.RecordNotFound);
        await kit.ErrorAsync("/group/get_group_member_list", new { groupID = strict }, refused.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/join_group", new { groupID = free }, joiner.Token, OpenImErrors.Duplicate);
    }

    [Fact]
    public async Task A_pending_join_request_is_settled_when_an_admin_invites_the_applicant()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "a");
        var (owner, applicant) = (users[0], users[1]);
        var strict = await CreateAsync(kit, owner, [], needVerification: 1);
        await kit.OkAsync("/group/join_group", new { groupID = strict, reqMessage = "please", joinSource = 3 }, applicant.Token);
        Assert.Equal(0, Int(Assert.Single(List(await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = applicant.Id }, applicant.Token), "groupRequests")), "handleResult"));

        // Admitted another way than by answering the request: it must not stay pending for the applicant or the owner.
        await kit.OkAsync("/group/invite_user_to_group", new { groupID = strict, reason = "come in", invitedUserIDs = new[] { applicant.Id } }, owner.Token);
        Assert.Equal(2, Int(await GroupInfoAsync(kit, strict, owner), "memberCount"));
        var settled = Assert.Single(List(await kit.OkAsync("/group/get_user_req_group_applicationList", new { userID = applicant.Id }, applicant.Token), "groupRequests"));
        Assert.Equal(1, Int(settled, "handleResult"));
        Assert.Empty(List(await kit.OkAsync("/group/get_recv_group_applicationList", new { fromUserID = owner.Id }, owner.Token), "groupRequests"));
    }

    [Fact]
    public async Task Invite_kick_and_quit_change_members_and_need_the_right_role()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "m", "i", "x");
        var (owner, member, invited, outsider) = (users[0], users[1], users[2], users[3]);
        var groupId = await CreateAsync(kit, owner, [member.Id], needVerification: 2);

        await kit.OkAsync("/group/invite_user_to_group", new { groupID = groupId, reason = "join us", invitedUserIDs = new[] { invited.Id } }, owner.Token);
        Assert.Equal(3, Int(await GroupInfoAsync(kit, groupId, owner), "memberCount"));

        await kit.ErrorAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = new[] { invited.Id }, reason = "" }, member.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = new[] { invited.Id } }, outsider.Token, OpenImErrors.NotInGroup);
        await kit.ErrorAsync("/group/invite_user_to_group", new { groupID = groupId, invitedUserIDs = new[] { "no-such-user" } }, owner.Token, OpenImErrors.UserNotFound);
        await kit.ErrorAsync("/group/get_group_member_list", new { groupID = groupId }, outsider.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/set_group_info_ex", new { groupID = groupId, groupName = "Mine" }, member.Token, OpenImErrors.NoPermission);

        await kit.OkAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = new[] { invited.Id }, reason = "bye" }, owner.Token);
        await kit.OkAsync("/group/quit_group", new { groupID = groupId, userID = member.Id }, member.Token);

        var members = await kit.OkAsync("/group/get_group_member_list", new { groupID = groupId }, owner.Token);
        Assert.Equal([owner.Id], List(members, "members").Select(m => Str(m, "userID")));
        Assert.Empty(List(await kit.OkAsync("/group/get_joined_group_list", new { fromUserID = member.Id }, member.Token), "groups"));
        await kit.ErrorAsync("/group/quit_group", new { groupID = groupId, userID = member.Id }, member.Token, OpenImErrors.NotInGroup);
        await kit.ErrorAsync("/group/quit_group", new { groupID = groupId, userID = owner.Id }, member.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/quit_group", new { groupID = groupId }, owner.Token, OpenImErrors.NoPermission);
    }

    [Fact]
    public async Task Mute_set_info_member_info_transfer_and_dismiss()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "m");
        var (owner, member) = (users[0], users[1]);
        var groupId = await CreateAsync(kit, owner, [member.Id], needVerification: 2);

        await kit.OkAsync("/group/mute_group_member", new { groupID = groupId, userID = member.Id, mutedSeconds = 600 }, owner.Token);
        var muted = Assert.Single(List(await kit.OkAsync("/group/get_group_members_info", new { groupID = groupId, userIDs = new[] { member.Id } }, owner.Token), "members"));
        Assert.True(muted.GetProperty("muteEndTime").GetInt64() > DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
        await kit.OkAsync("/group/cancel_mute_group_member", new { groupID = groupId, userID = member.Id }, owner.Token);
        var unmuted = Assert.Single(List(await kit.OkAsync("/group/get_group_members_info", new { groupID = groupId, userIDs = new[] { member.Id } }, owner.Token), "members"));
        Assert.False(unmuted.TryGetProperty("muteEndTime", out _));
        await kit.ErrorAsync("/group/mute_group_member", new { groupID = groupId, userID = owner.Id, mutedSeconds = 60 }, member.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/mute_group_member", new { groupID = groupId, userID = member.Id, mutedSeconds = 0 }, owner.Token, OpenImErrors.Args);

        await kit.OkAsync("/group/mute_group", new { groupID = groupId }, owner.Token);
        Assert.Equal(3, Int(await GroupInfoAsync(kit, groupId, owner), "status"));
        await kit.OkAsync("/group/cancel_mute_group", new { groupID = groupId }, owner.Token);
        Assert.Equal(0, Int(await GroupInfoAsync(kit, groupId, owner), "status"));

        await kit.OkAsync("/group/set_group_info_ex", new { groupID = groupId, groupName = "Renamed", notification = (string?)null, needVerification = 1 }, owner.Token);
        var info = await GroupInfoAsync(kit, groupId, owner);
        Assert.Equal("Renamed", Str(info, "groupName"));
        Assert.Equal(1, Int(info, "needVerification"));
        await kit.OkAsync("/group/set_group_info", new { groupInfoForSet = new { groupID = groupId, groupName = "", introduction = "New intro" } }, owner.Token);
        info = await GroupInfoAsync(kit, groupId, owner);
        Assert.Equal("Renamed", Str(info, "groupName"));
        Assert.Equal("New intro", Str(info, "introduction"));

        await kit.OkAsync("/group/set_group_member_info", new { members = new[] { new { groupID = groupId, userID = member.Id, nickname = "Nick", roleLevel = (int?)60 } } }, owner.Token);
        var changed = Assert.Single(List(await kit.OkAsync("/group/get_group_members_info", new { groupID = groupId, userIDs = new[] { member.Id } }, member.Token), "members"));
        Assert.Equal("Nick", Str(changed, "nickname"));
        Assert.Equal(60, Int(changed, "roleLevel"));
        await kit.ErrorAsync("/group/set_group_member_info", new { members = new[] { new { groupID = groupId, userID = member.Id, roleLevel = 100 } } }, owner.Token, OpenImErrors.Args);

        await kit.ErrorAsync("/group/transfer_group", new { groupID = groupId, oldOwnerUserID = owner.Id, newOwnerUserID = owner.Id }, member.Token, OpenImErrors.NoPermission);
        await kit.OkAsync("/group/transfer_group", new { groupID = groupId, oldOwnerUserID = owner.Id, newOwnerUserID = member.Id }, owner.Token);
        Assert.Equal(member.Id, Str(await GroupInfoAsync(kit, groupId, owner), "ownerUserID"));
        await kit.ErrorAsync("/group/dismiss_group", new { groupID = groupId, deleteMember = false }, owner.Token, OpenImErrors.NoPermission);

        await kit.OkAsync("/group/dismiss_group", new { groupID = groupId, deleteMember = false }, member.Token);
        Assert.Equal(2, Int(await GroupInfoAsync(kit, groupId, owner), "status"));
        await kit.ErrorAsync("/group/set_group_info_ex", new { groupID = groupId, groupName = "Gone" }, member.Token, OpenImErrors.GroupDismissed);
        await kit.ErrorAsync("/group/join_group", new { groupID = groupId }, (await kit.UsersAsync("late"))[0].Token, OpenImErrors.GroupDismissed);
    }

    [Fact]
    public async Task Login_sync_endpoints_return_groups_members_and_deltas()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "m", "n");
        var (owner, member, newcomer) = (users[0], users[1], users[2]);
        var groupId = await CreateAsync(kit, owner, [member.Id], needVerification: 2);

        var groups = await kit.OkAsync("/group/get_incremental_join_groups", new { userID = member.Id, version = 0, versionID = "" }, member.Token);
        Assert.True(groups.GetProperty("full").GetBoolean());
        Assert.Equal(groupId, Str(Assert.Single(List(groups, "insert")), "groupID"));
        var ids = await kit.OkAsync("/group/get_full_join_group_ids", new { userID = member.Id, idHash = 0 }, member.Token);
        Assert.Equal([groupId], Strings(ids, "groupIDs"));

        var batch = await kit.OkAsync("/group/get_incremental_group_members_batch", new { userID = member.Id, reqList = new[] { new { groupID = groupId, version = 0L, versionID = "" }, new { groupID = "not-mine", version = 0L, versionID = "" } } }, member.Token);
        var respList = batch.GetProperty("respList");
        Assert.False(respList.TryGetProperty("not-mine", out _));
        var entry = respList.GetProperty(groupId);
        Assert.True(entry.GetProperty("full").GetBoolean());
        Assert.Equal("Group", Str(entry.GetProperty("group"), "groupName"));
        Assert.Equal(new[] { member.Id, owner.Id }.Order(StringComparer.Ordinal), List(entry, "insert").Select(m => Str(m, "userID")!).Order(StringComparer.Ordinal));

        var memberIds = await kit.OkAsync("/group/get_full_group_member_user_ids", new { groupID = groupId, idHash = 0 }, member.Token);
        Assert.Equal(new[] { member.Id, owner.Id }.Order(StringComparer.Ordinal), Strings(memberIds, "userIDs").Order(StringComparer.Ordinal));
        await kit.ErrorAsync("/group/get_full_group_member_user_ids", new { groupID = groupId }, newcomer.Token, OpenImErrors.NotInGroup);

        // Deltas: a newcomer is an insert, a changed member an update, a kicked one a delete.
        var since = (Version: entry.GetProperty("version").GetInt64(), VersionId: Str(entry, "versionID"));
        await kit.OkAsync("/group/invite_user_to_group", new { groupID = groupId, invitedUserIDs = new[] { newcomer.Id } }, owner.Token);
        await kit.OkAsync("/group/set_group_member_info", new { members = new[] { new { groupID = groupId, userID = member.Id, nickname = "M" } } }, owner.Token);
        var delta = (await kit.OkAsync("/group/get_incremental_group_members_batch", new { userID = member.Id, reqList = new[] { new { groupID = groupId, version = since.Version, versionID = since.VersionId } } }, member.Token))
            .GetProperty("respList").GetProperty(groupId);
        Assert.False(delta.TryGetProperty("full", out _));
        Assert.Equal([newcomer.Id], List(delta, "insert").Select(m => Str(m, "userID")));
        Assert.Equal([member.Id], List(delta, "update").Select(m => Str(m, "userID")));

        since = (delta.GetProperty("version").GetInt64(), Str(delta, "versionID"));
        await kit.OkAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = new[] { newcomer.Id } }, owner.Token);
        delta = (await kit.OkAsync("/group/get_incremental_group_members_batch", new { userID = member.Id, reqList = new[] { new { groupID = groupId, version = since.Version, versionID = since.VersionId } } }, member.Token))
            .GetProperty("respList").GetProperty(groupId);
        Assert.Equal([newcomer.Id], Strings(delta, "delete"));

        // The joined-groups delta: a new group is an insert, a group left is a delete.
        var groupsSince = (Version: groups.GetProperty("version").GetInt64(), VersionId: Str(groups, "versionID"));
        var second = await CreateAsync(kit, owner, [member.Id], needVerification: 2);
        await kit.OkAsync("/group/quit_group", new { groupID = groupId, userID = member.Id }, member.Token);
        var groupsDelta = await kit.OkAsync("/group/get_incremental_join_groups", new { userID = member.Id, version = groupsSince.Version, versionID = groupsSince.VersionId }, member.Token);
        Assert.False(groupsDelta.TryGetProperty("full", out _));
        Assert.Equal([second], List(groupsDelta, "insert").Select(g => Str(g, "groupID")));
        Assert.Equal([groupId], Strings(groupsDelta, "delete"));
    }

    [Fact]
    public async Task Bad_input_and_foreign_user_ids_get_openim_errors()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("o", "m");
        var (owner, member) = (users[0], users[1]);
        var groupId = await CreateAsync(kit, owner, [member.Id], needVerification: 2);

        await kit.ErrorAsync("/group/create_group", new { ownerUserID = member.Id, memberUserIDs = Array.Empty<string>(), groupInfo = new { groupName = "x" } }, owner.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, memberUserIDs = Array.Empty<string>() }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupName = "x", creatorUserID = member.Id } }, owner.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupID = groupId, groupName = "dup" } }, owner.Token, OpenImErrors.GroupIdExisted);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupName = "t", groupType = 1 } }, owner.Token, OpenImErrors.GroupTypeNotSupport);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupID = "bad id!", groupName = "t" } }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, memberUserIDs = new[] { "no-such-user" }, groupInfo = new { groupName = "t" } }, owner.Token, OpenImErrors.UserNotFound);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupName = new string('n', 200) } }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/create_group", new { ownerUserID = owner.Id, groupInfo = new { groupName = "t", needVerification = 7 } }, owner.Token, OpenImErrors.Args);

        await kit.ErrorAsync("/group/get_groups_info", new { groupIDs = Array.Empty<string>() }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/join_group", new { groupID = "no-such-group" }, member.Token, OpenImErrors.GroupNotFound);
        await kit.ErrorAsync("/group/join_group", new { groupID = "" }, member.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/get_group_member_list", new { groupID = "no-such-group" }, member.Token, OpenImErrors.GroupNotFound);
        await kit.ErrorAsync("/group/get_group_member_list", new { groupID = groupId, filter = 9 }, member.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/get_joined_group_list", new { fromUserID = owner.Id }, member.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/get_incremental_join_groups", new { userID = owner.Id, version = 0 }, member.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/transfer_group", new { groupID = groupId, oldOwnerUserID = member.Id, newOwnerUserID = member.Id }, owner.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/group/kick_group", new { groupID = groupId, kickedUserIDs = "x" }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/group_application_response", new { groupID = groupId, fromUserID = member.Id, handleResult = 0 }, owner.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/group/get_incremental_group_members_batch", new { userID = member.Id, reqList = new[] { new { groupID = "bad id!" } } }, member.Token, OpenImErrors.Args);
    }

    private static async Task<string> CreateAsync(SocialTestKit kit, (string Id, string Token) owner, string[] members, int needVerification)
    {
        var created = await kit.OkAsync("/group/create_group", new
        {
            ownerUserID = owner.Id,
            memberUserIDs = members,
            adminUserIDs = Array.Empty<string>(),
            groupInfo = new { groupName = "Group", groupType = 2, needVerification },
        }, owner.Token);
        return Str(created.GetProperty("groupInfo"), "groupID")!;
    }

    private static async Task<JsonElement> GroupInfoAsync(SocialTestKit kit, string groupId, (string Id, string Token) user) =>
        Assert.Single(List(await kit.OkAsync("/group/get_groups_info", new { groupIDs = new[] { groupId } }, user.Token), "groupInfos"));
}
