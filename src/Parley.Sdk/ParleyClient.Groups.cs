using Parley.Protocol.V1;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    /// <summary>Creates a group with full settings; this user becomes its owner.</summary>
    /// <param name="request">Name, members and optional settings (id, avatar, introduction, announcement, ex, join policy, history visibility).</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<CreateGroupResult> CreateGroupAsync(CreateGroupRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = await InvokeAsync(new ClientFrame { CreateGroup = request }, ServerFrame.BodyOneofCase.CreateGroup, cancellationToken).ConfigureAwait(false);
        return reply.CreateGroup;
    }

    /// <summary>Changes a group's info (owner or admin). Unset fields stay as they are.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="settings">The fields to change.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    /// <returns>The group after the change.</returns>
    public async Task<GroupInfo> UpdateGroupAsync(string groupId, GroupSettings settings, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { UpdateGroup = new UpdateGroupRequest { GroupId = groupId, Settings = settings } }, ServerFrame.BodyOneofCase.Group, cancellationToken).ConfigureAwait(false);
        return reply.Group;
    }

    /// <summary>Reads groups' public info.</summary>
    /// <param name="groupIds">1..200 group ids; unknown ones are left out.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<IReadOnlyList<GroupInfo>> GetGroupsAsync(IEnumerable<string> groupIds, CancellationToken cancellationToken = default)
    {
        var request = new GetGroupsRequest();
        request.GroupIds.AddRange(groupIds);
        var reply = await InvokeAsync(new ClientFrame { GetGroups = request }, ServerFrame.BodyOneofCase.Groups, cancellationToken).ConfigureAwait(false);
        return reply.Groups.Groups;
    }

    /// <summary>Finds searchable groups by exact id or by a part of their name.</summary>
    /// <param name="query">1..64 characters.</param>
    /// <param name="limit">1..100; 0 = 20.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<IReadOnlyList<GroupInfo>> SearchGroupsAsync(string query, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SearchGroups = new SearchGroupsRequest { Query = query, Limit = limit } }, ServerFrame.BodyOneofCase.Groups, cancellationToken).ConfigureAwait(false);
        return reply.Groups.Groups;
    }

    /// <summary>Joins a group: at once when it is free to join, otherwise as a request for the owner's or an admin's approval.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="message">A note for the approvers (at most 256 characters).</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    /// <returns>True when this user is a member now; false when the request waits for approval.</returns>
    public async Task<bool> JoinGroupAsync(string groupId, string message = "", CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { JoinGroup = new JoinGroupRequest { GroupId = groupId, Message = message } }, ServerFrame.BodyOneofCase.JoinGroup, cancellationToken).ConfigureAwait(false);
        return reply.JoinGroup.Joined;
    }

    /// <summary>Invites users; they are added at once or, in an approval group invited by a plain member, wait for approval.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="userIds">The users to add.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<InviteToGroupResult> InviteToGroupAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default)
    {
        var request = new InviteToGroupRequest { GroupId = groupId };
        request.UserIds.AddRange(userIds);
        var reply = await InvokeAsync(new ClientFrame { InviteToGroup = request }, ServerFrame.BodyOneofCase.InviteToGroup, cancellationToken).ConfigureAwait(false);
        return reply.InviteToGroup;
    }

    /// <summary>The group's pending join requests and invitations (owner or admin).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<IReadOnlyList<GroupRequest>> GetGroupRequestsAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { ListGroupRequests = new ListGroupRequestsRequest { GroupId = groupId } }, ServerFrame.BodyOneofCase.GroupRequests, cancellationToken).ConfigureAwait(false);
        return reply.GroupRequests.Requests;
    }

    /// <summary>Accepts or refuses a pending join request or invitation (owner or admin).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="userId">Whose request.</param>
    /// <param name="accept">True to add the user.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task RespondGroupRequestAsync(string groupId, string userId, bool accept, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { RespondGroupRequest = new RespondGroupRequestRequest { GroupId = groupId, UserId = userId, Accept = accept } }, cancellationToken);

    /// <summary>Removes members below this user's role (owner or admin).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="userIds">The members to remove.</param>
    /// <param name="reason">Shown in the notification (at most 256 characters).</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task KickMembersAsync(string groupId, IEnumerable<string> userIds, string reason = "", CancellationToken cancellationToken = default)
    {
        var request = new KickMembersRequest { GroupId = groupId, Reason = reason };
        request.UserIds.AddRange(userIds);
        return InvokeOkAsync(new ClientFrame { KickMembers = request }, cancellationToken);
    }

    /// <summary>Leaves a group (the owner must transfer ownership or dismiss the group first).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task QuitGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { QuitGroup = new QuitGroupRequest { GroupId = groupId } }, cancellationToken);

    /// <summary>Dismisses a group (owner). Members keep its history; nobody can send to it any more.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task DismissGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { DismissGroup = new DismissGroupRequest { GroupId = groupId } }, cancellationToken);

    /// <summary>Makes another member the owner (owner); this user becomes a plain member.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="newOwnerId">The member who becomes owner.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task TransferGroupOwnerAsync(string groupId, string newOwnerId, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { TransferOwner = new TransferOwnerRequest { GroupId = groupId, NewOwnerId = newOwnerId } }, cancellationToken);

    /// <summary>Makes a member an admin or a plain member (owner only; nobody changes their own role).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="userId">The member.</param>
    /// <param name="role">MEMBER or ADMIN.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task SetMemberRoleAsync(string groupId, string userId, GroupRole role, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { SetMemberRole = new SetMemberRoleRequest { GroupId = groupId, UserId = userId, Role = role } }, cancellationToken);

    /// <summary>Mutes a member below this user's role for a while (0 unmutes; at most 30 days).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="userId">The member.</param>
    /// <param name="duration">How long.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task MuteMemberAsync(string groupId, string userId, TimeSpan duration, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { MuteMember = new MuteMemberRequest { GroupId = groupId, UserId = userId, Seconds = (uint)Math.Max(0, duration.TotalSeconds) } }, cancellationToken);

    /// <summary>Sets a member's nickname in the group (this user's own, or a lower member's as owner/admin).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="nickname">At most 64 characters; empty clears it.</param>
    /// <param name="userId">The member; null = this user.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public Task SetMemberNicknameAsync(string groupId, string nickname, string? userId = null, CancellationToken cancellationToken = default) =>
        InvokeOkAsync(new ClientFrame { SetMemberNickname = new SetMemberNicknameRequest { GroupId = groupId, UserId = userId ?? string.Empty, Nickname = nickname } }, cancellationToken);

    /// <summary>A page of the group's members: owner first, then admins, then by join time (members only).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="offset">Members to skip.</param>
    /// <param name="limit">1..500; 0 = 100.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<MemberList> GetMembersAsync(string groupId, uint offset = 0, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { ListMembers = new ListMembersRequest { GroupId = groupId, Offset = offset, Limit = limit } }, ServerFrame.BodyOneofCase.Members, cancellationToken).ConfigureAwait(false);
        return reply.Members;
    }

    /// <summary>
    /// Pages, searches or filters a group's members (keyset paging by user id): the way to list a super group's members.
    /// </summary>
    /// <param name="request">Group, optional query (user id prefix or nickname substring), minimum role, page size and the
    /// <see cref="MemberList.NextAfterUserId"/> of the previous page.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<MemberList> ListMembersAsync(ListMembersRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = await InvokeAsync(new ClientFrame { ListMembers = request }, ServerFrame.BodyOneofCase.Members, cancellationToken).ConfigureAwait(false);
        return reply.Members;
    }

    /// <summary>This user's groups changed since <paramref name="version"/> (0 = all of them).</summary>
    /// <param name="version">The version of the last delta applied.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<GroupsDelta> SyncGroupsAsync(ulong version, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SyncGroups = new SyncGroupsRequest { Version = version } }, ServerFrame.BodyOneofCase.GroupsDelta, cancellationToken).ConfigureAwait(false);
        return reply.GroupsDelta;
    }

    /// <summary>A group's members changed since <paramref name="version"/> (0 = all of them).</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="version">The version of the last delta applied for this group.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<MembersDelta> SyncMembersAsync(string groupId, ulong version, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SyncMembers = new SyncMembersRequest { GroupId = groupId, Version = version } }, ServerFrame.BodyOneofCase.MembersDelta, cancellationToken).ConfigureAwait(false);
        return reply.MembersDelta;
    }

    /// <summary>The organisation directory changed since <paramref name="version"/> (0 = all of it).</summary>
    /// <param name="version">The version of the last delta applied.</param>
    /// <param name="cancellationToken">Cancels the wait for the result.</param>
    public async Task<DirectoryDelta> SyncDirectoryAsync(ulong version, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SyncDirectory = new SyncDirectoryRequest { Version = version } }, ServerFrame.BodyOneofCase.Directory, cancellationToken).ConfigureAwait(false);
        return reply.Directory;
    }

    private async Task InvokeOkAsync(ClientFrame frame, CancellationToken cancellationToken) =>
        await InvokeAsync(frame, ServerFrame.BodyOneofCase.Ok, cancellationToken).ConfigureAwait(false);
}
