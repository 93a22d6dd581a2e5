using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class ServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class MessagingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Direct_RoundTrip_DeliversToPeerAndSendersOtherDevices()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var alicePhone = new Recorder(await Server.CreateClientAsync(alice, "phone", Platform.Ios));
        var aliceLaptop = new Recorder(await Server.CreateClientAsync(alice, "laptop", Platform.Linux));
        var bobClient = new Recorder(await Server.CreateClientAsync(bob, "b1"));
        await Task.WhenAll(alicePhone.Client.ConnectAsync(), aliceLaptop.Client.ConnectAsync(), bobClient.Client.ConnectAsync());

        var ack = await alicePhone.Client.SendTextAsync(bob, "hello bob");

        Assert.Equal(Ids.DirectConversationId(alice, bob), ack.ConversationId);
        Assert.Equal(1UL, ack.Seq);
        Assert.False(ack.Duplicate);
        await bobClient.WaitForMessagesAsync(ack.ConversationId, 1);
        await aliceLaptop.WaitForMessagesAsync(ack.ConversationId, 1);
        var received = bobClient.MessagesIn(ack.ConversationId).Single();
        Assert.Equal("hello bob", received.Content.Text.Text);
        Assert.Equal(alice, received.SenderId);
        Assert.Equal(ack.ServerMsgId, received.ServerMsgId);
        Assert.Equal("hello bob", aliceLaptop.MessagesIn(ack.ConversationId).Single().Content.Text.Text);
        // The sending connection gets the ack, not an echo.
        Assert.Empty(alicePhone.MessagesIn(ack.ConversationId));

        var reply = await bobClient.Client.SendTextAsync(alice, "hi alice");
        Assert.Equal(ack.ConversationId, reply.ConversationId);
        Assert.Equal(2UL, reply.Seq);
        await alicePhone.WaitForMessagesAsync(ack.ConversationId, 1);
    }

    [Fact]
    public async Task Group_RoundTrip_EveryMemberReceivesInOrder()
    {
        var owner = await Server.CreateUserAsync("owner");
        var members = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            members.Add(await Server.CreateUserAsync("m" + i));
        }

        var ownerClient = await Server.ConnectAsync(owner);
        var recorders = new List<Recorder>();
        foreach (var m in members)
        {
            var r = new Recorder(await Server.CreateClientAsync(m));
            await r.Client.ConnectAsync();
            recorders.Add(r);
        }

        var group = await ownerClient.CreateGroupAsync("team", members);
        Assert.Equal("sg_" + group.GroupId, group.ConversationId);
        for (var i = 0; i < 10; i++)
        {
            await ownerClient.SendTextToConversationAsync(group.ConversationId, "msg " + i);
        }

        foreach (var r in recorders)
        {
            // 1 creation notification + 10 messages.
            await r.WaitForMessagesAsync(group.ConversationId, 11);
            var seqs = r.MessagesIn(group.ConversationId).Select(m => m.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, 11).Select(i => (ulong)i), seqs);
            Assert.Equal(Content.BodyOneofCase.GroupCreated, r.MessagesIn(group.ConversationId)[0].Content.BodyCase);
        }

        var memberReply = await recorders[0].Client.SendTextToConversationAsync(group.ConversationId, "from member");
        Assert.Equal(12UL, memberReply.Seq);
    }

    [Fact]
    public async Task Send_RetryWithSameClientMsgId_ReturnsOriginalAckAndStoresNothing()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var carol = await Server.CreateUserAsync("carol");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobClient = await Server.ConnectAsync(bob);

        var first = await aliceClient.SendTextAsync(bob, "once", clientMsgId: "fixed-id-1");
        var retry = await aliceClient.SendTextAsync(bob, "once", clientMsgId: "fixed-id-1");
        Assert.True(retry.Duplicate);
        Assert.Equal(first.Seq, retry.Seq);
        Assert.Equal(first.ServerMsgId, retry.ServerMsgId);

        // Same id from another user, or in another conversation, is a new message.
        var fromBob = await bobClient.SendTextAsync(alice, "mine", clientMsgId: "fixed-id-1");
        Assert.False(fromBob.Duplicate);
        Assert.Equal(first.Seq + 1, fromBob.Seq);
        var otherConversation = await aliceClient.SendTextAsync(carol, "other", clientMsgId: "fixed-id-1");
        Assert.False(otherConversation.Duplicate);
        Assert.Equal(1UL, otherConversation.Seq);

        var history = await aliceClient.GetHistoryAsync(first.ConversationId, 0, Direction.Backward, 50);
        Assert.Equal([1UL, 2UL], history.Messages.Select(m => m.Seq));
        Assert.Equal(2UL, history.MaxSeq);
    }

    [Fact]
    public async Task ConcurrentSenders_SixteenIntoOneConversation_SeqsGaplessAndSameOrderForAll()
    {
        const int Senders = 16;
        const int PerSender = 25;
        var owner = await Server.CreateUserAsync("owner");
        var users = new List<string>();
        for (var i = 0; i < Senders; i++)
        {
            users.Add(await Server.CreateUserAsync("s" + i));
        }

        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync("busy", users);
        var watchers = new List<Recorder>();
        for (var i = 0; i < 2; i++)
        {
            var w = new Recorder(await Server.CreateClientAsync(users[i], "watch", Platform.Web));
            await w.Client.ConnectAsync();
            watchers.Add(w);
        }

        var clients = new List<ParleyClient>();
        foreach (var u in users)
        {
            clients.Add(await Server.ConnectAsync(u));
        }

        var acks = await Task.WhenAll(clients.Select((c, i) => Task.Run(async () =>
        {
            var sends = Enumerable.Range(0, PerSender).Select(k => c.SendTextToConversationAsync(group.ConversationId, $"{i}:{k}"));
            return await Task.WhenAll(sends);
        })));

        var total = Senders * PerSender;
        var seqs = acks.SelectMany(a => a).Select(a => a.Seq).Order().ToList();
        Assert.Equal(Enumerable.Range(2, total).Select(i => (ulong)i), seqs);

        var ownerRecorder = new Recorder(await Server.CreateClientAsync(owner, "late"));
        await ownerRecorder.Client.ConnectAsync();
        var stored = new List<Message>();
        ulong from = 1;
        while (true)
        {
            var page = await ownerRecorder.Client.GetHistoryAsync(group.ConversationId, from, Direction.Forward, 200);
            stored.AddRange(page.Messages);
            if (!page.HasMore)
            {
                break;
            }

            from = page.Messages[^1].Seq + 1;
        }

        Assert.Equal(Enumerable.Range(1, total + 1).Select(i => (ulong)i), stored.Select(m => m.Seq));
        foreach (var w in watchers)
        {
            await w.WaitForMessagesAsync(group.ConversationId, total + 1);
            var seen = w.MessagesIn(group.ConversationId);
            Assert.Equal(stored.Select(m => m.ServerMsgId), seen.Select(m => m.ServerMsgId));
        }
    }

    [Fact]
    public async Task Revoke_BySender_LeavesTombstoneOnEveryReadPath()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();

        var ack = await aliceClient.SendTextAsync(bob, "oops, secret");
        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);

        // Only the sender may revoke.
        var notSender = await Assert.ThrowsAsync<ParleyException>(() => bobRecorder.Client.RevokeAsync(ack.ConversationId, ack.Seq));
        Assert.Equal(ErrorCode.Forbidden, notSender.Code);

        var revoke = await aliceClient.RevokeAsync(ack.ConversationId, ack.Seq);
        Assert.NotNull(revoke);
        Assert.Equal(ack.Seq + 1, revoke.Seq);
        await Wait.UntilAsync(() => bobRecorder.Revokes.Any(r => r.Seq == ack.Seq), "bob saw the revoke");

        var history = await bobRecorder.Client.GetHistoryAsync(ack.ConversationId, 0, Direction.Backward, 10);
        var original = history.Messages.Single(m => m.Seq == ack.Seq);
        Assert.True(original.Revoked);
        Assert.Null(original.Content);
        Assert.Equal(Content.BodyOneofCase.Revoke, history.Messages.Single(m => m.Seq == revoke.Seq).Content.BodyCase);

        var list = await bobRecorder.Client.GetConversationsAsync();
        var preview = list.Conversations.Single(c => c.ConversationId == ack.ConversationId).LastMessage;
        Assert.Equal(revoke.Seq, preview.Seq);

        // A new device syncing from scratch sees the tombstone, not the text.
        var fresh = new Recorder(await Server.CreateClientAsync(bob, "fresh", Platform.Web));
        await fresh.Client.ConnectAsync();
        var synced = fresh.MessagesIn(ack.ConversationId);
        Assert.DoesNotContain(synced, m => m.Content?.Text?.Text == "oops, secret");
        Assert.True(synced.Single(m => m.Seq == ack.Seq).Revoked);
    }

    [Fact]
    public async Task Revoke_AfterWindow_IsRefused()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Messaging:RevokeWindow"] = "00:01:00" });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var ack = await aliceClient.SendTextAsync(bob, "too late");
        server.Clock.Offset = TimeSpan.FromMinutes(2);
        var error = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.RevokeAsync(ack.ConversationId, ack.Seq));
        Assert.Equal(ErrorCode.RevokeWindowPassed, error.Code);
    }

    [Fact]
    public async Task MarkRead_MovesForwardOnly_SendsReceiptsAndUpdatesUnread()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceRecorder = new Recorder(await Server.CreateClientAsync(alice));
        await aliceRecorder.Client.ConnectAsync();
        var bobPhone = await Server.ConnectAsync(bob, "phone", Platform.Android);
        var bobLaptop = new Recorder(await Server.CreateClientAsync(bob, "laptop", Platform.Macos));
        await bobLaptop.Client.ConnectAsync();

        SendReceipt last = null!;
        for (var i = 0; i < 5; i++)
        {
            last = await aliceRecorder.Client.SendTextAsync(bob, "m" + i);
        }

        var before = (await bobPhone.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == last.ConversationId);
        Assert.Equal(5UL, before.Unread);

        var read = await bobPhone.MarkReadAsync(last.ConversationId, 3);
        Assert.Equal(3UL, read.ReadSeq);
        Assert.Equal(2UL, read.Unread);
        await Wait.UntilAsync(() => aliceRecorder.Receipts.Any(r => r.UserId == bob && r.ReadSeq == 3), "alice got bob's receipt");
        await Wait.UntilAsync(() => bobLaptop.Receipts.Any(r => r.UserId == bob && r.ReadSeq == 3), "bob's other device learned the cursor");

        var backwards = await bobPhone.MarkReadAsync(last.ConversationId, 1);
        Assert.Equal(3UL, backwards.ReadSeq);
        var beyond = await bobPhone.MarkReadAsync(last.ConversationId, 1000);
        Assert.Equal(5UL, beyond.ReadSeq);
        Assert.Equal(0UL, beyond.Unread);

        var after = (await bobPhone.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == last.ConversationId);
        Assert.Equal(0UL, after.Unread);
        var aliceView = (await aliceRecorder.Client.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == last.ConversationId);
        Assert.Equal(5UL, aliceView.PeerReadSeq);
        Assert.Equal(0UL, aliceView.Unread);
    }

    [Fact]
    public async Task Conversations_PinAndMute_ListOrderAndOtherDevices()
    {
        var me = await Server.CreateUserAsync("me");
        var peers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            peers.Add(await Server.CreateUserAsync("p" + i));
        }

        var client = await Server.ConnectAsync(me);
        var other = new Recorder(await Server.CreateClientAsync(me, "tablet", Platform.Ipad));
        await other.Client.ConnectAsync();
        var conversations = new List<string>();
        foreach (var p in peers)
        {
            conversations.Add((await client.SendTextAsync(p, "hi " + p)).ConversationId);
        }

        var list = await client.GetConversationsAsync();
        Assert.Equal(conversations.AsEnumerable().Reverse(), list.Conversations.Select(c => c.ConversationId));
        Assert.Equal(3U, list.Total);
        Assert.All(list.Conversations, c => Assert.Equal("hi " + c.PeerUserId, c.LastMessage.Content.Text.Text));

        var pinned = await client.UpdateConversationAsync(conversations[0], pinned: true, muted: true);
        Assert.True(pinned.Pinned);
        Assert.True(pinned.Muted);
        list = await client.GetConversationsAsync();
        Assert.Equal(conversations[0], list.Conversations[0].ConversationId);
        await Wait.UntilAsync(() => other.ConversationUpdates.Any(c => c.ConversationId == conversations[0] && c.Pinned), "the tablet saw the pin");

        var page = await client.GetConversationsAsync(offset: 1, limit: 1);
        Assert.Single(page.Conversations);
        Assert.Equal(conversations[2], page.Conversations[0].ConversationId);
    }

    [Fact]
    public async Task History_PagesBothDirections()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var client = await Server.ConnectAsync(alice);
        string conversation = string.Empty;
        for (var i = 1; i <= 30; i++)
        {
            conversation = (await client.SendTextAsync(bob, "n" + i)).ConversationId;
        }

        var newest = await client.GetHistoryAsync(conversation, 0, Direction.Backward, 10);
        Assert.Equal(Enumerable.Range(21, 10).Select(i => (ulong)i), newest.Messages.Select(m => m.Seq));
        Assert.True(newest.HasMore);
        var older = await client.GetHistoryAsync(conversation, 20, Direction.Backward, 10);
        Assert.Equal(Enumerable.Range(11, 10).Select(i => (ulong)i), older.Messages.Select(m => m.Seq));
        var oldest = await client.GetHistoryAsync(conversation, 5, Direction.Backward, 10);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (ulong)i), oldest.Messages.Select(m => m.Seq));
        Assert.False(oldest.HasMore);
        var forward = await client.GetHistoryAsync(conversation, 25, Direction.Forward, 10);
        Assert.Equal(Enumerable.Range(25, 6).Select(i => (ulong)i), forward.Messages.Select(m => m.Seq));
        Assert.False(forward.HasMore);
        Assert.Equal("n25", forward.Messages[0].Content.Text.Text);
    }

    [Fact]
    public async Task Typing_ReachesOnlineMembersAndIsNeverStored()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();
        var ack = await aliceClient.SendTextAsync(bob, "hey");

        await aliceClient.SetTypingAsync(ack.ConversationId, true);
        await Wait.UntilAsync(() => bobRecorder.Typing.Any(t => t.UserId == alice && t.Typing), "bob saw alice typing");

        var history = await aliceClient.GetHistoryAsync(ack.ConversationId, 0, Direction.Backward, 50);
        Assert.Single(history.Messages);
    }

    [Fact]
    public async Task Custom_ContentRoundTrips_AndInvalidJsonIsRefused()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobRecorder = new Recorder(await Server.CreateClientAsync(bob));
        await bobRecorder.Client.ConnectAsync();

        var ack = await aliceClient.SendCustomAsync(new Target { UserId = bob }, "card", "{\"title\":\"hi\",\"n\":3}");
        await bobRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
        var custom = bobRecorder.MessagesIn(ack.ConversationId).Single().Content.Custom;
        Assert.Equal("card", custom.Type);
        Assert.Equal("{\"title\":\"hi\",\"n\":3}", custom.Json);

        var bad = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendCustomAsync(new Target { UserId = bob }, "card", "{not json"));
        Assert.Equal(ErrorCode.BadRequest, bad.Code);
        var empty = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, string.Empty));
        Assert.Equal(ErrorCode.BadRequest, empty.Code);
        var huge = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.SendTextAsync(bob, new string('x', 40_000)));
        Assert.Equal(ErrorCode.TooLarge, huge.Code);
        var history = await aliceClient.GetHistoryAsync(ack.ConversationId, 0, Direction.Backward, 50);
        Assert.Single(history.Messages);
    }

    [Fact]
    public async Task Send_ToUnknownUserOrConversation_IsTypedError()
    {
        var alice = await Server.CreateUserAsync("alice");
        var client = await Server.ConnectAsync(alice);
        var unknownUser = await Assert.ThrowsAsync<ParleyException>(() => client.SendTextAsync("nobody-" + Guid.NewGuid().ToString("N")[..8], "hi"));
        Assert.Equal(ErrorCode.NotFound, unknownUser.Code);
        var unknownGroup = await Assert.ThrowsAsync<ParleyException>(() => client.SendTextToConversationAsync("sg_" + Guid.NewGuid().ToString("N"), "hi"));
        Assert.Equal(ErrorCode.NotFound, unknownGroup.Code);
    }
}

