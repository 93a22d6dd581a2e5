using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Admin;
using Parley.Abstractions.Business;
using Parley.Compat.OpenIM.Rest;
using Parley.Compat.OpenIM.Wire;
using Parley.Core;
using Parley.Core.Business;
using Parley.Protocol;
using ParleyContent = Parley.Protocol.V1.Content;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's app-server calls (admin token only): <c>/msg/send_msg</c>, <c>/msg/batch_send_msg</c> and the notification
/// accounts <c>/user/{add,update,search}_notification_account</c>, over <see cref="BusinessMessagingService"/> (the same
/// core as Parley's business API). Extension: a <c>clientMsgID</c> in the body makes a send idempotent (OpenIM always
/// generates one).
/// </summary>
internal static partial class OpenImRest
{
    /// <summary>OpenIM's session type of a notification conversation (a notification account's 1:1).</summary>
    private const int SessionNotification = 4;

    /// <summary>OpenIM's OA notification content type (OANotificationElem), sent by notification accounts.</summary>
    internal const int OaNotification = 1400;

    /// <summary>OpenIM's business notification content type: <c>{"detail": "{\"key\":…,\"data\":…}"}</c> (send_business_notification).</summary>
    internal const int BusinessNotification = 2001;

    private const int SendAllPage = 500;

    static partial void MapBusiness(RouteGroupBuilder group)
    {
        Route(group, "/msg/send_msg", OpenImAuth.Admin, SendMsgAsync);
        Route(group, "/msg/batch_send_msg", OpenImAuth.Admin, BatchSendMsgAsync);
        Route(group, "/user/add_notification_account", OpenImAuth.Admin, AddNotificationAccountAsync);
        Route(group, "/user/update_notification_account", OpenImAuth.Admin, UpdateNotificationAccountAsync);
        Route(group, "/user/search_notification_account", OpenImAuth.Admin, SearchNotificationAccountAsync);
        Route(group, "/msg/send_business_notification", OpenImAuth.Admin, SendBusinessNotificationAsync);
        Route(group, "/statistics/user/register", OpenImAuth.Admin, (context, body, caller) => CreatedCountAsync(context, body, CreatedKind.Users));
        Route(group, "/statistics/group/create", OpenImAuth.Admin, (context, body, caller) => CreatedCountAsync(context, body, CreatedKind.Groups));
    }

