using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Messaging;
using Parley.Api.Admin.Operators;
using Parley.Core.Messaging;
using Parley.Protocol;

namespace Parley.Api.Admin;

/// <summary>
/// Super groups at scale (ADR 0017): promotion, bulk membership as a job with progress, paged and searchable member lists
/// read from the store (never a whole roster in one grain).
/// </summary>
public static partial class AdminApi
{
    /// <summary>Largest bulk request: a million user ids.</summary>
    private const int MaxBulkUsers = 1_000_000;
    private const long MaxBulkBodyBytes = 64L * 1024 * 1024;

    private static void MapSuperGroupAdministration(RouteGroupBuilder groups)
    {
        groups.MapPost("/{groupId}/promote", PromoteAsync).WithName("groups.promote");
        groups.MapGet("/{groupId}/members", ListMembersAsync).WithName("groups.members.list");
        groups.MapPost("/{groupId}/members/bulk", StartBulkAsync).WithName("groups.members.bulk")
            .WithMetadata(new BodyLimitMetadata(_ => MaxBulkBodyBytes));
        groups.MapGet("/jobs/{jobId}", GetJobAsync).WithName("groups.jobs.get");
        groups.MapPut("/{groupId}/member-notices", SetMemberNoticesAsync).WithName("groups.member-notices");
    }

    // How a super group tells of joins and leaves (ADR 0017): messages, events (online members) or admin-events.
    private static Task<IResult> SetMemberNoticesAsync(string groupId, MemberNoticesRequest request, IGroupStore store, Parley.Core.Groups.GroupService grains)
    {
        MemberNoticeMode? mode = request.Mode?.ToUpperInvariant() switch
        {
            "MESSAGES" => MemberNoticeMode.Messages,
            "EVENTS" => MemberNoticeMode.Events,
            "ADMIN-EVENTS" or "ADMIN_EVENTS" => MemberNoticeMode.AdminEvents,
            _ => null,
        };
        if (mode is null)
        {
            return Task.FromResult(Fail(400, "bad_request", "mode must be messages, events or admin-events."));
        }

        return AsOwnerAsync(groupId, store, grains, owner => new GroupCommand(GroupOperation.UpdateInfo, owner, null)
        {
            Settings = new GroupSettingsPatch(null, null, null, null, null, null, null, null, null) { MemberNotices = mode },
        });
    }

    private static Task<IResult> PromoteAsync(string groupId, IGroupStore store, Parley.Core.Groups.GroupService grains) =>
        AsOwnerAsync(groupId, store, grains, owner => new GroupCommand(GroupOperation.Promote, owner, null));

    private static async Task<IResult> ListMembersAsync(string groupId, string? q, string? role, string? after, int? limit, IGroupStore store, ISuperGroupStore members)
    {
        MemberRole? minRole = role?.ToUpperInvariant() switch
        {
            null or "" or "MEMBER" => MemberRole.Member,
            "ADMIN" => MemberRole.Admin,
            "OWNER" => MemberRole.Owner,
            _ => null,
        };
        if (q?.Length > 64 || after?.Length > 64 || limit is < 1 or > 500 || minRole is null)
        {
            return Fail(400, "bad_request", "q and after: at most 64 characters; role: member, admin or owner; limit 1..500.");
        }

        var group = await store.GetGroupAsync(groupId).ConfigureAwait(false);
        if (group is null)
        {
            return Fail(404, "not_found", "No such group.");
        }

        var page = await members.SearchMembersAsync(group.ConversationId, new MemberQuery(q ?? string.Empty, minRole.Value, after ?? string.Empty, limit ?? 100)).ConfigureAwait(false);
        return Results.Ok(new MemberSearchResponse(
            [.. page.Members.Select(m => new GroupMemberResponse(m.UserId, RoleName(m.Role), m.Nickname, m.JoinedAt, m.MutedUntil))], page.Total, page.NextAfter));
    }

    private static async Task<IResult> StartBulkAsync(HttpContext http, string groupId, BulkMembersRequest request, IGroupStore store, SuperGroupJobs jobs)
    {
        var add = request.Add ?? [];
        var remove = request.Remove ?? [];
        if (add.Length + remove.Length is 0 or > MaxBulkUsers || add.Concat(remove).Any(u => !Ids.IsValid(u)))
        {
            return Fail(400, "bad_request", $"Name 1..{MaxBulkUsers} valid user ids in add and remove.");
        }

        var group = await store.GetGroupAsync(groupId).ConfigureAwait(false);
        if (group is null)
        {
            return Fail(404, "not_found", "No such group.");
        }

        if (!group.ReadDiffusion)
        {
            return Fail(409, "not_super_group", "Bulk membership is for super groups: create one with kind super, or promote the group.");
        }

        AuditWriter.SetTarget(http, "group:" + groupId);
        var job = await jobs.SubmitAsync(group, add, remove, http.RequestAborted).ConfigureAwait(false);
        return Results.Accepted($"/admin/v1/groups/jobs/{job.JobId}", job);
    }

    private static async Task<IResult> GetJobAsync(string jobId, SuperGroupJobs jobs, CancellationToken cancellationToken) =>
        jobId.Length <= 64 && await jobs.GetAsync(jobId, cancellationToken).ConfigureAwait(false) is { } job
            ? Results.Ok(job)
            : Fail(404, "not_found", "No such job (an ended job is kept for a day).");
}

/// <param name="Add">User ids to add (existing accounts).</param>
/// <param name="Remove">User ids to remove.</param>
public sealed record BulkMembersRequest(string[]? Add, string[]? Remove);

/// <param name="Mode">messages, events or admin-events (ADR 0017).</param>
public sealed record MemberNoticesRequest(string? Mode);

public sealed record MemberSearchResponse(IReadOnlyList<GroupMemberResponse> Items, int Total, string? Next);
