using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parley.Storage.Sqlite;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>Edits, reactions, replies and threads, mentions and search (issue 18, ADR 0018): the real server driven by the real SDK.</summary>
public sealed class MessageChangesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Edit_Direct_LiveToEveryDevice_AfterFreshSync_RevisionsAndDedup()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobClient = await Server.CreateClientAsync(bob);
        var edits = new ConcurrentQueue<MessageEditedEvent>();
        bobClient.MessageEdited += (_, e) => edits.Enqueue(e.Edit);
        await bobClient.ConnectAsync();

        var sent = await aliceClient.SendTextAsync(bob, "helo wrld");
        var edit = await aliceClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = "hello world" }, "e1");
        Assert.Equal(1U, edit.EditCount);
        Assert.Equal(sent.Seq, edit.Seq);
        await Wait.UntilAsync(() => edits.Any(e => e.Seq == sent.Seq && e.Content.Text.Text == "hello world" && e.EditCount == 1), "bob saw the edit live");

        // A retry of the same edit stores nothing new.
        var retry = await aliceClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = "hello world" }, "e1");
        Assert.True(retry.Duplicate);
        Assert.Equal(1U, retry.EditCount);

        // Someone else's message, and a non-text target, are refused with typed errors.
        var notMine = await Assert.ThrowsAsync<ParleyException>(() => bobClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = "x" }));
        Assert.Equal(ErrorCode.Forbidden, notMine.Code);
        var custom = await aliceClient.SendCustomAsync(new Target { UserId = bob }, "card", "{}");
        var notText = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.EditAsync(custom.ConversationId, custom.Seq, new TextContent { Text = "x" }));
        Assert.Equal(ErrorCode.BadRequest, notText.Code);

        var history = await bobClient.GetHistoryAsync(sent.ConversationId, sent.Seq, Direction.Forward, 1);
        var message = Assert.Single(history.Messages);
        Assert.Equal("hello world", message.Content.Text.Text);
        Assert.Equal(1U, message.EditCount);
        Assert.Equal(sent.Seq, message.Seq);

        // A fresh device syncs the latest revision; members read the earlier one.
        var fresh = new Recorder(await Server.CreateClientAsync(bob, "fresh", Platform.Web));
        await fresh.Client.ConnectAsync();
        var synced = fresh.MessagesIn(sent.ConversationId).Single(m => m.Seq == sent.Seq);
        Assert.Equal("hello world", synced.Content.Text.Text);
        Assert.Equal(1U, synced.EditCount);
        var revisions = await fresh.Client.GetRevisionsAsync(sent.ConversationId, sent.Seq);
        Assert.Equal(["helo wrld", "hello world"], revisions.Revisions.Select(r => r.Content.Text.Text));
    }

    [Fact]
    public async Task Edit_ResumedSyncGetsTheNewRevision_RevokedAndOutOfWindowAreRefused()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Messaging:EditWindow"] = "00:10:00" });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var state = new InMemoryParleyClientState();
        var bobRecorder = new Recorder(await server.CreateClientAsync(bob, state: state));
        await bobRecorder.Client.ConnectAsync();
        var sent = await aliceClient.SendTextAsync(bob, "draft");
        await bobRecorder.WaitForMessagesAsync(sent.ConversationId, 1);

        // Bob goes offline; the edit reaches him through the resume sync as an update of the message he already has.
        await bobRecorder.Client.DisposeAsync();
        await aliceClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = "final" });
        var again = await server.CreateClientAsync(bob, state: state);
        var updated = new ConcurrentQueue<Message>();
        again.MessageUpdated += (_, e) => updated.Enqueue(e.Message);
        await again.ConnectAsync();
        await Wait.UntilAsync(() => updated.Any(m => m.Seq == sent.Seq && m.Content.Text.Text == "final" && m.EditCount == 1), "the resume sync updated the message");

        var revoked = await aliceClient.SendTextAsync(bob, "gone");
        await aliceClient.RevokeAsync(revoked.ConversationId, revoked.Seq);
        var onRevoked = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.EditAsync(revoked.ConversationId, revoked.Seq, new TextContent { Text = "x" }));
        Assert.Equal(ErrorCode.BadRequest, onRevoked.Code);

        server.Clock.Offset = TimeSpan.FromMinutes(11);
        var late = await Assert.ThrowsAsync<ParleyException>(() => aliceClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = "late" }));
        Assert.Equal(ErrorCode.RevokeWindowPassed, late.Code);
    }

    /// <summary>
    /// Issue 18's edit round trip in a group: every member's device gets the edit live, a fresh device of a member syncs
    /// the latest revision and members read the revisions; a non-member, another member (someone else's message) and a
    /// removed member (their own message, after the removal) are refused with typed errors and nothing is stored.
    /// </summary>
    [Fact]
    public async Task Edit_Group_LiveToMembers_AfterFreshSync_NonMemberOtherMemberAndRemovedMemberRefused()
    {
        var owner = await Server.CreateUserAsync("owner");
        var bob = await Server.CreateUserAsync("bob");
        var carol = await Server.CreateUserAsync("carol");
        var dave = await Server.CreateUserAsync("dave");
        var ownerClient = await Server.ConnectAsync(owner);
        var bobClient = await Server.ConnectAsync(bob);
        var daveClient = await Server.ConnectAsync(dave);
        var carolClient = await Server.CreateClientAsync(carol);
        var edits = new ConcurrentQueue<MessageEditedEvent>();
        carolClient.MessageEdited += (_, e) => edits.Enqueue(e.Edit);
        await carolClient.ConnectAsync();
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "edits", MemberIds = { bob, carol } });
        var sent = await ownerClient.SendTextToConversationAsync(group.ConversationId, "meet at 10");
        var bobs = await bobClient.SendTextToConversationAsync(group.ConversationId, "ok");

        var edit = await ownerClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "meet at 11" });
        Assert.Equal(1U, edit.EditCount);
        await Wait.UntilAsync(() => edits.Any(e => e.Seq == sent.Seq && e.Content.Text.Text == "meet at 11" && e.EditCount == 1), "carol saw the group edit live");

        var fresh = new Recorder(await Server.CreateClientAsync(carol, "fresh", Platform.Web));
        await fresh.Client.ConnectAsync();
        var synced = fresh.MessagesIn(group.ConversationId).Single(m => m.Seq == sent.Seq);
        Assert.Equal("meet at 11", synced.Content.Text.Text);
        Assert.Equal(1U, synced.EditCount);
        Assert.Equal(["meet at 10", "meet at 11"], (await bobClient.GetRevisionsAsync(group.ConversationId, sent.Seq)).Revisions.Select(r => r.Content.Text.Text));

        var outsider = await Assert.ThrowsAsync<ParleyException>(() => daveClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "x" }));
        Assert.Equal(ErrorCode.NotMember, outsider.Code);
        var notMine = await Assert.ThrowsAsync<ParleyException>(() => bobClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "x" }));
        Assert.Equal(ErrorCode.Forbidden, notMine.Code);
        await ownerClient.KickMembersAsync(group.GroupId, [bob]);
        var removed = await Assert.ThrowsAsync<ParleyException>(() => bobClient.EditAsync(group.ConversationId, bobs.Seq, new TextContent { Text = "not ok" }));
        Assert.Equal(ErrorCode.NotMember, removed.Code);

        var history = await ownerClient.GetHistoryAsync(group.ConversationId);
        Assert.Equal("meet at 11", history.Messages.Single(m => m.Seq == sent.Seq).Content.Text.Text);
        var bobsNow = history.Messages.Single(m => m.Seq == bobs.Seq);
        Assert.Equal("ok", bobsNow.Content.Text.Text);
        Assert.Equal(0U, bobsNow.EditCount);
    }

    [Fact]
    public async Task Reactions_Group_CountsLiveAndInSync_LimitsAndRemovedMembersRefused()
    {
        var owner = await Server.CreateUserAsync("owner");
        var bob = await Server.CreateUserAsync("bob");
        var carol = await Server.CreateUserAsync("carol");
        var ownerClient = await Server.ConnectAsync(owner);
        var bobClient = await Server.ConnectAsync(bob);
        var carolClient = await Server.CreateClientAsync(carol);
        var reactions = new ConcurrentQueue<ReactionEvent>();
        carolClient.ReactionChanged += (_, e) => reactions.Enqueue(e.Reaction);
        await carolClient.ConnectAsync();
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "react", MemberIds = { bob, carol } });
        var sent = await ownerClient.SendTextToConversationAsync(group.ConversationId, "lunch?");

        Assert.Equal(1U, (await bobClient.ReactAsync(group.ConversationId, sent.Seq, "👍")).Count);
        Assert.Equal(2U, (await ownerClient.ReactAsync(group.ConversationId, sent.Seq, "👍")).Count);
        Assert.Equal(2U, (await ownerClient.ReactAsync(group.ConversationId, sent.Seq, "👍")).Count);
        Assert.Equal(1U, (await bobClient.ReactAsync(group.ConversationId, sent.Seq, "👨‍👩‍👧")).Count);
        await Wait.UntilAsync(() => reactions.Count(r => r.Seq == sent.Seq) == 3, "carol saw the three reactions live");
        Assert.Equal(2U, reactions.Last(r => r.Emoji == "👍").Count);

        var removed = await ownerClient.ReactAsync(group.ConversationId, sent.Seq, "👍", remove: true);
        Assert.Equal(1U, removed.Count);

        // Bad input gets typed errors.
        var notEmoji = await Assert.ThrowsAsync<ParleyException>(() => bobClient.ReactAsync(group.ConversationId, sent.Seq, "lol"));
        Assert.Equal(ErrorCode.BadRequest, notEmoji.Code);
        var tooLong = await Assert.ThrowsAsync<ParleyException>(() => bobClient.ReactAsync(group.ConversationId, sent.Seq, string.Concat(Enumerable.Repeat("😀", 20))));
        Assert.Equal(ErrorCode.BadRequest, tooLong.Code);
        await bobClient.ReactAsync(group.ConversationId, sent.Seq, "🎉");
        var tooMany = await Assert.ThrowsAsync<ParleyException>(() => bobClient.ReactAsync(group.ConversationId, sent.Seq, "🍕"));
        Assert.Equal(ErrorCode.BadRequest, tooMany.Code);
        var noMessage = await Assert.ThrowsAsync<ParleyException>(() => bobClient.ReactAsync(group.ConversationId, 999, "🍕"));
        Assert.Equal(ErrorCode.NotFound, noMessage.Code);

        // A fresh login sees the counts and its own reactions.
        var fresh = new Recorder(await Server.CreateClientAsync(bob, "fresh", Platform.Web));
        await fresh.Client.ConnectAsync();
        var synced = fresh.MessagesIn(group.ConversationId).Single(m => m.Seq == sent.Seq);
        var thumbs = synced.Reactions.Single(r => r.Emoji == "👍");
        Assert.Equal(1U, thumbs.Count);
        Assert.True(thumbs.ReactedByMe);
        Assert.Equal([bob], thumbs.RecentUserIds);
        Assert.Equal(["👍", "👨‍👩‍👧", "🎉"], synced.Reactions.Select(r => r.Emoji));
        var carolView = (await carolClient.GetHistoryAsync(group.ConversationId)).Messages.Single(m => m.Seq == sent.Seq);
        Assert.False(carolView.Reactions.Single(r => r.Emoji == "👍").ReactedByMe);

        // A removed member can neither react nor see later changes.
        await ownerClient.KickMembersAsync(group.GroupId, [carol]);
        var kicked = await Assert.ThrowsAsync<ParleyException>(() => carolClient.ReactAsync(group.ConversationId, sent.Seq, "👍"));
        Assert.Equal(ErrorCode.NotMember, kicked.Code);
    }

    /// <summary>
    /// Every limit ADR 0018 names is enforced with a typed error, with the limits set low through configuration: edits per
    /// message, edit history visible to the sender only, distinct reactions per message, mentions per message, @all per hour
    /// and the shortest search query. (The edit window, emoji length and reactions per user are in the tests above.)
    /// </summary>
    [Fact]
    public async Task Limits_EachConfiguredLimit_RefusesWithATypedError_AtTheLimit()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Messaging:MaxEditsPerMessage"] = "2",
            ["Parley:Messaging:EditHistoryVisible"] = "false",
            ["Parley:Messaging:MaxDistinctReactions"] = "2",
            ["Parley:Messaging:MaxMentions"] = "2",
            ["Parley:Messaging:MentionAllPerHour"] = "2",
            ["Parley:Messaging:SearchMinQueryChars"] = "4",
        });
        var owner = await server.CreateUserAsync("owner");
        var bob = await server.CreateUserAsync("bob");
        var carol = await server.CreateUserAsync("carol");
        var dave = await server.CreateUserAsync("dave");
        var ownerClient = await server.ConnectAsync(owner);
        var bobClient = await server.ConnectAsync(bob);
        var carolClient = await server.ConnectAsync(carol);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "limits", MemberIds = { bob, carol, dave } });
        var target = new Target { ConversationId = group.ConversationId };

        // Edits: two, then refused; the earlier revisions are the sender's only.
        var sent = await ownerClient.SendTextToConversationAsync(group.ConversationId, "v0 limitword");
        await ownerClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "v1 limitword" });
        await ownerClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "v2 limitword" });
        var thirdEdit = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.EditAsync(group.ConversationId, sent.Seq, new TextContent { Text = "v3" }));
        Assert.Equal(ErrorCode.BadRequest, thirdEdit.Code);
        Assert.Equal(["v0 limitword", "v1 limitword", "v2 limitword"], (await ownerClient.GetRevisionsAsync(group.ConversationId, sent.Seq)).Revisions.Select(r => r.Content.Text.Text));
        var hidden = await Assert.ThrowsAsync<ParleyException>(() => bobClient.GetRevisionsAsync(group.ConversationId, sent.Seq));
        Assert.Equal(ErrorCode.Forbidden, hidden.Code);

        // Reactions: two different emoji on the message, a third kind is refused; an existing one can still be added to.
        await bobClient.ReactAsync(group.ConversationId, sent.Seq, "👍");
        await carolClient.ReactAsync(group.ConversationId, sent.Seq, "🎉");
        var thirdKind = await Assert.ThrowsAsync<ParleyException>(() => carolClient.ReactAsync(group.ConversationId, sent.Seq, "🍕"));
        Assert.Equal(ErrorCode.BadRequest, thirdKind.Code);
        Assert.Equal(2U, (await carolClient.ReactAsync(group.ConversationId, sent.Seq, "👍")).Count);

        // Mentions: two members, not three.
        await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@bob @carol", MentionUserIds = { bob, carol } } });
        var threeMentions = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all three", MentionUserIds = { bob, carol, dave } } }));
        Assert.Equal(ErrorCode.BadRequest, threeMentions.Code);

        // @all: twice an hour per group, then rate-limited (the message is not stored).
        await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all one", MentionAll = true } });
        await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all two", MentionAll = true } });
        var thirdAll = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all three", MentionAll = true } }));
        Assert.Equal(ErrorCode.RateLimited, thirdAll.Code);
        Assert.DoesNotContain((await bobClient.GetHistoryAsync(group.ConversationId)).Messages, m => m.Content?.Text?.Text == "@all three");

        // Search: the shortest query is 4 characters here.
        var shortQuery = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SearchAsync("lim"));
        Assert.Equal(ErrorCode.BadRequest, shortQuery.Code);
        Assert.Single((await bobClient.SearchAsync("limitword")).Hits);
    }

    /// <summary>
    /// A very common word costs a bounded amount per page (Parley:Messaging:SearchScanLimit index matches in the conversations
    /// searched, those the user may not see included): a page that reaches the limit short comes back with a token; one that
    /// finds nothing the user may see in it is refused with a typed error instead of scanning everything. Other users'
    /// conversations never count (issue 18): twelve newer matches between carol and dave change nothing for bob.
    /// </summary>
    [Fact]
    public async Task Search_AVeryCommonWord_IsBoundedPerPage_AWindowWithNothingVisibleIsRefused()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Messaging:SearchScanLimit"] = "10" });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var carol = await server.CreateUserAsync("carol");
        var dave = await server.CreateUserAsync("dave");
        var aliceClient = await server.ConnectAsync(alice);
        var bobClient = await server.ConnectAsync(bob);
        var carolClient = await server.ConnectAsync(carol);
        await aliceClient.SendTextAsync(bob, "an old commonword for bob");

        // A group whose earlier history newcomers do not see: its twelve matches are in bob's conversations, invisible to him.
        var group = await aliceClient.CreateGroupAsync(new CreateGroupRequest { Name = "before bob", MemberIds = { carol } });
        for (var i = 0; i < 12; i++)
        {
            await aliceClient.SendTextToConversationAsync(group.ConversationId, $"commonword {i}");
        }

        await aliceClient.InviteToGroupAsync(group.GroupId, [bob]);
        await aliceClient.SendTextAsync(bob, "a new commonword for bob");
        for (var i = 0; i < 12; i++)
        {
            await carolClient.SendTextAsync(dave, $"commonword elsewhere {i}");
        }

        // The newest 10 matches in bob's conversations hold one he may see: a short page, with a token.
        var first = await bobClient.SearchAsync("commonword");
        Assert.Equal("a new commonword for bob", Assert.Single(first.Hits).Message.Content.Text.Text);
        Assert.NotEmpty(first.NextPageToken);

        // Below it the next 10 are the group's from before he joined: refused, not a scan of everything.
        var tooBroad = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SearchAsync("commonword", pageToken: first.NextPageToken));
        Assert.Equal(ErrorCode.BadRequest, tooBroad.Code);

        // In bob's direct conversation only its matches count: both, however common the word is elsewhere.
        var inConversation = await bobClient.SearchAsync("commonword", first.Hits[0].Message.ConversationId);
        Assert.Equal(["a new commonword for bob", "an old commonword for bob"], inConversation.Hits.Select(h => h.Message.Content.Text.Text));
        Assert.Empty(inConversation.NextPageToken);

        // Carol's newest five, newest first, and a token to the rest.
        var carols = await carolClient.SearchAsync("commonword elsewhere", limit: 5);
        Assert.Equal(Enumerable.Range(7, 5).Reverse().Select(i => $"commonword elsewhere {i}"), carols.Hits.Select(h => h.Message.Content.Text.Text));
        Assert.NotEmpty(carols.NextPageToken);
    }

    /// <summary>
    /// Issue 18 (stop 31): a SQLite search across the user's conversations for a word whose newest matches are other users'
    /// walks at most Parley:Storage:Sqlite:SearchRowAllowance rows of the index below its cursor (here 3, against carol's
    /// 24 newer matches); a page still short there comes back short, even empty, with a token, and following the tokens
    /// through the SDK reaches each of bob's hits once, newest first, and nothing of carol's. A search of his one
    /// conversation is not banded: both hits on its first page.
    /// </summary>
    [Fact]
    public async Task Search_PastTheSqliteRowAllowance_ShortPagesWithATokenReachEveryHit()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:Sqlite:SearchRowAllowance"] = "3" });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var carol = await server.CreateUserAsync("carol");
        var dave = await server.CreateUserAsync("dave");
        var aliceClient = await server.ConnectAsync(alice);
        var carolClient = await server.ConnectAsync(carol);
        var sent = await aliceClient.SendTextAsync(bob, "rareword one for bob");
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 12; i++)
            {
                await carolClient.SendTextAsync(dave, $"rareword elsewhere {round}-{i}");
            }

            if (round == 0)
            {
                await aliceClient.SendTextAsync(bob, "rareword two for bob");
            }
        }

        var bobClient = await server.ConnectAsync(bob);
        string[] expected = ["rareword two for bob", "rareword one for bob"];
        var texts = new List<string>();
        var (requests, empty) = (0, 0);
        var token = string.Empty;
        do
        {
            var page = await bobClient.SearchAsync("rareword", pageToken: token, limit: 5);
            requests++;
            empty += page.Hits.Count == 0 ? 1 : 0;
            texts.AddRange(page.Hits.Select(h => h.Message.Content.Text.Text));
            token = page.NextPageToken;
        }
        while (token.Length > 0 && requests < 100);

        Assert.Equal(expected, texts);
        Assert.True(empty > 0, $"{requests} requests, none empty: the allowance did not cut");

        var one = await bobClient.SearchAsync("rareword", sent.ConversationId, limit: 5);
        Assert.Equal(expected, one.Hits.Select(h => h.Message.Content.Text.Text));
        Assert.Empty(one.NextPageToken);
    }

    [Fact]
    public async Task Replies_ThreadPagedWithReplyCount_RevokedRootKept_OtherConversationRefused()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var carol = await Server.CreateUserAsync("carol");
        var aliceClient = await Server.ConnectAsync(alice);
        var bobClient = await Server.ConnectAsync(bob);
        var root = await aliceClient.SendTextAsync(bob, "question");
        var other = await aliceClient.SendTextAsync(carol, "elsewhere");
        var target = new Target { ConversationId = root.ConversationId };
        var replies = new List<SendReceipt>();
        for (var i = 0; i < 3; i++)
        {
            replies.Add(await bobClient.SendAsync(target, new Content { Text = new TextContent { Text = "answer " + i }, ReplyTo = new ReplyTo { Seq = root.Seq, ServerMsgId = root.ServerMsgId } }));
        }

        var first = await aliceClient.GetThreadAsync(root.ConversationId, root.Seq, 0, 2);
        Assert.Equal(replies.Take(2).Select(r => r.Seq), first.Messages.Select(m => m.Seq));
        Assert.True(first.HasMore);
        var second = await aliceClient.GetThreadAsync(root.ConversationId, root.Seq, first.Messages[^1].Seq, 2);
        Assert.Equal([replies[2].Seq], second.Messages.Select(m => m.Seq));
        Assert.False(second.HasMore);
        Assert.Equal(3U, (await aliceClient.GetHistoryAsync(root.ConversationId, root.Seq, Direction.Forward, 1)).Messages.Single().ReplyCount);

        // The seq of another conversation's message, or a mismatching server id, is refused.
        var wrong = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SendAsync(target, new Content { Text = new TextContent { Text = "x" }, ReplyTo = new ReplyTo { Seq = 999 } }));
        Assert.Equal(ErrorCode.NotFound, wrong.Code);
        var mismatch = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SendAsync(target, new Content { Text = new TextContent { Text = "x" }, ReplyTo = new ReplyTo { Seq = root.Seq, ServerMsgId = other.ServerMsgId } }));
        Assert.Equal(ErrorCode.BadRequest, mismatch.Code);

        // Revoking the root keeps the thread and shows the root as revoked.
        await aliceClient.RevokeAsync(root.ConversationId, root.Seq);
        var after = await bobClient.GetThreadAsync(root.ConversationId, root.Seq);
        Assert.Equal(3, after.Messages.Count);
        var revokedRoot = (await bobClient.GetHistoryAsync(root.ConversationId, root.Seq, Direction.Forward, 1)).Messages.Single();
        Assert.True(revokedRoot.Revoked);
        Assert.Equal(3U, revokedRoot.ReplyCount);
    }

    [Fact]
    public async Task Mentions_MembersOnly_AllByAdmins_ShownUntilRead()
    {
        var owner = await Server.CreateUserAsync("owner");
        var bob = await Server.CreateUserAsync("bob");
        var stranger = await Server.CreateUserAsync("stranger");
        var ownerClient = await Server.ConnectAsync(owner);
        var bobClient = await Server.CreateClientAsync(bob);
        await bobClient.ConnectAsync();
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "mentions", MemberIds = { bob } });
        var target = new Target { ConversationId = group.ConversationId };

        var bad = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@x", MentionUserIds = { stranger } } }));
        Assert.Equal(ErrorCode.BadRequest, bad.Code);
        var notAdmin = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all", MentionAll = true } }));
        Assert.Equal(ErrorCode.Forbidden, notAdmin.Code);

        var mention = await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@bob look", MentionUserIds = { bob } } });
        var listed = (await bobClient.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == group.ConversationId);
        Assert.Equal(mention.Seq, listed.MentionSeq);

        // A fresh device sees it after sync; reading clears it.
        var fresh = new Recorder(await Server.CreateClientAsync(bob, "fresh", Platform.Web));
        await fresh.Client.ConnectAsync();
        Assert.Equal(mention.Seq, fresh.Syncs.Single().Conversations.Single(c => c.ConversationId == group.ConversationId).MentionSeq);
        await bobClient.MarkReadAsync(group.ConversationId, mention.Seq);
        Assert.Equal(0UL, (await bobClient.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == group.ConversationId).MentionSeq);

        var all = await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "@all meeting", MentionAll = true } });
        Assert.Equal(all.Seq, (await bobClient.GetConversationsAsync()).Conversations.Single(c => c.ConversationId == group.ConversationId).MentionSeq);
    }

    [Fact]
    public async Task Search_ChineseAndEnglish_OnlyWhatTheUserMaySee_Paged_WithSnippets()
    {
        var owner = await Server.CreateUserAsync("owner");
        var bob = await Server.CreateUserAsync("bob");
        var late = await Server.CreateUserAsync("late");
        var ownerClient = await Server.ConnectAsync(owner);
        var bobClient = await Server.ConnectAsync(bob);
        var lateClient = await Server.ConnectAsync(late);
        var token = "kw" + Guid.NewGuid().ToString("N")[..8];
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "search", MemberIds = { bob } });
        var target = new Target { ConversationId = group.ConversationId };
        await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = $"明天开会讨论{token}预算" } });
        var revoked = await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = $"secret {token}" } });
        await ownerClient.RevokeAsync(group.ConversationId, revoked.Seq);
        var edited = await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = "typo" } });
        await ownerClient.EditAsync(group.ConversationId, edited.Seq, new TextContent { Text = $"fixed {token.ToUpperInvariant()} typo" });
        await ownerClient.SendTextAsync(late, $"direct {token} to late only");

        // The newcomer joins after these (history not shown to newcomers): sees none of the group's.
        await ownerClient.InviteToGroupAsync(group.GroupId, [late]);
        await ownerClient.SendAsync(target, new Content { Text = new TextContent { Text = $"welcome {token}" } });

        var bobHits = await bobClient.SearchAsync(token);
        // Newest first; the revoked one is gone, the edited one is found by its new text (case-insensitively).
        Assert.Collection(
            bobHits.Hits,
            h => Assert.StartsWith("welcome", h.Message.Content.Text.Text, StringComparison.Ordinal),
            h => Assert.StartsWith("fixed", h.Message.Content.Text.Text, StringComparison.Ordinal),
            h => Assert.StartsWith("明天开会讨论", h.Message.Content.Text.Text, StringComparison.Ordinal));
        Assert.All(bobHits.Hits, h => Assert.Contains("\uE000", h.Snippet, StringComparison.Ordinal));
        Assert.Equal(3, bobHits.Hits.Count);
        Assert.Single((await bobClient.SearchAsync("讨论" + token)).Hits);

        var lateHits = await lateClient.SearchAsync(token);
        Assert.Equal(2, lateHits.Hits.Count);
        Assert.DoesNotContain(lateHits.Hits, h => h.Message.Content.Text.Text.Contains("明天", StringComparison.Ordinal));

        var page1 = await bobClient.SearchAsync(token, group.ConversationId, null, 2);
        Assert.Equal(2, page1.Hits.Count);
        var page2 = await bobClient.SearchAsync(token, group.ConversationId, page1.NextPageToken, 2);
        Assert.Single(page2.Hits);
        Assert.Empty(page2.NextPageToken);

        var tooShort = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SearchAsync("ab"));
        Assert.Equal(ErrorCode.BadRequest, tooShort.Code);
        var outsider = await Server.ConnectAsync(await Server.CreateUserAsync("outsider"));
        Assert.Empty((await outsider.SearchAsync(token)).Hits);
    }

    [Fact]
    public async Task Search_TextsAreQueuedInTheCommit_AndTheIndexerIndexesThemWithoutASearch()
    {
        // ADR 0019: the commit only queues a message's search text; the background indexer (SearchIndexInterval, 1 s by
        // default) moves it into the FTS5 index. Nothing here searches, so only the indexer can have indexed these.
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var aliceClient = await Server.ConnectAsync(alice);
        var token = "ix" + Guid.NewGuid().ToString("N")[..10];
        for (var i = 0; i < 5; i++)
        {
            await aliceClient.SendTextAsync(bob, $"queued {token} number {i}");
        }

        var database = Server.Services.GetRequiredService<SqliteDatabase>();
        async Task<(long Indexed, long Queued)> CountAsync() => (await database.QueryAsync(
            "SELECT (SELECT COUNT(*) FROM message_search WHERE message_search MATCH $q), (SELECT COUNT(*) FROM search_pending WHERE body LIKE $like);",
            c =>
            {
                c.Parameters.AddWithValue("$q", "\"" + token + "\"");
                c.Parameters.AddWithValue("$like", "%" + token + "%");
            },
            r => (r.GetInt64(0), r.GetInt64(1)))).Single();

        var waited = Stopwatch.StartNew();
        var counts = await CountAsync();
        while (counts != (5, 0) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            counts = await CountAsync();
        }

        Assert.Equal((5L, 0L), counts);
    }

    [Fact]
    public async Task Search_TurnedOff_NothingIsQueuedOrIndexed_AndASearchIsRefusedAsUnsupported()
    {
        // Parley:Messaging:FullTextSearch = false: the server keeps no second, searchable copy of what users write.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Messaging:FullTextSearch"] = "false",
            ["Parley:Messaging:SearchIndexInterval"] = "00:00:00.050",
        });
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var bobClient = await server.ConnectAsync(bob);
        var token = "off" + Guid.NewGuid().ToString("N")[..10];
        var sent = await aliceClient.SendTextAsync(bob, $"first {token}");
        await aliceClient.SendTextAsync(bob, $"second {token}");
        await aliceClient.EditAsync(sent.ConversationId, sent.Seq, new TextContent { Text = $"edited {token}" });

        var refused = await Assert.ThrowsAsync<ParleyException>(() => bobClient.SearchAsync(token));
        Assert.Equal(ErrorCode.Unsupported, refused.Code);

        // Everything was stored and delivered as usual.
        var history = await bobClient.GetHistoryAsync(sent.ConversationId);
        Assert.Equal([$"edited {token}", $"second {token}"], history.Messages.OrderBy(m => m.Seq).Select(m => m.Content.Text.Text));

        // Neither the queue nor the index holds the texts (the indexer had time to run: it does not run at all).
        var database = server.Services.GetRequiredService<SqliteDatabase>();
        var counts = (await database.QueryAsync(
            "SELECT (SELECT COUNT(*) FROM search_pending), (SELECT COUNT(*) FROM message_search WHERE message_search MATCH $q);",
            c => c.Parameters.AddWithValue("$q", "\"" + token + "\""),
            r => (r.GetInt64(0), r.GetInt64(1)))).Single();
        Assert.Equal((0L, 0L), counts);
    }
}
