using Parley.Abstractions.Messaging;
using Parley.Core.Groups;
using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>The group field limits and command arguments every edge's commands are held to.</summary>
public sealed class GroupRulesTests
{
    [Theory]
    [InlineData(129, 0, 0, "{}")]
    [InlineData(0, 1025, 0, "{}")]
    [InlineData(0, 0, 4097, "{}")]
    [InlineData(0, 0, 0, "{not json")]
    public void GroupRules_CreateWithAFieldOverItsLimit_IsAnInvalidArgument(int name, int avatar, int intro, string ex)
    {
        var command = new CreateGroupCommand("g1", new string('n', name), "owner", ["m1"], null)
        {
            AvatarUrl = new string('u', avatar),
            Introduction = new string('i', intro),
            Ex = ex,
        };
        Assert.Equal(CoreError.InvalidArgument, GroupRules.Check(command)?.Error);
    }

    [Fact]
    public void GroupRules_CreateAtTheLimits_IsAccepted()
    {
        var command = new CreateGroupCommand("g1", new string('n', GroupRules.MaxNameLength), "owner", ["m1"], null)
        {
            AvatarUrl = new string('u', GroupRules.MaxUrlLength),
            Introduction = new string('i', GroupRules.MaxTextLength),
            Announcement = new string('a', GroupRules.MaxTextLength),
            Ex = "",
            AdminIds = ["m2"],
        };
        Assert.Null(GroupRules.Check(command));
    }

    [Theory]
    [InlineData("bad id!", "m1", "m2")]
    [InlineData("g1", "", "m2")]
    [InlineData("g1", "m1", "has space")]
    public void GroupRules_CreateWithAMalformedId_IsAnInvalidArgument(string groupId, string member, string admin) =>
        Assert.Equal(CoreError.InvalidArgument, GroupRules.Check(new CreateGroupCommand(groupId, "n", "owner", [member], null) { AdminIds = [admin] })?.Error);

    [Fact]
    public void GroupRules_Create_NoMembersIsValid_MoreThan500MembersIsRefused()
    {
        Assert.Null(GroupRules.Check(new CreateGroupCommand("g1", "n", "owner", [], null)));
        string[] five = [.. Enumerable.Range(0, GroupRules.MaxUsersPerCommand).Select(i => "m" + i)];
        Assert.Null(GroupRules.Check(new CreateGroupCommand("g1", "n", "owner", five, null)));
        Assert.Equal(CoreError.InvalidArgument, GroupRules.Check(new CreateGroupCommand("g1", "n", "owner", [.. five, "one-more"], null))?.Error);
        Assert.Equal(CoreError.InvalidArgument, GroupRules.Check(new CreateGroupCommand("g1", "n", "owner", [.. five, "x"], null) { AdminIds = ["a1"] })?.Error);
    }

    [Fact]
    public void GroupRules_Commands_CheckTheirArguments()
    {
        static CoreError? Check(GroupCommand c) => GroupRules.Check(c)?.Error;
        var me = "me";
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.UpdateInfo, me, null)));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.UpdateInfo, me, null)
        {
            Settings = new GroupSettingsPatch(null, null, null, null, "[1,", null, null, null, null),
        }));
        Assert.Null(Check(new GroupCommand(GroupOperation.UpdateInfo, me, null) { Settings = new GroupSettingsPatch("n", null, null, null, null, null, null, true, null) }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.Invite, me, null)));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.Kick, me, null) { UserIds = ["u"], Message = new string('r', 257) }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.Invite, me, null) { UserIds = [.. Enumerable.Range(0, 501).Select(i => "u" + i)] }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.SetRole, me, null) { UserIds = ["u"], Role = MemberRole.Owner }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.Mute, me, null) { UserIds = ["u"], Seconds = GroupRules.MaxMuteSeconds + 1 }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.Mute, me, null) { UserIds = ["u"], Seconds = -1 }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.SetNickname, me, null) { Nickname = new string('n', 65) }));
        Assert.Equal(CoreError.InvalidArgument, Check(new GroupCommand(GroupOperation.TransferOwner, me, null) { UserIds = [""] }));
        Assert.Null(Check(new GroupCommand(GroupOperation.SetNickname, me, null) { Nickname = "nick" }));
        Assert.Null(Check(new GroupCommand(GroupOperation.Quit, me, null)));
        Assert.Null(Check(new GroupCommand(GroupOperation.Mute, me, null) { UserIds = ["u"], Seconds = GroupRules.MaxMuteSeconds }));
    }
}

