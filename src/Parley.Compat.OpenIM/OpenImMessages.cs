using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Parley.Compat.OpenIM.Wire;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// Maps messages between OpenIM's <c>MsgData</c> and Parley's one message model, so that OpenIM-SDK users and native
/// users share conversations. Text (101) and mention text (106) become Parley text; OpenIM's other user content types
/// are kept verbatim as Parley custom content of type <c>openim.{contentType}</c>, so they come back to OpenIM clients
/// unchanged and native clients see an application-defined message.
/// </summary>
internal static class OpenImMessages
{
    public const int SessionSingle = 1;
    public const int SessionGroup = 3;
    public const int MsgFromUser = 100;
    public const int MsgFromSystem = 200;
    public const int StatusSucceeded = 2;

    public const int Text = 101;
    public const int AtText = 106;
    public const int Custom = 110;
    public const int Revoked = 111;
    public const int Typing = 113;
    public const int RevokeNotification = 2101;

    /// <summary>OpenIM's marker in <c>atUserIDList</c> for "@everyone".</summary>
    public const string AtAllTag = "AtAllTag";

    /// <summary>Prefix of the Parley custom type that carries an OpenIM content type verbatim.</summary>
    public const string CustomTypePrefix = "openim.";

    /// <summary>User content types OpenIM clients send that Parley keeps verbatim (everything but text, typing and system types).</summary>
    private static readonly HashSet<int> VerbatimTypes = [102, 103, 104, 105, 107, 108, 109, 110, 114, 115, 117, 118, 119, 120];

    /// <summary>The OpenIM session type of a Parley conversation id.</summary>
    public static int SessionType(string conversationId) =>
        conversationId.StartsWith("sg_", StringComparison.Ordinal) ? SessionGroup : SessionSingle;

    /// <summary>For a Parley 1:1 conversation id: the user other than <paramref name="userId"/>, or null.</summary>
    public static string? PeerOf(string conversationId, string userId) => Ids.DirectPeer(conversationId, userId);

    /// <summary>
    /// A Parley conversation id as OpenIM clients compute it: a 1:1 id becomes OpenIM's unescaped
    /// <c>si_{min}_{max}</c> (the same string unless a user id contains <c>_</c> or <c>:</c>); other ids are unchanged.
    /// Every conversation id the edge writes goes through this (ADR 0010).
    /// </summary>
    public static string ToOpenIm(string conversationId) =>
        Ids.TryParseDirectConversationId(conversationId, out var a, out var b) ? $"si_{a}_{b}" : conversationId;

    /// <summary>
    /// The Parley conversation id of an id an OpenIM client sent: for OpenIM's <c>si_{min}_{max}</c> the caller is one
    /// of the two users, which makes the other one unambiguous even where <c>_</c> in user ids makes the string alone
    /// ambiguous; other ids are unchanged. Every conversation id the edge reads goes through this (ADR 0010).
    /// </summary>
    public static string FromOpenIm(string conversationId, string callerId)
    {
        if (!conversationId.StartsWith("si_", StringComparison.Ordinal))
        {
            return conversationId;
        }

        var rest = conversationId.AsSpan(3);
        // The caller is the smaller id (first) or the larger (last); the order check picks the one reading that fits.
        if (rest.Length > callerId.Length && rest.StartsWith(callerId, StringComparison.Ordinal) && rest[callerId.Length] == '_')
        {
            var peer = rest[(callerId.Length + 1)..].ToString();
            if (Ids.IsValid(peer) && string.CompareOrdinal(callerId, peer) <= 0)
            {
                return Ids.DirectConversationId(callerId, peer);
            }
        }

        if (rest.Length > callerId.Length && rest.EndsWith(callerId, StringComparison.Ordinal) && rest[^(callerId.Length + 1)] == '_')
        {
            var peer = rest[..^(callerId.Length + 1)].ToString();
            if (Ids.IsValid(peer) && string.CompareOrdinal(peer, callerId) <= 0)
            {
                return Ids.DirectConversationId(peer, callerId);
            }
        }

        return conversationId;
    }

