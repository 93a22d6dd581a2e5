using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Core.Auth;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Api.DevSignIn;

/// <summary>
/// <c>GET /api/v1/dev/sign-in</c> says whether the development sign-in is on; <c>POST</c> signs a user in by id (creating
/// the user on first use) and returns a web device token. Answers 404 when <see cref="DevSignInOptions.Enabled"/> is off.
/// </summary>
public static class DevSignInApi
{
    private const int MaxNicknameLength = 64;

    public static RouteGroupBuilder MapParleyDevSignIn(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/v1/dev/sign-in");
        group.MapGet("/", (IOptions<DevSignInOptions> options) => Results.Ok(new DevSignInStatus(options.Value.Enabled)));
        group.MapPost("/", SignInAsync);
        return group;
    }

    private static async Task<IResult> SignInAsync(DevSignInRequest? request, IOptions<DevSignInOptions> options, IAccountStore accounts, IAdminQueryStore admin, TokenService tokens, TimeProvider time)
    {
        if (!options.Value.Enabled)
        {
            return Fail(404, "not_found", "The development sign-in is off (Parley:DevSignIn:Enabled).");
        }

        if (request is null || !Ids.IsValid(request.UserId))
        {
            return Fail(400, "bad_request", "userId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (!Ids.IsValid(request.DeviceId))
        {
            return Fail(400, "bad_request", "deviceId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        var nickname = (request.Nickname ?? string.Empty).Trim();
        if (nickname.Length > MaxNicknameLength)
        {
            return Fail(400, "bad_request", $"nickname must be at most {MaxNicknameLength} characters.");
        }

        if (await accounts.GetUserAsync(request.UserId).ConfigureAwait(false) is null)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            // A concurrent first sign-in of the same id may win the insert; either way the user exists afterwards.
            await accounts.CreateUserAsync(new UserRecord(request.UserId, nickname.Length > 0 ? nickname : request.UserId, string.Empty, "{}", now, now)).ConfigureAwait(false);
        }

        if ((await admin.GetUserSummaryAsync(request.UserId).ConfigureAwait(false))?.DisabledAt is not null)
        {
            return Fail(403, "forbidden", "This user is disabled.");
        }

        var (token, record) = await tokens.IssueAsync(request.UserId, request.DeviceId, (int)Platform.Web, options.Value.TokenLifetime).ConfigureAwait(false);
        return Results.Ok(new DevSignInResponse(request.UserId, request.DeviceId, token, record.ExpiresAt));
    }

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: status);
}

public sealed record DevSignInStatus(bool Enabled);

public sealed record DevSignInRequest(string UserId, string DeviceId, string? Nickname);

/// <param name="ExpiresAt">Unix milliseconds.</param>
public sealed record DevSignInResponse(string UserId, string DeviceId, string Token, long ExpiresAt);