/// <summary>A server whose clock runs three days ahead of the machine's: what it stamps comes from its TimeProvider.</summary>
public sealed class AheadClockServerFixture : IAsyncLifetime
{
    public static readonly TimeSpan Ahead = TimeSpan.FromDays(3);

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(clock: new ShiftableTimeProvider { Offset = Ahead });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class ServerMsgIdClockTests(AheadClockServerFixture fixture) : IClassFixture<AheadClockServerFixture>
{
    [Fact]
    public async Task ServerMsgId_CarriesTheMillisecondOfTheMessagesServerTime_FromTheServersClock()
    {
        var server = fixture.Server;
        var alice = await server.CreateUserAsync("idtime-a");
        var bob = await server.CreateUserAsync("idtime-b");
        await using var aliceClient = await server.ConnectAsync(alice);

        for (var i = 0; i < 20; i++)
        {
            var ack = await aliceClient.SendTextAsync(bob, $"stamp {i}");

            // A version-7 UUID in the N form: its first 12 hex digits are Unix milliseconds. The server reads its clock once
            // per message, so the id and the server time name the same millisecond, from the server's clock (here three days
            // ahead of the machine's), even across a millisecond edge.
            Assert.Matches("^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$", ack.ServerMsgId);
            Assert.Equal(ack.ServerTime.ToUnixTimeMilliseconds(), Convert.ToInt64(ack.ServerMsgId[..12], 16));
            Assert.True(ack.ServerTime > DateTimeOffset.UtcNow + AheadClockServerFixture.Ahead - TimeSpan.FromHours(1));
        }
    }
}