    /// <summary>A native message as OpenIM's MsgData (without sender profile fields; the caller fills those).</summary>
    public static MsgData ToMsgData(Message message)
    {
        var data = new MsgData
        {
            SendID = message.SenderId,
            ClientMsgID = message.ClientMsgId,
            ServerMsgID = message.ServerMsgId,
            SessionType = SessionType(message.ConversationId),
            MsgFrom = MsgFromUser,
            Seq = (long)message.Seq,
            SendTime = message.ServerTime,
            CreateTime = message.ServerTime,
            Status = StatusSucceeded,
        };
        if (data.SessionType == SessionGroup)
        {
            data.GroupID = message.ConversationId[3..];
        }
        else
        {
            data.RecvID = PeerOf(message.ConversationId, message.SenderId) ?? string.Empty;
        }

        if (message.Revoked || message.Content is null)
        {
            // OpenIM shows a revoked message in place as a revoke notification (2101) whose detail describes the revoke.
            data.ContentType = RevokeNotification;
            data.Content = Json(new Dictionary<string, string>
            {
                ["detail"] = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["revokerID"] = message.SenderId,
                    ["revokerRole"] = 0,
                    ["clientMsgID"] = message.ClientMsgId,
                    ["revokerNickname"] = string.Empty,
                    ["revokeTime"] = message.ServerTime,
                    ["sourceMessageSendTime"] = message.ServerTime,
                    ["sourceMessageSendID"] = message.SenderId,
                    ["sourceMessageSenderNickname"] = string.Empty,
                    ["sessionType"] = data.SessionType,
                    ["seq"] = (long)message.Seq,
                    ["ex"] = string.Empty,
                    ["isAdminRevoke"] = false,
                }),
            });
            return data;
        }

        var content = message.Content;
        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Text when content.Text.MentionUserIds.Count == 0 && !content.Text.MentionAll:
                data.ContentType = Text;
                data.Content = Json(new Dictionary<string, object> { ["content"] = content.Text.Text });
                break;
            case Content.BodyOneofCase.Text:
                data.ContentType = AtText;
                data.AtUserIDList.AddRange(content.Text.MentionUserIds);
                if (content.Text.MentionAll)
                {
                    data.AtUserIDList.Add(AtAllTag);
                }

                data.Content = Json(new Dictionary<string, object>
                {
                    ["text"] = content.Text.Text,
                    ["atUserList"] = data.AtUserIDList.ToArray(),
                    ["isAtSelf"] = false,
                });
                break;
            case Content.BodyOneofCase.Custom when TryVerbatimType(content.Custom.Type, out var contentType):
                data.ContentType = contentType;
                data.Content = Utf8(content.Custom.Json);
                break;
            case Content.BodyOneofCase.Custom:
                data.ContentType = Custom;
                data.Content = Json(new Dictionary<string, object>
                {
                    ["data"] = content.Custom.Json,
                    ["description"] = content.Custom.Type,
                    ["extension"] = string.Empty,
                });
                break;
            default:
                // System content (revoke and group notifications): the WebSocket edge maps these to OpenIM notifications.
                data.MsgFrom = MsgFromSystem;
                data.ContentType = Custom;
                data.Content = Json(new Dictionary<string, object> { ["data"] = "{}", ["description"] = content.BodyCase.ToString(), ["extension"] = string.Empty });
                break;
        }

        return data;
    }

    /// <summary>
    /// OpenIM content as native content: 101 → text, 106 → text with mentions, other user types → custom
    /// <c>openim.{type}</c>. Returns an error message for content that cannot be stored (the caller answers 1001).
    /// </summary>
    public static string? TryToContent(MsgData data, out Content? content)
    {
        content = null;
        string json;
        try
        {
            json = new UTF8Encoding(false, true).GetString(data.Content.Span);
        }
        catch (DecoderFallbackException)
        {
            return "content is not UTF-8";
        }

        switch (data.ContentType)
        {
            case Text:
                {
                    var text = ReadString(json, "content");
                    if (string.IsNullOrEmpty(text))
                    {
                        return "text content must be {\"content\": non-empty string}";
                    }

                    content = new Content { Text = new TextContent { Text = text } };
                    return null;
                }

            case AtText:
                {
                    var text = ReadString(json, "text");
                    if (string.IsNullOrEmpty(text))
                    {
                        return "@ text content must be {\"text\": non-empty string}";
                    }

                    var body = new TextContent { Text = text };
                    foreach (var id in data.AtUserIDList.Distinct(StringComparer.Ordinal))
                    {
                        if (id == AtAllTag)
                        {
                            body.MentionAll = true;
                        }
                        else if (Parley.Protocol.Ids.IsValid(id))
                        {
                            body.MentionUserIds.Add(id);
                        }
                    }

                    content = new Content { Text = body };
                    return null;
                }

            case var type when VerbatimTypes.Contains(type):
                if (!IsJsonObject(json))
                {
                    return "content must be a JSON object";
                }

                content = new Content { Custom = new CustomContent { Type = CustomTypePrefix + type.ToString(CultureInfo.InvariantCulture), Json = json } };
                return null;
            default:
                return "contentType " + data.ContentType.ToString(CultureInfo.InvariantCulture) + " cannot be sent";
        }
    }

    /// <summary>True for a Parley custom type that carries an OpenIM content type verbatim.</summary>
    public static bool TryVerbatimType(string customType, out int contentType)
    {
        contentType = 0;
        return customType.StartsWith(CustomTypePrefix, StringComparison.Ordinal)
            && int.TryParse(customType.AsSpan(CustomTypePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out contentType)
            && VerbatimTypes.Contains(contentType);
    }

    public static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);

    public static ByteString Json<T>(T value) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(value));

    private static string? ReadString(string json, string property)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(property, out var value)
                && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJsonObject(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
