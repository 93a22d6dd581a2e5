using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Requests;

/// <summary>Group management requests (ClientFrame cases 60–76). Authorisation happens in the group's grain.</summary>
internal sealed class GroupRequestHandler(IGrainFactory grains, IGroupStore groups, ISuperGroupStore members, Parley.Core.Groups.GroupService groupService)
{
    public static bool CanHandle(ClientFrame.BodyOneofCase kind) =>
        kind is >= ClientFrame.BodyOneofCase.UpdateGroup and <= ClientFrame.BodyOneofCase.SyncMembers;

    public async Task<ServerFrame> HandleAsync(ClientConnection connection, ClientFrame request)
    {
        var me = connection.UserId;
        switch (request.BodyCase)
        {
            case ClientFrame.BodyOneofCase.GetGroups:
                {
                    var ids = request.GetGroups.GroupIds.Distinct(StringComparer.Ordinal).ToArray();
                    if (ids.Length is 0 or > 200 || ids.Any(id => !Ids.IsValid(id)))
                    {
                        return RequestHandler.Error(ErrorCode.BadRequest, "Name 1..200 valid group ids.");
                    }

                    return GroupList(await groups.GetGroupsAsync(ids).ConfigureAwait(false));
                }

            case ClientFrame.BodyOneofCase.SearchGroups:
                {
                    var query = request.SearchGroups.Query.Trim();
                    if (query.Length is 0 or > 64)
                    {
                        return RequestHandler.Error(ErrorCode.BadRequest, "The query needs 1..64 characters.");
                    }

                    var limit = request.SearchGroups.Limit == 0 ? 20 : (int)Math.Min(request.SearchGroups.Limit, 100);
                    return GroupList(await groups.SearchGroupsAsync(query, limit).ConfigureAwait(false));
                }

            case ClientFrame.BodyOneofCase.SyncGroups:
                {
                    var delta = await groups.GetGroupsDeltaAsync(me, (long)Math.Min(request.SyncGroups.Version, long.MaxValue)).ConfigureAwait(false);
                    var result = new GroupsDelta { Version = (ulong)delta.Version, FullReset = request.SyncGroups.Version == 0, LeftGroupIds = { delta.Left } };
                    result.Groups.AddRange(delta.Upserts.Select(ToProto));
                    return new ServerFrame { GroupsDelta = result };
                }

            case ClientFrame.BodyOneofCase.SyncMembers:
                {
                    var sync = request.SyncMembers;
                    if (!TryGrain(sync.GroupId, out var grain))
                    {
                        return BadGroup();
                    }

                    if (!await grain.IsMemberAsync(me).ConfigureAwait(false))
                    {
                        return RequestHandler.Error(ErrorCode.NotMember, "Not a member of this group.");
                    }

                    if (sync.Version == 0 && (await groups.GetGroupAsync(sync.GroupId).ConfigureAwait(false))?.ReadDiffusion == true)
                    {
                        return RequestHandler.Error(ErrorCode.Unsupported, "A super group's roster is not synced whole: page it with ListMembers (after_user_id).");
                    }

                    var delta = await groups.GetMembersDeltaAsync(Ids.GroupConversationId(sync.GroupId), (long)Math.Min(sync.Version, long.MaxValue)).ConfigureAwait(false);
                    var result = new MembersDelta { GroupId = sync.GroupId, Version = (ulong)delta.Version, FullReset = sync.Version == 0, RemovedUserIds = { delta.Removed } };
                    result.Members.AddRange(delta.Upserts.Select(m => ToProto(sync.GroupId, m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId)));
                    return new ServerFrame { MembersDelta = result };
                }

            case ClientFrame.BodyOneofCase.ListMembers:
                {
                    var list = request.ListMembers;
                    if (!TryGrain(list.GroupId, out var grain))
                    {
                        return BadGroup();
                    }

                    var limit = list.Limit == 0 ? 100 : (int)Math.Min(list.Limit, 500);
                    if (list.Query.Length > 0 || list.MinRole != GroupRole.Member || list.AfterUserId.Length > 0
                        || (await groups.GetGroupAsync(list.GroupId).ConfigureAwait(false))?.ReadDiffusion == true)
                    {
                        // Searches, role lists and super groups: indexed pages from the store, never the whole roster.
                        if (list.Query.Length > 64 || list.AfterUserId.Length > 64 || !Enum.IsDefined(list.MinRole))
                        {
                            return RequestHandler.Error(ErrorCode.BadRequest, "query and after_user_id: at most 64 characters; min_role: a known role.");
                        }

                        if (!await grain.IsMemberAsync(me).ConfigureAwait(false))
                        {
                            return RequestHandler.Error(ErrorCode.NotMember, "Not a member of this group.");
                        }

                        var found = await members.SearchMembersAsync(
                            Ids.GroupConversationId(list.GroupId), new MemberQuery(list.Query, (MemberRole)list.MinRole, list.AfterUserId, limit) { Offset = (int)Math.Min(list.Offset, int.MaxValue) }).ConfigureAwait(false);
                        var searched = new MemberList { Total = (uint)found.Total, NextAfterUserId = found.NextAfter ?? string.Empty };
                        searched.Members.AddRange(found.Members.Select(m => ToProto(list.GroupId, m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId)));
                        return new ServerFrame { Members = searched };
                    }

                    var page = await grain.ListMembersAsync(me, (int)Math.Min(list.Offset, int.MaxValue), limit).ConfigureAwait(false);
                    if (!page.IsOk)
                    {
                        return NativeErrors.Frame(page.Failure);
                    }

                    var result = new MemberList { Total = (uint)page.Value!.Total };
                    result.Members.AddRange(page.Value.Members.Select(m => ToProto(list.GroupId, m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId)));
                    return new ServerFrame { Members = result };
                }

            case ClientFrame.BodyOneofCase.ListGroupRequests:
                {
                    if (!TryGrain(request.ListGroupRequests.GroupId, out var grain))
                    {
                        return BadGroup();
                    }

                    var page = await grain.ListGroupRequestsAsync(me).ConfigureAwait(false);
                    if (!page.IsOk)
                    {
                        return NativeErrors.Frame(page.Failure);
                    }

                    var result = new GroupRequestList();
                    result.Requests.AddRange(page.Value!.Requests.Select(r => new GroupRequest
                    {
                        GroupId = request.ListGroupRequests.GroupId,
                        UserId = r.UserId,
                        InviterId = r.InviterId,
                        Kind = (GroupRequestKind)r.Kind,
                        Message = r.Message,
                        State = (GroupRequestState)r.State,
                        CreatedTime = r.CreatedAt,
                        HandlerId = r.HandlerId,
                    }));
                    return new ServerFrame { GroupRequests = result };
                }
        }

        var (groupId, command) = ToCommand(me, connection.Id, request);
        if (command is null)
        {
            return RequestHandler.Error(ErrorCode.Unsupported, "Unknown group request.");
        }

        if (!Ids.IsValid(groupId))
        {
            return BadGroup();
        }

        var done = await groupService.RunAsync(groupId, command).ConfigureAwait(false);
        if (!done.IsOk)
        {
            return NativeErrors.Frame(done.Failure);
        }

        var outcome = done.Value!;

        return request.BodyCase switch
        {
            ClientFrame.BodyOneofCase.JoinGroup => new ServerFrame { JoinGroup = new JoinGroupResult { Joined = outcome.Joined } },
            ClientFrame.BodyOneofCase.InviteToGroup => new ServerFrame { InviteToGroup = new InviteToGroupResult { Added = { outcome.Added }, Pending = { outcome.Pending } } },
            ClientFrame.BodyOneofCase.UpdateGroup => await GroupInfoAsync(groupId).ConfigureAwait(false),
            _ => new ServerFrame { Ok = new Ok() },
        };
    }

