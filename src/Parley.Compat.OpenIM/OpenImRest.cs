using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Core.Auth;
using Parley.Core.Limits;
using Parley.Core.Sessions;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's REST conventions: every call is <c>POST {prefix}{path}</c> with JSON, an <c>operationID</c> header and (except
/// <c>/auth/get_admin_token</c>) a <c>token</c> header; the answer is always HTTP 200 with
/// <c>{errCode, errMsg, errDlt, data}</c>, <c>data</c> omitted when empty.
/// </summary>
internal static partial class OpenImRest
{
    private const int MaxBodyBytes = 1 << 20;
    private const int MaxUsersPerRegister = 1000;
    private const int MaxNicknameLength = 64;
    private const int MaxFaceUrlLength = 1024;
    private const int MaxExLength = 4096;

    /// <summary>Where <see cref="AuthenticateAsync"/> leaves the user token's id (<c>HttpContext.Items</c>).</summary>
    private static readonly object TokenIdKey = new();

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Map(IEndpointRouteBuilder endpoints, OpenImOptions options)
    {
        var group = endpoints.MapGroup(options.PathPrefix.TrimEnd('/'));
        if (options.ApiPort is { } port and > 0)
        {
            group.RequireHost("*:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Route(group, "/auth/get_admin_token", OpenImAuth.None, GetAdminTokenAsync);
        Route(group, "/user/user_register", OpenImAuth.Admin, UserRegisterAsync);
        Route(group, "/auth/get_user_token", OpenImAuth.Admin, GetUserTokenAsync);
        Route(group, "/auth/force_logout", OpenImAuth.Admin, ForceLogoutAsync);
        MapUsers(group);
        MapConversations(group);
        MapFriends(group);
        MapGroups(group);
        MapObjects(group);
        MapBusiness(group);
        MapAppServerUsers(group);
        MapStatistics(group);
    }

    /// <summary>The user endpoints (OpenImRest.Users.cs).</summary>
    static partial void MapUsers(RouteGroupBuilder group);

    /// <summary>Conversations, messages and the two protobuf <c>/jssdk</c> calls (OpenImRest.Conversations.cs).</summary>
    static partial void MapConversations(RouteGroupBuilder group);

    /// <summary>Friends, requests and the blacklist (OpenImRest.Friends.cs).</summary>
    static partial void MapFriends(RouteGroupBuilder group);

    /// <summary>Groups and members (OpenImRest.Groups.cs).</summary>
    static partial void MapGroups(RouteGroupBuilder group);

    /// <summary>Object storage: uploads and downloads of media (OpenImRest.Objects.cs).</summary>
    static partial void MapObjects(RouteGroupBuilder group);

    /// <summary>The app server's sends and notification accounts (OpenImRest.Business.cs).</summary>
    static partial void MapBusiness(RouteGroupBuilder group);

    /// <summary>The app server's user checks and online status (OpenImRest.AppServerUsers.cs).</summary>
    static partial void MapAppServerUsers(RouteGroupBuilder group);

    /// <summary>The app server's user list and activity statistics (OpenImRest.Statistics.cs).</summary>
    static partial void MapStatistics(RouteGroupBuilder group);

    /// <summary>
    /// A JSON endpoint. Its <see cref="OpenImAuth"/> says which token it needs; the handler gets the caller's user id from that
    /// token (never from the body): the admin's id for an admin endpoint, the user's for a user endpoint.
    /// </summary>
    private delegate Task<OpenImResponse> Handler(HttpContext context, JsonElement body, string? caller);

    /// <summary>A protobuf endpoint (<c>/jssdk/*</c>): raw protobuf in, the protobuf answer base64-encoded in <c>data</c>.</summary>
    private delegate Task<OpenImResponse> ProtoHandler(HttpContext context, byte[] body, string caller);

    private static void Route(RouteGroupBuilder group, string path, OpenImAuth auth, Handler handler)
    {
        MapOptions(group, path);
        group.MapPost(path, async context =>
        {
            AddCors(context.Response);
            var response = await HandleAsync(context, path, auth, handler).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
            await context.Response.WriteAsJsonAsync(response, Json, context.RequestAborted).ConfigureAwait(false);
        });
    }

    private static void RouteProto(RouteGroupBuilder group, string path, ProtoHandler handler)
    {
        MapOptions(group, path);
        group.MapPost(path, async context =>
        {
            AddCors(context.Response);
            var response = await HandleProtoAsync(context, path, handler).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
            await context.Response.WriteAsJsonAsync(response, Json, context.RequestAborted).ConfigureAwait(false);
        });
    }

    private static void MapOptions(RouteGroupBuilder group, string path) =>
        group.MapMethods(path, [HttpMethods.Options], context =>
        {
            AddCors(context.Response);
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });

    private static async Task<(OpenImResponse? Error, string? Caller)> AuthenticateAsync(HttpContext context, OpenImAuth auth)
    {
        if (context.Request.Headers["operationID"].ToString().Length == 0)
        {
            return (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "header must have operationID"), null);
        }

        if (auth == OpenImAuth.None)
        {
            return (null, null);
        }

        var token = context.Request.Headers["token"].ToString();
        if (token.Length == 0)
        {
            return (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "header must have token"), null);
        }

        if (auth == OpenImAuth.Admin)
        {
            var (code, userId) = context.RequestServices.GetRequiredService<OpenImAdminTokens>().Validate(token);
            return code != 0 ? (OpenImResponse.Error(code, TokenErrorName(code), string.Empty), null) : (null, userId);
        }

        var (status, identity) = await context.RequestServices.GetRequiredService<TokenService>().ValidateAsync(token, context.RequestAborted).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            var code = OpenImTokens.ErrorCode(status);
            return (OpenImResponse.Error(code, TokenErrorName(code), string.Empty), null);
        }