    /// <summary>
    /// OpenIM's <c>/msg/send_business_notification</c> {key, data, sendUserID, recvUserID | recvGroupID, sendMsg?, reliabilityLevel?}:
    /// a content-type 2001 message whose NotificationElem detail is <c>{"key", "data"}</c>, from any user (OpenIM's app manager
    /// may name any sender) to a user or a group, through the business send (seq, fan-out, sync). Parley always stores it
    /// (OpenIM's <c>sendMsg: false</c> only skips its history). A <c>clientMsgID</c> makes it idempotent (a Parley extension).
    /// </summary>
    private static async Task<OpenImResponse> SendBusinessNotificationAsync(HttpContext context, JsonElement body, string? caller)
    {
        var sender = SocialJson.Str(body, "sendUserID");
        var recvUser = SocialJson.Str(body, "recvUserID") is { Length: > 0 } u ? u : null;
        var recvGroup = SocialJson.Str(body, "recvGroupID") is { Length: > 0 } g ? g : null;
        if (!Ids.IsValid(sender))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "sendUserID is required");
        }

        if ((recvUser is null) == (recvGroup is null))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "exactly one of recvUserID and recvGroupID is required");
        }

        if ((recvUser is not null && !Ids.IsValid(recvUser)) || (recvGroup is not null && !Ids.IsValid(recvGroup)))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "recvUserID or recvGroupID is not a valid id");
        }

        var key = SocialJson.Str(body, "key") ?? string.Empty;
        var data = SocialJson.Str(body, "data") ?? string.Empty;
        var detail = JsonSerializer.Serialize(new BusinessNotificationDetail(key, data));
        var content = new ParleyContent
        {
            Custom = new Parley.Protocol.V1.CustomContent
            {
                Type = OpenImMessages.CustomTypePrefix + BusinessNotification.ToString(CultureInfo.InvariantCulture),
                Json = JsonSerializer.Serialize(new BusinessNotificationElem(detail)),
            },
        };
        var clientMsgId = ClientMsgIdOf(body);
        var result = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .SendAsync(sender!, clientMsgId, recvUser, recvGroup is null ? null : Ids.GroupConversationId(recvGroup), content, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk
            ? OpenImResponse.Ok(new SendMsgData(result.Value!.ServerMsgId, clientMsgId, result.Value.ServerTime))
            : SendRefusal(result.Failure);
    }

    /// <summary>OpenIM's <c>/statistics/user/register</c> and <c>/statistics/group/create</c> {start, end} (unix ms): {total, before, count: {"yyyy-MM-dd": n}} (UTC days).</summary>
    private static async Task<OpenImResponse> CreatedCountAsync(HttpContext context, JsonElement body, CreatedKind kind)
    {
        var start = SocialJson.Long(body, "start") ?? 0;
        var end = SocialJson.Long(body, "end") ?? 0;
        if (start < 0 || start > end)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "start > end");
        }

        var counts = await context.RequestServices.GetRequiredService<IAdminQueryStore>().CountCreatedAsync(kind, start, end, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(new CreatedCountData(counts.Total, counts.Before, counts.PerDay));
    }

    private static async Task<OpenImResponse> SendMsgAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (error, sender, content) = await ReadAppServerSendAsync(context, body).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var sessionType = SocialJson.Int(body, "sessionType") ?? 0;
        var recvId = SocialJson.Str(body, "recvID");
        var groupId = SocialJson.Str(body, "groupID");
        string? conversationId = null;
        if (sessionType == OpenImMessages.SessionGroup)
        {
            if (!Ids.IsValid(groupId))
            {
                return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "groupID is required for sessionType 3");
            }

            conversationId = Ids.GroupConversationId(groupId!);
            recvId = null;
        }
        else if (!Ids.IsValid(recvId))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "recvID is required for sessionType 1 and 4");
        }

        var clientMsgId = ClientMsgIdOf(body);
        var result = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .SendAsync(sender!, clientMsgId, recvId, conversationId, content, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            return SendRefusal(result.Failure);
        }

        return OpenImResponse.Ok(new SendMsgData(result.Value!.ServerMsgId, clientMsgId, result.Value.ServerTime));
    }

    private static async Task<OpenImResponse> BatchSendMsgAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (error, sender, content) = await ReadAppServerSendAsync(context, body).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        List<string> recipients;
        if (SocialJson.Bool(body, "isSendAll") == true)
        {
            recipients = await AllOrdinaryUsersAsync(context, sender!).ConfigureAwait(false);
        }
        else
        {
            recipients = [.. SocialJson.StrList(body, "recvIDs")];
        }

        if (recipients.Count == 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "recvIDs is empty");
        }

        var clientMsgId = ClientMsgIdOf(body);
        var result = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .BatchSendAsync(sender!, clientMsgId, recipients, content, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            return SendRefusal(result.Failure);
        }

        var sent = result.Value!.Where(r => r.Ack is not null).Select(r => new BatchSendResultJson(r.Ack!.Value.ServerMsgId, clientMsgId, r.Ack.Value.ServerTime, r.RecipientId)).ToList();
        var failed = result.Value!.Where(r => r.Ack is null).Select(r => r.RecipientId).ToList();
        return OpenImResponse.Ok(new BatchSendMsgData(sent, failed));
    }

    /// <summary>The common part of send_msg and batch_send_msg: the sender (any user or notification account) and the content.</summary>
    private static async Task<(OpenImResponse? Error, string? Sender, ParleyContent? Content)> ReadAppServerSendAsync(HttpContext context, JsonElement body)
    {
        var sender = SocialJson.Str(body, "sendID");
        if (!Ids.IsValid(sender))
        {
            return (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "sendID is required"), null, null);
        }

        var contentType = SocialJson.Int(body, "contentType") ?? 0;
        if (!body.TryGetProperty("content", out var contentJson) || contentJson.ValueKind != JsonValueKind.Object)
        {
            return (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "content must be an object"), null, null);
        }

        var sessionType = SocialJson.Int(body, "sessionType") ?? 0;
        if (sessionType is not (OpenImMessages.SessionSingle or OpenImMessages.SessionGroup or SessionNotification))
        {
            return (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "sessionType must be 1, 3 or 4"), null, null);
        }

        // OA notifications (and notification conversations) come from notification accounts only, as in OpenIM.
        if (contentType == OaNotification || sessionType == SessionNotification)
        {
            var account = await context.RequestServices.GetRequiredService<INotificationAccountStore>().GetAsync(sender!, context.RequestAborted).ConfigureAwait(false);
            if (account is null)
            {
                return (OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "notification messages cannot be sent for this ID"), null, null);
            }
        }

        if (contentType == OaNotification)
        {
            return (null, sender, new ParleyContent { Custom = new Parley.Protocol.V1.CustomContent { Type = OpenImMessages.CustomTypePrefix + OaNotification.ToString(CultureInfo.InvariantCulture), Json = contentJson.GetRawText() } });
        }

        var data = new MsgData { ContentType = contentType, Content = ByteString.CopyFromUtf8(contentJson.GetRawText()), SessionType = sessionType };
        if (contentType == OpenImMessages.AtText && contentJson.TryGetProperty("atUserList", out var at) && at.ValueKind == JsonValueKind.Array)
        {
            data.AtUserIDList.AddRange(at.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
        }

        return OpenImMessages.TryToContent(data, out var content) is { } problem
            ? (OpenImResponse.Error(OpenImErrors.Args, "ArgsError", problem), null, null)
            : (null, sender, content);
    }

    /// <summary>Every user but the sender, the OpenIM admins and notification accounts (OpenIM's isSendAll), at most a batch's worth.</summary>
    private static async Task<List<string>> AllOrdinaryUsersAsync(HttpContext context, string sender)
    {
        var admins = context.RequestServices.GetRequiredService<IOptions<OpenImOptions>>().Value.EffectiveAdminUserIds;
        var users = context.RequestServices.GetRequiredService<IAdminQueryStore>();
        var accounts = context.RequestServices.GetRequiredService<INotificationAccountStore>();
        var result = new List<string>();
        string? after = null;
        while (result.Count < BusinessMessagingService.MaxBatchRecipients)
        {
            var page = await users.SearchUsersAsync(null, after, SendAllPage, context.RequestAborted).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }

            var ids = page.Where(u => u.DisabledAt is null).Select(u => u.User.UserId).ToList();
            var system = (await accounts.GetManyAsync(ids, context.RequestAborted).ConfigureAwait(false)).Select(a => a.UserId).ToHashSet(StringComparer.Ordinal);
            result.AddRange(ids.Where(id => id != sender && !system.Contains(id) && !admins.Contains(id, StringComparer.Ordinal)));
            after = page[^1].User.UserId;
            if (page.Count < SendAllPage)
            {
                break;
            }
        }

        return result.Count > BusinessMessagingService.MaxBatchRecipients ? result[..BusinessMessagingService.MaxBatchRecipients] : result;
    }

    private static string ClientMsgIdOf(JsonElement body) =>
        SocialJson.Str(body, "clientMsgID") is { Length: > 0 } given ? given : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static OpenImResponse SendRefusal(CoreFailure failure)
    {
        var code = OpenImErrors.FromCore(failure.Error, notFound: OpenImErrors.UserNotFound, notMember: OpenImErrors.NotInGroup);
        return OpenImResponse.Error(code, OpenImErrors.Name(code), failure.Message);
    }

    private static async Task<OpenImResponse> AddNotificationAccountAsync(HttpContext context, JsonElement body, string? caller)
    {
        var userId = SocialJson.Str(body, "userID");
        if (string.IsNullOrEmpty(userId))
        {
            // OpenIM generates a 10-digit id when none is given.
            userId = (1 + RandomNumberGenerator.GetInt32(9)).ToString(CultureInfo.InvariantCulture)
                + RandomNumberGenerator.GetInt32(1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
        }

        var level = SocialJson.Int(body, "appMangerLevel") ?? BusinessMessagingService.NotificationLevel;
        var result = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .CreateAccountAsync(userId, SocialJson.Str(body, "nickName"), SocialJson.Str(body, "faceURL"), level, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            var message = result.Error == CoreError.AlreadyExists ? "userID is used" : result.Failure.Message;
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", message);
        }

        return OpenImResponse.Ok(NotificationAccountJson.From(result.Value!));
    }

    private static async Task<OpenImResponse> UpdateNotificationAccountAsync(HttpContext context, JsonElement body, string? caller)
    {
        // OpenIM: an empty field is "unchanged".
        var nickname = SocialJson.Str(body, "nickName") is { Length: > 0 } n ? n : null;
        var face = SocialJson.Str(body, "faceURL") is { Length: > 0 } f ? f : null;
        var result = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .UpdateAccountAsync(SocialJson.Str(body, "userID") ?? string.Empty, nickname, face, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : OpenImResponse.Error(OpenImErrors.Args, "ArgsError", result.Failure.Message);
    }

    private static async Task<OpenImResponse> SearchNotificationAccountAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (offset, count) = SocialJson.Page(body);
        var page = await context.RequestServices.GetRequiredService<BusinessMessagingService>()
            .SearchAccountsAsync(SocialJson.Str(body, "keyword"), SocialJson.Int(body, "appManagerLevel"), offset, count, context.RequestAborted).ConfigureAwait(false);
        return OpenImResponse.Ok(new NotificationAccountsData(page.Total, [.. page.Accounts.Select(NotificationAccountJson.From)]));
    }
}

