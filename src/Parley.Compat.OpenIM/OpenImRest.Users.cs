using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Compat.OpenIM.Rest;
using Parley.Protocol;

namespace Parley.Compat.OpenIM;

internal static partial class OpenImRest
{
    private const int MaxUsersPerQuery = 1000;

    /// <summary>OpenIM's global receive options: 0 normal, 1 do not receive, 2 receive without notification.</summary>
    private const int RecvOptNormal = 0;
    private const int RecvOptNotNotify = 2;

    /// <summary>OpenIM's notification content type for "a user's info changed".</summary>
    internal const int UserInfoUpdatedNotification = 1303;

    static partial void MapUsers(RouteGroupBuilder group)
    {
        Route(group, "/user/get_users_info", OpenImAuth.User, GetUsersInfoAsync);
        Route(group, "/user/update_user_info_ex", OpenImAuth.User, (context, body, caller) => UpdateUserInfoAsync(context, body, caller!, wrapperSemantics: true));
        Route(group, "/user/update_user_info", OpenImAuth.User, (context, body, caller) => UpdateUserInfoAsync(context, body, caller!, wrapperSemantics: false));
        Route(group, "/user/set_global_msg_recv_opt", OpenImAuth.User, SetGlobalRecvMsgOptAsync);

        // Parley extensions (OpenIM has no marketing opt-out): the user's own opt-out of marketing campaigns.
        Route(group, "/user/set_marketing_opt_out", OpenImAuth.User, SetMarketingOptOutAsync);
        Route(group, "/user/get_marketing_opt_out", OpenImAuth.User, GetMarketingOptOutAsync);
    }