    // Maps the request to the core command; the command's limits are the core's (GroupRules), checked in the grain.
    private static (string GroupId, GroupCommand? Command) ToCommand(string me, string origin, ClientFrame request)
    {
        switch (request.BodyCase)
        {
            case ClientFrame.BodyOneofCase.UpdateGroup:
                var s = request.UpdateGroup.Settings;
                var patch = s is null ? null : new GroupSettingsPatch(
                    s.HasName ? s.Name : null,
                    s.HasAvatarUrl ? s.AvatarUrl : null,
                    s.HasIntroduction ? s.Introduction : null,
                    s.HasAnnouncement ? s.Announcement : null,
                    s.HasEx ? s.Ex : null,
                    s.HasJoinPolicy ? (GroupJoinPolicy)s.JoinPolicy : null,
                    s.HasHistoryVisibleToNewMembers ? s.HistoryVisibleToNewMembers : null,
                    s.HasMuteAll ? s.MuteAll : null,
                    s.HasSearchable ? s.Searchable : null)
                {
                    MemberNotices = s.HasMemberNotices ? (MemberNoticeMode)s.MemberNotices : null,
                };
                return (request.UpdateGroup.GroupId, new GroupCommand(GroupOperation.UpdateInfo, me, origin) { Settings = patch });
            case ClientFrame.BodyOneofCase.JoinGroup:
                return (request.JoinGroup.GroupId, new GroupCommand(GroupOperation.Join, me, origin) { Message = request.JoinGroup.Message });
            case ClientFrame.BodyOneofCase.InviteToGroup:
                return (request.InviteToGroup.GroupId, new GroupCommand(GroupOperation.Invite, me, origin) { UserIds = [.. request.InviteToGroup.UserIds] });
            case ClientFrame.BodyOneofCase.RespondGroupRequest:
                var respond = request.RespondGroupRequest;
                return (respond.GroupId, new GroupCommand(GroupOperation.RespondRequest, me, origin) { UserIds = [respond.UserId], Accept = respond.Accept });
            case ClientFrame.BodyOneofCase.KickMembers:
                var kick = request.KickMembers;
                return (kick.GroupId, new GroupCommand(GroupOperation.Kick, me, origin) { UserIds = [.. kick.UserIds], Message = kick.Reason });
            case ClientFrame.BodyOneofCase.QuitGroup:
                return (request.QuitGroup.GroupId, new GroupCommand(GroupOperation.Quit, me, origin));
            case ClientFrame.BodyOneofCase.DismissGroup:
                return (request.DismissGroup.GroupId, new GroupCommand(GroupOperation.Dismiss, me, origin));
            case ClientFrame.BodyOneofCase.TransferOwner:
                return (request.TransferOwner.GroupId, new GroupCommand(GroupOperation.TransferOwner, me, origin) { UserIds = [request.TransferOwner.NewOwnerId] });
            case ClientFrame.BodyOneofCase.SetMemberRole:
                var role = request.SetMemberRole;
                return (role.GroupId, new GroupCommand(GroupOperation.SetRole, me, origin) { UserIds = [role.UserId], Role = (MemberRole)role.Role });
            case ClientFrame.BodyOneofCase.MuteMember:
                var mute = request.MuteMember;
                return (mute.GroupId, new GroupCommand(GroupOperation.Mute, me, origin) { UserIds = [mute.UserId], Seconds = mute.Seconds });
            case ClientFrame.BodyOneofCase.SetMemberNickname:
                var nick = request.SetMemberNickname;
                return (nick.GroupId, new GroupCommand(GroupOperation.SetNickname, me, origin) { UserIds = nick.UserId.Length == 0 ? [] : [nick.UserId], Nickname = nick.Nickname });
            default:
                return (string.Empty, null);
        }
    }

