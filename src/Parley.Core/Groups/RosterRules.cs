using Parley.Abstractions.Messaging;

namespace Parley.Core.Groups;

/// <summary>What a group's join policy does with a join or an invitation.</summary>
public enum Admission
{
    /// <summary>The user becomes a member now.</summary>
    Admit,

    /// <summary>A request waits for the owner or an admin.</summary>
    AwaitApproval,

    /// <summary>Refused.</summary>
    Refuse,
}

/// <summary>
/// Who may do what to whom in a group, as pure rules over roles and the join policy. The conversation grain applies
/// them inside its FIFO section against the roster at that instant, so a demoted admin loses rights on the very next
/// command.
/// </summary>
public static class RosterRules
{
    /// <summary>The operator needs at least <paramref name="needed"/>.</summary>
    public static CoreFailure? RequireRole(MemberRole actual, MemberRole needed) =>
        actual >= needed
            ? null
            : new CoreFailure(CoreError.Forbidden, needed == MemberRole.Owner ? "Only the owner may do this." : "Only the owner or an admin may do this.");

    /// <summary>A user asks to join.</summary>
    public static Admission Join(GroupJoinPolicy policy) => policy switch
    {
        GroupJoinPolicy.InviteOnly => Admission.Refuse,
        GroupJoinPolicy.Approval => Admission.AwaitApproval,
        _ => Admission.Admit,
    };

    /// <summary>A member invites others: owners and admins admit directly; plain members only where the policy lets them.</summary>
    public static Admission Invite(GroupJoinPolicy policy, MemberRole inviter) =>
        inviter >= MemberRole.Admin ? Admission.Admit : policy switch
        {
            GroupJoinPolicy.InviteOnly => Admission.Refuse,
            GroupJoinPolicy.Approval => Admission.AwaitApproval,
            _ => Admission.Admit,
        };

    /// <summary>The owner cannot leave; everyone else can.</summary>
    public static CoreFailure? Quit(MemberRole role) =>
        role == MemberRole.Owner
            ? new CoreFailure(CoreError.Forbidden, "The owner must transfer ownership or dismiss the group before leaving.")
            : null;

    /// <summary>Owners and admins remove members below their own role, never themselves.</summary>
    public static CoreFailure? Kick(string operatorId, MemberRole operatorRole, string targetId, MemberRole targetRole) =>
        targetId == operatorId || operatorRole < MemberRole.Admin || targetRole >= operatorRole
            ? new CoreFailure(CoreError.Forbidden, "You may only remove members below your own role.")
            : null;

    /// <summary>Owners and admins mute members below their own role.</summary>
    public static CoreFailure? Mute(MemberRole operatorRole, MemberRole targetRole) =>
        RequireRole(operatorRole, MemberRole.Admin)
        ?? (targetRole >= operatorRole ? new CoreFailure(CoreError.Forbidden, "You may only mute members below your own role.") : null);

    /// <summary>Everyone renames themselves; others only below their own role.</summary>
    public static CoreFailure? Rename(string operatorId, MemberRole operatorRole, string targetId, MemberRole targetRole) =>
        targetId != operatorId && targetRole >= operatorRole
            ? new CoreFailure(CoreError.Forbidden, "You may only rename yourself or members below your own role.")
            : null;

    /// <summary>Only the owner sets roles (member or admin, see <see cref="GroupRules"/>), never their own.</summary>
    public static CoreFailure? SetRole(string operatorId, MemberRole operatorRole, string targetId) =>
        RequireRole(operatorRole, MemberRole.Owner)
        ?? (targetId == operatorId ? new CoreFailure(CoreError.Forbidden, "Nobody changes their own role.") : null);

    /// <summary>A group holds at most <paramref name="maxMembers"/> members.</summary>
    public static CoreFailure? Capacity(int members, int joining, int maxMembers) =>
        members + joining > maxMembers
            ? new CoreFailure(CoreError.Forbidden, joining == 1 && members >= maxMembers ? "The group is full." : "The group would exceed its size limit.")
            : null;
}