        context.Items[TokenIdKey] = identity.TokenId;
        return (null, identity.UserId);
    }

    /// <summary>
    /// A user's call costs against the rate limits (the app server's admin calls do not): before the body is read. Refused:
    /// errCode <see cref="OpenImErrors.TooManyRequests"/> (still HTTP 200, as OpenIM answers) and a <c>Retry-After</c> header.
    /// </summary>
    private static OpenImResponse? RateLimited(HttpContext context, string path, string caller)
    {
        var action = path switch
        {
            "/friend/add_friend" => RateLimitAction.FriendRequest,
            "/group/create_group" => RateLimitAction.CreateGroup,
            "/group/join_group" or "/group/invite_user_to_group" => RateLimitAction.Join,
            "/msg/revoke_msg" => RateLimitAction.Send,
            "/object/initiate_multipart_upload" => RateLimitAction.Upload,
            _ => RateLimitAction.Rest,
        };
        var decision = context.RequestServices.GetRequiredService<RateLimiter>().TryAcquire(action, caller, null);
        if (decision.Allowed)
        {
            return null;
        }

        RateLimiter.SetRetryAfterHeader(context.Response, decision);
        return OpenImResponse.Error(OpenImErrors.TooManyRequests, OpenImErrors.TooManyRequestsMessage(decision), $"retryAfterMs={decision.RetryAfterMs}");
    }

    private static async Task<OpenImResponse> HandleAsync(HttpContext context, string path, OpenImAuth auth, Handler handler)
    {
        var (error, caller) = await AuthenticateAsync(context, auth).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (auth == OpenImAuth.User && RateLimited(context, path, caller!) is { } limited)
        {
            return limited;
        }

        JsonElement body;
        try
        {
            body = await ReadBodyAsync(context).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body is not valid JSON");
        }
        catch (InvalidDataException)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body too large");
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body must be a JSON object");
        }

        try
        {
            return await handler(context, body, caller).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body does not match the call's fields");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(context, ex, path);
            return OpenImResponse.Error(OpenImErrors.Internal, "ServerInternalError", string.Empty);
        }
    }

    private static async Task<OpenImResponse> HandleProtoAsync(HttpContext context, string path, ProtoHandler handler)
    {
        var (error, caller) = await AuthenticateAsync(context, OpenImAuth.User).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (RateLimited(context, path, caller!) is { } limited)
        {
            return limited;
        }

        byte[] body;
        try
        {
            body = await ReadBytesAsync(context).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body too large");
        }

        try
        {
            return await handler(context, body, caller!).ConfigureAwait(false);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "request body is not a valid protobuf message");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(context, ex, path);
            return OpenImResponse.Error(OpenImErrors.Internal, "ServerInternalError", string.Empty);
        }
    }

    private static void LogFailed(HttpContext context, Exception ex, string path)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenImRest));
        LogFailed(logger, ex, path, context.Request.Headers["operationID"].ToString());
    }

    private static async Task<byte[]> ReadBytesAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw new InvalidDataException("Body too large.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task<JsonElement> ReadBodyAsync(HttpContext context)
    {
        var bytes = await ReadBytesAsync(context).ConfigureAwait(false);
        if (bytes.Length == 0)
        {
            throw new JsonException("Empty body.");
        }

        using var document = JsonDocument.Parse(bytes);
        return document.RootElement.Clone();
    }

    private static Task<OpenImResponse> GetAdminTokenAsync(HttpContext context, JsonElement body, string? caller)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<OpenImOptions>>().Value;
        var request = body.Deserialize<AdminTokenRequest>(Json);
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.Secret));
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(request?.Secret ?? string.Empty));
        if (string.IsNullOrEmpty(request?.Secret) || !CryptographicOperations.FixedTimeEquals(expected, presented))
        {
            return Task.FromResult(OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "secret invalid"));
        }

        if (string.IsNullOrEmpty(request.UserId) || !options.EffectiveAdminUserIds.Contains(request.UserId, StringComparer.Ordinal))
        {
            return Task.FromResult(OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID is error."));
        }

        var (token, _) = context.RequestServices.GetRequiredService<OpenImAdminTokens>().Issue(request.UserId);
        var seconds = (long)options.AdminTokenLifetime.TotalSeconds;
        return Task.FromResult(OpenImResponse.Ok(new TokenData(token, seconds)));
    }

    private static async Task<OpenImResponse> UserRegisterAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<UserRegisterRequest>(Json);
        var users = request?.Users ?? [];
        if (users.Count == 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "users is empty");
        }

        if (users.Count > MaxUsersPerRegister)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"at most {MaxUsersPerRegister} users per call");
        }

        var admins = context.RequestServices.GetRequiredService<IOptions<OpenImOptions>>().Value.EffectiveAdminUserIds;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in users)
        {
            if (user is null || !Ids.IsValid(user.UserId))
            {
                return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID must be 1..64 characters of [A-Za-z0-9-._@:]");
            }

            if (!seen.Add(user.UserId!))
            {
                return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID is repeated");
            }

            if (admins.Contains(user.UserId!, StringComparer.Ordinal))
            {
                return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID is an admin user");
            }

            if ((user.Nickname?.Length ?? 0) > MaxNicknameLength || (user.FaceUrl?.Length ?? 0) > MaxFaceUrlLength || (user.Ex?.Length ?? 0) > MaxExLength)
            {
                return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "nickname, faceURL or ex too long");
            }
        }

        var accounts = context.RequestServices.GetRequiredService<IAccountStore>();
        var existing = await accounts.GetUsersAsync([.. seen], context.RequestAborted).ConfigureAwait(false);
        if (existing.Count > 0)
        {
            return OpenImResponse.Error(OpenImErrors.Duplicate, "RegisteredAlreadyError", "userID registered already: " + existing[0].UserId);
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var user in users)
        {
            var record = new UserRecord(user!.UserId!, user.Nickname ?? string.Empty, user.FaceUrl ?? string.Empty, user.Ex ?? string.Empty, now, now);
            if (!await accounts.CreateUserAsync(record, context.RequestAborted).ConfigureAwait(false))
            {
                return OpenImResponse.Error(OpenImErrors.Duplicate, "RegisteredAlreadyError", "userID registered already: " + user.UserId);
            }
        }

        return OpenImResponse.Ok(null);
    }

    private static async Task<OpenImResponse> GetUserTokenAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<PlatformUserRequest>(Json);
        if (request is null || !Ids.IsValid(request.UserId))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID is required");
        }

        if (!OpenImPlatforms.TryMap(request.PlatformId, out var platform, out _))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "platformID is invalid");
        }

        var options = context.RequestServices.GetRequiredService<IOptions<OpenImOptions>>().Value;
        if (options.EffectiveAdminUserIds.Contains(request.UserId!, StringComparer.Ordinal))
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can not get admin token");
        }

        // A disabled user (admin API) gets no token on any path: its tokens were revoked and its sessions kicked when it
        // was disabled, and the admin API and the development sign-in refuse it too.
        var summary = await context.RequestServices.GetRequiredService<IAdminQueryStore>().GetUserSummaryAsync(request.UserId!, context.RequestAborted).ConfigureAwait(false);
        if (summary is null)
        {
            return OpenImResponse.Error(OpenImErrors.UserNotFound, "UserNotFoundError", "user not found");
        }

        if (summary.DisabledAt is not null)
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "user is disabled");
        }

        var tokens = context.RequestServices.GetRequiredService<TokenService>();
        var (token, record) = await tokens.IssueAsync(request.UserId!, OpenImPlatforms.DeviceId(request.PlatformId), (int)platform, options.UserTokenLifetime, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(new TokenData(token, (record.ExpiresAt - record.IssuedAt) / 1000));
    }

    private static async Task<OpenImResponse> ForceLogoutAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<PlatformUserRequest>(Json);
        if (request is null || !Ids.IsValid(request.UserId))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userID is required");
        }

        if (!OpenImPlatforms.TryMap(request.PlatformId, out _, out _))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "platformID is invalid");
        }

        var deviceId = OpenImPlatforms.DeviceId(request.PlatformId);
        var accounts = context.RequestServices.GetRequiredService<IAccountStore>();
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        await accounts.RevokeUserTokensAsync(request.UserId!, deviceId, now, context.RequestAborted).ConfigureAwait(false);
        context.RequestServices.GetRequiredService<ISessionControl>().KickUser(request.UserId!, deviceId, KickReason.ForceLogout);
        return OpenImResponse.Ok(null);
    }

    private static void AddCors(HttpResponse response)
    {
        response.Headers.AccessControlAllowOrigin = "*";
        response.Headers.AccessControlAllowHeaders = "*";
        response.Headers.AccessControlAllowMethods = "POST, OPTIONS";
    }

    internal static string TokenErrorName(int code) => code switch
    {
        OpenImErrors.TokenExpired => "TokenExpiredError",
        OpenImErrors.TokenMalformed => "TokenMalformedError",
        OpenImErrors.TokenKicked => "TokenKickedError",
        OpenImErrors.TokenNotExist => "TokenNotExistError",
        _ => "TokenInvalidError",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "OpenIM {Path} failed (operationID {OperationId})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path, string operationId);
}

