using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Friends and groups driven through the real, unmodified <c>@openim/client-sdk@0.0.14</c> (node/driver.js's generic
/// <c>call</c> command) against the real server: the REST answers the SDK parses and the events it raises from the
/// server's notifications.
/// </summary>
public sealed class OpenImSdkSocialTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(20);

    private OpenImTestServer Server => fixture.Server;

    private async Task<NodeSdkClient> SdkAsync(string userId)
    {
        var sdk = await NodeSdkClient.StartAsync(Server, userId, await OpenImUsers.TokenAsync(Server, userId));
        await sdk.LoginAsync();
        return sdk;
    }

    private static Task<JsonElement> Call(NodeSdkClient sdk, string method, object? parameters = null) =>
        sdk.OkAsync("call", parameters is null ? new { method } : new { method, @params = parameters });

    private static async Task<JsonElement> Fails(NodeSdkClient sdk, string method, object? parameters = null)
    {
        var result = await sdk.CommandAsync("call", parameters is null ? new { method } : new { method, @params = parameters });
        Assert.False(result.GetProperty("ok").GetBoolean(), $"'{method}' should have failed for {sdk.UserId}: {result}");
        return result;
    }

    /// <summary>
    /// A refused REST call as the SDK reports it: its HTTP helper throws <c>new Error(errMsg)</c> and drops the server's
    /// errCode, so every REST refusal surfaces as the SDK's own 10006 with OpenIM's error name as the message.
    /// </summary>
    private static void AssertRestError(JsonElement result, string openImErrorName)
    {
        Assert.Equal(SdkRestErrorCode, ErrCode(result));
        Assert.Contains(openImErrorName, result.GetProperty("error").GetString() ?? string.Empty, StringComparison.Ordinal);
    }

    private const int SdkRestErrorCode = 10006;

    private static int ErrCode(JsonElement result) =>
        result.TryGetProperty("errCode", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : 0;

    private static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int Int(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 0;

    /// <summary>Whether the SDK raised <paramref name="name"/> with data matching <paramref name="match"/>.</summary>
    private static bool Raised(NodeSdkClient sdk, string name, Func<JsonElement, bool> match) =>
        sdk.Events(name).Any(e => e.TryGetProperty("data", out var d) && (d.ValueKind == JsonValueKind.Array ? d.EnumerateArray().Any(match) : match(d)));

    private static Task Event(NodeSdkClient sdk, string name, Func<JsonElement, bool> match, string because) =>
        Wait.UntilAsync(() => Raised(sdk, name, match), $"{sdk.UserId}: {name} {because}" + sdk.Diagnostics(), Live);

    private static async Task<List<JsonElement>> ListAsync(NodeSdkClient sdk, string method, object? parameters = null) =>
        [.. (await Call(sdk, method, parameters ?? new { offset = 0, count = 50 })).EnumerateArray()];

    private static async Task<string> SendTextAsync(NodeSdkClient sdk, string? recvId, string? groupId, string text)
    {
        var result = await sdk.CommandAsync("sendText", new { recvID = recvId ?? "", groupID = groupId ?? "", text });
        return result.GetProperty("ok").GetBoolean() ? "ok" : $"{ErrCode(result)}: {result}";
    }

    private static async Task<int> SendFailsAsync(NodeSdkClient sdk, string? recvId, string? groupId, string text)
    {
        var result = await sdk.CommandAsync("sendText", new { recvID = recvId ?? "", groupID = groupId ?? "", text });
        Assert.False(result.GetProperty("ok").GetBoolean(), $"{sdk.UserId}'s send should have failed: {result}");
        return ErrCode(result);
    }

    private async Task<string[]> UsersAsync(params string[] prefixes)
    {
        var ids = prefixes.Select(OpenImUsers.NewId).ToArray();
        await OpenImUsers.RegisterAsync(Server, ids);
        return ids;
    }

    // ---------------------------------------------------------------- friends

    [Fact]
    public async Task Sdk_FriendRequest_AcceptedMakesFriendsOnBothSides()
    {
        var ids = await UsersAsync("fa", "fb");
        var (alice, bob) = (ids[0], ids[1]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        await Call(a, "addFriend", new { toUserID = bob, reqMsg = "hi bob" });
        await Event(b, "OnFriendApplicationAdded", d => Str(d, "fromUserID") == alice && Str(d, "toUserID") == bob, "raised live for alice's request");

        var incoming = await ListAsync(b, "getFriendApplicationListAsRecipient");
        var request = Assert.Single(incoming, r => Str(r, "fromUserID") == alice);
        Assert.Equal("hi bob", Str(request, "reqMsg"));
        Assert.Equal(0, Int(request, "handleResult"));
        var outgoing = await ListAsync(a, "getFriendApplicationListAsApplicant");
        Assert.Single(outgoing, r => Str(r, "toUserID") == bob);

        await Call(b, "acceptFriendApplication", new { toUserID = alice, handleMsg = "welcome" });
        await Event(a, "OnFriendApplicationAccepted", d => Str(d, "toUserID") == bob && Int(d, "handleResult") == 1, "raised at the applicant");
        await Event(a, "OnFriendAdded", d => Str(d, "userID") == bob, "raised at the applicant");
        await Event(b, "OnFriendAdded", d => Str(d, "userID") == alice, "raised at the accepter");

        var aFriends = await ListAsync(a, "getFriendListPage");
        Assert.Single(aFriends, f => Str(f, "userID") == bob);
        Assert.Single(await ListAsync(b, "getFriendListPage"), f => Str(f, "userID") == alice);

        var check = (await Call(a, "checkFriend", new[] { bob, alice + "x" })).EnumerateArray().ToList();
        Assert.Equal(1, Int(check.Single(c => Str(c, "userID") == bob), "result"));
        Assert.Equal(0, Int(check.Single(c => Str(c, "userID") == alice + "x"), "result"));

        await Call(a, "updateFriends", new { friendUserIDs = new[] { bob }, remark = "Bobby" });
        await Event(a, "OnFriendInfoChanged", d => Str(d, "userID") == bob && Str(d, "remark") == "Bobby", "raised after the remark change");
        var specified = (await Call(a, "getSpecifiedFriendsInfo", new[] { bob })).EnumerateArray().ToList();
        Assert.Equal("Bobby", Str(Assert.Single(specified), "remark"));

        // They can chat, and a request between friends is refused with 1304.
        Assert.Equal("ok", await SendTextAsync(a, bob, null, "hello friend"));
        AssertRestError(await Fails(a, "addFriend", new { toUserID = bob, reqMsg = "again" }), "RelationshipAlreadyError");

        await Call(a, "deleteFriend", bob);
        await Event(a, "OnFriendDeleted", d => Str(d, "userID") == bob, "raised at the deleter");
        Assert.DoesNotContain(await ListAsync(a, "getFriendListPage"), f => Str(f, "userID") == bob);
    }

    [Fact]
    public async Task Sdk_FriendRequest_Refused_RaisesRejected()
    {
        var ids = await UsersAsync("fr", "fs");
        var (alice, bob) = (ids[0], ids[1]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        await Call(a, "addFriend", new { toUserID = bob, reqMsg = "please" });
        await Event(b, "OnFriendApplicationAdded", d => Str(d, "fromUserID") == alice, "raised live");
        await Call(b, "refuseFriendApplication", new { toUserID = alice, handleMsg = "no thanks" });
        await Event(a, "OnFriendApplicationRejected", d => Str(d, "toUserID") == bob && Int(d, "handleResult") == -1, "raised at the applicant");
        await Event(b, "OnFriendApplicationRejected", d => Str(d, "fromUserID") == alice, "raised at the refuser");

        var outgoing = await ListAsync(a, "getFriendApplicationListAsApplicant");
        Assert.Equal("no thanks", Str(Assert.Single(outgoing, r => Str(r, "toUserID") == bob), "handleMsg"));
        Assert.DoesNotContain(await ListAsync(a, "getFriendListPage"), f => Str(f, "userID") == bob);
        Assert.Equal(0, Int((await Call(a, "checkFriend", new[] { bob })).EnumerateArray().Single(), "result"));
    }

    [Fact]
    public async Task Sdk_Blacklist_AddListRemove_AndTheBlockedUserIsRefused()
    {
        var ids = await UsersAsync("ba", "bb");
        var (alice, bob) = (ids[0], ids[1]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);

        await Call(a, "addBlack", new { toUserID = bob, ex = "" });
        await Event(a, "OnBlackAdded", d => Str(d, "userID") == bob, "raised at the blocker");
        var blacks = await ListAsync(a, "getBlackList");
        var black = Assert.Single(blacks, x => Str(x, "userID") == bob);
        Assert.False(string.IsNullOrEmpty(Str(black, "nickname")));

        // Bob can neither message nor befriend alice.
        Assert.Equal(OpenImErrors.Blocked, await SendFailsAsync(b, alice, null, "let me in"));
        AssertRestError(await Fails(b, "addFriend", new { toUserID = alice, reqMsg = "hi" }), "BlockedByPeer");

        await Call(a, "removeBlack", bob);
        await Event(a, "OnBlackDeleted", d => Str(d, "userID") == bob, "raised at the unblocker");
        Assert.DoesNotContain(await ListAsync(a, "getBlackList"), x => Str(x, "userID") == bob);
        Assert.Equal("ok", await SendTextAsync(b, alice, null, "thanks"));
    }

    [Fact]
    public async Task Sdk_FriendRequestFromANativeUser_ReachesTheOpenImUserLive()
    {
        var ids = await UsersAsync("fo", "fn");
        var (oim, native) = (ids[0], ids[1]);
        await using var sdk = await SdkAsync(oim);
        await using var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Server.WebSocketUri,
            Token = await OpenImUsers.TokenAsync(Server, native, 2),
            DeviceId = OpenImPlatforms.DeviceId(2),
            Platform = Platform.Android,
            LocalState = new InMemoryParleyClientState(),
        });
        await client.ConnectAsync();

        await client.SendFriendRequestAsync(oim, "from native");
        await Event(sdk, "OnFriendApplicationAdded", d => Str(d, "fromUserID") == native && Str(d, "reqMsg") == "from native", "raised for the native user's request");
        Assert.Single(await ListAsync(sdk, "getFriendApplicationListAsRecipient"), r => Str(r, "fromUserID") == native);

        await Call(sdk, "acceptFriendApplication", new { toUserID = native, handleMsg = "ok" });
        await Event(sdk, "OnFriendAdded", d => Str(d, "userID") == native, "raised after accepting the native user");
        var sent = await client.GetFriendRequestsAsync(RequestDirection.Outgoing);
        Assert.Equal(FriendRequestState.Accepted, Assert.Single(sent.Requests, r => r.ToUserId == oim).State);
    }

    // ---------------------------------------------------------------- groups

    private static async Task<string> CreateGroupAsync(NodeSdkClient owner, string name, int needVerification, params string[] members)
    {
        var group = await Call(owner, "createGroup", new { memberUserIDs = members, groupInfo = new { groupName = name, needVerification }, adminUserIDs = Array.Empty<string>() });
        var groupId = Str(group, "groupID");
        Assert.False(string.IsNullOrEmpty(groupId), "createGroup returned no groupID: " + group);
        Assert.Equal(name, Str(group, "groupName"));
        Assert.Equal(owner.UserId, Str(group, "ownerUserID"));
        return groupId!;
    }

    private static async Task<List<JsonElement>> MembersAsync(NodeSdkClient sdk, string groupId) =>
        [.. (await Call(sdk, "getGroupMemberList", new { groupID = groupId, filter = 0, offset = 0, count = 50 })).EnumerateArray()];

    private static bool IsGroup(JsonElement d, string groupId) => Str(d, "groupID") == groupId;

    [Fact]
    public async Task Sdk_CreateGroup_MembersGetTheGroupAndItsConversation_AndInfoChanges()
    {
        var ids = await UsersAsync("ga", "gb", "gc");
        var (alice, bob, carol) = (ids[0], ids[1], ids[2]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var c = await SdkAsync(carol);

        var groupId = await CreateGroupAsync(a, "Team", 2, bob, carol);
        foreach (var member in new[] { b, c })
        {
            await Event(member, "OnJoinedGroupAdded", d => IsGroup(d, groupId), "raised for the new group");
            var joined = await ListAsync(member, "getJoinedGroupListPage");
            var group = Assert.Single(joined, g => IsGroup(g, groupId));
            Assert.Equal("Team", Str(group, "groupName"));
            Assert.Equal(3, Int(group, "memberCount"));
            var conversation = await Call(member, "getOneConversation", new { sourceID = groupId, sessionType = 3 });
            Assert.Equal("sg_" + groupId, Str(conversation, "conversationID"));
            Assert.Equal(groupId, Str(conversation, "groupID"));
        }

        var specified = (await Call(b, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().ToList();
        Assert.Equal(alice, Str(Assert.Single(specified), "ownerUserID"));

        var members = await MembersAsync(b, groupId);
        Assert.Equal(3, members.Count);
        Assert.Equal(100, Int(members.Single(m => Str(m, "userID") == alice), "roleLevel"));
        Assert.Equal(20, Int(members.Single(m => Str(m, "userID") == bob), "roleLevel"));
        Assert.Equal(20, Int(members.Single(m => Str(m, "userID") == carol), "roleLevel"));

        // The group's messages reach the members.
        Assert.Equal("ok", await SendTextAsync(a, null, groupId, "welcome all"));
        await Wait.UntilAsync(() => b.ReceivedMessages().Any(m => m.TryGetProperty("text", out var t) && t.GetString() == "welcome all"), "bob got the group message" + b.Diagnostics(), Live);

        await Call(a, "setGroupInfo", new { groupID = groupId, groupName = "Team 2", notification = "read the rules" });
        await Event(b, "OnGroupInfoChanged", d => IsGroup(d, groupId) && Str(d, "groupName") == "Team 2", "raised after setGroupInfo");
        await Event(c, "OnGroupInfoChanged", d => IsGroup(d, groupId) && Str(d, "groupName") == "Team 2", "raised after setGroupInfo");
        var after = (await Call(c, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().Single();
        Assert.Equal("Team 2", Str(after, "groupName"));
        Assert.Equal("read the rules", Str(after, "notification"));
    }

    [Fact]
    public async Task Sdk_GroupNotifications_KeepTheWholeGroupInEveryMembersCache()
    {
        // SDK 0.0.14 replaces its cached group with the notification's group: a partial one (only the changed field)
        // leaves every member with a group that has no owner, member count or status until the next login.
        var ids = await UsersAsync("fa", "fb", "fc");
        var (alice, bob, carol) = (ids[0], ids[1], ids[2]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var c = await SdkAsync(carol);
        var groupId = await CreateGroupAsync(a, "Whole", 2, bob, carol);
        await Event(b, "OnJoinedGroupAdded", d => IsGroup(d, groupId), "raised for the new group");

        await Call(a, "setGroupInfo", new { groupID = groupId, groupName = "Whole 2" });
        await Event(b, "OnGroupInfoChanged", d => IsGroup(d, groupId) && Str(d, "groupName") == "Whole 2", "raised after the rename");
        var renamed = (await Call(b, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().Single();
        Assert.Equal("Whole 2", Str(renamed, "groupName"));
        Assert.Equal(alice, Str(renamed, "ownerUserID"));
        Assert.Equal(3, Int(renamed, "memberCount"));
        Assert.Equal(0, Int(renamed, "status"));

        await Call(a, "changeGroupMute", new { groupID = groupId, isMute = true });
        await Event(b, "OnGroupInfoChanged", d => IsGroup(d, groupId) && Int(d, "status") == 3, "raised after mute-all");
        var muted = (await Call(b, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().Single();
        Assert.Equal("Whole 2", Str(muted, "groupName"));
        Assert.Equal(alice, Str(muted, "ownerUserID"));
        Assert.Equal(3, Int(muted, "memberCount"));

        // An owner transfer (1507) too: the new owner, and everything else still there.
        await Call(a, "transferGroupOwner", new { groupID = groupId, newOwnerUserID = bob });
        await Event(c, "OnGroupInfoChanged", d => IsGroup(d, groupId) && Str(d, "ownerUserID") == bob, "raised after the transfer");
        var transferred = (await Call(c, "getSpecifiedGroupsInfo", new[] { groupId })).EnumerateArray().Single();
        Assert.Equal(bob, Str(transferred, "ownerUserID"));
        Assert.Equal("Whole 2", Str(transferred, "groupName"));
        Assert.Equal(3, Int(transferred, "memberCount"));
        Assert.Equal(3, Int(transferred, "status"));
    }

    [Fact]
    public async Task Sdk_JoinGroupNeedingApproval_OwnerAcceptsAndTheApplicantJoins()
    {
        var ids = await UsersAsync("ja", "jb", "jd");
        var (alice, bob, dave) = (ids[0], ids[1], ids[2]);
        await using var a = await SdkAsync(alice);
        await using var d = await SdkAsync(dave);

        var groupId = await CreateGroupAsync(a, "Closed", 1, bob);
        await Call(d, "joinGroup", new { groupID = groupId, reqMsg = "let me in", joinSource = 3 });
        await Event(a, "OnGroupApplicationAdded", x => IsGroup(x, groupId) && Str(x, "userID") == dave, "raised at the owner");
        Assert.DoesNotContain(await ListAsync(d, "getJoinedGroupListPage"), g => IsGroup(g, groupId));

        var applications = await ListAsync(a, "getGroupApplicationListAsRecipient");
        var application = Assert.Single(applications, x => IsGroup(x, groupId) && Str(x, "userID") == dave);
        Assert.Equal("let me in", Str(application, "reqMsg"));
        Assert.Equal(0, Int(application, "handleResult"));
        Assert.Single(await ListAsync(d, "getGroupApplicationListAsApplicant"), x => IsGroup(x, groupId));

        await Call(a, "acceptGroupApplication", new { groupID = groupId, fromUserID = dave, handleMsg = "welcome" });
        await Event(d, "OnGroupApplicationAccepted", x => IsGroup(x, groupId) && Str(x, "userID") == dave && Int(x, "handleResult") == 1, "raised at the applicant");
        await Event(d, "OnJoinedGroupAdded", x => IsGroup(x, groupId), "raised at the applicant");
        Assert.Single(await ListAsync(d, "getJoinedGroupListPage"), g => IsGroup(g, groupId));
        Assert.Contains(await MembersAsync(a, groupId), m => Str(m, "userID") == dave);
        Assert.Equal("ok", await SendTextAsync(d, null, groupId, "hello group"));

        // A second applicant is refused: OnGroupApplicationRejected at the applicant, who stays out.
        var eveId = (await UsersAsync("je"))[0];
        await using var e = await SdkAsync(eveId);
        await Call(e, "joinGroup", new { groupID = groupId, reqMsg = "me too", joinSource = 3 });
        await Event(a, "OnGroupApplicationAdded", x => IsGroup(x, groupId) && Str(x, "userID") == eveId, "raised at the owner for the second applicant");
        await Call(a, "refuseGroupApplication", new { groupID = groupId, fromUserID = eveId, handleMsg = "sorry" });
        await Event(e, "OnGroupApplicationRejected", x => IsGroup(x, groupId) && Int(x, "handleResult") == -1, "raised at the refused applicant");
        Assert.DoesNotContain(await ListAsync(e, "getJoinedGroupListPage"), g => IsGroup(g, groupId));
    }

    [Fact]
    public async Task Sdk_InviteKickAndQuit()
    {
        var ids = await UsersAsync("ka", "kb", "kc", "kd");
        var (alice, bob, carol, dave) = (ids[0], ids[1], ids[2], ids[3]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var c = await SdkAsync(carol);
        await using var d = await SdkAsync(dave);

        var groupId = await CreateGroupAsync(a, "Moving", 2, bob, carol);
        await Event(b, "OnJoinedGroupAdded", x => IsGroup(x, groupId), "raised for the new group");

        await Call(a, "inviteUserToGroup", new { groupID = groupId, reason = "join us", userIDList = new[] { dave } });
        Assert.Contains(await MembersAsync(a, groupId), m => Str(m, "userID") == dave);
        await Event(b, "OnGroupMemberAdded", x => IsGroup(x, groupId) && Str(x, "userID") == dave, "raised at a member");
        await Event(d, "OnJoinedGroupAdded", x => IsGroup(x, groupId), "raised for the invited user");
        Assert.Equal(4, (await MembersAsync(d, groupId)).Count);

        await Call(a, "kickGroupMember", new { groupID = groupId, reason = "bye", userIDList = new[] { carol } });
        await Event(b, "OnGroupMemberDeleted", x => IsGroup(x, groupId) && Str(x, "userID") == carol, "raised at a member for the kick");
        await Event(c, "OnJoinedGroupDeleted", x => IsGroup(x, groupId), "raised at the kicked user");
        Assert.DoesNotContain(await ListAsync(c, "getJoinedGroupListPage"), g => IsGroup(g, groupId));
        // The SDK looks itself up among the group's members (/group/get_group_members_info) before it sends and before it
        // shows group history; OpenIM refuses that lookup for someone outside the group with 1002 NoPermissionError
        // ("op user not in group"), and so does Parley: the kicked user's send and history read fail as on OpenIM,
        // reported through the SDK's REST error (10006 + the error name).
        var refused = await c.CommandAsync("sendText", new { recvID = "", groupID = groupId, text = "still here?" });
        Assert.False(refused.GetProperty("ok").GetBoolean(), "the kicked user's send should fail: " + refused);
        AssertRestError(refused, "NoPermissionError");
        var history = await c.CommandAsync("history", new { conversationID = "sg_" + groupId });
        Assert.False(history.GetProperty("ok").GetBoolean(), "the kicked user's history read should fail as on OpenIM: " + history);
        AssertRestError(history, "NoPermissionError");

        await Call(d, "quitGroup", groupId);
        await Event(d, "OnJoinedGroupDeleted", x => IsGroup(x, groupId), "raised at the user who quit");
        await Event(a, "OnGroupMemberDeleted", x => IsGroup(x, groupId) && Str(x, "userID") == dave, "raised at the owner for the quit");
        var members = await MembersAsync(a, groupId);
        Assert.Equal(new[] { alice, bob }.Order(StringComparer.Ordinal), members.Select(m => Str(m, "userID")!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Sdk_MuteMemberAndGroup_ThenTransferAndDismiss()
    {
        var ids = await UsersAsync("ma", "mb", "mc");
        var (alice, bob, carol) = (ids[0], ids[1], ids[2]);
        await using var a = await SdkAsync(alice);
        await using var b = await SdkAsync(bob);
        await using var c = await SdkAsync(carol);

        var groupId = await CreateGroupAsync(a, "Quiet", 2, bob, carol);
        await Event(b, "OnJoinedGroupAdded", x => IsGroup(x, groupId), "raised for the new group");

        await Call(a, "changeGroupMemberMute", new { groupID = groupId, userID = bob, mutedSeconds = 600 });
        await Event(c, "OnGroupMemberInfoChanged", x => IsGroup(x, groupId) && Str(x, "userID") == bob, "raised for the mute");
        Assert.True((await MembersAsync(a, groupId)).Single(m => Str(m, "userID") == bob).GetProperty("muteEndTime").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(OpenImErrors.MutedInGroup, await SendFailsAsync(b, null, groupId, "muted"));
        Assert.Equal("ok", await SendTextAsync(c, null, groupId, "not muted"));
        await Call(a, "changeGroupMemberMute", new { groupID = groupId, userID = bob, mutedSeconds = 0 });
        Assert.Equal("ok", await SendTextAsync(b, null, groupId, "unmuted"));

        await Call(a, "changeGroupMute", new { groupID = groupId, isMute = true });
        await Event(b, "OnGroupInfoChanged", x => IsGroup(x, groupId) && Int(x, "status") == 3, "raised for the group mute");
        Assert.Equal(OpenImErrors.MutedGroup, await SendFailsAsync(b, null, groupId, "group muted"));
        Assert.Equal("ok", await SendTextAsync(a, null, groupId, "owner may talk"));
        await Call(a, "changeGroupMute", new { groupID = groupId, isMute = false });
        Assert.Equal("ok", await SendTextAsync(b, null, groupId, "group unmuted"));

        await Call(a, "transferGroupOwner", new { groupID = groupId, newOwnerUserID = bob });
        await Event(c, "OnGroupInfoChanged", x => IsGroup(x, groupId) && Str(x, "ownerUserID") == bob, "raised for the new owner");
        var members = await MembersAsync(c, groupId);
        Assert.Equal(100, Int(members.Single(m => Str(m, "userID") == bob), "roleLevel"));
        Assert.Equal(20, Int(members.Single(m => Str(m, "userID") == alice), "roleLevel"));
        AssertRestError(await Fails(a, "dismissGroup", groupId), "NoPermissionError");

        await Call(b, "dismissGroup", groupId);
        await Event(c, "OnGroupDismissed", x => IsGroup(x, groupId), "raised for the dismissal");
        var code = await SendFailsAsync(c, null, groupId, "anyone?");
        Assert.True(code is OpenImErrors.GroupDismissed or OpenImErrors.NotInGroup, $"a send to a dismissed group failed with {code}");
    }
}
