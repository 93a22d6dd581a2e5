using Parley.Core.Webhooks;
using static Parley.Compat.OpenIM.Tests.SocialTestKit;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// Issue 15: the group before-hooks on OpenIM's REST group calls (the OpenIM SDK creates, joins and invites over REST):
/// the same core check as the native and admin paths (<c>WebhookGroupTests</c>), refusals as errCode 1002 with the
/// receiver's reason, changes applied. A real receiver on loopback.
/// </summary>
public sealed class OpenImWebhookTests
{
    [Fact]
    public async Task Group_hooks_refuse_and_modify_create_join_and_invite_over_rest()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        string? refusedUser = null;
        receiver.Behaviour = (call, context) => call.Hook switch
        {
            WebhookOptions.BeforeCreateGroup when call.Json.GetProperty("groupName").GetString() == "spam" =>
                WebhookReceiver.AnswerAsync(context, new { errCode = 7001, errMsg = "No spam groups." }),
            WebhookOptions.BeforeCreateGroup => WebhookReceiver.AnswerAsync(context, new { groupName = call.Json.GetProperty("groupName").GetString() + " (checked)" }),
            WebhookOptions.BeforeMemberJoinGroup when call.Json.GetProperty("memberList").EnumerateArray().Any(m => m.GetProperty("userID").GetString() == refusedUser) =>
                WebhookReceiver.AnswerAsync(context, new { errCode = 1, errMsg = "Not on the list." }),
            _ => Task.CompletedTask,
        };
        await using var server = await OpenImTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Webhooks:Url"] = receiver.BaseUrl,
            ["Parley:Webhooks:Secret"] = "test-webhook-secret-0123456789-abcdefghij",
            ["Parley:Webhooks:Hooks:beforeCreateGroup:Enabled"] = "true",
            ["Parley:Webhooks:Hooks:beforeMemberJoinGroup:Enabled"] = "true",
        });
        var kit = new SocialTestKit(server);
        var users = await kit.UsersAsync("owner", "member", "refused");
        var (owner, member, refused) = (users[0], users[1], users[2]);
        refusedUser = refused.Id;

        var spam = await server.PostAsync("/group/create_group", new { ownerUserID = owner.Id, memberUserIDs = new[] { member.Id }, groupInfo = new { groupName = "spam", groupType = 2 } }, owner.Token);
        Assert.Equal(OpenImErrors.NoPermission, spam.GetProperty("errCode").GetInt32());
        Assert.Contains("No spam groups.", spam.GetRawText(), StringComparison.Ordinal);

        var groupId = NewId("g");
        var created = await kit.OkAsync("/group/create_group", new { ownerUserID = owner.Id, memberUserIDs = new[] { member.Id }, groupInfo = new { groupID = groupId, groupName = "Team", groupType = 2, needVerification = 2 } }, owner.Token);
        Assert.Equal("Team (checked)", Str(created.GetProperty("groupInfo"), "groupName"));
        var infos = await kit.OkAsync("/group/get_groups_info", new { groupIDs = new[] { groupId } }, member.Token);
        Assert.Equal("Team (checked)", Str(List(infos, "groupInfos").Single(), "groupName"));

        // The refused user can neither join nor be invited; the call names the reason.
        var join = await server.PostAsync("/group/join_group", new { groupID = groupId, reqMessage = "hi", joinSource = 3 }, refused.Token);
        Assert.Equal(OpenImErrors.NoPermission, join.GetProperty("errCode").GetInt32());
        Assert.Contains("Not on the list.", join.GetRawText(), StringComparison.Ordinal);
        var invite = await server.PostAsync("/group/invite_user_to_group", new { groupID = groupId, reason = "come", invitedUserIDs = new[] { refused.Id } }, owner.Token);
        Assert.Equal(OpenImErrors.NoPermission, invite.GetProperty("errCode").GetInt32());
        var members = await kit.OkAsync("/group/get_group_member_list", new { groupID = groupId, pagination = new { pageNumber = 1, showNumber = 100 } }, owner.Token);
        Assert.DoesNotContain(List(members, "members"), m => Str(m, "userID") == refused.Id);

        var calls = receiver.Calls.Where(c => c.Hook == WebhookOptions.BeforeMemberJoinGroup).Select(c => c.Json.GetProperty("joinKind").GetString()).ToList();
        Assert.Contains("create", calls);
        Assert.Contains("join", calls);
        Assert.Contains("invite", calls);
    }
}
