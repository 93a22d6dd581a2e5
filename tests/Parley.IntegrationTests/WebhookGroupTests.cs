using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Webhooks;
using Parley.Core.Webhooks;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// A real server with the group before-hooks (<c>beforeCreateGroup</c> fail-closed, <c>beforeMemberJoinGroup</c>
/// fail-open) and the notice after-hooks enabled, all calling one real receiver on loopback that answers per hook.
/// </summary>
public sealed class WebhookGroupFixture : WebhookServerFixture
{
    /// <summary>How the receiver answers each hook (default: an empty 200, which allows / delivers).</summary>
    public ConcurrentDictionary<string, Func<WebhookCall, HttpContext, Task>> Answers { get; } = new(StringComparer.Ordinal);

    protected override Dictionary<string, string?> Settings(WebhookReceiver receiver)
    {
        receiver.Behaviour = (call, context) => Answers.TryGetValue(call.Hook, out var answer) ? answer(call, context) : Task.CompletedTask;
        var settings = new Dictionary<string, string?>
        {
            ["Parley:Webhooks:Hooks:beforeCreateGroup:Enabled"] = "true",
            ["Parley:Webhooks:Hooks:beforeCreateGroup:TimeoutMs"] = "3000",
            ["Parley:Webhooks:Hooks:beforeCreateGroup:FailOpen"] = "false",
            ["Parley:Webhooks:Hooks:beforeMemberJoinGroup:Enabled"] = "true",
            ["Parley:Webhooks:Hooks:beforeMemberJoinGroup:TimeoutMs"] = "3000",
            ["Parley:Webhooks:Hooks:beforeMemberJoinGroup:FailOpen"] = "true",
            ["Parley:Webhooks:Delivery:InitialBackoffMs"] = "50",
            ["Parley:Webhooks:Delivery:MaxBackoffMs"] = "200",
            ["Parley:Webhooks:Delivery:PollIntervalMs"] = "50",
        };
        foreach (var hook in WebhookOptions.NoticeAfterHooks.Append(WebhookOptions.AfterSingleMsgRead).Append(WebhookOptions.AfterGroupMsgRead).Append(WebhookOptions.AfterSendSingleMsg))
        {
            settings[$"Parley:Webhooks:Hooks:{hook}:Enabled"] = "true";
        }

        return settings;
    }
}

/// <summary>
/// Issue 15: <c>beforeCreateGroup</c> and <c>beforeMemberJoinGroup</c> allow, modify or refuse on the native and admin
/// paths (the OpenIM paths: <c>OpenImWebhookTests</c>), with their fail policies; OpenIM's group, revoke and read
/// after-hooks come from the durable outbox; a user's erasure purges the outbox events naming the user.
/// </summary>
public sealed class WebhookGroupTests(WebhookGroupFixture fixture) : IClassFixture<WebhookGroupFixture>
{
    private TestServer Server => fixture.Server;

    private WebhookReceiver Receiver => fixture.Receiver;

