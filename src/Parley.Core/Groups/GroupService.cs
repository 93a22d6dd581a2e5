using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Core.Webhooks;
using Parley.Protocol;

namespace Parley.Core.Groups;

/// <summary>
/// The one way every edge (native, OpenIM WebSocket and REST, admin API) creates groups and runs group commands: the
/// group before-hooks (<c>beforeCreateGroup</c>, <c>beforeMemberJoinGroup</c>; ADR 0012) run here, outside the
/// conversation grain (an HTTP call inside its turn would hold up every sender of the group), then the grain decides.
/// With no group hook enabled this is the grain call and one null check.
/// </summary>
public sealed class GroupService(IGrainFactory grains, IGroupStore groups, Optional<GroupHooks> hooks)
{
    public async Task<CoreResult<MessageAck>> CreateAsync(CreateGroupCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var grain = grains.GetGrain<IConversationGrain>(Ids.GroupConversationId(command.GroupId));
        if (hooks.Value is not { } hook)
        {
            return await grain.CreateGroupAsync(command).ConfigureAwait(false);
        }

        if (GroupRules.Check(command) is { } invalid)
        {
            return invalid;
        }

        var checkedCommand = await hook.BeforeCreateGroupAsync(command).ConfigureAwait(false);
        if (!checkedCommand.IsOk)
        {
            return checkedCommand.Failure;
        }

        command = checkedCommand.Value!;
        if (hook.JoinEnabled)
        {
            var admins = command.AdminIds.ToHashSet(StringComparer.Ordinal);
            var members = new List<(string, MemberRole)> { (command.CreatorId, MemberRole.Owner) };
            members.AddRange(command.MemberIds.Concat(command.AdminIds).Distinct(StringComparer.Ordinal)
                .Where(u => u != command.CreatorId)
                .Select(u => (u, admins.Contains(u) ? MemberRole.Admin : MemberRole.Member)));
            var joined = await hook.BeforeMembersJoinAsync(command.GroupId, command.Ex, command.CreatorId, "create", members).ConfigureAwait(false);
            if (!joined.IsOk)
            {
                return joined.Failure;
            }

            if (joined.Value!.Length > 0)
            {
                command = command with { MemberOverrides = joined.Value };
            }
        }

        return await grain.CreateGroupAsync(command).ConfigureAwait(false);
    }

    /// <summary>
    /// One chunk of a super group's bulk membership job (an operator's import or removal, ADR 0017), run as the owner. An
    /// import is first checked by the join hook when enabled (<c>beforeMemberJoinGroup</c>, joinKind <c>bulk</c>, the chunk's
    /// users): a refusal stops the job with the receiver's reason; the answer's per-member changes (nickname, role, mute) are
    /// not applied to a bulk import. The after-hooks come from the chunk's commit like any membership change.
    /// </summary>
    public async Task<CoreResult<int>> BulkMembersAsync(GroupRecord group, string[] userIds, bool remove)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(userIds);
        if (!remove && userIds.Length > 0 && hooks.Value is { JoinEnabled: true } hook)
        {
            var checkedJoin = await hook.BeforeMembersJoinAsync(group.GroupId, group.Ex.Length > 0 ? group.Ex : "{}", group.OwnerId, "bulk", [.. userIds.Select(u => (u, MemberRole.Member))]).ConfigureAwait(false);
            if (!checkedJoin.IsOk)
            {
                return checkedJoin.Failure;
            }
        }

        return await grains.GetGrain<IConversationGrain>(group.ConversationId).BulkMembersAsync(group.OwnerId, userIds, remove).ConfigureAwait(false);
    }

    /// <summary>Runs a group command; an admission (join, invite, approval) is first checked by the join hook when enabled.</summary>
    public async Task<CoreResult<GroupOutcome>> RunAsync(string groupId, GroupCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var grain = grains.GetGrain<IConversationGrain>(Ids.GroupConversationId(groupId));
        if (hooks.Value is not { JoinEnabled: true } hook
            || command.Operation is not (GroupOperation.Join or GroupOperation.Invite or GroupOperation.RespondRequest)
            || command.Operation == GroupOperation.RespondRequest && !command.Accept)
        {
            return await grain.GroupAsync(command).ConfigureAwait(false);
        }

        // Who would get in at once; a request that waits for approval is checked when it is approved.
        var admitted = await grain.PlanAdmissionAsync(command).ConfigureAwait(false);
        if (admitted.Length > 0)
        {
            var how = command.Operation switch
            {
                GroupOperation.Join => "join",
                GroupOperation.Invite => "invite",
                _ => "approve",
            };
            var ex = (await groups.GetGroupAsync(groupId).ConfigureAwait(false))?.Ex ?? "{}";
            var checkedJoin = await hook.BeforeMembersJoinAsync(groupId, ex, command.OperatorId, how, [.. admitted.Select(u => (u, MemberRole.Member))]).ConfigureAwait(false);
            if (!checkedJoin.IsOk)
            {
                return checkedJoin.Failure;
            }

            command = command with { MemberOverrides = checkedJoin.Value! };
        }

        command = command with { CheckedUserIds = admitted };
        return await grain.GroupAsync(command).ConfigureAwait(false);
    }
}
