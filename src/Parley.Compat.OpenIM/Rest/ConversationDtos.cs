using System.Text.Json.Serialization;
using Parley.Compat.OpenIM.Wire;

namespace Parley.Compat.OpenIM.Rest;

/// <summary>
/// OpenIM's <c>conversation.Conversation</c> in JSON: omitempty like Go, except <c>isPinned</c> and <c>recvMsgOpt</c>, which are always
/// written. The JS SDK merges an <c>update</c> entry of <c>get_incremental_conversations</c> over its cached conversation, so a
/// left-out <c>false</c>/<c>0</c> would never unpin or unmute it on the other devices.
/// </summary>
internal sealed record ConversationJson
{
    [JsonPropertyName("ownerUserID")]
    public string? OwnerUserId { get; init; }

    [JsonPropertyName("conversationID")]
    public string? ConversationId { get; init; }

    [JsonPropertyName("recvMsgOpt")]
    public int RecvMsgOpt { get; init; }

    [JsonPropertyName("conversationType")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int ConversationType { get; init; }

    [JsonPropertyName("userID")]
    public string? UserId { get; init; }

    [JsonPropertyName("groupID")]
    public string? GroupId { get; init; }

    [JsonPropertyName("isPinned")]
    public bool IsPinned { get; init; }

    [JsonPropertyName("maxSeq")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long MaxSeq { get; init; }

    public static ConversationJson From(Conversation c) => new()
    {
        OwnerUserId = OpenImJson.OrNull(c.OwnerUserID),
        ConversationId = c.ConversationID,
        RecvMsgOpt = c.RecvMsgOpt,
        ConversationType = c.ConversationType,
        UserId = OpenImJson.OrNull(c.UserID),
        GroupId = OpenImJson.OrNull(c.GroupID),
        IsPinned = c.IsPinned,
        MaxSeq = c.MaxSeq,
    };
}

internal sealed record IncrementalConversationsData
{
    [JsonPropertyName("version")]
    public long Version { get; init; }

    [JsonPropertyName("versionID")]
    public string? VersionId { get; init; }

    [JsonPropertyName("full")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Full { get; init; }

    [JsonPropertyName("update")]
    public IReadOnlyList<ConversationJson>? Update { get; init; }
}

internal sealed record ConversationIdsData([property: JsonPropertyName("conversationIDs")] IReadOnlyList<string>? ConversationIds);

internal sealed record ConversationsData([property: JsonPropertyName("conversations")] IReadOnlyList<ConversationJson>? Conversations);

internal sealed record IncrementalConversationsRequest(
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("version")] long? Version,
    [property: JsonPropertyName("versionID")] string? VersionId);

internal sealed record OwnerRequest(
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("ownerUserID")] string? OwnerUserId,
    [property: JsonPropertyName("conversationIDs")] List<string?>? ConversationIds);

/// <summary><c>/conversation/set_conversations</c>: the conversation's fields are OpenIM wrapper types (null/absent = unchanged).</summary>
internal sealed record SetConversationsRequest(
    [property: JsonPropertyName("userIDs")] List<string?>? UserIds,
    [property: JsonPropertyName("conversation")] ConversationPatch? Conversation);

internal sealed record ConversationPatch(
    [property: JsonPropertyName("conversationID")] string? ConversationId,
    [property: JsonPropertyName("conversationType")] int? ConversationType,
    [property: JsonPropertyName("userID")] string? UserId,
    [property: JsonPropertyName("groupID")] string? GroupId,
    [property: JsonPropertyName("recvMsgOpt")] int? RecvMsgOpt,
    [property: JsonPropertyName("isPinned")] bool? IsPinned,
    [property: JsonPropertyName("attachedInfo")] string? AttachedInfo,
    [property: JsonPropertyName("isPrivateChat")] bool? IsPrivateChat,
    [property: JsonPropertyName("ex")] string? Ex,
    [property: JsonPropertyName("burnDuration")] int? BurnDuration,
    [property: JsonPropertyName("groupAtType")] int? GroupAtType,
    [property: JsonPropertyName("msgDestructTime")] long? MsgDestructTime,
    [property: JsonPropertyName("isMsgDestruct")] bool? IsMsgDestruct);

internal sealed record MarkConversationAsReadRequest(
    [property: JsonPropertyName("conversationID")] string? ConversationId,
    [property: JsonPropertyName("hasReadSeq")] long? HasReadSeq,
    [property: JsonPropertyName("seqs")] List<long>? Seqs,
    [property: JsonPropertyName("userID")] string? UserId);

internal sealed record RevokeMsgRequest(
    [property: JsonPropertyName("conversationID")] string? ConversationId,
    [property: JsonPropertyName("seq")] long? Seq,
    [property: JsonPropertyName("userID")] string? UserId);

/// <summary>OpenIM's <c>sdkws.RevokedTips</c>, the detail of a 2101 revoke notification.</summary>
internal sealed record RevokedTipsJson(
    [property: JsonPropertyName("revokerUserID")] string RevokerUserId,
    [property: JsonPropertyName("clientMsgID")] string ClientMsgId,
    [property: JsonPropertyName("revokeTime")] long RevokeTime,
    [property: JsonPropertyName("sesstionType")] int SessionType,
    [property: JsonPropertyName("seq")] long Seq,
    [property: JsonPropertyName("conversationID")] string ConversationId,
    [property: JsonPropertyName("isAdminRevoke")] bool IsAdminRevoke);
