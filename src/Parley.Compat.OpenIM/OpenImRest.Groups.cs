using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Rest;
using Parley.Core;
using Parley.Core.Messaging;
using Parley.Protocol;
using static Parley.Compat.OpenIM.Rest.SocialJson;
using static Parley.Compat.OpenIM.Rest.SocialRestSupport;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's <c>/group/*</c> endpoints on Parley groups: changes go through the group's conversation grain (which
/// authorises against the member's current role), reads come from <see cref="IGroupStore"/> or the grain.
/// </summary>
internal static partial class OpenImRest
{
    private const int MemberPageSize = 500;

    // The applicant's list reads at most this many of the caller's requests (total counts these only).
    private const int MaxListedGroupRequests = 1000;

    static partial void MapGroups(RouteGroupBuilder group)
    {
        Route(group, "/group/create_group", OpenImAuth.User, CreateGroupAsync);
        Route(group, "/group/get_groups_info", OpenImAuth.User, GroupsInfoAsync);
        Route(group, "/group/get_joined_group_list", OpenImAuth.User, JoinedGroupListAsync);
        Route(group, "/group/join_group", OpenImAuth.User, JoinGroupAsync);
        Route(group, "/group/invite_user_to_group", OpenImAuth.User, InviteToGroupAsync);
        Route(group, "/group/kick_group", OpenImAuth.User, KickGroupAsync);
        Route(group, "/group/quit_group", OpenImAuth.User, QuitGroupAsync);
        Route(group, "/group/dismiss_group", OpenImAuth.User, DismissGroupAsync);
        Route(group, "/group/transfer_group", OpenImAuth.User, TransferGroupAsync);
        Route(group, "/group/set_group_info_ex", OpenImAuth.User, (c, b, u) => SetGroupInfoAsync(c, b, u!, wrapped: false));
        Route(group, "/group/set_group_info", OpenImAuth.User, (c, b, u) => SetGroupInfoAsync(c, b, u!, wrapped: true));
        Route(group, "/group/get_group_member_list", OpenImAuth.User, GroupMemberListAsync);
        Route(group, "/group/get_group_members_info", OpenImAuth.User, GroupMembersInfoAsync);
        Route(group, "/group/set_group_member_info", OpenImAuth.User, SetGroupMemberInfoAsync);
        Route(group, "/group/mute_group", OpenImAuth.User, (c, b, u) => MuteGroupAsync(c, b, u!, mute: true));
        Route(group, "/group/cancel_mute_group", OpenImAuth.User, (c, b, u) => MuteGroupAsync(c, b, u!, mute: false));
        Route(group, "/group/mute_group_member", OpenImAuth.User, (c, b, u) => MuteMemberAsync(c, b, u!, mute: true));
        Route(group, "/group/cancel_mute_group_member", OpenImAuth.User, (c, b, u) => MuteMemberAsync(c, b, u!, mute: false));
        Route(group, "/group/group_application_response", OpenImAuth.User, GroupApplicationResponseAsync);
        Route(group, "/group/get_recv_group_applicationList", OpenImAuth.User, RecvGroupApplicationsAsync);
        Route(group, "/group/get_user_req_group_applicationList", OpenImAuth.User, UserGroupApplicationsAsync);
        Route(group, "/group/get_specified_user_group_request_info", OpenImAuth.User, SpecifiedGroupRequestAsync);
        Route(group, "/group/get_incremental_join_groups", OpenImAuth.User, IncrementalJoinGroupsAsync);
        Route(group, "/group/get_full_join_group_ids", OpenImAuth.User, FullJoinGroupIdsAsync);
        Route(group, "/group/get_incremental_group_members_batch", OpenImAuth.User, IncrementalGroupMembersBatchAsync);
        Route(group, "/group/get_full_group_member_user_ids", OpenImAuth.User, FullGroupMemberUserIdsAsync);
    }

    private static IGroupStore GroupStore(HttpContext context) => context.RequestServices.GetRequiredService<IGroupStore>();

    private static IConversationGrain GroupGrain(HttpContext context, string groupId) =>
        context.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IConversationGrain>(Ids.GroupConversationId(groupId));

    // Group creation and commands go through the core's group service (the group hooks run there, ADR 0012).
    private static Parley.Core.Groups.GroupService Groups(HttpContext context) => context.RequestServices.GetRequiredService<Parley.Core.Groups.GroupService>();

    private static OpenImResponse GroupNotFound() => OpenImResponse.Error(OpenImErrors.GroupNotFound, "GroupIDNotFoundError", "group not found");

    /// <summary>The group named by <c>groupID</c>, or the refusal: 1001 for a malformed id, 1201 for an unknown group.</summary>
    private static async Task<(GroupRecord? Group, OpenImResponse? Error)> GroupOfAsync(HttpContext context, string? groupId)
    {
        if (!Ids.IsValid(groupId))
        {
            return (null, Args("groupID is required"));
        }

        var group = await GroupStore(context).GetGroupAsync(groupId!, context.RequestAborted).ConfigureAwait(false);
        return group is null ? (null, GroupNotFound()) : (group, null);
    }

    /// <summary>Runs one group operation; Parley refusals become OpenIM codes (<paramref name="notFound"/> for NOT_FOUND).</summary>
    private static async Task<OpenImResponse> GroupOperationAsync(HttpContext context, string? groupId, GroupCommand command, int notFound = OpenImErrors.RecordNotFound)
    {
        var (group, error) = await GroupOfAsync(context, groupId).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var result = await Groups(context).RunAsync(group!.GroupId, command).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : MapError(result.Error, result.Message, notFound: notFound);
    }

    private static async Task<OpenImResponse> CreateGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        if (Obj(body, "groupInfo") is not { } info)
        {
            return Args("groupInfo is required");
        }

        if ((NotCaller(Str(info, "ownerUserID"), me, "groupInfo.ownerUserID") ?? NotCaller(Str(info, "creatorUserID"), me, "groupInfo.creatorUserID")) is { } foreign)
        {
            return foreign;
        }

        var groupId = Str(info, "groupID");
        groupId = string.IsNullOrEmpty(groupId) ? Guid.NewGuid().ToString("N") : groupId;
        if (!Ids.IsValid(groupId))
        {
            return Args("groupID must be 1..64 characters of [A-Za-z0-9-._@:]");
        }

        var groupType = Int(info, "groupType") ?? GroupJson.WorkingGroup;
        if (groupType is not (0 or GroupJson.WorkingGroup))
        {
            return OpenImResponse.Error(OpenImErrors.GroupTypeNotSupport, "GroupTypeNotSupport", "only groupType 2 is supported");
        }

        var policy = GroupJson.JoinPolicy(Int(info, "needVerification") ?? GroupJson.ApplyNeedVerificationInviteDirectly);
        if (policy is null)
        {
            return Args("needVerification must be 0, 1 or 2");
        }

        var ex = Str(info, "ex") ?? string.Empty;
        var members = StrList(body, "memberUserIDs").Where(m => m != me).Distinct(StringComparer.Ordinal).ToArray();
        var admins = StrList(body, "adminUserIDs").Where(a => a != me).Distinct(StringComparer.Ordinal).ToArray();

        // One core command: the group, its members and its admins commit together (field limits are the core's).
        var created = await Groups(context).CreateAsync(new CreateGroupCommand(groupId!, Str(info, "groupName") ?? string.Empty, me, members, null)
        {
            AvatarUrl = Str(info, "faceURL") ?? string.Empty,
            Introduction = Str(info, "introduction") ?? string.Empty,
            Announcement = Str(info, "notification") ?? string.Empty,
            Ex = ex.Length == 0 ? "{}" : ex,
            JoinPolicy = policy.Value,
            HistoryVisibleToNewMembers = true,
            AdminIds = admins,
        }).ConfigureAwait(false);
        if (!created.IsOk)
        {
            return MapError(created.Error, created.Message, notFound: OpenImErrors.UserNotFound, conflict: OpenImErrors.GroupIdExisted);
        }

        var group = await GroupStore(context).GetGroupAsync(groupId!, context.RequestAborted).ConfigureAwait(false);
        return group is null ? GroupNotFound() : OpenImResponse.Ok(Data(new GroupInfoData(GroupJson.Info(group))));
    }

    private static async Task<OpenImResponse> GroupsInfoAsync(HttpContext context, JsonElement body, string? caller)
    {
        var ids = StrList(body, "groupIDs").Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length is 0 or > MaxIdsPerCall || ids.Any(id => !Ids.IsValid(id)))
        {
            return Args($"groupIDs must name 1..{MaxIdsPerCall} valid group ids");
        }

        var groups = await GroupStore(context).GetGroupsAsync(ids, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new GroupInfosData(NullIfEmpty(groups.Select(GroupJson.Info).ToList()))));
    }

    /// <summary>The caller's groups (active memberships, dismissed groups included), oldest first.</summary>
    private static async Task<(long Version, List<GroupRecord> Groups)> JoinedGroupsAsync(HttpContext context, string me)
    {
        var delta = await GroupStore(context).GetGroupsDeltaAsync(me, 0, context.RequestAborted).ConfigureAwait(false);
        return (delta.Version, [.. delta.Upserts.OrderBy(g => g.CreatedAt).ThenBy(g => g.GroupId, StringComparer.Ordinal)]);
    }

    private static async Task<OpenImResponse> JoinedGroupListAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "fromUserID"), me, "fromUserID") is { } refused)
        {
            return refused;
        }

        var page = Page(body);
        var (_, groups) = await JoinedGroupsAsync(context, me).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new JoinedGroupsData(NullIfEmpty(Slice(groups, page).Select(GroupJson.Info).ToList()), groups.Count)));
    }

    private static async Task<OpenImResponse> JoinGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        var message = Str(body, "reqMessage") ?? string.Empty;
        _ = Int(body, "joinSource");
        var (group, error) = await GroupOfAsync(context, Str(body, "groupID")).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var result = await Groups(context).RunAsync(group!.GroupId, new GroupCommand(GroupOperation.Join, caller!, null) { Message = message }).ConfigureAwait(false);
        if (!result.IsOk)
        {
            return MapError(result.Error, result.Message, notFound: OpenImErrors.RecordNotFound);
        }

        if (!result.Value!.Joined)
        {
            try
            {
                await NotifyJoinRequestAsync(context, GroupGrain(context, group.GroupId), group, caller!, message).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
            {
                // The request is stored; the notice is best effort.
            }
        }

        return OpenImResponse.Ok(null);
    }

    /// <summary>
    /// Parley writes no message for a join request (its admins read the request list), so OpenIM clients of the owner and
    /// admins get OpenIM's JoinGroupApplicationNotification (1503) pushed here; the SDK then reads the request over
    /// /group/get_specified_user_group_request_info and raises OnGroupApplicationAdded. Best effort: a missed push only
    /// delays the event to the next list read.
    /// </summary>
    private static async Task NotifyJoinRequestAsync(HttpContext context, IConversationGrain grain, GroupRecord group, string applicant, string message)
    {
        var page = await grain.ListMembersAsync(group.OwnerId, 0, 500).ConfigureAwait(false);
        var handlers = (page.Value?.Members ?? []).Where(m => m.Role >= MemberRole.Admin).Select(m => m.UserId).ToList();
        var tips = new Dictionary<string, object?>
        {
            ["group"] = new Dictionary<string, object?> { ["groupID"] = group.GroupId, ["groupName"] = group.Name, ["ownerUserID"] = group.OwnerId },
            ["applicant"] = new Dictionary<string, object?> { ["userID"] = applicant },
            ["reqMsg"] = message,
        };
        await PushNoticeAsync(context, handlers, group.GroupId, applicant, OpenImNotifications.JoinGroupApplication, tips).ConfigureAwait(false);
    }

    /// <summary>Pushes one OpenIM notification (sessionType 4, not stored) to the live OpenIM connections of <paramref name="userIds"/>, on every node.</summary>
    private static Task PushNoticeAsync(HttpContext context, IEnumerable<string> userIds, string groupId, string sendId, int contentType, Dictionary<string, object?> tips) =>
        PushNoticeAsync(context, userIds, userId => "n_" + groupId + "_" + userId, sessionType: 4, sendId, contentType, tips, operationId: null);

    /// <summary>
    /// Pushes one OpenIM notification (not stored) to the live OpenIM connections of <paramref name="userIds"/>, filed under
    /// the notification conversation <paramref name="conversationOf"/> names; with <paramref name="operationId"/> (the REST call's,
    /// as OpenIM's pushes carry it) the session that made the call recognises its own change.
    /// </summary>
    internal static Task PushNoticeAsync(HttpContext context, IEnumerable<string> userIds, Func<string, string> conversationOf, int sessionType, string sendId, int contentType, Dictionary<string, object?> tips, string? operationId) =>
        PushNoticeAsync(context.RequestServices, userIds, conversationOf, sessionType, sendId, contentType, tips, operationId);

    /// <summary>
    /// As above. Each user's notice (one id for all of that user's sessions) goes through the delivery hub as an
    /// <see cref="Parley.Core.Delivery.EdgeNotice"/>, ephemeral: in a cluster it reaches the user's OpenIM sessions on every
    /// node, as a message's live push does, in one call per node; other protocols' connections show nothing. Best effort,
    /// like every live push: a session that is not connected learns the change from its next REST read.
    /// </summary>
    internal static Task PushNoticeAsync(IServiceProvider services, IEnumerable<string> userIds, Func<string, string> conversationOf, int sessionType, string sendId, int contentType, Dictionary<string, object?> tips, string? operationId)
    {
        var hub = services.GetService<Parley.Core.Delivery.IDeliveryHub>();
        if (hub is null)
        {
            return Task.CompletedTask;
        }

        var now = (services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
        {
            var data = WebSocket.OpenImProtocol.NewNotification(sendId, userId, sessionType, contentType, tips, now);
            var push = new Parley.Compat.OpenIM.Wire.PushMessages();
            var list = new Parley.Compat.OpenIM.Wire.PullMsgs();
            list.Msgs.Add(data);
            push.NotificationMsgs[conversationOf(userId)] = list;
            hub.PublishEphemeral(
                [userId],
                new Parley.Core.Delivery.EdgeNotice(WebSocket.OpenImProtocol.ProtocolName, userId, Google.Protobuf.MessageExtensions.ToByteArray(push), operationId ?? data.ServerMsgID),
                null);
        }

        return Task.CompletedTask;
    }

    private static Task<OpenImResponse> InviteToGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        var users = StrList(body, "invitedUserIDs").Distinct(StringComparer.Ordinal).ToArray();
        var reason = Str(body, "reason") ?? string.Empty;
        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.Invite, caller!, null) { UserIds = users, Message = reason }, notFound: OpenImErrors.UserNotFound);
    }

    private static Task<OpenImResponse> KickGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        var users = StrList(body, "kickedUserIDs").Distinct(StringComparer.Ordinal).ToArray();
        var reason = Str(body, "reason") ?? string.Empty;
        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.Kick, caller!, null) { UserIds = users, Message = reason });
    }

    private static Task<OpenImResponse> QuitGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (NotCaller(Str(body, "userID"), caller!, "userID") is { } refused)
        {
            return Task.FromResult(refused);
        }

        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.Quit, caller!, null));
    }

    private static Task<OpenImResponse> DismissGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        _ = Bool(body, "deleteMember");
        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.Dismiss, caller!, null));
    }

    private static Task<OpenImResponse> TransferGroupAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (NotCaller(Str(body, "oldOwnerUserID"), caller!, "oldOwnerUserID") is { } refused)
        {
            return Task.FromResult(refused);
        }

        var heir = Str(body, "newOwnerUserID");
        if (!Ids.IsValid(heir))
        {
            return Task.FromResult(Args("newOwnerUserID is required"));
        }

        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.TransferOwner, caller!, null) { UserIds = [heir!] });
    }

    private static Task<OpenImResponse> SetGroupInfoAsync(HttpContext context, JsonElement body, string me, bool wrapped)
    {
        // set_group_info: {groupInfoForSet: {…}} where "" means unchanged; set_group_info_ex: wrapper fields, null = unchanged.
        JsonElement info;
        if (wrapped)
        {
            if (Obj(body, "groupInfoForSet") is not { } inner)
            {
                return Task.FromResult(Args("groupInfoForSet is required"));
            }

            info = inner;
        }
        else
        {
            info = body;
        }

        string? Field(string name) => Str(info, name) is { } value && (!wrapped || value.Length > 0) ? value : null;
        var name = Field("groupName");
        var notification = Field("notification");
        var introduction = Field("introduction");
        var face = Field("faceURL");
        var ex = Field("ex");
        var verification = Int(info, "needVerification");
        _ = Int(info, "lookMemberInfo");
        _ = Int(info, "applyMemberFriend");
        GroupJoinPolicy? policy = null;
        if (verification is { } v)
        {
            policy = GroupJson.JoinPolicy(v);
            if (policy is null)
            {
                return Task.FromResult(Args("needVerification must be 0, 1 or 2"));
            }
        }

        var groupId = Str(info, "groupID");
        if (name is null && notification is null && introduction is null && face is null && ex is null && policy is null)
        {
            return NoChangeAsync(context, groupId, me);
        }

        var patch = new GroupSettingsPatch(name, face, introduction, notification, ex is { Length: 0 } ? "{}" : ex, policy, null, null, null);
        return GroupOperationAsync(context, groupId, new GroupCommand(GroupOperation.UpdateInfo, me, null) { Settings = patch });
    }

    /// <summary>A set call that changes nothing: answers like OpenIM (ok for an admin) without writing a notification.</summary>
    private static async Task<OpenImResponse> NoChangeAsync(HttpContext context, string? groupId, string me)
    {
        var (group, error) = await GroupOfAsync(context, groupId).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        return await GroupGrain(context, group!.GroupId).IsMemberAsync(me).ConfigureAwait(false)
            ? OpenImResponse.Ok(null)
            : OpenImResponse.Error(OpenImErrors.NotInGroup, "NotInGroupYetError", "not a member of this group");
    }

    private static Task<OpenImResponse> MuteGroupAsync(HttpContext context, JsonElement body, string me, bool mute)
    {
        var patch = new GroupSettingsPatch(null, null, null, null, null, null, null, mute, null);
        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.UpdateInfo, me, null) { Settings = patch });
    }

    private static Task<OpenImResponse> MuteMemberAsync(HttpContext context, JsonElement body, string me, bool mute)
    {
        var user = Str(body, "userID");
        if (!Ids.IsValid(user))
        {
            return Task.FromResult(Args("userID is required"));
        }

        var seconds = mute ? Long(body, "mutedSeconds") ?? 0 : 0;
        if (mute && seconds <= 0)
        {
            return Task.FromResult(Args("mutedSeconds must be positive"));
        }

        return GroupOperationAsync(context, Str(body, "groupID"), new GroupCommand(GroupOperation.Mute, me, null) { UserIds = [user!], Seconds = seconds });
    }

    private static async Task<OpenImResponse> SetGroupMemberInfoAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        var members = ObjList(body, "members");
        if (members.Count is 0 or > 100)
        {
            return Args("members must hold 1..100 entries");
        }

        foreach (var member in members)
        {
            var groupId = Str(member, "groupID");
            var user = Str(member, "userID");
            if (!Ids.IsValid(user))
            {
                return Args("userID is required");
            }

            // faceURL and ex of a member have no Parley counterpart and are ignored.
            _ = Str(member, "faceURL");
            _ = Str(member, "ex");
            if (Str(member, "nickname") is { } nickname)
            {
                var named = await GroupOperationAsync(context, groupId, new GroupCommand(GroupOperation.SetNickname, me, null) { UserIds = [user!], Nickname = nickname }).ConfigureAwait(false);
                if (named.ErrCode != 0)
                {
                    return named;
                }
            }

            if (Int(member, "roleLevel") is { } level)
            {
                MemberRole role;
                switch (level)
                {
                    case GroupJson.RoleAdmin:
                        role = MemberRole.Admin;
                        break;
                    case GroupJson.RoleOrdinary:
                        role = MemberRole.Member;
                        break;
                    case GroupJson.RoleOwner:
                        return Args("ownership moves only by /group/transfer_group");
                    default:
                        return Args("roleLevel must be 60 (admin) or 20 (ordinary)");
                }

                var set = await GroupOperationAsync(context, groupId, new GroupCommand(GroupOperation.SetRole, me, null) { UserIds = [user!], Role = role }).ConfigureAwait(false);
                if (set.ErrCode != 0)
                {
                    return set;
                }
            }
        }

        return OpenImResponse.Ok(null);
    }

    /// <summary>All active members of a group the caller belongs to (owner, admins, then by join time).</summary>
    private static async Task<(List<MemberData>? Members, OpenImResponse? Error)> AllMembersAsync(HttpContext context, string? groupId, string me)
    {
        var (group, error) = await GroupOfAsync(context, groupId).ConfigureAwait(false);
        if (error is not null)
        {
            return (null, error);
        }

        var grain = GroupGrain(context, group!.GroupId);
        var members = new List<MemberData>();
        while (true)
        {
            var page = await grain.ListMembersAsync(me, members.Count, MemberPageSize).ConfigureAwait(false);
            if (!page.IsOk)
            {
                return (null, MapError(page.Error, page.Message));
            }

            members.AddRange(page.Value!.Members);
            if (page.Value.Members.Length == 0 || members.Count >= page.Value.Total)
            {
                return (members, null);
            }
        }
    }

    private static async Task<List<GroupMemberJson>> MembersJsonAsync(HttpContext context, string groupId, IReadOnlyList<MemberData> members)
    {
        var profiles = await ProfilesAsync(context, members.Select(m => m.UserId)).ConfigureAwait(false);
        return [.. members.Select(m => GroupJson.Member(groupId, m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId, profiles.GetValueOrDefault(m.UserId)))];
    }

    private static async Task<OpenImResponse> GroupMemberListAsync(HttpContext context, JsonElement body, string? caller)
    {
        var groupId = Str(body, "groupID");
        var filter = Int(body, "filter") ?? 0;
        var keyword = Str(body, "keyword") ?? string.Empty;
        var page = Page(body);
        if (filter is < 0 or > 5)
        {
            return Args("filter must be 0..5");
        }

        var (members, error) = await AllMembersAsync(context, groupId, caller!).ConfigureAwait(false);
        if (error is not null)
        {
            return NotInGroupAsNoPermission(error);
        }

        // OpenIM filters: 0 all, 1 owner, 2 admins, 3 ordinary members, 4 admins and ordinary members, 5 owner and admins.
        var matching = members!.Where(m => filter switch
        {
            1 => m.Role == MemberRole.Owner,
            2 => m.Role == MemberRole.Admin,
            3 => m.Role == MemberRole.Member,
            4 => m.Role != MemberRole.Owner,
            5 => m.Role != MemberRole.Member,
            _ => true,
        }).ToList();
        var json = await MembersJsonAsync(context, groupId!, matching).ConfigureAwait(false);
        if (keyword.Length > 0)
        {
            json = [.. json.Where(m => m.UserId.Contains(keyword, StringComparison.OrdinalIgnoreCase) || (m.Nickname?.Contains(keyword, StringComparison.OrdinalIgnoreCase) ?? false))];
        }

        return OpenImResponse.Ok(Data(new MembersData(NullIfEmpty(Slice(json, page)), json.Count)));
    }

    private static async Task<OpenImResponse> GroupMembersInfoAsync(HttpContext context, JsonElement body, string? caller)
    {
        var wanted = StrList(body, "userIDs").ToHashSet(StringComparer.Ordinal);
        if (wanted.Count > MaxIdsPerCall)
        {
            return Args($"at most {MaxIdsPerCall} userIDs");
        }

        var groupId = Str(body, "groupID");
        var (members, error) = await AllMembersAsync(context, groupId, caller!).ConfigureAwait(false);
        if (error is not null)
        {
            return NotInGroupAsNoPermission(error);
        }

        var json = await MembersJsonAsync(context, groupId!, [.. members!.Where(m => wanted.Contains(m.UserId))]).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new MembersData(NullIfEmpty(json), 0)));
    }

    /// <summary>
    /// OpenIM's member reads (get_group_member_list, get_group_members_info) refuse a caller outside the group with
    /// 1002 NoPermissionError "op user not in group" (its checkAdminOrInGroup), not 1203. SDK 0.0.14 asks
    /// get_group_members_info before a group send and before showing group history, so a removed member's send and
    /// history fail with that error, as they do against OpenIM.
    /// </summary>
    private static OpenImResponse NotInGroupAsNoPermission(OpenImResponse error) =>
        error.ErrCode == OpenImErrors.NotInGroup ? OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "op user not in group") : error;

    private static async Task<OpenImResponse> GroupApplicationResponseAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (ReadApplicationAnswer(body, out var from, out var accept) is { } invalid)
        {
            return invalid;
        }

        // handledMsg is not stored by Parley.
        var handledMsg = Str(body, "handledMsg") ?? string.Empty;
        var groupId = Str(body, "groupID");
        var response = await GroupOperationAsync(context, groupId, new GroupCommand(GroupOperation.RespondRequest, caller!, null) { UserIds = [from], Accept = accept }).ConfigureAwait(false);
        if (response.ErrCode == 0)
        {
            // Parley writes no message for a handled request: the applicant's OpenIM clients get 1505/1506 here, read
            // the handled request over /group/get_specified_user_group_request_info and raise OnGroupApplicationAccepted
            // or OnGroupApplicationRejected. Best effort.
            try
            {
                var tips = new Dictionary<string, object?>
                {
                    ["group"] = new Dictionary<string, object?> { ["groupID"] = groupId },
                    ["opUser"] = new Dictionary<string, object?> { ["groupID"] = groupId, ["userID"] = caller },
                    ["handleMsg"] = handledMsg,
                };
                await PushNoticeAsync(context, [from], groupId!, caller!, accept ? OpenImNotifications.GroupApplicationAccepted : OpenImNotifications.GroupApplicationRejected, tips).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
            {
                // The answer is stored; the notice is best effort.
            }
        }

        return response;
    }

    private static async Task<List<GroupRequestJson>> GroupRequestsJsonAsync(HttpContext context, IReadOnlyList<(GroupRecord Group, GroupRequestData Request)> requests)
    {
        var profiles = await ProfilesAsync(context, requests.Select(r => r.Request.UserId)).ConfigureAwait(false);
        return [.. requests.Select(r => new GroupRequestJson(
            User(profiles, r.Request.UserId),
            GroupJson.Info(r.Group),
            r.Request.State switch { 1 => 1, 2 => -1, _ => 0 },
            r.Request.Message,
            null,
            r.Request.CreatedAt,
            r.Request.HandlerId.Length > 0 ? r.Request.HandlerId : null,
            r.Request.HandledAt,
            null,
            r.Request.InviterId.Length > 0 ? GroupJson.JoinByInvitation : GroupJson.JoinBySearch,
            r.Request.InviterId.Length > 0 ? r.Request.InviterId : null))];
    }

    private static async Task<OpenImResponse> RecvGroupApplicationsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "fromUserID"), me, "fromUserID") is { } refused)
        {
            return refused;
        }

        var only = StrList(body, "groupIDs").ToHashSet(StringComparer.Ordinal);
        var page = Page(body);
        var (_, groups) = await JoinedGroupsAsync(context, me).ConfigureAwait(false);
        var found = new List<(GroupRecord, GroupRequestData)>();
        foreach (var group in groups.Where(g => !g.Dismissed && (only.Count == 0 || only.Contains(g.GroupId))))
        {
            // The grain answers only owners and admins; other memberships contribute nothing.
            var requests = await GroupGrain(context, group.GroupId).ListGroupRequestsAsync(me).ConfigureAwait(false);
            if (requests.IsOk)
            {
                found.AddRange(requests.Value!.Requests.Select(r => (group, r)));
            }
        }

        var sorted = found.OrderByDescending(r => r.Item2.CreatedAt).ToList();
        var json = await GroupRequestsJsonAsync(context, Slice(sorted, page)).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new GroupRequestsData(sorted.Count, NullIfEmpty(json))));
    }

    private static async Task<OpenImResponse> UserGroupApplicationsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        // As OpenIM: every state (handleResult 0, 1, -1), narrowed to groupIDs when given; pending first, then newest.
        var only = StrList(body, "groupIDs").ToHashSet(StringComparer.Ordinal);
        var page = Page(body);
        var store = GroupStore(context);
        var requests = await store.GetUserGroupRequestsAsync(me, MaxListedGroupRequests, context.RequestAborted).ConfigureAwait(false);
        var matching = requests.Where(r => only.Count == 0 || only.Contains(r.GroupId)).ToList();
        var slice = Slice(matching, page);
        var groups = (await store.GetGroupsAsync([.. slice.Select(r => r.GroupId).Distinct(StringComparer.Ordinal)], context.RequestAborted).ConfigureAwait(false))
            .ToDictionary(g => g.GroupId, StringComparer.Ordinal);
        var found = slice.Where(r => groups.ContainsKey(r.GroupId)).Select(r => (groups[r.GroupId], RequestData(r))).ToList();
        var json = await GroupRequestsJsonAsync(context, found).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new GroupRequestsData(matching.Count, NullIfEmpty(json))));
    }

    // The caller's own request to the group in whatever state (one row per group and user), as OpenIM answers: the SDK
    // reads it after 1505/1506 to raise OnGroupApplicationAccepted/Rejected.
    private static async Task<List<(GroupRecord, GroupRequestData)>> OwnRequestsAsync(HttpContext context, GroupRecord group, string userId)
    {
        var mine = await GroupStore(context).GetUserGroupRequestsAsync(userId, MaxListedGroupRequests, context.RequestAborted).ConfigureAwait(false);
        return [.. mine.Where(r => r.GroupId == group.GroupId).Select(r => (group, RequestData(r)))];
    }

    private static GroupRequestData RequestData(GroupRequestRecord r) =>
        new(r.UserId, r.InviterId, r.Kind, r.Message, r.State, r.CreatedAt, r.HandlerId, r.HandledAt);

    private static async Task<OpenImResponse> SpecifiedGroupRequestAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        var user = Str(body, "userID");
        user = string.IsNullOrEmpty(user) ? me : user;
        var (group, error) = await GroupOfAsync(context, Str(body, "groupID")).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        List<(GroupRecord, GroupRequestData)> found;
        if (user == me)
        {
            found = await OwnRequestsAsync(context, group!, me).ConfigureAwait(false);
        }
        else
        {
            var requests = await GroupGrain(context, group!.GroupId).ListGroupRequestsAsync(me).ConfigureAwait(false);
            if (!requests.IsOk)
            {
                return MapError(requests.Error, requests.Message);
            }

            found = [.. requests.Value!.Requests.Where(r => r.UserId == user).Select(r => (group, r))];
        }

        var json = await GroupRequestsJsonAsync(context, found).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new GroupRequestsData(found.Count, NullIfEmpty(json))));
    }

    private static async Task<OpenImResponse> IncrementalJoinGroupsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var now = Now(context);
        var version = Long(body, "version") ?? 0;
        var previous = PreviousTime(Str(body, "versionID"), version);
        var since = previous is null ? 0 : version;
        var delta = await GroupStore(context).GetGroupsDeltaAsync(me, since, context.RequestAborted).ConfigureAwait(false);
        var full = previous is null;
        List<GroupInfoJson> insert = [];
        List<GroupInfoJson> update = [];
        foreach (var group in delta.Upserts)
        {
            var joinedSince = full;
            if (!full)
            {
                // New to the caller (insert → OnJoinedGroupAdded) when the caller's membership started after the last answer:
                // one primary-key read of the caller's row (a super group's member delta would scan its whole roster).
                var mine = await context.RequestServices.GetRequiredService<ISuperGroupStore>()
                    .GetMembersByIdsAsync(group.ConversationId, [me], context.RequestAborted).ConfigureAwait(false);
                joinedSince = mine.Any(m => m.Member.Active && m.Member.JoinedAt > previous);
            }

            (joinedSince ? insert : update).Add(GroupJson.Info(group));
        }

        var deleted = full ? [] : delta.Left.Distinct(StringComparer.Ordinal).ToList();
        return OpenImResponse.Ok(Data(new IncrementalData<GroupInfoJson>(delta.Version, VersionId(now), full, NullIfEmpty(deleted), NullIfEmpty(insert), NullIfEmpty(update), 0)));
    }

    private static async Task<OpenImResponse> FullJoinGroupIdsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var (version, groups) = await JoinedGroupsAsync(context, me).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new FullGroupIds(version, VersionId(Now(context)), false, NullIfEmpty(groups.Select(g => g.GroupId).ToList()))));
    }

    private static async Task<OpenImResponse> IncrementalGroupMembersBatchAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var requests = ObjList(body, "reqList");
        if (requests.Count > MaxIdsPerCall)
        {
            return Args($"at most {MaxIdsPerCall} entries in reqList");
        }

        var now = Now(context);
        var answers = new Dictionary<string, IncrementalMembers>(StringComparer.Ordinal);
        foreach (var request in requests)
        {
            var groupId = Str(request, "groupID");
            if (!Ids.IsValid(groupId))
            {
                return Args("every reqList entry needs a valid groupID");
            }

            var version = Long(request, "version") ?? 0;
            var previous = PreviousTime(Str(request, "versionID"), version);
            var group = await GroupStore(context).GetGroupAsync(groupId!, context.RequestAborted).ConfigureAwait(false);

            // Groups the caller is not (or no longer) in are left out; the SDK then forgets them.
            if (group is null || answers.ContainsKey(groupId!) || !await GroupGrain(context, groupId!).IsMemberAsync(me).ConfigureAwait(false))
            {
                continue;
            }

            var since = previous is null ? 0 : version;
            var full = previous is null;
            var delta = await GroupStore(context).GetMembersDeltaAsync(group.ConversationId, since, context.RequestAborted).ConfigureAwait(false);
            var active = delta.Upserts.Where(m => m.Active).ToList();
            var profiles = await ProfilesAsync(context, active.Select(m => m.UserId)).ConfigureAwait(false);
            List<GroupMemberJson> insert = [];
            List<GroupMemberJson> update = [];
            foreach (var m in active)
            {
                var json = GroupJson.Member(group.GroupId, m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId, profiles.GetValueOrDefault(m.UserId));
                (full || m.JoinedAt > previous ? insert : update).Add(json);
            }

            var removed = full ? [] : delta.Removed.Concat(delta.Upserts.Where(m => !m.Active).Select(m => m.UserId)).Distinct(StringComparer.Ordinal).ToList();
            var info = full || group.Version > since ? GroupJson.Info(group) : null;
            answers[groupId!] = new IncrementalMembers(delta.Version, VersionId(now), full, NullIfEmpty(removed), NullIfEmpty(insert), NullIfEmpty(update), info, 0);
        }

        return OpenImResponse.Ok(Data(new MembersBatch(answers)));
    }

    private static async Task<OpenImResponse> FullGroupMemberUserIdsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (group, error) = await GroupOfAsync(context, Str(body, "groupID")).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (!await GroupGrain(context, group!.GroupId).IsMemberAsync(caller!).ConfigureAwait(false))
        {
            return OpenImResponse.Error(OpenImErrors.NotInGroup, "NotInGroupYetError", "not a member of this group");
        }

        var delta = await GroupStore(context).GetMembersDeltaAsync(group.ConversationId, 0, context.RequestAborted).ConfigureAwait(false);
        var ids = delta.Upserts.Where(m => m.Active).Select(m => m.UserId).ToList();
        return OpenImResponse.Ok(Data(new FullUserIds(delta.Version, VersionId(Now(context)), false, NullIfEmpty(ids))));
    }

    private sealed record GroupInfoData([property: JsonPropertyName("groupInfo")] GroupInfoJson GroupInfo);

    private sealed record GroupInfosData([property: JsonPropertyName("groupInfos")] List<GroupInfoJson>? GroupInfos);

    private sealed record JoinedGroupsData(
        [property: JsonPropertyName("groups")] List<GroupInfoJson>? Groups,
        [property: JsonPropertyName("total")] int Total);

    private sealed record MembersData(
        [property: JsonPropertyName("members")] List<GroupMemberJson>? Members,
        [property: JsonPropertyName("total")] int Total);

    private sealed record GroupRequestsData(
        [property: JsonPropertyName("total")] int Total,
        [property: JsonPropertyName("groupRequests")] List<GroupRequestJson>? GroupRequests);

    private sealed record FullGroupIds(
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("versionID")] string VersionId,
        [property: JsonPropertyName("equal")] bool Equal,
        [property: JsonPropertyName("groupIDs")] List<string>? GroupIds);

    private sealed record IncrementalMembers(
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("versionID")] string VersionId,
        [property: JsonPropertyName("full")] bool Full,
        [property: JsonPropertyName("delete")] List<string>? Delete,
        [property: JsonPropertyName("insert")] List<GroupMemberJson>? Insert,
        [property: JsonPropertyName("update")] List<GroupMemberJson>? Update,
        [property: JsonPropertyName("group")] GroupInfoJson? Group,
        [property: JsonPropertyName("sortVersion")] long SortVersion);

    private sealed record MembersBatch([property: JsonPropertyName("respList")] Dictionary<string, IncrementalMembers> RespList);
}
