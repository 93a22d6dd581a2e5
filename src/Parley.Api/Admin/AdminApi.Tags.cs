using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Accounts;
using Parley.Api.Admin.Operators;

namespace Parley.Api.Admin;

/// <summary>
/// A user's tags (docs/admin.md): labels the app server puts on its users (<c>vip</c>, <c>plan:pro</c>, <c>region.eu</c>)
/// to select campaign audiences by tag (docs/business.md). The set is replaced as a whole.
/// </summary>
public static partial class AdminApi
{
    private static void MapTags(RouteGroupBuilder users)
    {
        users.MapGet("/{userId}/tags", GetTagsAsync).WithName("users.tags.get").Produces<UserTagsBody>();
        users.MapPut("/{userId}/tags", SetTagsAsync).WithName("users.tags.set").Produces<UserTagsBody>();
    }

    private static async Task<IResult> GetTagsAsync(string userId, IAccountStore accounts, IUserTagStore tags) =>
        await accounts.GetUserAsync(userId).ConfigureAwait(false) is null
            ? Fail(404, "not_found", "No such user.")
            : Results.Ok(new UserTagsBody(userId, await tags.GetAsync(userId).ConfigureAwait(false)));

    private static async Task<IResult> SetTagsAsync(HttpContext http, string userId, UserTagsBody? body, IAccountStore accounts, IUserTagStore tags)
    {
        if (body?.Tags is not { } list || list.Count > IUserTagStore.MaxPerUser || !list.All(IUserTagStore.IsValid))
        {
            return Fail(400, "bad_request", $"tags must list at most {IUserTagStore.MaxPerUser} tags of 1..{IUserTagStore.MaxLength} ASCII letters, digits, '_', '-', '.' and ':'.");
        }

        if (await accounts.GetUserAsync(userId).ConfigureAwait(false) is null)
        {
            return Fail(404, "not_found", "No such user.");
        }

        AuditWriter.SetTarget(http, "user:" + userId);
        AuditWriter.SetDetail(http, "tags=" + string.Join(',', list.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)));
        await tags.SetAsync(userId, list).ConfigureAwait(false);
        return Results.Ok(new UserTagsBody(userId, await tags.GetAsync(userId).ConfigureAwait(false)));
    }
}

/// <summary>A user's tags; <paramref name="UserId"/> is ignored in a request (the route names the user).</summary>
public sealed record UserTagsBody(string? UserId, IReadOnlyList<string>? Tags);
