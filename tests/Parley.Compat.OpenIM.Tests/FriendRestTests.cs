using static Parley.Compat.OpenIM.Tests.SocialTestKit;

namespace Parley.Compat.OpenIM.Tests;

public sealed class FriendRestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private SocialTestKit Kit => new(fixture.Server);

    [Fact]
    public async Task Friend_request_is_listed_on_both_sides_and_accepting_makes_friends()
    {
        var kit = Kit;
        var (alice, bob) = await PairAsync(kit);

        await kit.OkAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = "hi", ex = "" }, alice.Token);

        var incoming = await kit.OkAsync("/friend/get_friend_apply_list", new { userID = bob.Id, pagination = new { pageNumber = 1, showNumber = 20 } }, bob.Token);
        var request = Assert.Single(List(incoming, "FriendRequests"));
        Assert.Equal(1, Int(incoming, "total"));
        Assert.Equal(alice.Id, Str(request, "fromUserID"));
        Assert.Equal("N-" + alice.Id, Str(request, "fromNickname"));
        Assert.Equal("https://example.org/" + alice.Id, Str(request, "fromFaceURL"));
        Assert.Equal(bob.Id, Str(request, "toUserID"));
        Assert.Equal("N-" + bob.Id, Str(request, "toNickname"));
        Assert.Equal("hi", Str(request, "reqMsg"));
        Assert.Equal(0, Int(request, "handleResult"));
        Assert.True(request.GetProperty("createTime").GetInt64() > 0);

        var outgoing = await kit.OkAsync("/friend/get_self_friend_apply_list", new { userID = alice.Id, pagination = new { pageNumber = 1, showNumber = 20 } }, alice.Token);
        Assert.Equal(bob.Id, Str(Assert.Single(List(outgoing, "friendRequests")), "toUserID"));

        // Applying again while pending is accepted, as OpenIM does.
        await kit.OkAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = "again" }, alice.Token);

        await kit.OkAsync("/friend/add_friend_response", new { fromUserID = alice.Id, toUserID = bob.Id, handleResult = 1, handleMsg = "welcome" }, bob.Token);

        var designated = await kit.OkAsync("/friend/get_designated_friend_apply", new { fromUserID = alice.Id, toUserID = bob.Id }, alice.Token);
        var handled = Assert.Single(List(designated, "friendRequests"));
        Assert.Equal(1, Int(handled, "handleResult"));
        Assert.Equal("welcome", Str(handled, "handleMsg"));
        Assert.Equal(bob.Id, Str(handled, "handlerUserID"));

        // The SDK asks with the responder as fromUserID after accepting; both directions are answered.
        var reverse = await kit.OkAsync("/friend/get_designated_friend_apply", new { fromUserID = bob.Id, toUserID = alice.Id }, bob.Token);
        Assert.Equal(alice.Id, Str(Assert.Single(List(reverse, "friendRequests")), "fromUserID"));

        var list = await kit.OkAsync("/friend/get_friend_list", new { userID = alice.Id, pagination = new { pageNumber = 1, showNumber = 10 } }, alice.Token);
        Assert.Equal(1, Int(list, "total"));
        var friend = Assert.Single(List(list, "friendsInfo"));
        Assert.Equal(alice.Id, Str(friend, "ownerUserID"));
        Assert.Equal(bob.Id, Str(friend.GetProperty("friendUser"), "userID"));
        Assert.Equal("N-" + bob.Id, Str(friend.GetProperty("friendUser"), "nickname"));

        var bobList = await kit.OkAsync("/friend/get_friend_list", new { userID = bob.Id }, bob.Token);
        Assert.Equal(alice.Id, Str(Assert.Single(List(bobList, "friendsInfo")).GetProperty("friendUser"), "userID"));

        var specified = await kit.OkAsync("/friend/get_designated_friends", new { ownerUserID = alice.Id, friendUserIDs = new[] { bob.Id, "nobody" } }, alice.Token);
        Assert.Equal(bob.Id, Str(Assert.Single(List(specified, "friendsInfo")).GetProperty("friendUser"), "userID"));

        var check = await kit.OkAsync("/friend/is_friend", new { userID1 = alice.Id, userID2 = bob.Id }, alice.Token);
        Assert.True(check.GetProperty("inUser1Friends").GetBoolean());
        Assert.True(check.GetProperty("inUser2Friends").GetBoolean());

        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = "x" }, alice.Token, OpenImErrors.RelationshipAlready);
    }

    [Fact]
    public async Task Refusing_a_request_marks_it_rejected_and_makes_no_friendship()
    {
        var kit = Kit;
        var (alice, bob) = await PairAsync(kit);
        await kit.OkAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = "hi" }, alice.Token);

        await kit.OkAsync("/friend/add_friend_response", new { fromUserID = alice.Id, toUserID = bob.Id, handleResult = -1, handleMsg = "no" }, bob.Token);

        var outgoing = await kit.OkAsync("/friend/get_self_friend_apply_list", new { userID = alice.Id }, alice.Token);
        var request = Assert.Single(List(outgoing, "friendRequests"));
        Assert.Equal(-1, Int(request, "handleResult"));
        Assert.Equal("no", Str(request, "handleMsg"));
        var list = await kit.OkAsync("/friend/get_friend_list", new { userID = alice.Id }, alice.Token);
        Assert.Empty(List(list, "friendsInfo"));
        Assert.Equal(0, Int(list, "total"));

        // Nothing pending any more.
        await kit.ErrorAsync("/friend/add_friend_response", new { fromUserID = alice.Id, toUserID = bob.Id, handleResult = 1 }, bob.Token, OpenImErrors.RecordNotFound);
    }

    [Fact]
    public async Task Deleting_a_friend_removes_both_sides_and_remarks_apply_to_friends_only()
    {
        var kit = Kit;
        var (alice, bob) = await FriendsAsync(kit);

        await kit.OkAsync("/friend/update_friends", new { ownerUserID = alice.Id, friendUserIDs = new[] { bob.Id }, remark = "Bobby", isPinned = (bool?)null }, alice.Token);
        var list = await kit.OkAsync("/friend/get_friend_list", new { userID = alice.Id }, alice.Token);
        Assert.Equal("Bobby", Str(Assert.Single(List(list, "friendsInfo")), "remark"));
        await kit.OkAsync("/friend/set_friend_remark", new { ownerUserID = alice.Id, friendUserID = bob.Id, remark = "B" }, alice.Token);
        list = await kit.OkAsync("/friend/get_designated_friends", new { ownerUserID = alice.Id, friendUserIDs = new[] { bob.Id } }, alice.Token);
        Assert.Equal("B", Str(Assert.Single(List(list, "friendsInfo")), "remark"));

        await kit.OkAsync("/friend/delete_friend", new { ownerUserID = alice.Id, friendUserID = bob.Id }, alice.Token);

        Assert.Empty(List(await kit.OkAsync("/friend/get_friend_list", new { userID = alice.Id }, alice.Token), "friendsInfo"));
        Assert.Empty(List(await kit.OkAsync("/friend/get_friend_list", new { userID = bob.Id }, bob.Token), "friendsInfo"));
        var check = await kit.OkAsync("/friend/is_friend", new { userID1 = bob.Id, userID2 = alice.Id }, bob.Token);
        Assert.False(check.GetProperty("inUser1Friends").GetBoolean());
        Assert.False(check.GetProperty("inUser2Friends").GetBoolean());
        await kit.ErrorAsync("/friend/delete_friend", new { ownerUserID = alice.Id, friendUserID = bob.Id }, alice.Token, OpenImErrors.NotFriend);
        await kit.ErrorAsync("/friend/set_friend_remark", new { ownerUserID = alice.Id, friendUserID = bob.Id, remark = "x" }, alice.Token, OpenImErrors.NotFriend);
        await kit.ErrorAsync("/friend/update_friends", new { ownerUserID = alice.Id, friendUserIDs = new[] { bob.Id }, remark = "x" }, alice.Token, OpenImErrors.NotFriend);
    }

    [Fact]
    public async Task Blacklist_add_list_remove_and_a_blocked_users_request_is_refused_with_1302()
    {
        var kit = Kit;
        var (alice, bob) = await PairAsync(kit);

        await kit.OkAsync("/friend/add_black", new { ownerUserID = alice.Id, blackUserID = bob.Id, ex = "" }, alice.Token);

        var blacks = await kit.OkAsync("/friend/get_black_list", new { userID = alice.Id, pagination = new { pageNumber = 1, showNumber = 10 } }, alice.Token);
        Assert.Equal(1, Int(blacks, "total"));
        var black = Assert.Single(List(blacks, "blacks"));
        Assert.Equal(alice.Id, Str(black, "ownerUserID"));
        Assert.Equal(bob.Id, Str(black.GetProperty("blackUserInfo"), "userID"));
        Assert.Equal("N-" + bob.Id, Str(black.GetProperty("blackUserInfo"), "nickname"));
        var specified = await kit.OkAsync("/friend/get_specified_blacks", new { ownerUserID = alice.Id, userIDList = new[] { bob.Id, "other" } }, alice.Token);
        Assert.Single(List(specified, "blacks"));
        Assert.Empty(List(await kit.OkAsync("/friend/get_black_list", new { userID = bob.Id }, bob.Token), "blacks"));

        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = bob.Id, toUserID = alice.Id, reqMsg = "hi" }, bob.Token, OpenImErrors.Blocked);
        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = "hi" }, alice.Token, OpenImErrors.Blocked);

        await kit.OkAsync("/friend/remove_black", new { ownerUserID = alice.Id, blackUserID = bob.Id }, alice.Token);

        Assert.Empty(List(await kit.OkAsync("/friend/get_black_list", new { userID = alice.Id }, alice.Token), "blacks"));
        await kit.OkAsync("/friend/add_friend", new { fromUserID = bob.Id, toUserID = alice.Id, reqMsg = "hi" }, bob.Token);
        await kit.ErrorAsync("/friend/add_black", new { ownerUserID = alice.Id, blackUserID = "no-such-user" }, alice.Token, OpenImErrors.UserNotFound);
    }

    [Fact]
    public async Task Body_user_ids_must_be_the_caller_and_bad_input_gets_openim_errors()
    {
        var kit = Kit;
        var (alice, bob) = await PairAsync(kit);

        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = bob.Id, toUserID = alice.Id }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/add_friend_response", new { fromUserID = alice.Id, toUserID = bob.Id, handleResult = 1 }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/get_friend_list", new { userID = bob.Id }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/delete_friend", new { ownerUserID = bob.Id, friendUserID = alice.Id }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/add_black", new { ownerUserID = bob.Id, blackUserID = alice.Id }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/get_incremental_friends", new { userID = bob.Id, version = 0, versionID = "" }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/is_friend", new { userID1 = bob.Id, userID2 = "x" }, alice.Token, OpenImErrors.NoPermission);
        await kit.ErrorAsync("/friend/get_designated_friend_apply", new { fromUserID = bob.Id, toUserID = "x" }, alice.Token, OpenImErrors.NoPermission);

        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = alice.Id }, alice.Token, OpenImErrors.CanNotAddYourself);
        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = "no-such-user" }, alice.Token, OpenImErrors.UserNotFound);
        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = bob.Id, reqMsg = new string('x', 300) }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/add_friend", new { fromUserID = alice.Id, toUserID = 42 }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/add_friend_response", new { fromUserID = bob.Id, toUserID = alice.Id, handleResult = 2 }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/update_friends", new { ownerUserID = alice.Id, friendUserIDs = Array.Empty<string>(), remark = "x" }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/add_black", new { ownerUserID = alice.Id, blackUserID = alice.Id }, alice.Token, OpenImErrors.Args);
        await kit.ErrorAsync("/friend/get_friend_list", new { userID = alice.Id, pagination = "first" }, alice.Token, OpenImErrors.Args);
    }

    [Fact]
    public async Task Login_sync_returns_the_full_state_then_deltas_with_inserts_and_deletes()
    {
        var kit = Kit;
        var users = await kit.UsersAsync("a", "b", "c");
        var (alice, bob, carol) = (users[0], users[1], users[2]);
        await BefriendAsync(kit, alice, bob);

        var first = await kit.OkAsync("/friend/get_incremental_friends", new { userID = alice.Id, version = 0, versionID = "" }, alice.Token);
        Assert.True(first.GetProperty("full").GetBoolean());
        Assert.True(first.GetProperty("version").GetInt64() > 0);
        var versionId = Str(first, "versionID");
        Assert.False(string.IsNullOrEmpty(versionId));
        Assert.Equal(bob.Id, Str(Assert.Single(List(first, "insert")).GetProperty("friendUser"), "userID"));

        var ids = await kit.OkAsync("/friend/get_full_friend_user_ids", new { userID = alice.Id, idHash = 0 }, alice.Token);
        Assert.Equal([bob.Id], Strings(ids, "userIDs"));
        Assert.False(ids.TryGetProperty("equal", out _));

        // Nothing changed: not full, empty lists.
        var same = await kit.OkAsync("/friend/get_incremental_friends", new { userID = alice.Id, version = first.GetProperty("version").GetInt64(), versionID = versionId }, alice.Token);
        Assert.False(same.TryGetProperty("full", out _));
        Assert.Empty(List(same, "insert"));
        Assert.Empty(List(same, "delete"));

        await BefriendAsync(kit, alice, carol);
        await kit.OkAsync("/friend/delete_friend", new { ownerUserID = alice.Id, friendUserID = bob.Id }, alice.Token);

        var delta = await kit.OkAsync("/friend/get_incremental_friends", new { userID = alice.Id, version = same.GetProperty("version").GetInt64(), versionID = Str(same, "versionID") }, alice.Token);
        Assert.False(delta.TryGetProperty("full", out _));
        Assert.Equal(carol.Id, Str(Assert.Single(List(delta, "insert")).GetProperty("friendUser"), "userID"));
        Assert.Equal([bob.Id], Strings(delta, "delete"));
        Assert.True(delta.GetProperty("version").GetInt64() > same.GetProperty("version").GetInt64());

        // A versionID this server did not issue means a full answer.
        var foreign = await kit.OkAsync("/friend/get_incremental_friends", new { userID = alice.Id, version = 5, versionID = "6543abcd" }, alice.Token);
        Assert.True(foreign.GetProperty("full").GetBoolean());
        Assert.Equal(carol.Id, Str(Assert.Single(List(foreign, "insert")).GetProperty("friendUser"), "userID"));
    }

    private static async Task<((string Id, string Token) Alice, (string Id, string Token) Bob)> PairAsync(SocialTestKit kit)
    {
        var users = await kit.UsersAsync("a", "b");
        return (users[0], users[1]);
    }

    private static async Task<((string Id, string Token) Alice, (string Id, string Token) Bob)> FriendsAsync(SocialTestKit kit)
    {
        var (alice, bob) = await PairAsync(kit);
        await BefriendAsync(kit, alice, bob);
        return (alice, bob);
    }

    private static async Task BefriendAsync(SocialTestKit kit, (string Id, string Token) from, (string Id, string Token) to)
    {
        await kit.OkAsync("/friend/add_friend", new { fromUserID = from.Id, toUserID = to.Id, reqMsg = "hi" }, from.Token);
        await kit.OkAsync("/friend/add_friend_response", new { fromUserID = from.Id, toUserID = to.Id, handleResult = 1, handleMsg = "ok" }, to.Token);
    }
}