    private async Task<ServerFrame> GroupInfoAsync(string groupId)
    {
        var group = await groups.GetGroupAsync(groupId).ConfigureAwait(false);
        return group is null ? BadGroup() : new ServerFrame { Group = ToProto(group) };
    }

    private bool TryGrain(string groupId, out IConversationGrain grain)
    {
        grain = null!;
        if (!Ids.IsValid(groupId))
        {
            return false;
        }

        grain = grains.Conversation(Ids.GroupConversationId(groupId));
        return true;
    }

    private static ServerFrame BadGroup() => RequestHandler.Error(ErrorCode.NotFound, "No such group.");

    private static ServerFrame GroupList(IEnumerable<GroupRecord> records)
    {
        var list = new GroupList();
        list.Groups.AddRange(records.Select(ToProto));
        return new ServerFrame { Groups = list };
    }

    internal static GroupInfo ToProto(GroupRecord g) => new()
    {
        GroupId = g.GroupId,
        ConversationId = g.ConversationId,
        Name = g.Name,
        AvatarUrl = g.AvatarUrl,
        Introduction = g.Introduction,
        Announcement = g.Announcement,
        Ex = g.Ex,
        OwnerId = g.OwnerId,
        JoinPolicy = (JoinPolicy)g.JoinPolicy,
        HistoryVisibleToNewMembers = g.HistoryVisibleToNewMembers,
        MuteAll = g.MuteAll,
        MemberCount = (uint)g.MemberCount,
        Dismissed = g.Dismissed,
        CreatedTime = g.CreatedAt,
        Searchable = g.Searchable,
        Kind = (Protocol.V1.GroupKind)g.Kind,
        MemberNotices = (MemberNotices)g.MemberNotices,
    };

    private static GroupMember ToProto(string groupId, string userId, MemberRole role, string nickname, long mutedUntil, long joinedAt, string inviterId) => new()
    {
        GroupId = groupId,
        UserId = userId,
        Role = (GroupRole)role,
        Nickname = nickname,
        MutedUntil = mutedUntil,
        JoinedTime = joinedAt,
        InviterId = inviterId,
    };
}
