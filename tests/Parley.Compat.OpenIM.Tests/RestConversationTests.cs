using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;
using static Parley.Compat.OpenIM.Tests.OpenImRestUsers;

namespace Parley.Compat.OpenIM.Tests;

public sealed class RestConversationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private OpenImTestServer Server => fixture.Server;

    private static string SingleId(string a, string b) => string.CompareOrdinal(a, b) < 0 ? $"si_{a}_{b}" : $"si_{b}_{a}";

    /// <summary>Alice (native client) sends <paramref name="count"/> texts to Bob; returns both users, tokens and recorders.</summary>
    private async Task<Chat> ChatAsync(int count)
    {
        var (alice, aliceToken) = await Server.RegisterAsync("ca", "Alice");
        var (bob, bobToken) = await Server.RegisterAsync("cb", "Bob");
        var aliceClient = await Server.ConnectNativeAsync(aliceToken);
        var bobClient = await Server.ConnectNativeAsync(bobToken);
        for (var i = 1; i <= count; i++)
        {
            await aliceClient.Client.SendTextAsync(bob, "hello " + i);
        }

        await bobClient.WaitForMessagesAsync(SingleId(alice, bob), count);
        return new Chat(alice, aliceToken, aliceClient, bob, bobToken, bobClient, SingleId(alice, bob));
    }

    private Task<GetActiveConversationsResp> ActiveAsync(string token, string owner = "", long count = 20) =>
        Server.CallProtoAsync("/jssdk/get_active_conversations", new GetActiveConversationsReq { OwnerUserID = owner, Count = count }, token, GetActiveConversationsResp.Parser);

    [Fact]
    public async Task Get_active_conversations_gives_unread_count_last_message_and_peer_after_native_messages()
    {
        var chat = await ChatAsync(3);
        try
        {
            var response = await ActiveAsync(chat.BobToken, chat.Bob);

            Assert.Equal(3, response.UnreadCount);
            var item = Assert.Single(response.Conversations);
            Assert.Equal(chat.ConversationId, item.Conversation.ConversationID);
            Assert.Equal(chat.Bob, item.Conversation.OwnerUserID);
            Assert.Equal(chat.Alice, item.Conversation.UserID);
            Assert.Equal(1, item.Conversation.ConversationType);
            Assert.Equal(3, item.MaxSeq);
            Assert.Equal(0, item.ReadSeq);
            Assert.Equal(3, item.LastMsg.Seq);
            Assert.Equal(101, item.LastMsg.ContentType);
            Assert.Equal(chat.Alice, item.LastMsg.SendID);
            Assert.Equal(chat.Bob, item.LastMsg.RecvID);
            Assert.Equal("Alice", item.LastMsg.SenderNickname);
            Assert.Equal("hello 3", JsonDocument.Parse(item.LastMsg.Content.ToStringUtf8()).RootElement.GetProperty("content").GetString());
            Assert.Equal("Alice", item.User.Nickname);
            Assert.Null(item.Friend);

            // The sender has read its own messages.
            var senderSide = await ActiveAsync(chat.AliceToken);
            Assert.Equal(0, senderSide.UnreadCount);
            Assert.Equal(chat.Bob, Assert.Single(senderSide.Conversations).User.UserID);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Get_active_conversations_carries_the_callers_friend_row_with_its_remark()
    {
        var chat = await ChatAsync(1);
        try
        {
            await chat.BobClient.Client.SendFriendRequestAsync(chat.Alice, "hi");
            await chat.AliceClient.Client.RespondFriendRequestAsync(chat.Bob, accept: true);
            await chat.BobClient.Client.SetFriendRemarkAsync(chat.Alice, "Ally");

            var friend = (await ActiveAsync(chat.BobToken)).Conversations[0].Friend;
            Assert.Equal(chat.Bob, friend.OwnerUserID);
            Assert.Equal(chat.Alice, friend.FriendUserID);
            Assert.Equal("Ally", friend.Remark);
            // Alice's row has no remark: each side sees its own.
            Assert.Equal(string.Empty, (await ActiveAsync(chat.AliceToken)).Conversations[0].Friend.Remark);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Get_active_conversations_puts_pinned_first_then_newest_and_honours_count()
    {
        var (me, myToken) = await Server.RegisterAsync("order");
        var me2 = await Server.ConnectNativeAsync(myToken);
        var clock = (ShiftableTimeProvider)Server.Services.GetRequiredService<TimeProvider>();
        var peers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (peer, _) = await Server.RegisterAsync("peer" + i);
            peers.Add(peer);
            // Distinct send times, so "newest first" does not fall back to the id tie-break.
            clock.Offset += TimeSpan.FromMilliseconds(10);
            await me2.Client.SendTextAsync(peer, "hi");
        }

        try
        {
            AssertOk(await Server.PostAsync("/conversation/set_conversations", new { userIDs = new[] { me }, conversation = new { conversationID = SingleId(me, peers[0]), isPinned = true } }, myToken));

            var all = await ActiveAsync(myToken, count: 0);
            Assert.Equal([peers[0], peers[2], peers[1]], all.Conversations.Select(c => c.Conversation.UserID));
            Assert.True(all.Conversations[0].Conversation.IsPinned);

            var two = await ActiveAsync(myToken, count: 2);
            Assert.Equal([peers[0], peers[2]], two.Conversations.Select(c => c.Conversation.UserID));
        }
        finally
        {
            await me2.Client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Mark_conversation_as_read_lowers_unread_and_the_peer_gets_a_native_receipt()
    {
        var chat = await ChatAsync(3);
        try
        {
            AssertOk(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = 2, seqs = new[] { 1, 2 }, userID = chat.Bob }, chat.BobToken));

            var response = await ActiveAsync(chat.BobToken);
            Assert.Equal(1, response.UnreadCount);
            Assert.Equal(2, response.Conversations[0].ReadSeq);
            await Wait.UntilAsync(() => chat.AliceClient.Receipts.Any(r => r.ConversationId == chat.ConversationId && r.UserId == chat.Bob && r.ReadSeq == 2), "Alice got Bob's read receipt", TimeSpan.FromSeconds(10));

            // Beyond maxSeq is clamped, as the cursor can never pass the last message.
            AssertOk(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = 99 }, chat.BobToken));
            Assert.Equal(0, (await ActiveAsync(chat.BobToken)).UnreadCount);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Mark_conversation_as_read_refuses_non_members_other_users_and_bad_input()
    {
        var chat = await ChatAsync(1);
        var (_, carolToken) = await Server.RegisterAsync("carol");
        try
        {
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = 1 }, carolToken), 1004);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = 1, userID = chat.Alice }, chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = "si_nobody_else", hasReadSeq = 1 }, chat.BobToken), 1004);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = "xx_bad", hasReadSeq = 1 }, chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId }, chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = -1 }, chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { hasReadSeq = 1 }, chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = chat.ConversationId, hasReadSeq = true }, chat.BobToken), 1001);
            Assert.Equal(1, (await ActiveAsync(chat.BobToken)).UnreadCount);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Revoke_msg_revokes_the_callers_own_message_once_and_refuses_others()
    {
        var chat = await ChatAsync(2);
        try
        {
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 1, userID = chat.Bob }, chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 1, userID = chat.Bob }, chat.AliceToken), 1002);

            AssertOk(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 1, userID = chat.Alice }, chat.AliceToken));
            await Wait.UntilAsync(() => chat.BobClient.Revokes.Any(r => r.ConversationId == chat.ConversationId && r.Seq == 1), "Bob saw the revoke", TimeSpan.FromSeconds(10));
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 1, userID = chat.Alice }, chat.AliceToken), 1404);

            // The revoke is the conversation's newest event: lastMsg is OpenIM's revoke notification naming the revoked message.
            var last = (await ActiveAsync(chat.BobToken)).Conversations[0].LastMsg;
            Assert.Equal(2101, last.ContentType);
            var detail = JsonDocument.Parse(JsonDocument.Parse(last.Content.ToStringUtf8()).RootElement.GetProperty("detail").GetString()!).RootElement;
            Assert.Equal(1, detail.GetProperty("seq").GetInt64());
            Assert.Equal(chat.Alice, detail.GetProperty("revokerUserID").GetString());
            Assert.False(string.IsNullOrEmpty(detail.GetProperty("clientMsgID").GetString()));

            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 999 }, chat.AliceToken), 1004);
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId }, chat.AliceToken), 1001);
            var (_, carolToken) = await Server.RegisterAsync("rcarol");
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 2 }, carolToken), 1004);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Revoke_msg_after_the_revoke_window_is_refused_with_no_permission()
    {
        var chat = await ChatAsync(1);
        var clock = (ShiftableTimeProvider)Server.Services.GetRequiredService<TimeProvider>();
        try
        {
            clock.Offset += TimeSpan.FromMinutes(3);
            var response = await Server.PostAsync("/msg/revoke_msg", new { conversationID = chat.ConversationId, seq = 1 }, chat.AliceToken);
            AssertError(response, 1002);
            Assert.Contains("window", response.GetProperty("errDlt").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.Equal(101, (await ActiveAsync(chat.BobToken)).Conversations[0].LastMsg.ContentType);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Sync_calls_refuse_to_answer_for_another_user()
    {
        var chat = await ChatAsync(1);
        try
        {
            AssertOk(await Server.PostAsync("/conversation/set_conversations", new { userIDs = new[] { chat.Alice }, conversation = new { conversationID = chat.ConversationId, recvMsgOpt = 2 } }, chat.AliceToken));

            AssertError(await Server.PostAsync("/conversation/get_incremental_conversations", new { userID = chat.Alice, version = 0, versionID = string.Empty }, chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = chat.Alice }, chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/conversation/get_conversations", new { ownerUserID = chat.Alice, conversationIDs = new[] { chat.ConversationId } }, chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = chat.Alice }, token: null), 1001);

            // Bob's own answer does not contain Alice's mute.
            var bobs = await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = chat.Bob }, chat.BobToken);
            AssertOk(bobs);
            Assert.False(bobs.GetProperty("data").TryGetProperty("conversationIDs", out _));
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Pin_and_mute_round_trip_through_incremental_conversations_and_not_notify_ids()
    {
        var chat = await ChatAsync(1);
        try
        {
            var first = await Server.PostAsync("/conversation/get_incremental_conversations", new { userID = chat.Bob, version = 0, versionID = string.Empty }, chat.BobToken);
            AssertOk(first);
            var data = first.GetProperty("data");
            Assert.True(data.GetProperty("full").GetBoolean());
            var version = data.GetProperty("version").GetInt64();
            var versionId = data.GetProperty("versionID").GetString();
            Assert.True(version > 0);
            Assert.False(data.TryGetProperty("update", out _));

            var notNotify = await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = chat.Bob }, chat.BobToken);
            AssertOk(notNotify);
            Assert.False(notNotify.GetProperty("data").TryGetProperty("conversationIDs", out _));

            AssertOk(await Server.PostAsync("/conversation/set_conversations", new
            {
                userIDs = new[] { chat.Bob },
                conversation = new { conversationID = chat.ConversationId, conversationType = 1, userID = chat.Alice, groupID = string.Empty, isPinned = true, recvMsgOpt = 2 },
            }, chat.BobToken));

            notNotify = await Server.PostAsync("/conversation/get_not_notify_conversation_ids", new { userID = chat.Bob }, chat.BobToken);
            Assert.Equal([chat.ConversationId], notNotify.GetProperty("data").GetProperty("conversationIDs").EnumerateArray().Select(e => e.GetString()));

            var next = (await Server.PostAsync("/conversation/get_incremental_conversations", new { userID = chat.Bob, version, versionID = versionId }, chat.BobToken)).GetProperty("data");
            Assert.False(next.TryGetProperty("full", out _));
            Assert.True(next.GetProperty("version").GetInt64() > version);
            var update = Assert.Single(next.GetProperty("update").EnumerateArray());
            Assert.Equal(chat.ConversationId, update.GetProperty("conversationID").GetString());
            Assert.True(update.GetProperty("isPinned").GetBoolean());
            Assert.Equal(2, update.GetProperty("recvMsgOpt").GetInt32());
            Assert.Equal(chat.Alice, update.GetProperty("userID").GetString());

            // Unpin and unmute: the update says so explicitly (isPinned false, recvMsgOpt 0 are written).
            version = next.GetProperty("version").GetInt64();
            AssertOk(await Server.PostAsync("/conversation/set_conversations", new { userIDs = new[] { chat.Bob }, conversation = new { conversationID = chat.ConversationId, isPinned = false, recvMsgOpt = 0 } }, chat.BobToken));
            update = Assert.Single((await Server.PostAsync("/conversation/get_incremental_conversations", new { userID = chat.Bob, version, versionID = versionId }, chat.BobToken)).GetProperty("data").GetProperty("update").EnumerateArray());
            Assert.False(update.GetProperty("isPinned").GetBoolean());
            Assert.Equal(0, update.GetProperty("recvMsgOpt").GetInt32());

            // Nothing changed: no update list, not full.
            version = (await Server.PostAsync("/conversation/get_incremental_conversations", new { version, versionID = versionId }, chat.BobToken)).GetProperty("data").GetProperty("version").GetInt64();
            var same = (await Server.PostAsync("/conversation/get_incremental_conversations", new { version, versionID = versionId }, chat.BobToken)).GetProperty("data");
            Assert.False(same.TryGetProperty("update", out _));
            Assert.False(same.TryGetProperty("full", out _));

            // Alice's view is untouched.
            Assert.False((await ActiveAsync(chat.AliceToken)).Conversations[0].Conversation.IsPinned);

            // A foreign or future version id gives a full answer.
            Assert.True((await Server.PostAsync("/conversation/get_incremental_conversations", new { version, versionID = "other" }, chat.BobToken)).GetProperty("data").GetProperty("full").GetBoolean());
            Assert.True((await Server.PostAsync("/conversation/get_incremental_conversations", new { version = long.MaxValue, versionID = versionId }, chat.BobToken)).GetProperty("data").GetProperty("full").GetBoolean());
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Set_conversations_acts_for_the_caller_only_and_refuses_unsupported_features()
    {
        var chat = await ChatAsync(1);
        var (_, carolToken) = await Server.RegisterAsync("scarol");
        try
        {
            object Body(string[] userIds, object conversation) => new { userIDs = userIds, conversation };
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Alice], new { conversationID = chat.ConversationId, isPinned = true }), chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob, chat.Alice], new { conversationID = chat.ConversationId, isPinned = true }), chat.BobToken), 1002);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([], new { conversationID = chat.ConversationId, isPinned = true }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { isPinned = true }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, recvMsgOpt = 5 }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, isPrivateChat = true }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, burnDuration = 30 }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, msgDestructTime = 3600 }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, ex = "x" }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, isPinned = "yes" }), chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = "si_x_y", isPinned = true }), chat.BobToken), 1004);
            AssertError(await Server.PostAsync("/conversation/set_conversations", new { userIDs = new[] { "x" }, conversation = new { conversationID = chat.ConversationId, isPinned = true } }, carolToken), 1002);

            // Accepted no-ops: the "off" values of the unsupported features, and resetting the @ marker.
            AssertOk(await Server.PostAsync("/conversation/set_conversations", Body([chat.Bob], new { conversationID = chat.ConversationId, isPrivateChat = false, burnDuration = 0, groupAtType = 0 }), chat.BobToken));
            Assert.False((await ActiveAsync(chat.BobToken)).Conversations[0].Conversation.IsPinned);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Jssdk_get_conversations_returns_only_the_callers_own_conversations()
    {
        var chat = await ChatAsync(2);
        var (_, carolToken) = await Server.RegisterAsync("jcarol");
        try
        {
            var request = new GetConversationsReq { OwnerUserID = chat.Bob };
            request.ConversationIDs.Add(chat.ConversationId);
            request.ConversationIDs.Add("si_unknown_user");
            var response = await Server.CallProtoAsync("/jssdk/get_conversations", request, chat.BobToken, GetConversationsResp.Parser);
            var item = Assert.Single(response.Conversations);
            Assert.Equal(chat.ConversationId, item.Conversation.ConversationID);
            Assert.Equal(2, item.MaxSeq);
            Assert.Equal(2, item.LastMsg.Seq);
            Assert.Equal(2, response.UnreadCount);

            // Carol asking for Alice and Bob's conversation gets nothing.
            var foreign = new GetConversationsReq();
            foreign.ConversationIDs.Add(chat.ConversationId);
            Assert.Empty((await Server.CallProtoAsync("/jssdk/get_conversations", foreign, carolToken, GetConversationsResp.Parser)).Conversations);

            // ownerUserID must be the caller.
            AssertError(await Server.PostProtoAsync("/jssdk/get_conversations", request.ToByteArray(), carolToken), 1002);
            AssertError(await Server.PostProtoAsync("/jssdk/get_active_conversations", new GetActiveConversationsReq { OwnerUserID = chat.Bob }.ToByteArray(), carolToken), 1002);
            Assert.Empty((await ActiveAsync(carolToken)).Conversations);

            // Bad protobuf and an empty id list.
            AssertError(await Server.PostProtoAsync("/jssdk/get_conversations", [0xFF, 0xFF, 0xFF], chat.BobToken), 1001);
            AssertError(await Server.PostProtoAsync("/jssdk/get_active_conversations", Encoding.UTF8.GetBytes("{\"ownerUserID\":1}"), chat.BobToken), 1001);
            AssertError(await Server.PostProtoAsync("/jssdk/get_conversations", new GetConversationsReq().ToByteArray(), chat.BobToken), 1001);

            // The JSON twins.
            var all = await Server.PostAsync("/conversation/get_all_conversations", new { ownerUserID = chat.Bob }, chat.BobToken);
            Assert.Equal(chat.ConversationId, Assert.Single(all.GetProperty("data").GetProperty("conversations").EnumerateArray()).GetProperty("conversationID").GetString());
            AssertError(await Server.PostAsync("/conversation/get_all_conversations", new { ownerUserID = chat.Alice }, chat.BobToken), 1002);
            var some = await Server.PostAsync("/conversation/get_conversations", new { ownerUserID = chat.Bob, conversationIDs = new[] { chat.ConversationId } }, chat.BobToken);
            Assert.Equal(2, Assert.Single(some.GetProperty("data").GetProperty("conversations").EnumerateArray()).GetProperty("maxSeq").GetInt64());
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    [Fact]
    public async Task Group_conversations_carry_the_group_and_non_members_get_not_in_group()
    {
        var (owner, ownerToken) = await Server.RegisterAsync("gown");
        var (member, memberToken) = await Server.RegisterAsync("gmem");
        var (_, outsiderToken) = await Server.RegisterAsync("gout");
        var ownerClient = await Server.ConnectNativeAsync(ownerToken);
        try
        {
            var created = await ownerClient.Client.CreateGroupAsync(new CreateGroupRequest { Name = "Team", MemberIds = { member }, AvatarUrl = "https://example.com/team.png" });
            await ownerClient.Client.SendTextToConversationAsync(created.ConversationId, "welcome");

            var response = await ActiveAsync(memberToken);
            var item = Assert.Single(response.Conversations);
            Assert.Equal("sg_" + created.GroupId, item.Conversation.ConversationID);
            Assert.Equal(3, item.Conversation.ConversationType);
            Assert.Equal(created.GroupId, item.Conversation.GroupID);
            Assert.Equal("Team", item.Group.GroupName);
            Assert.Equal("https://example.com/team.png", item.Group.FaceURL);
            Assert.Equal(owner, item.Group.OwnerUserID);
            Assert.Equal(2u, item.Group.MemberCount);
            Assert.Equal(2, item.Group.GroupType);
            Assert.Equal(0, item.Group.Status);
            Assert.Equal(3, item.LastMsg.SessionType);
            Assert.Equal(created.GroupId, item.LastMsg.GroupID);
            Assert.True(response.UnreadCount >= 1);

            AssertOk(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = created.ConversationId, hasReadSeq = item.MaxSeq }, memberToken));
            Assert.Equal(0, (await ActiveAsync(memberToken)).UnreadCount);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = created.ConversationId, hasReadSeq = 1 }, outsiderToken), 1203);
            AssertError(await Server.PostAsync("/conversation/set_conversations", new { userIDs = new[] { "x" }, conversation = new { conversationID = created.ConversationId, isPinned = true } }, outsiderToken), 1002);
            AssertError(await Server.PostAsync("/msg/revoke_msg", new { conversationID = created.ConversationId, seq = 1 }, outsiderToken), 1203);
            AssertError(await Server.PostAsync("/msg/mark_conversation_as_read", new { conversationID = "sg_no-such-group", hasReadSeq = 1 }, outsiderToken), 1004);
        }
        finally
        {
            await ownerClient.Client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Per_user_message_deletion_is_refused_and_server_time_is_given()
    {
        var chat = await ChatAsync(1);
        try
        {
            var deleted = await Server.PostAsync("/msg/delete_msgs", new { conversationID = chat.ConversationId, seqs = new[] { 1 }, userID = chat.Bob }, chat.BobToken);
            AssertError(deleted, 1001);
            Assert.Equal("NotSupportedError", deleted.GetProperty("errMsg").GetString());
            AssertError(await Server.PostAsync("/msg/clear_conversation_msg", new { conversationIDs = new[] { chat.ConversationId }, userID = chat.Bob }, chat.BobToken), 1001);
            AssertError(await Server.PostAsync("/msg/user_clear_all_msg", new { userID = chat.Bob }, chat.BobToken), 1001);
            Assert.Equal(1, (await ActiveAsync(chat.BobToken)).Conversations[0].MaxSeq);

            var time = await Server.PostAsync("/msg/get_server_time", new { }, chat.BobToken);
            AssertOk(time);
            Assert.True(time.GetProperty("data").GetProperty("serverTime").GetInt64() > 1_600_000_000_000);
        }
        finally
        {
            await chat.DisposeAsync();
        }
    }

    private sealed record Chat(string Alice, string AliceToken, Recorder AliceClient, string Bob, string BobToken, Recorder BobClient, string ConversationId) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await AliceClient.Client.DisposeAsync();
            await BobClient.Client.DisposeAsync();
        }
    }
}
