using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Abstractions.Accounts;

namespace Parley.Compat.OpenIM.Rest;

/// <summary>
/// Reading OpenIM request bodies and writing answers the way OpenIM's Go server does: proto field names, every field
/// <c>omitempty</c> (zero numbers, false and null are left out), int64 as JSON numbers, wrapper types as plain scalars
/// (null = unset).
/// </summary>
internal static class SocialJson
{
    /// <summary>Like <see cref="OpenImRest.Json"/> but leaves out default values, as Go's <c>omitempty</c> does.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    };

    /// <summary>An answer's <c>data</c>, serialized with <see cref="Options"/>.</summary>
    public static JsonElement Data<T>(T value) => JsonSerializer.SerializeToElement(value, Options);

    /// <summary>A string field; absent or null → null; any other kind is a malformed body.</summary>
    public static string? Str(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonException($"{name} must be a string.");
    }

    public static long? Long(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : throw new JsonException($"{name} must be an integer.");
    }

    public static int? Int(JsonElement body, string name)
    {
        var value = Long(body, name);
        return value is null ? null : value is >= int.MinValue and <= int.MaxValue ? (int)value : throw new JsonException($"{name} is out of range.");
    }

    public static bool? Bool(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new JsonException($"{name} must be a boolean."),
        };
    }

    /// <summary>A list of strings; absent or null → empty.</summary>
    public static List<string> StrList(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException($"{name} must be an array.");
        }

        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new JsonException($"{name} must hold strings."));
        }

        return list;
    }

    /// <summary>An object field; absent or null → null.</summary>
    public static JsonElement? Obj(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw new JsonException($"{name} must be an object.");
    }

    public static List<JsonElement> ObjList(JsonElement body, string name)
    {
        if (!TryGet(body, name, out var value))
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException($"{name} must be an array.");
        }

        return [.. value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Object ? e : throw new JsonException($"{name} must hold objects."))];
    }

    /// <summary>
    /// OpenIM's <c>pagination {pageNumber, showNumber}</c> (1-based) as offset and count. Absent: everything (up to
    /// <paramref name="max"/>); showNumber is capped at <paramref name="max"/>.
    /// </summary>
    public static (int Offset, int Count) Page(JsonElement body, int max = 1000)
    {
        var page = Obj(body, "pagination");
        if (page is null)
        {
            return (0, max);
        }

        var number = Int(page.Value, "pageNumber") ?? 1;
        var show = Int(page.Value, "showNumber") ?? max;
        if (number < 1)
        {
            number = 1;
        }

        show = show <= 0 ? max : Math.Min(show, max);
        var offset = (long)(number - 1) * show;
        return ((int)Math.Min(offset, int.MaxValue), show);
    }

    public static List<T> Slice<T>(IReadOnlyList<T> items, (int Offset, int Count) page) =>
        [.. items.Skip(page.Offset).Take(page.Count)];

    private static bool TryGet(JsonElement body, string name, out JsonElement value)
    {
        if (body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }
}

/// <summary>sdkws.UserInfo / PublicUserInfo.</summary>
internal sealed record UserInfoJson(
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("nickname")] string? Nickname,
    [property: JsonPropertyName("faceURL")] string? FaceUrl,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("createTime")] long CreateTime)
{
    public static UserInfoJson From(string userId, UserRecord? user) =>
        user is null ? new(userId, null, null, null, 0) : new(user.UserId, user.Nickname, user.AvatarUrl, user.Ex, user.CreatedAt);
}

/// <summary>sdkws.FriendInfo.</summary>
internal sealed record FriendInfoJson(
    [property: JsonPropertyName("ownerUserID")] string OwnerUserId,
    [property: JsonPropertyName("remark")] string? Remark,
    [property: JsonPropertyName("createTime")] long CreateTime,
    [property: JsonPropertyName("friendUser")] UserInfoJson FriendUser,
    [property: JsonPropertyName("addSource")] int AddSource,
    [property: JsonPropertyName("operatorUserID")] string? OperatorUserId,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("isPinned")] bool IsPinned);

/// <summary>sdkws.BlackInfo.</summary>
internal sealed record BlackInfoJson(
    [property: JsonPropertyName("ownerUserID")] string OwnerUserId,
    [property: JsonPropertyName("createTime")] long CreateTime,
    [property: JsonPropertyName("blackUserInfo")] UserInfoJson BlackUserInfo,
    [property: JsonPropertyName("addSource")] int AddSource,
    [property: JsonPropertyName("operatorUserID")] string? OperatorUserId,
    [property: JsonPropertyName("ex")] string? Ex);

