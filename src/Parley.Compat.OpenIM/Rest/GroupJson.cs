using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;

namespace Parley.Compat.OpenIM.Rest;

/// <summary>Parley groups and members as OpenIM's GroupInfo / GroupMemberFullInfo, and OpenIM's group constants.</summary>
internal static class GroupJson
{
    public const int RoleOwner = 100;
    public const int RoleAdmin = 60;
    public const int RoleOrdinary = 20;

    public const int StatusOk = 0;
    public const int StatusDismissed = 2;
    public const int StatusMuted = 3;

    /// <summary>OpenIM's only group type since v3 (read-diffusion "super" groups).</summary>
    public const int WorkingGroup = 2;

    public const int ApplyNeedVerificationInviteDirectly = 0;
    public const int AllNeedVerification = 1;
    public const int Directly = 2;

    public const int JoinByInvitation = 2;
    public const int JoinBySearch = 3;

    public static int Role(MemberRole role) => role switch
    {
        MemberRole.Owner => RoleOwner,
        MemberRole.Admin => RoleAdmin,
        _ => RoleOrdinary,
    };

    /// <summary>
    /// Parley's join policy as OpenIM's needVerification: free → 2 (join directly); approval and invite-only → 1 (every
    /// join needs an owner's or admin's approval; invite-only groups refuse join requests outright).
    /// </summary>
    public static int NeedVerification(GroupJoinPolicy policy) => policy == GroupJoinPolicy.Free ? Directly : AllNeedVerification;

    /// <summary>OpenIM's needVerification as a Parley join policy: 2 → free, 0 and 1 → approval; null for unknown values.</summary>
    public static GroupJoinPolicy? JoinPolicy(int needVerification) => needVerification switch
    {
        Directly => GroupJoinPolicy.Free,
        ApplyNeedVerificationInviteDirectly or AllNeedVerification => GroupJoinPolicy.Approval,
        _ => null,
    };

    public static int Status(GroupRecord group) => group.Dismissed ? StatusDismissed : group.MuteAll ? StatusMuted : StatusOk;

    public static GroupInfoJson Info(GroupRecord g) => new(
        g.GroupId,
        g.Name,
        g.Announcement,
        g.Introduction,
        g.AvatarUrl,
        g.OwnerId,
        g.CreatedAt,
        g.MemberCount,
        g.Ex,
        Status(g),
        null,
        WorkingGroup,
        NeedVerification(g.JoinPolicy),
        0,
        0,
        0,
        null);

    /// <summary>A group id that is no longer known (statistics of a deleted group): its id as its name, as OpenIM does.</summary>
    public static GroupInfoJson Unknown(string groupId) => new(groupId, groupId, null, null, null, null, 0, 0, null, StatusOk, null, WorkingGroup, 0, 0, 0, 0, null);

    public static GroupMemberJson Member(string groupId, string userId, MemberRole role, string nickname, long mutedUntil, long joinedAt, string inviterId, UserRecord? profile) => new(
        groupId,
        userId,
        Role(role),
        joinedAt,
        nickname.Length > 0 ? nickname : profile?.Nickname,
        profile?.AvatarUrl,
        0,
        inviterId.Length > 0 && inviterId != userId ? JoinByInvitation : JoinBySearch,
        null,
        null,
        mutedUntil,
        inviterId.Length > 0 ? inviterId : null);
}
