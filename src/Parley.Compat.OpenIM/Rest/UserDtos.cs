using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Abstractions.Accounts;

namespace Parley.Compat.OpenIM.Rest;

/// <summary>OpenIM's <c>sdkws.UserInfo</c> as Go's encoding/json writes it: every field omitempty.</summary>
internal sealed record UserProfileJson
{
    [JsonPropertyName("userID")]
    public string? UserId { get; init; }

    [JsonPropertyName("nickname")]
    public string? Nickname { get; init; }

    [JsonPropertyName("faceURL")]
    public string? FaceUrl { get; init; }

    [JsonPropertyName("ex")]
    public string? Ex { get; init; }

    [JsonPropertyName("createTime")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long CreateTime { get; init; }

    [JsonPropertyName("appMangerLevel")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int AppMangerLevel { get; init; }

    [JsonPropertyName("globalRecvMsgOpt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int GlobalRecvMsgOpt { get; init; }

    public static UserProfileJson From(UserRecord user, int globalRecvMsgOpt = 0) => new()
    {
        UserId = user.UserId,
        Nickname = OpenImJson.OrNull(user.Nickname),
        FaceUrl = OpenImJson.OrNull(user.AvatarUrl),
        Ex = OpenImJson.OrNull(user.Ex),
        CreateTime = user.CreatedAt,
        GlobalRecvMsgOpt = globalRecvMsgOpt,
    };
}

internal sealed record UsersInfoData([property: JsonPropertyName("usersInfo")] IReadOnlyList<UserProfileJson>? UsersInfo);

internal sealed record UserIdsRequest([property: JsonPropertyName("userIDs")] List<string?>? UserIds);

/// <summary>
/// <c>/user/update_user_info_ex</c>: OpenIM's wrapper types (<c>StringValue</c>, <c>Int32Value</c>) are plain JSON scalars, null
/// (or absent) meaning "unchanged".
/// </summary>
internal sealed record UpdateUserInfoRequest([property: JsonPropertyName("userInfo")] UpdateUserInfoFields? UserInfo);

internal sealed record UpdateUserInfoFields(
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("nickname")] string? Nickname,
    [property: JsonPropertyName("faceURL")] string? FaceUrl,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("globalRecvMsgOpt")] int? GlobalRecvMsgOpt);

internal sealed record GlobalRecvMsgOptRequest(
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("globalRecvMsgOpt")] int? GlobalRecvMsgOpt);

internal sealed record ServerTimeData([property: JsonPropertyName("serverTime")] long ServerTime);

/// <summary>Small JSON helpers for OpenIM's omitempty shapes.</summary>
internal static class OpenImJson
{
    /// <summary>Go's omitempty drops empty strings; null makes our serializer drop them too.</summary>
    public static string? OrNull(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Go's omitempty drops empty slices.</summary>
    public static IReadOnlyList<T>? OrNull<T>(IReadOnlyList<T> values) => values.Count == 0 ? null : values;

    /// <summary>Reads an optional string property; a JSON null or absent property is null, any other non-string kind throws.</summary>
    public static string? OptionalString(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonException(name + " must be a string");
    }
}