internal sealed record BusinessNotificationDetail([property: JsonPropertyName("key")] string Key, [property: JsonPropertyName("data")] string Data);

internal sealed record BusinessNotificationElem([property: JsonPropertyName("detail")] string Detail);

internal sealed record CreatedCountData(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("before")] long Before,
    [property: JsonPropertyName("count")] IReadOnlyDictionary<string, long> Count);

internal sealed record SendMsgData(
    [property: JsonPropertyName("serverMsgID")] string ServerMsgId,
    [property: JsonPropertyName("clientMsgID")] string ClientMsgId,
    [property: JsonPropertyName("sendTime")] long SendTime);

internal sealed record BatchSendResultJson(
    [property: JsonPropertyName("serverMsgID")] string ServerMsgId,
    [property: JsonPropertyName("clientMsgID")] string ClientMsgId,
    [property: JsonPropertyName("sendTime")] long SendTime,
    [property: JsonPropertyName("recvID")] string RecvId);

internal sealed record BatchSendMsgData(
    [property: JsonPropertyName("results")] List<BatchSendResultJson> Results,
    [property: JsonPropertyName("failedUserIDs")] List<string> FailedUserIds);

internal sealed record NotificationAccountJson(
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("nickName")] string NickName,
    [property: JsonPropertyName("faceURL")] string FaceUrl,
    [property: JsonPropertyName("appMangerLevel")] int AppMangerLevel)
{
    public static NotificationAccountJson From(NotificationAccount account) => new(account.UserId, account.Nickname, account.FaceUrl, account.Level);
}

internal sealed record NotificationAccountsData(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("notificationAccounts")] List<NotificationAccountJson> NotificationAccounts);
