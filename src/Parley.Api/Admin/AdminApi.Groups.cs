using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Messaging;
using Parley.Api.Admin.Operators;
using Parley.Core;
using Parley.Core.Messaging;
using Parley.Protocol;

namespace Parley.Api.Admin;

/// <summary>
/// Group administration: list every group, members, add/kick, roles, dismiss. The admin acts with the owner's authority
/// (the grain authorises each operation against the owner's role), so the core's rules and notices apply unchanged.
/// </summary>
public static partial class AdminApi
{
    private const int MaxMembersListed = 1000;

    private static void MapGroupAdministration(RouteGroupBuilder groups)
    {
        groups.MapGet("", SearchGroupsAsync).WithName("groups.search");
        groups.MapGet("/{groupId}", GetGroupAsync).WithName("groups.get");
        groups.MapPost("/{groupId}/members", AddMembersAsync).WithName("groups.members.add");
        groups.MapDelete("/{groupId}/members/{userId}", KickMemberAsync).WithName("groups.members.kick");
        groups.MapPut("/{groupId}/members/{userId}/role", SetRoleAsync).WithName("groups.members.role");
        groups.MapPost("/{groupId}/dismiss", DismissAsync).WithName("groups.dismiss");
        MapSuperGroupAdministration(groups);
    }

    private static async Task<IResult> SearchGroupsAsync(string? q, string? after, int? limit, IAdminQueryStore admin)
    {
        if (q?.Length > 128 || after?.Length > 64 || limit is < 1 or > MaxPage)
        {
            return Fail(400, "bad_request", $"q must be at most 128 characters, after at most 64; limit 1..{MaxPage}.");
        }

        var page = limit ?? 50;
        var rows = await admin.SearchAllGroupsAsync(q, after, page + 1).ConfigureAwait(false);
        var items = rows.Take(page).ToList();
        return Results.Ok(new GroupPage(items, rows.Count > page ? items[^1].GroupId : null));
    }

    private static async Task<IResult> GetGroupAsync(string groupId, IGroupStore store, IGrainFactory grains)
    {
        var group = await store.GetGroupAsync(groupId).ConfigureAwait(false);
        if (group is null)
        {
            return Fail(404, "not_found", "No such group.");
        }

        var members = group.Dismissed
            ? new MemberPage([], 0)
            : (await grains.GetGrain<IConversationGrain>(group.ConversationId).ListMembersAsync(group.OwnerId, 0, MaxMembersListed).ConfigureAwait(false)).Value
                ?? new MemberPage([], 0);
        return Results.Ok(new GroupDetailResponse(
            group.GroupId,
            group.ConversationId,
            group.Name,
            group.OwnerId,
            group.Dismissed,
            group.CreatedAt,
            members.Total,
            [.. members.Members.Select(m => new GroupMemberResponse(m.UserId, RoleName(m.Role), m.Nickname, m.JoinedAt, m.MutedUntil))]));
    }

    // The user ids' limits are the core's (GroupRules).
    private static Task<IResult> AddMembersAsync(string groupId, AddMembersRequest request, IGroupStore store, Parley.Core.Groups.GroupService grains) =>
        AsOwnerAsync(groupId, store, grains, owner => new GroupCommand(GroupOperation.Invite, owner, null) { UserIds = request.UserIds ?? [] });

    private static Task<IResult> KickMemberAsync(string groupId, string userId, IGroupStore store, Parley.Core.Groups.GroupService grains) =>
        AsOwnerAsync(groupId, store, grains, owner => new GroupCommand(GroupOperation.Kick, owner, null) { UserIds = [userId] });

    private static Task<IResult> SetRoleAsync(string groupId, string userId, SetRoleRequest request, IGroupStore store, Parley.Core.Groups.GroupService grains)
    {
        MemberRole? role = request.Role?.ToUpperInvariant() switch
        {
            "MEMBER" => MemberRole.Member,
            "ADMIN" => MemberRole.Admin,
            "OWNER" => MemberRole.Owner,
            _ => null,
        };
        if (role is not { } r)
        {
            return Task.FromResult(Fail(400, "bad_request", "role must be member, admin or owner (owner transfers ownership)."));
        }

        return AsOwnerAsync(groupId, store, grains, owner => r == MemberRole.Owner
            ? new GroupCommand(GroupOperation.TransferOwner, owner, null) { UserIds = [userId] }
            : new GroupCommand(GroupOperation.SetRole, owner, null) { UserIds = [userId], Role = r });
    }

    private static Task<IResult> DismissAsync(string groupId, IGroupStore store, Parley.Core.Groups.GroupService grains) =>
        AsOwnerAsync(groupId, store, grains, owner => new GroupCommand(GroupOperation.Dismiss, owner, null));

    private static async Task<IResult> AsOwnerAsync(string groupId, IGroupStore store, Parley.Core.Groups.GroupService grains, Func<string, GroupCommand> command)
    {
        var group = await store.GetGroupAsync(groupId).ConfigureAwait(false);
        if (group is null)
        {
            return Fail(404, "not_found", "No such group.");
        }

        // Through the group service: an admin's invitation is checked by the join hook like any other (ADR 0012).
        var result = await grains.RunAsync(groupId, command(group.OwnerId)).ConfigureAwait(false);
        return result.IsOk ? Results.Ok(new GroupOperationResponse(result.Value!.Added, result.Value.Pending)) : Refusal(result.Failure);
    }

    /// <summary>The admin API's one table from a core refusal to an HTTP status and error code.</summary>
    private static IResult Refusal(CoreFailure failure) => failure.Error switch
    {
        CoreError.NotFound => Fail(404, "not_found", failure.Message),
        CoreError.NotMember => Fail(404, "not_member", failure.Message),
        CoreError.GroupDismissed => Fail(409, "group_dismissed", failure.Message),
        CoreError.AlreadyExists => Fail(409, "already_exists", failure.Message),
        CoreError.Conflict => Fail(409, "conflict", failure.Message),
        CoreError.Forbidden => Fail(409, "refused", failure.Message),
        CoreError.Unavailable => Fail(503, "unavailable", failure.Message),
        _ => Fail(400, "bad_request", failure.Message),
    };

    private static string RoleName(MemberRole role) => role switch
    {
        MemberRole.Owner => "owner",
        MemberRole.Admin => "admin",
        _ => "member",
    };
}

public sealed record GroupPage(IReadOnlyList<GroupSummary> Items, string? Next);

public sealed record GroupMemberResponse(string UserId, string Role, string Nickname, long JoinedAt, long MutedUntil);

/// <param name="MemberCount">Active members (the list holds at most the first 1000).</param>
public sealed record GroupDetailResponse(string GroupId, string ConversationId, string Name, string OwnerId, bool Dismissed, long CreatedAt, int MemberCount, IReadOnlyList<GroupMemberResponse> Members);

public sealed record AddMembersRequest(string[]? UserIds);

/// <param name="Role">member, admin or owner.</param>
public sealed record SetRoleRequest(string? Role);

public sealed record GroupOperationResponse(string[] Added, string[] Pending);
