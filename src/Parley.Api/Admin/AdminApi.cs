using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core;
using Parley.Core.Auth;
using Parley.Core.Messaging;
using Parley.Core.Sessions;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Api.Admin;

/// <summary>
/// The admin HTTP API under <c>/admin/v1</c>, for the admin secret or a scoped operator token (Authorization: Bearer),
/// authenticated before the body is read; every change is written to the audit log.
/// </summary>
public static partial class AdminApi
{
    private const int MaxNicknameLength = 64;
    private const int MaxUrlLength = 1024;
    private const int MaxExBytes = 4096;

    private const long MaxTtlSeconds = 3650L * 24 * 3600;

    public static RouteGroupBuilder MapParleyAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1");
        var users = group.MapGroup("/users").RequireParleyAdmin(OperatorScopes.Users);
        users.MapGet("", SearchUsersAsync).WithName("users.search");
        users.MapPost("", CreateUserAsync).WithName("users.create");
        users.MapGet("/{userId}", GetUserAsync).WithName("users.get");
        users.MapPatch("/{userId}", UpdateUserAsync).WithName("users.update");
        users.MapPost("/{userId}/disable", DisableUserAsync).WithName("users.disable");
        users.MapPost("/{userId}/enable", EnableUserAsync).WithName("users.enable");
        users.MapGet("/{userId}/tokens", ListTokensAsync).WithName("users.tokens.list");
        users.MapPost("/{userId}/tokens", IssueTokenAsync).WithName("users.tokens.issue");
        users.MapPost("/{userId}/logout", LogoutAsync).WithName("users.logout");
        MapDevices(users);
        MapTags(users);
        group.MapDelete("/tokens/{tokenId}", RevokeTokenAsync).WithName("tokens.revoke").RequireParleyAdmin(OperatorScopes.Users);
        var groups = group.MapGroup("/groups").RequireParleyAdmin(OperatorScopes.Groups);
        groups.MapPost("", CreateGroupAsync).WithName("groups.create");
        MapGroupAdministration(groups);
        MapOperatorTokens(group);
        MapAudit(group);
        return group;
    }

    private static async Task<IResult> CreateUserAsync(HttpContext http, CreateUserRequest request, IAccountStore accounts, TimeProvider time)
    {
        if (!Ids.IsValid(request.UserId))
        {
            return Fail(400, "bad_request", "userId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        var invalid = ValidateProfile(request.Nickname, request.AvatarUrl, request.Ex);
        if (invalid is not null)
        {
            return invalid;
        }

        AuditWriter.SetTarget(http, "user:" + request.UserId);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var user = new UserRecord(request.UserId, request.Nickname ?? string.Empty, request.AvatarUrl ?? string.Empty, NormalizeEx(request.Ex), now, now);
        return await accounts.CreateUserAsync(user).ConfigureAwait(false)
            ? Results.Created($"/admin/v1/users/{user.UserId}", UserResponse.From(user))
            : Fail(409, "already_exists", "A user with this id exists.");
    }

    private static async Task<IResult> GetUserAsync(string userId, IAdminQueryStore admin)
    {
        var user = await admin.GetUserSummaryAsync(userId).ConfigureAwait(false);
        return user is null ? Fail(404, "not_found", "No such user.") : Results.Ok(UserResponse.From(user.User, user.DisabledAt));
    }

    private static async Task<IResult> UpdateUserAsync(string userId, UpdateUserRequest request, IAccountStore accounts, TimeProvider time, IEnumerable<Parley.Core.Social.IProfileChangeObserver> observers)
    {
        var invalid = ValidateProfile(request.Nickname, request.AvatarUrl, request.Ex);
        if (invalid is not null)
        {
            return invalid;
        }

        var ex = request.Ex is null ? null : NormalizeEx(request.Ex);
        if (!await accounts.UpdateUserAsync(userId, request.Nickname, request.AvatarUrl, ex, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false))
        {
            return Fail(404, "not_found", "No such user.");
        }

        if (request.Nickname is not null || request.AvatarUrl is not null || ex is not null)
        {
            foreach (var observer in observers)
            {
                observer.OnProfileChanged(userId);
            }
        }

        var user = await accounts.GetUserAsync(userId).ConfigureAwait(false);
        return user is null ? Fail(404, "not_found", "No such user.") : Results.Ok(UserResponse.From(user));
    }

    private static async Task<IResult> IssueTokenAsync(string userId, IssueTokenRequest request, IAdminQueryStore admin, TokenService tokens)
    {
        if (!Ids.IsValid(request.DeviceId))
        {
            return Fail(400, "bad_request", "deviceId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (!TryParsePlatform(request.Platform, out var platform))
        {
            return Fail(400, "bad_request", "platform must be one of ios, android, windows, macos, linux, web, ipad, android_pad, mini_program.");
        }

        if (request.TtlSeconds is < 60)
        {
            return Fail(400, "bad_request", "ttlSeconds must be at least 60.");
        }

        var user = await admin.GetUserSummaryAsync(userId).ConfigureAwait(false);
        if (user is null)
        {
            return Fail(404, "not_found", "No such user.");
        }

        if (user.DisabledAt is not null)
        {
            return Fail(409, "user_disabled", "The user is disabled; enable it before issuing tokens.");
        }

        // Any ttl past the configured maximum is capped by the token service; clamp first so TimeSpan cannot overflow.
        var lifetime = request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(Math.Min(ttl, MaxTtlSeconds)) : (TimeSpan?)null;
        var (token, record) = await tokens.IssueAsync(userId, request.DeviceId, (int)platform, lifetime).ConfigureAwait(false);
        return Results.Ok(new IssueTokenResponse(token, record.TokenId, record.ExpiresAt));
    }

    private static async Task<IResult> LogoutAsync(string userId, LogoutRequest? request, IAccountStore accounts, ISessionControl sessions, TimeProvider time)
    {
        var deviceId = request?.DeviceId;
        var revoked = await accounts.RevokeUserTokensAsync(userId, deviceId, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        var closed = sessions.KickUser(userId, deviceId, KickReason.ForceLogout);
        return Results.Ok(new LogoutResponse(revoked.Count, closed));
    }

    private static async Task<IResult> RevokeTokenAsync(string tokenId, IAccountStore accounts, ISessionControl sessions, TimeProvider time)
    {
        var token = await accounts.GetTokenAsync(tokenId).ConfigureAwait(false);
        if (token is null)
        {
            return Fail(404, "not_found", "No such token.");
        }

        await accounts.RevokeTokenAsync(tokenId, time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        var closed = sessions.KickTokens(token.UserId, [tokenId], KickReason.TokenRevoked);
        return Results.Ok(new LogoutResponse(1, closed));
    }

    private static async Task<IResult> CreateGroupAsync(CreateGroupAdminRequest request, Parley.Core.Groups.GroupService groups)
    {
        var groupId = string.IsNullOrEmpty(request.GroupId) ? Guid.NewGuid().ToString("N") : request.GroupId;
        if (!Ids.IsValid(groupId) || !Ids.IsValid(request.OwnerId))
        {
            return Fail(400, "bad_request", "Invalid group id or owner.");
        }

        var conversationId = Ids.GroupConversationId(groupId);
        var result = await groups
            .CreateAsync(new CreateGroupCommand(groupId, request.Name ?? string.Empty, request.OwnerId, request.MemberIds ?? [], null)
            {
                AdminIds = request.AdminIds ?? [],
                Kind = request.Kind?.ToUpperInvariant() switch
                {
                    "SUPER" => Parley.Abstractions.Messaging.GroupKind.Super,
                    "CHANNEL" => Parley.Abstractions.Messaging.GroupKind.Channel,
                    _ => Parley.Abstractions.Messaging.GroupKind.Normal,
                },
            })
            .ConfigureAwait(false);
        return result.IsOk ? Results.Created($"/admin/v1/groups/{groupId}", new CreateGroupResponse(groupId, conversationId)) : Refusal(result.Failure);
    }

    private static IResult? ValidateProfile(string? nickname, string? avatarUrl, JsonElement? ex)
    {
        if (nickname?.Length > MaxNicknameLength)
        {
            return Fail(400, "bad_request", $"nickname must be at most {MaxNicknameLength} characters.");
        }

        if (avatarUrl?.Length > MaxUrlLength)
        {
            return Fail(400, "bad_request", $"avatarUrl must be at most {MaxUrlLength} characters.");
        }

        if (ex is { } e && Encoding.UTF8.GetByteCount(e.GetRawText()) > MaxExBytes)
        {
            return Fail(400, "bad_request", $"ex must be at most {MaxExBytes} bytes of JSON.");
        }

        return null;
    }

    private static string NormalizeEx(JsonElement? ex) => ex is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } e ? e.GetRawText() : "{}";

    internal static bool TryParsePlatform(string? value, out Platform platform)
    {
        platform = (value ?? string.Empty).Trim().ToUpperInvariant().Replace("-", "_", StringComparison.Ordinal) switch
        {
            "IOS" or "1" => Platform.Ios,
            "ANDROID" or "2" => Platform.Android,
            "WINDOWS" or "3" => Platform.Windows,
            "MACOS" or "OSX" or "4" => Platform.Macos,
            "LINUX" or "5" => Platform.Linux,
            "WEB" or "6" => Platform.Web,
            "IPAD" or "7" => Platform.Ipad,
            "ANDROID_PAD" or "ANDROIDPAD" or "8" => Platform.AndroidPad,
            "MINI_PROGRAM" or "MINIPROGRAM" or "9" => Platform.MiniProgram,
            _ => Platform.Unspecified,
        };
        return platform != Platform.Unspecified;
    }

    internal static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ErrorBody(code, message)), statusCode: status);
}

public sealed record CreateUserRequest(string UserId, string? Nickname, string? AvatarUrl, JsonElement? Ex);

public sealed record UpdateUserRequest(string? Nickname, string? AvatarUrl, JsonElement? Ex);

/// <param name="DisabledAt">Unix milliseconds, or null while the user is enabled.</param>
public sealed record UserResponse(string UserId, string Nickname, string AvatarUrl, JsonElement Ex, long CreatedAt, long UpdatedAt, long? DisabledAt = null)
{
    public static UserResponse From(UserRecord u, long? disabledAt = null)
    {
        using var doc = JsonDocument.Parse(string.IsNullOrEmpty(u.Ex) ? "{}" : u.Ex);
        return new UserResponse(u.UserId, u.Nickname, u.AvatarUrl, doc.RootElement.Clone(), u.CreatedAt, u.UpdatedAt, disabledAt);
    }
}

/// <param name="Platform">ios, android, windows, macos, linux, web, ipad, android_pad or mini_program.</param>
/// <param name="TtlSeconds">Lifetime; the server default when absent, capped by the configured maximum.</param>
public sealed record IssueTokenRequest(string DeviceId, string Platform, long? TtlSeconds);

/// <param name="ExpiresAt">Unix milliseconds.</param>
public sealed record IssueTokenResponse(string Token, string TokenId, long ExpiresAt);

public sealed record LogoutRequest(string? DeviceId);

public sealed record LogoutResponse(int RevokedTokens, int ClosedConnections);

/// <param name="Kind">normal (default), super or channel (ADR 0017).</param>
public sealed record CreateGroupAdminRequest(string? GroupId, string? Name, string OwnerId, string[]? MemberIds, string[]? AdminIds = null, string? Kind = null);

public sealed record CreateGroupResponse(string GroupId, string ConversationId);

public sealed record ErrorResponse(ErrorBody Error);

public sealed record ErrorBody(string Code, string Message);