/// <summary>Who may do what to whom in a group.</summary>
public sealed class RosterRulesTests
{
    [Theory]
    [InlineData(MemberRole.Owner, MemberRole.Admin, true)]
    [InlineData(MemberRole.Owner, MemberRole.Member, true)]
    [InlineData(MemberRole.Admin, MemberRole.Member, true)]
    [InlineData(MemberRole.Admin, MemberRole.Admin, false)]
    [InlineData(MemberRole.Admin, MemberRole.Owner, false)]
    [InlineData(MemberRole.Member, MemberRole.Member, false)]
    public void RosterRules_KickAndMute_OnlyBelowTheOperatorsRole(MemberRole op, MemberRole target, bool allowed)
    {
        Assert.Equal(allowed, RosterRules.Kick("op", op, "target", target) is null);
        Assert.Equal(allowed, RosterRules.Mute(op, target) is null);
    }

    [Fact]
    public void RosterRules_Self_NoSelfKickNoOwnRoleChangeButSelfRename()
    {
        Assert.Equal(CoreError.Forbidden, RosterRules.Kick("me", MemberRole.Owner, "me", MemberRole.Owner)?.Error);
        Assert.Equal(CoreError.Forbidden, RosterRules.SetRole("me", MemberRole.Owner, "me")?.Error);
        Assert.Null(RosterRules.Rename("me", MemberRole.Member, "me", MemberRole.Member));
        Assert.Equal(CoreError.Forbidden, RosterRules.Rename("me", MemberRole.Admin, "other", MemberRole.Admin)?.Error);
        Assert.Null(RosterRules.Rename("me", MemberRole.Admin, "other", MemberRole.Member));
    }

    [Fact]
    public void RosterRules_OwnerOnly_SetRoleAndNoQuit()
    {
        Assert.Null(RosterRules.SetRole("owner", MemberRole.Owner, "m"));
        Assert.Equal(CoreError.Forbidden, RosterRules.SetRole("admin", MemberRole.Admin, "m")?.Error);
        Assert.Equal(CoreError.Forbidden, RosterRules.Quit(MemberRole.Owner)?.Error);
        Assert.Null(RosterRules.Quit(MemberRole.Admin));
        Assert.Equal(CoreError.Forbidden, RosterRules.RequireRole(MemberRole.Member, MemberRole.Admin)?.Error);
    }

    [Theory]
    [InlineData(GroupJoinPolicy.Free, MemberRole.Member, Admission.Admit)]
    [InlineData(GroupJoinPolicy.Approval, MemberRole.Member, Admission.AwaitApproval)]
    [InlineData(GroupJoinPolicy.InviteOnly, MemberRole.Member, Admission.Refuse)]
    [InlineData(GroupJoinPolicy.Approval, MemberRole.Admin, Admission.Admit)]
    [InlineData(GroupJoinPolicy.InviteOnly, MemberRole.Owner, Admission.Admit)]
    public void RosterRules_Invite_FollowsThePolicyForPlainMembersOnly(GroupJoinPolicy policy, MemberRole inviter, Admission expected) =>
        Assert.Equal(expected, RosterRules.Invite(policy, inviter));

    [Theory]
    [InlineData(GroupJoinPolicy.Free, Admission.Admit)]
    [InlineData(GroupJoinPolicy.Approval, Admission.AwaitApproval)]
    [InlineData(GroupJoinPolicy.InviteOnly, Admission.Refuse)]
    public void RosterRules_Join_FollowsThePolicy(GroupJoinPolicy policy, Admission expected) =>
        Assert.Equal(expected, RosterRules.Join(policy));

    [Fact]
    public void RosterRules_Capacity_RefusesPastTheLimit()
    {
        Assert.Null(RosterRules.Capacity(9, 1, 10));
        Assert.Equal(CoreError.Forbidden, RosterRules.Capacity(10, 1, 10)?.Error);
        Assert.Equal(CoreError.Forbidden, RosterRules.Capacity(5, 6, 10)?.Error);
    }
}