    [Fact]
    public async Task BeforeCreateGroup_Native_SignedOpenImShape_ModifiesTheGroup_OrRefusesWithTheReason()
    {
        fixture.Answers[WebhookOptions.BeforeCreateGroup] = (call, context) => call.Json.GetProperty("groupName").GetString() switch
        {
            "spam" => WebhookReceiver.AnswerAsync(context, new { errCode = 7001, errMsg = "No spam groups." }),
            "draft" => WebhookReceiver.AnswerAsync(context, new { errCode = 0, groupName = "Final", introduction = "set by the hook" }),
            _ => WebhookReceiver.AnswerAsync(context, new { errCode = 0 }),
        };
        var owner = await Server.CreateUserAsync("owner");
        var member = await Server.CreateUserAsync("member");
        var ownerClient = await Server.ConnectAsync(owner);

        var refusedId = "g-spam-" + Guid.NewGuid().ToString("N")[..8];
        var refused = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.CreateGroupAsync("spam", [member], refusedId));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Equal("No spam groups.", refused.Message);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync($"/admin/v1/groups/{refusedId}")).StatusCode);
        Assert.DoesNotContain(Receiver.Calls, c => c.Hook == WebhookOptions.BeforeMemberJoinGroup && c.Json.GetProperty("groupID").GetString() == refusedId);

        var before = Receiver.Calls.Count;
        var created = await ownerClient.CreateGroupAsync("draft", [member]);
        var info = Assert.Single(await ownerClient.GetGroupsAsync([created.GroupId]));
        Assert.Equal("Final", info.Name);
        Assert.Equal("set by the hook", info.Introduction);

        var call = Receiver.Calls.Skip(before).Single(c => c.Hook == WebhookOptions.BeforeCreateGroup);
        Assert.Equal(created.GroupId, call.Json.GetProperty("groupID").GetString());
        Assert.Equal(owner, call.Json.GetProperty("ownerUserID").GetString());
        var initial = call.Json.GetProperty("initMemberList").EnumerateArray().ToDictionary(m => m.GetProperty("userID").GetString()!, m => m.GetProperty("roleLevel").GetInt32());
        Assert.Equal(new Dictionary<string, int> { [owner] = 100, [member] = 20 }, initial);
        AssertSigned(call);

        // The first members are checked too (OpenIM calls beforeMemberJoinGroup at creation), with the modified group.
        var join = Receiver.Calls.Skip(before).Single(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup);
        Assert.Equal("create", join.Json.GetProperty("joinKind").GetString());
        var joining = join.Json.GetProperty("memberList").EnumerateArray().ToDictionary(m => m.GetProperty("userID").GetString()!, m => m.GetProperty("roleLevel").GetInt32());
        Assert.Equal(new Dictionary<string, int> { [owner] = 100, [member] = 20 }, joining);
        AssertSigned(join);
    }

    [Fact]
    public async Task BeforeMemberJoinGroup_Native_FreeJoinInviteAndApproval_RefusedOrAdmittedWithTheHooksSettings()
    {
        var blocked = await Server.CreateUserAsync("blocked");
        var welcome = await Server.CreateUserAsync("welcome");
        var later = await Server.CreateUserAsync("later");
        var mutedUntil = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        fixture.Answers[WebhookOptions.BeforeMemberJoinGroup] = (call, context) =>
        {
            var users = call.Json.GetProperty("memberList").EnumerateArray().Select(m => m.GetProperty("userID").GetString()!).ToList();
            return users.Contains(blocked)
                ? WebhookReceiver.AnswerAsync(context, new { errCode = 1, errMsg = "Not on the list." })
                : WebhookReceiver.AnswerAsync(context, new { memberCallbackList = users.Where(u => u == welcome || u == later).Select(u => new { userID = u, nickname = "Hooked", muteEndTime = mutedUntil }) });
        };
        var owner = await Server.CreateUserAsync("owner");
        var ownerClient = await Server.ConnectAsync(owner);
        var filler = await Server.CreateUserAsync("filler");
        var group = await ownerClient.CreateGroupAsync("free", [filler]);

        // A free join: refused with the reason, nothing stored; allowed with the nickname and mute the hook set.
        var blockedClient = await Server.ConnectAsync(blocked);
        var refused = await Assert.ThrowsAsync<ParleyException>(() => blockedClient.JoinGroupAsync(group.GroupId));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Equal("Not on the list.", refused.Message);
        var welcomeClient = await Server.ConnectAsync(welcome);
        Assert.True(await welcomeClient.JoinGroupAsync(group.GroupId));
        var members = (await ownerClient.GetMembersAsync(group.GroupId)).Members;
        Assert.DoesNotContain(members, m => m.UserId == blocked);
        var admitted = Assert.Single(members, m => m.UserId == welcome);
        Assert.Equal("Hooked", admitted.Nickname);
        Assert.Equal(mutedUntil, admitted.MutedUntil);
        var joinCall = Receiver.Calls.Last(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup && c.Json.GetProperty("joinKind").GetString() == "join");
        Assert.Equal(group.GroupId, joinCall.Json.GetProperty("groupID").GetString());
        Assert.Equal(welcome, joinCall.Json.GetProperty("operatorUserID").GetString());
        AssertSigned(joinCall);

        // The owner's invitation of the blocked user is refused as well.
        var invite = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.InviteToGroupAsync(group.GroupId, [blocked]));
        Assert.Equal(ErrorCode.Forbidden, invite.Code);

        // A group that needs approval: the request waits without a check; the approval is checked and admits.
        var approval = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "approval", JoinPolicy = JoinPolicy.Approval, MemberIds = { filler } });
        var laterClient = await Server.ConnectAsync(later);
        var callsBefore = Receiver.Calls.Count(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup);
        Assert.False(await laterClient.JoinGroupAsync(approval.GroupId, "please"));
        Assert.Equal(callsBefore, Receiver.Calls.Count(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup));
        await ownerClient.RespondGroupRequestAsync(approval.GroupId, later, accept: true);
        var approve = Receiver.Calls.Last(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup);
        Assert.Equal("approve", approve.Json.GetProperty("joinKind").GetString());
        Assert.Equal(later, approve.Json.GetProperty("memberList")[0].GetProperty("userID").GetString());
        Assert.Equal("Hooked", Assert.Single((await ownerClient.GetMembersAsync(approval.GroupId)).Members, m => m.UserId == later).Nickname);

        // The blocked user's request in the approval group: its approval is refused and the request stays pending.
        Assert.False(await blockedClient.JoinGroupAsync(approval.GroupId, "me too"));
        var approveBlocked = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.RespondGroupRequestAsync(approval.GroupId, blocked, accept: true));
        Assert.Equal(ErrorCode.Forbidden, approveBlocked.Code);
        Assert.Contains(await ownerClient.GetGroupRequestsAsync(approval.GroupId), r => r.UserId == blocked);
    }

    [Fact]
    public async Task AdminApi_GoesThroughTheSameHooks_AndTheFailPoliciesHold()
    {
        var owner = await Server.CreateUserAsync("owner");
        var member = await Server.CreateUserAsync("member");
        var outsider = await Server.CreateUserAsync("outsider");
        fixture.Answers[WebhookOptions.BeforeCreateGroup] = (call, context) =>
            call.Json.GetProperty("groupName").GetString() == "spam"
                ? WebhookReceiver.AnswerAsync(context, new { actionCode = 1, errMsg = "No spam groups." })
                : Task.CompletedTask;
        fixture.Answers[WebhookOptions.BeforeMemberJoinGroup] = (call, context) =>
            call.Json.GetProperty("memberList").EnumerateArray().Any(m => m.GetProperty("userID").GetString() == outsider)
                ? WebhookReceiver.AnswerAsync(context, new { errCode = 3, errMsg = "Outsiders stay out." })
                : Task.CompletedTask;

        var spam = await Server.Admin.PostAsJsonAsync("/admin/v1/groups", new { name = "spam", ownerId = owner, memberIds = new[] { member } });
        Assert.Equal(HttpStatusCode.Conflict, spam.StatusCode); // the admin API's "refused"
        Assert.Contains("No spam groups.", await spam.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var created = await Server.Admin.PostAsJsonAsync("/admin/v1/groups", new { name = "ok", ownerId = owner, memberIds = new[] { member } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var groupId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("groupId").GetString()!;
        var add = await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{groupId}/members", new { userIds = new[] { outsider } });
        Assert.Equal(HttpStatusCode.Conflict, add.StatusCode);
        Assert.Contains("Outsiders stay out.", await add.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("invite", Receiver.Calls.Last(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup).Json.GetProperty("joinKind").GetString());

        // The receiver fails (500): the fail-closed create hook refuses with UNAVAILABLE, the fail-open join hook lets it in.
        fixture.Answers[WebhookOptions.BeforeCreateGroup] = (_, context) =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        };
        fixture.Answers[WebhookOptions.BeforeMemberJoinGroup] = (_, context) => context.Response.WriteAsync("<html>not json</html>");
        var ownerClient = await Server.ConnectAsync(owner);
        var unavailable = await Assert.ThrowsAsync<ParleyException>(() => ownerClient.CreateGroupAsync("while down", [member]));
        Assert.Equal(ErrorCode.Unavailable, unavailable.Code);
        var outsiderClient = await Server.ConnectAsync(outsider);
        Assert.True(await outsiderClient.JoinGroupAsync(groupId));
        fixture.Answers.TryRemove(WebhookOptions.BeforeCreateGroup, out _);
        fixture.Answers.TryRemove(WebhookOptions.BeforeMemberJoinGroup, out _);
    }

    [Fact]
    public async Task SuperGroupBulkJobs_AskTheJoinHookPerChunk_AndTheAfterHooksNameEveryMember()
    {
        const int Imported = 30; // more than the notice names (20), fewer than a chunk (1000)
        var owner = await Server.CreateUserAsync("bulkowner");
        var first = await Server.CreateUserAsync("bulkfirst");
        var blocked = await Server.CreateUserAsync("bulkblocked");
        var imported = new List<string>();
        for (var i = 0; i < Imported; i++)
        {
            imported.Add(await Server.CreateUserAsync("bulk"));
        }

        fixture.Answers[WebhookOptions.BeforeMemberJoinGroup] = (call, context) =>
            call.Json.GetProperty("memberList").EnumerateArray().Any(m => m.GetProperty("userID").GetString() == blocked)
                ? WebhookReceiver.AnswerAsync(context, new { errCode = 3, errMsg = "No bulk import of blocked users." })
                : Task.CompletedTask;
        try
        {
            var ownerClient = await Server.ConnectAsync(owner);
            var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "bulk hooks", Kind = GroupKind.Super, MemberIds = { first } });

            var job = await RunBulkAsync(group.GroupId, new { add = imported });
            Assert.Equal(("completed", Imported), (job.GetProperty("state").GetString(), job.GetProperty("changed").GetInt32()));
            var asked = Receiver.Calls.Last(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup && c.Json.GetProperty("groupID").GetString() == group.GroupId);
            Assert.Equal("bulk", asked.Json.GetProperty("joinKind").GetString());
            Assert.Equal(imported.Order(StringComparer.Ordinal), asked.Json.GetProperty("memberList").EnumerateArray().Select(m => m.GetProperty("userID").GetString()!).Order(StringComparer.Ordinal));
            var joined = await WaitForHookAsync(WebhookOptions.AfterJoinGroup, c => c.Json.GetProperty("groupID").GetString() == group.GroupId && c.Json.GetProperty("count").GetInt32() == Imported);
            Assert.Equal(imported.Order(StringComparer.Ordinal), joined.Json.GetProperty("userIDs").EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal));

            // A refused chunk stops the job with the receiver's reason and admits nobody of it.
            var refused = await RunBulkAsync(group.GroupId, new { add = new[] { blocked } });
            Assert.Equal("failed", refused.GetProperty("state").GetString());
            Assert.Contains("No bulk import of blocked users.", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
            var blockedClient = await Server.ConnectAsync(blocked);
            await Assert.ThrowsAsync<ParleyException>(() => blockedClient.SendTextToConversationAsync(group.ConversationId, "let me in"));

            // A bulk removal's after-hook names every removed member too (removals are not asked).
            var removed = await RunBulkAsync(group.GroupId, new { remove = imported });
            Assert.Equal(("completed", Imported), (removed.GetProperty("state").GetString(), removed.GetProperty("changed").GetInt32()));
            var kicked = await WaitForHookAsync(WebhookOptions.AfterKickGroupMember, c => c.Json.GetProperty("groupID").GetString() == group.GroupId && c.Json.GetProperty("count").GetInt32() == Imported);
            Assert.Equal(imported.Order(StringComparer.Ordinal), kicked.Json.GetProperty("kickedUserIDs").EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal));
        }
        finally
        {
            fixture.Answers.TryRemove(WebhookOptions.BeforeMemberJoinGroup, out _);
        }
    }

    private async Task<JsonElement> RunBulkAsync(string groupId, object body)
    {
        var started = await Server.Admin.PostAsJsonAsync($"/admin/v1/groups/{groupId}/members/bulk", body);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var job = await started.Content.ReadFromJsonAsync<JsonElement>();
        var jobId = job.GetProperty("jobId").GetString();
        await Wait.UntilAsync(
            () => (job = Server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups/jobs/{jobId}").GetAwaiter().GetResult()).GetProperty("state").GetString() != "running",
            "the bulk job finishes");
        return job;
    }

    private async Task<WebhookCall> WaitForHookAsync(string hook, Func<WebhookCall, bool> match)
    {
        await Wait.UntilAsync(() => Receiver.Calls.Any(c => c.Hook == hook && match(c)), $"{hook} was delivered");
        return Receiver.Calls.First(c => c.Hook == hook && match(c));
    }

    [Fact]
    public async Task AfterHooks_GroupChangesRevokesAndReads_AreDeliveredFromTheOutbox_Signed_InOpenImsShapes()
    {
        fixture.Answers.TryRemove(WebhookOptions.BeforeCreateGroup, out _);
        fixture.Answers.TryRemove(WebhookOptions.BeforeMemberJoinGroup, out _);
        var owner = await Server.CreateUserAsync("owner");
        var kicked = await Server.CreateUserAsync("kicked");
        var joiner = await Server.CreateUserAsync("joiner");
        var ownerClient = await Server.ConnectAsync(owner);
        var kickedClient = await Server.ConnectAsync(kicked);
        var joinerClient = await Server.ConnectAsync(joiner);
        var group = await ownerClient.CreateGroupAsync("events", [kicked]);

        Assert.True(await joinerClient.JoinGroupAsync(group.GroupId));
        await ownerClient.KickMembersAsync(group.GroupId, [kicked], "rules");
        await ownerClient.UpdateGroupAsync(group.GroupId, new GroupSettings { Name = "renamed", Announcement = "read me" });
        var groupAck = await ownerClient.SendTextToConversationAsync(group.ConversationId, "hello group");
        await joinerClient.MarkReadAsync(group.ConversationId, groupAck.Seq);
        await ownerClient.TransferGroupOwnerAsync(group.GroupId, joiner);
        await ownerClient.QuitGroupAsync(group.GroupId);
        await joinerClient.DismissGroupAsync(group.GroupId);
        var direct = await ownerClient.SendTextAsync(kicked, "oops");
        await ownerClient.RevokeAsync(direct.ConversationId, direct.Seq);
        await kickedClient.MarkReadAsync(direct.ConversationId, direct.Seq);

        WebhookCall Event(string hook, Func<JsonElement, bool> match)
        {
            var call = Receiver.Calls.FirstOrDefault(c => c.Hook == hook && match(c.Json));
            Assert.True(call is not null, $"no {hook} event");
            AssertSigned(call);
            Assert.Equal(hook, call.Json.GetProperty("callbackCommand").GetString());
            return call;
        }

        var gid = group.GroupId;
        bool InGroup(JsonElement j) => j.TryGetProperty("groupID", out var g) && g.GetString() == gid;
        string[] expected =
        [
            WebhookOptions.AfterJoinGroup, WebhookOptions.AfterKickGroupMember, WebhookOptions.AfterSetGroupInfo, WebhookOptions.AfterTransferGroupOwner,
            WebhookOptions.AfterQuitGroup, WebhookOptions.AfterDismissGroup, WebhookOptions.AfterGroupMsgRead,
        ];
        await Wait.UntilAsync(
            () => expected.All(h => Receiver.Calls.Any(c => c.Hook == h && InGroup(c.Json)))
                && Receiver.Calls.Any(c => c.Hook == WebhookOptions.AfterRevokeMsg && c.Json.GetProperty("conversationID").GetString() == direct.ConversationId)
                && Receiver.Calls.Any(c => c.Hook == WebhookOptions.AfterSingleMsgRead && c.Json.GetProperty("userID").GetString() == kicked),
            "every after-hook event delivered",
            TimeSpan.FromSeconds(15));

        var joined = Event(WebhookOptions.AfterJoinGroup, j => InGroup(j) && j.GetProperty("userIDs")[0].GetString() == joiner).Json;
        Assert.Equal(3, joined.GetProperty("joinSource").GetInt32());
        var kick = Event(WebhookOptions.AfterKickGroupMember, InGroup).Json;
        Assert.Equal([kicked], kick.GetProperty("kickedUserIDs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(owner, kick.GetProperty("operatorUserID").GetString());
        Assert.Equal("rules", kick.GetProperty("reason").GetString());
        var info = Event(WebhookOptions.AfterSetGroupInfo, InGroup).Json;
        Assert.Equal("renamed", info.GetProperty("groupName").GetString());
        Assert.Equal("read me", info.GetProperty("notification").GetString());
        Assert.False(info.TryGetProperty("introduction", out _));
        var transfer = Event(WebhookOptions.AfterTransferGroupOwner, InGroup).Json;
        Assert.Equal(owner, transfer.GetProperty("oldOwnerUserID").GetString());
        Assert.Equal(joiner, transfer.GetProperty("newOwnerUserID").GetString());
        Assert.Equal(owner, Event(WebhookOptions.AfterQuitGroup, InGroup).Json.GetProperty("userID").GetString());
        Assert.Equal(joiner, Event(WebhookOptions.AfterDismissGroup, InGroup).Json.GetProperty("ownerID").GetString());
        var groupRead = Event(WebhookOptions.AfterGroupMsgRead, j => InGroup(j) && j.GetProperty("userID").GetString() == joiner).Json;
        Assert.Equal((long)groupAck.Seq, groupRead.GetProperty("hasReadSeq").GetInt64());
        Assert.Equal(3, groupRead.GetProperty("sessionType").GetInt32());

        var revoke = Event(WebhookOptions.AfterRevokeMsg, j => j.GetProperty("conversationID").GetString() == direct.ConversationId).Json;
        Assert.Equal(owner, revoke.GetProperty("userID").GetString());
        Assert.Equal(kicked, revoke.GetProperty("recvID").GetString());
        Assert.Equal((long)direct.Seq, revoke.GetProperty("seq").GetInt64());
        var read = Event(WebhookOptions.AfterSingleMsgRead, j => j.GetProperty("userID").GetString() == kicked).Json;
        Assert.Equal(owner, read.GetProperty("recvID").GetString());
        Assert.Equal(1, read.GetProperty("sessionType").GetInt32());

        // Each notice is one event: its own event id, in order of the group's notices.
        var groupEvents = Receiver.Calls.Where(c => c.Hook != WebhookOptions.BeforeCreateGroup && c.Hook != WebhookOptions.BeforeMemberJoinGroup && InGroup(c.Json) && c.Json.TryGetProperty("noticeSeq", out _)).ToList();
        Assert.Equal(6, groupEvents.Select(c => c.Header("X-Parley-Event-Id")).Distinct().Count());
        Assert.Equal(6, groupEvents.Select(c => c.Json.GetProperty("noticeSeq").GetInt64()).Distinct().Count());
    }

    [Fact]
    public async Task Erasure_PurgesTheOutboxEventsNamingTheUser_AndKeepsOthers()
    {
        var erased = await Server.CreateUserAsync("erased");
        var peer = await Server.CreateUserAsync("peer");
        var other = await Server.CreateUserAsync("other");
        var outbox = Server.Services.GetRequiredService<IWebhookOutbox>();

        // The receiver is down for message events: they stay in the outbox, pending.
        fixture.Answers[WebhookOptions.AfterSendSingleMsg] = (_, context) =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        try
        {
            var erasedClient = await Server.ConnectAsync(erased);
            var otherClient = await Server.ConnectAsync(other);
            await erasedClient.SendTextAsync(peer, "private words", "cm-erased");
            await otherClient.SendTextAsync(peer, "stays", "cm-other");
            await Wait.UntilAsync(() => Ids(erased).Length >= 1 && Ids(other).Length >= 1, "both message events attempted");
            var erasedEvents = Ids(erased);
            var otherEvents = Ids(other);
            foreach (var id in erasedEvents)
            {
                Assert.NotNull(await outbox.GetAsync(id));
            }

            var erase = await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{erased}/erase", new { confirm = erased });
            Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
            Assert.True((await erase.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("webhookEventsPurged").GetInt32() >= erasedEvents.Length);

            foreach (var id in erasedEvents)
            {
                Assert.Null(await outbox.GetAsync(id));
            }

            foreach (var id in otherEvents)
            {
                Assert.NotNull(await outbox.GetAsync(id));
            }
        }
        finally
        {
            fixture.Answers.TryRemove(WebhookOptions.AfterSendSingleMsg, out _);
        }

        string[] Ids(string sender) => [.. Receiver.Calls.Where(c => c.Hook == WebhookOptions.AfterSendSingleMsg && c.Json.GetProperty("sendID").GetString() == sender).Select(c => c.Header("X-Parley-Event-Id")).Distinct()];
    }

    [Fact]
    public async Task Cli_WebhooksOutboxDeadLettersAndReplay_AgainstTheRealServer()
    {
        var owner = await Server.CreateUserAsync("owner");
        var leaver = await Server.CreateUserAsync("leaver");
        var ownerClient = await Server.ConnectAsync(owner);
        var leaverClient = await Server.ConnectAsync(leaver);
        var group = await ownerClient.CreateGroupAsync("cli", [leaver]);
        var admin = new Dictionary<string, string?> { ["PARLEY_URL"] = Server.BaseUri.ToString(), ["PARLEY_TOKEN"] = Server.AdminSecret };
        var outbox = Server.Services.GetRequiredService<IWebhookOutbox>();

        // This group's quit event fails every attempt (12, 50..200 ms apart) and is dead-lettered.
        var failing = true;
        fixture.Answers[WebhookOptions.AfterQuitGroup] = (call, context) =>
        {
            if (failing && call.Json.GetProperty("groupID").GetString() == group.GroupId)
            {
                context.Response.StatusCode = 502;
            }

            return Task.CompletedTask;
        };
        try
        {
            await leaverClient.QuitGroupAsync(group.GroupId);
            string? eventId = null;
            await Wait.UntilAsync(
                () =>
                {
                    eventId = Receiver.Calls.FirstOrDefault(c => c.Hook == WebhookOptions.AfterQuitGroup && c.Json.GetProperty("groupID").GetString() == group.GroupId)?.Header("X-Parley-Event-Id");
                    return eventId is not null && outbox.GetAsync(eventId).GetAwaiter().GetResult()?.State == WebhookEventState.DeadLettered;
                },
                "the quit event dead-lettered",
                TimeSpan.FromSeconds(30));

            var counts = (await CliProcess.RunAsync(admin, "webhooks", "outbox", "--json")).Json;
            Assert.True(counts.GetProperty("deadLettered").GetInt64() >= 1);
            var letters = (await CliProcess.RunAsync(admin, "webhooks", "dead-letters", "--hook", WebhookOptions.AfterQuitGroup, "--json")).Json;
            var letter = Assert.Single(letters.EnumerateArray(), l => l.GetProperty("eventId").GetString() == eventId);
            Assert.Equal("status_502", letter.GetProperty("lastError").GetString());
            Assert.Equal(12, letter.GetProperty("attempts").GetInt32());
            var table = await CliProcess.RunAsync(admin, "webhooks", "dead-letters", "--hook", WebhookOptions.AfterQuitGroup);
            Assert.Equal(0, table.ExitCode);
            Assert.Contains(eventId!, table.Out, StringComparison.Ordinal);

            var usage = await CliProcess.RunAsync(admin, "webhooks", "replay");
            Assert.Equal(2, usage.ExitCode);

            // Replayed with the same event id and body; the receiver now takes it.
            failing = false;
            var attemptsBefore = Receiver.Calls.Count(c => c.Header("X-Parley-Event-Id") == eventId);
            var replayed = (await CliProcess.RunAsync(admin, "webhooks", "replay", eventId!, "--json")).Json;
            Assert.Equal(1, replayed.GetProperty("replayed").GetInt32());
            await Wait.UntilAsync(() => outbox.GetAsync(eventId!).GetAwaiter().GetResult()?.State == WebhookEventState.Delivered, "the replayed event delivered");
            var calls = Receiver.Calls.Where(c => c.Header("X-Parley-Event-Id") == eventId).ToList();
            Assert.True(calls.Count > attemptsBefore);
            Assert.Equal(calls[0].Body, calls[^1].Body);
        }
        finally
        {
            fixture.Answers.TryRemove(WebhookOptions.AfterQuitGroup, out _);
        }
    }

    private static void AssertSigned(WebhookCall call)
    {
        var timestamp = long.Parse(call.Header("X-Parley-Timestamp"), CultureInfo.InvariantCulture);
        Assert.Equal(WebhookClient.Sign(Encoding.UTF8.GetBytes(WebhookFixture.Secret), timestamp, call.Body), call.Header("X-Parley-Signature"));
        Assert.Equal(call.Json.GetProperty("eventId").GetString(), call.Header("X-Parley-Event-Id"));
    }
}