/// <summary>sdkws.FriendRequest. <c>handleResult</c>: 0 pending, 1 accepted, -1 refused.</summary>
internal sealed record FriendRequestJson(
    [property: JsonPropertyName("fromUserID")] string FromUserId,
    [property: JsonPropertyName("fromNickname")] string? FromNickname,
    [property: JsonPropertyName("fromFaceURL")] string? FromFaceUrl,
    [property: JsonPropertyName("toUserID")] string ToUserId,
    [property: JsonPropertyName("toNickname")] string? ToNickname,
    [property: JsonPropertyName("toFaceURL")] string? ToFaceUrl,
    [property: JsonPropertyName("handleResult")] int HandleResult,
    [property: JsonPropertyName("reqMsg")] string? ReqMsg,
    [property: JsonPropertyName("createTime")] long CreateTime,
    [property: JsonPropertyName("handlerUserID")] string? HandlerUserId,
    [property: JsonPropertyName("handleMsg")] string? HandleMsg,
    [property: JsonPropertyName("handleTime")] long HandleTime,
    [property: JsonPropertyName("ex")] string? Ex);

/// <summary>sdkws.GroupInfo.</summary>
internal sealed record GroupInfoJson(
    [property: JsonPropertyName("groupID")] string GroupId,
    [property: JsonPropertyName("groupName")] string? GroupName,
    [property: JsonPropertyName("notification")] string? Notification,
    [property: JsonPropertyName("introduction")] string? Introduction,
    [property: JsonPropertyName("faceURL")] string? FaceUrl,
    [property: JsonPropertyName("ownerUserID")] string? OwnerUserId,
    [property: JsonPropertyName("createTime")] long CreateTime,
    [property: JsonPropertyName("memberCount")] int MemberCount,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("creatorUserID")] string? CreatorUserId,
    [property: JsonPropertyName("groupType")] int GroupType,
    [property: JsonPropertyName("needVerification")] int NeedVerification,
    [property: JsonPropertyName("lookMemberInfo")] int LookMemberInfo,
    [property: JsonPropertyName("applyMemberFriend")] int ApplyMemberFriend,
    [property: JsonPropertyName("notificationUpdateTime")] long NotificationUpdateTime,
    [property: JsonPropertyName("notificationUserID")] string? NotificationUserId);

/// <summary>sdkws.GroupMemberFullInfo.</summary>
internal sealed record GroupMemberJson(
    [property: JsonPropertyName("groupID")] string GroupId,
    [property: JsonPropertyName("userID")] string UserId,
    [property: JsonPropertyName("roleLevel")] int RoleLevel,
    [property: JsonPropertyName("joinTime")] long JoinTime,
    [property: JsonPropertyName("nickname")] string? Nickname,
    [property: JsonPropertyName("faceURL")] string? FaceUrl,
    [property: JsonPropertyName("appMangerLevel")] int AppMangerLevel,
    [property: JsonPropertyName("joinSource")] int JoinSource,
    [property: JsonPropertyName("operatorUserID")] string? OperatorUserId,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("muteEndTime")] long MuteEndTime,
    [property: JsonPropertyName("inviterUserID")] string? InviterUserId);

/// <summary>sdkws.GroupRequest.</summary>
internal sealed record GroupRequestJson(
    [property: JsonPropertyName("userInfo")] UserInfoJson UserInfo,
    [property: JsonPropertyName("groupInfo")] GroupInfoJson GroupInfo,
    [property: JsonPropertyName("handleResult")] int HandleResult,
    [property: JsonPropertyName("reqMsg")] string? ReqMsg,
    [property: JsonPropertyName("handleMsg")] string? HandleMsg,
    [property: JsonPropertyName("reqTime")] long ReqTime,
    [property: JsonPropertyName("handleUserID")] string? HandleUserId,
    [property: JsonPropertyName("handleTime")] long HandleTime,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("joinSource")] int JoinSource,
    [property: JsonPropertyName("inviterUserID")] string? InviterUserId);

/// <summary>
/// The answer of OpenIM's incremental syncs of a list (friends, joined groups): the version to ask from next time, and
/// either <c>full</c> (start over) or the ids deleted and the rows inserted or updated since the caller's version.
/// </summary>
internal sealed record IncrementalData<T>(
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("versionID")] string VersionId,
    [property: JsonPropertyName("full")] bool Full,
    [property: JsonPropertyName("delete")] List<string>? Delete,
    [property: JsonPropertyName("insert")] List<T>? Insert,
    [property: JsonPropertyName("update")] List<T>? Update,
    [property: JsonPropertyName("sortVersion")] long SortVersion);