    /// <summary>
    /// <c>{userID?, optOut}</c>: the caller refuses (true) or accepts (false) marketing campaigns, the same setting as the native
    /// <c>UpdatePushSettings.marketing_opt_out</c>; campaigns skip an opted-out user (<c>opted_out</c>). Chat and service
    /// notifications are not affected. Own setting only (1002 for another user's id).
    /// </summary>
    private static async Task<OpenImResponse> SetMarketingOptOutAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("optOut", out var value) || value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "optOut must be true or false");
        }

        if (Rest.SocialJson.Str(body, "userID") is { Length: > 0 } userId && userId != caller)
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only set your own marketing opt-out");
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        await context.RequestServices.GetRequiredService<IPushSettingsStore>()
            .SetMarketingOptOutAsync(caller!, value.GetBoolean(), now, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(null);
    }

    /// <summary><c>{userID?}</c> → <c>{userID, optOut}</c>, the caller's own setting.</summary>
    private static async Task<OpenImResponse> GetMarketingOptOutAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (body.ValueKind == JsonValueKind.Object && Rest.SocialJson.Str(body, "userID") is { Length: > 0 } userId && userId != caller)
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only read your own marketing opt-out");
        }

        var settings = await context.RequestServices.GetRequiredService<IPushSettingsStore>().GetAsync(caller!, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(new Dictionary<string, object> { ["userID"] = caller!, ["optOut"] = settings.MarketingOptOut });
    }

    private static async Task<OpenImResponse> GetUsersInfoAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<UserIdsRequest>(Json);
        var ids = (request?.UserIds ?? []).Where(Ids.IsValid).Select(id => id!).Distinct(StringComparer.Ordinal).ToList();
        if ((request?.UserIds?.Count ?? 0) == 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userIDs is empty");
        }

        if (request!.UserIds!.Count > MaxUsersPerQuery)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"at most {MaxUsersPerQuery} userIDs per call");
        }

        var accounts = context.RequestServices.GetRequiredService<IAccountStore>();
        var users = ids.Count == 0 ? [] : await accounts.GetUsersAsync(ids, context.RequestAborted).ConfigureAwait(false);
        var byId = users.ToDictionary(u => u.UserId, StringComparer.Ordinal);
        var result = new List<UserProfileJson>(users.Count);
        foreach (var id in ids)
        {
            if (!byId.TryGetValue(id, out var user))
            {
                continue;
            }

            // Only the caller's own do-not-disturb setting is shown; other users' settings are theirs.
            var recvOpt = id == caller ? await GlobalRecvOptAsync(context, id).ConfigureAwait(false) : RecvOptNormal;
            result.Add(UserProfileJson.From(user, recvOpt));
        }

        return OpenImResponse.Ok(new UsersInfoData(OpenImJson.OrNull<UserProfileJson>(result)));
    }

    /// <summary>
    /// <c>update_user_info_ex</c> (wrapper fields: null = unchanged, "" = clear) and <c>update_user_info</c> (plain fields: "" = unchanged,
    /// as OpenIM only writes non-zero fields there). Only the caller's own profile.
    /// </summary>
    private static async Task<OpenImResponse> UpdateUserInfoAsync(HttpContext context, JsonElement body, string caller, bool wrapperSemantics)
    {
        var info = body.Deserialize<UpdateUserInfoRequest>(Json)?.UserInfo;
        if (info is null)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userInfo is required");
        }

        if (!string.IsNullOrEmpty(info.UserId) && info.UserId != caller)
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only update your own user info");
        }

        var nickname = wrapperSemantics ? info.Nickname : OpenImJson.OrNull(info.Nickname);
        var faceUrl = wrapperSemantics ? info.FaceUrl : OpenImJson.OrNull(info.FaceUrl);
        var ex = wrapperSemantics ? info.Ex : OpenImJson.OrNull(info.Ex);
        var recvOpt = wrapperSemantics || info.GlobalRecvMsgOpt != 0 ? info.GlobalRecvMsgOpt : null;
        if ((nickname?.Length ?? 0) > MaxNicknameLength)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"nickname is longer than {MaxNicknameLength} characters");
        }

        if ((faceUrl?.Length ?? 0) > MaxFaceUrlLength)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"faceURL is longer than {MaxFaceUrlLength} characters");
        }

        if ((ex?.Length ?? 0) > MaxExLength)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"ex is longer than {MaxExLength} characters");
        }

        if (recvOpt is not (null or 0 or 1 or 2))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "globalRecvMsgOpt must be 0, 1 or 2");
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        if (nickname is not null || faceUrl is not null || ex is not null)
        {
            var accounts = context.RequestServices.GetRequiredService<IAccountStore>();
            if (!await accounts.UpdateUserAsync(caller, nickname, faceUrl, ex, now, context.RequestAborted).ConfigureAwait(false))
            {
                return OpenImResponse.Error(OpenImErrors.UserNotFound, "UserNotFoundError", "user not found");
            }

            // OpenIM's UserInfoUpdatedNotification (1303, tips {userID}) to the user's sessions on every node: the SDK re-reads
            // its own profile and raises OnSelfInfoUpdated; the calling session recognises its own operationID and skips it.
            context.RequestServices.GetRequiredService<Parley.Core.Delivery.IDeliveryHub>()
                .PublishEphemeral([caller], new Parley.Core.Delivery.ProfileChanged(caller, context.Request.Headers["operationID"].ToString()), null);
        }

        if (recvOpt is { } opt)
        {
            await context.RequestServices.GetRequiredService<IPushSettingsStore>()
                .SetAsync(caller, opt != RecvOptNormal, null, now, context.RequestAborted).ConfigureAwait(false);
        }

        return OpenImResponse.Ok(null);
    }

    /// <summary>
    /// OpenIM's global receive option maps onto Parley's do-not-disturb push setting: 0 → off, 1 and 2 → on (pushes stop; messages
    /// still arrive on open connections and count as unread). Reading it back gives 2 for either.
    /// </summary>
    private static async Task<OpenImResponse> SetGlobalRecvMsgOptAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<GlobalRecvMsgOptRequest>(Json);
        if (request?.GlobalRecvMsgOpt is not (0 or 1 or 2))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "globalRecvMsgOpt must be 0, 1 or 2");
        }

        if (!string.IsNullOrEmpty(request.UserId) && request.UserId != caller)
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only set your own option");
        }

        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        await context.RequestServices.GetRequiredService<IPushSettingsStore>()
            .SetAsync(caller!, request.GlobalRecvMsgOpt != RecvOptNormal, null, now, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(null);
    }

    private static async Task<int> GlobalRecvOptAsync(HttpContext context, string userId)
    {
        var settings = await context.RequestServices.GetRequiredService<IPushSettingsStore>().GetAsync(userId, context.RequestAborted).ConfigureAwait(false);
        return settings.DoNotDisturb ? RecvOptNotNotify : RecvOptNormal;
    }
}
