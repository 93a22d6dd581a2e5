using Microsoft.AspNetCore.Http;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core.Sessions;
using Parley.Protocol.V1;
using Parley.Protocol;

namespace Parley.Api.Admin;

/// <summary>User administration: search, disable/enable (a disabled user loses its tokens and connections), token list.</summary>
public static partial class AdminApi
{
    private const int MaxPage = 200;

    private static async Task<IResult> SearchUsersAsync(string? q, string? after, int? limit, IAdminQueryStore admin)
    {
        if (q?.Length > 64 || after?.Length > 64 || limit is < 1 or > MaxPage)
        {
            return Fail(400, "bad_request", $"q and after must be at most 64 characters; limit 1..{MaxPage}.");
        }

        var page = limit ?? 50;
        var rows = await admin.SearchUsersAsync(q, after, page + 1).ConfigureAwait(false);
        var items = rows.Take(page).Select(r => UserResponse.From(r.User, r.DisabledAt)).ToList();
        return Results.Ok(new UserPage(items, rows.Count > page ? items[^1].UserId : null));
    }

    private static async Task<IResult> DisableUserAsync(HttpContext http, string userId, IAdminQueryStore admin, IAccountStore accounts, ISessionControl sessions, TimeProvider time)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!await admin.SetUserDisabledAsync(userId, now).ConfigureAwait(false))
        {
            return Fail(404, "not_found", "No such user.");
        }

        AuditWriter.SetTarget(http, "user:" + userId);
        var revoked = await accounts.RevokeUserTokensAsync(userId, null, now).ConfigureAwait(false);
        var closed = sessions.KickUser(userId, null, KickReason.ForceLogout);
        return Results.Ok(new LogoutResponse(revoked.Count, closed));
    }

    private static async Task<IResult> EnableUserAsync(HttpContext http, string userId, IAdminQueryStore admin)
    {
        AuditWriter.SetTarget(http, "user:" + userId);
        return await admin.SetUserDisabledAsync(userId, null).ConfigureAwait(false)
            ? Results.NoContent()
            : Fail(404, "not_found", "No such user.");
    }

    private static async Task<IResult> ListTokensAsync(string userId, IAdminQueryStore admin, TimeProvider time)
    {
        if (await admin.GetUserSummaryAsync(userId).ConfigureAwait(false) is null)
        {
            return Fail(404, "not_found", "No such user.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var tokens = await admin.ListUserTokensAsync(userId, MaxPage).ConfigureAwait(false);
        return Results.Ok(tokens.Select(t => new UserTokenResponse(
            t.TokenId,
            t.DeviceId,
            PlatformName(t.Platform),
            t.IssuedAt,
            t.ExpiresAt,
            t.RevokedAt,
            t.RevokedAt is null && t.ExpiresAt > now)).ToList());
    }

    private static string PlatformName(int platform) => platform switch
    {
        1 => "ios",
        2 => "android",
        3 => "windows",
        4 => "macos",
        5 => "linux",
        6 => "web",
        7 => "ipad",
        8 => "android_pad",
        9 => "mini_program",
        _ => "unknown",
    };
}

/// <param name="Next">The <c>after</c> value of the next page, or null on the last page.</param>
public sealed record UserPage(IReadOnlyList<UserResponse> Items, string? Next);

/// <summary>A device token as the admin API lists it (never the token itself).</summary>
public sealed record UserTokenResponse(string TokenId, string DeviceId, string Platform, long IssuedAt, long ExpiresAt, long? RevokedAt, bool Active);