/// <summary>Which token an OpenIM endpoint needs.</summary>
internal enum OpenImAuth
{
    /// <summary>No token (only <c>/auth/get_admin_token</c>).</summary>
    None,

    /// <summary>An admin token from <c>/auth/get_admin_token</c>.</summary>
    Admin,

    /// <summary>A user token from <c>/auth/get_user_token</c>.</summary>
    User,
}

/// <summary>OpenIM's ApiResponse.</summary>
internal sealed record OpenImResponse(
    [property: JsonPropertyName("errCode")] int ErrCode,
    [property: JsonPropertyName("errMsg")] string ErrMsg,
    [property: JsonPropertyName("errDlt")] string ErrDlt,
    [property: JsonPropertyName("data")] object? Data)
{
    public static OpenImResponse Ok(object? data) => new(0, string.Empty, string.Empty, data);

    public static OpenImResponse Error(int code, string message, string detail) => new(code, message, detail, null);
}

internal sealed record TokenData(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("expireTimeSeconds")] long ExpireTimeSeconds);

internal sealed record AdminTokenRequest(
    [property: JsonPropertyName("secret")] string? Secret,
    [property: JsonPropertyName("userID")] string? UserId);

internal sealed record PlatformUserRequest(
    [property: JsonPropertyName("platformID")] int PlatformId,
    [property: JsonPropertyName("userID")] string? UserId);

internal sealed record UserRegisterRequest(
    [property: JsonPropertyName("users")] List<OpenImUserInfo?>? Users);

internal sealed record OpenImUserInfo(
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("nickname")] string? Nickname,
    [property: JsonPropertyName("faceURL")] string? FaceUrl,
    [property: JsonPropertyName("ex")] string? Ex);
