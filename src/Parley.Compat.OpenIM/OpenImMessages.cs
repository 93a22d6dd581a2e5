using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Parley.Compat.OpenIM.Wire;
using Parley.Core.Business;
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

    /// <summary>OpenIM's NotificationChatType: a notification account's conversation with a user (<c>sn_{min}_{max}</c>).</summary>
    public const int SessionNotification = 4;
    public const int MsgFromUser = 100;
    public const int MsgFromSystem = 200;
    public const int StatusSucceeded = 2;

    public const int Text = 101;
    public const int AtText = 106;
    public const int Picture = 102;
    public const int Sound = 103;
    public const int Video = 104;
    public const int File = 105;
    public const int Custom = 110;
    public const int Revoked = 111;
    public const int Typing = 113;
    public const int Quote = 114;
    public const int RevokeNotification = 2101;

    /// <summary>OpenIM's marker in <c>atUserIDList</c> for "@everyone".</summary>
    public const string AtAllTag = "AtAllTag";

    /// <summary>Prefix of the Parley custom type that carries an OpenIM content type verbatim.</summary>
    public const string CustomTypePrefix = "openim.";

    /// <summary>User content types OpenIM clients send that Parley keeps verbatim (everything but text, typing and system types).</summary>
    private static readonly HashSet<int> VerbatimTypes = [102, 103, 104, 105, 107, 108, 109, 110, 114, 115, 117, 118, 119, 120];

    /// <summary>
    /// The OpenIM session type of a Parley conversation id: 3 for a group, 4 for a 1:1 with a notification account (as OpenIM
    /// files notification accounts' messages), else 1.
    /// </summary>
    public static int SessionType(string conversationId, NotificationAccountIds? accounts) =>
        conversationId.StartsWith("sg_", StringComparison.Ordinal) ? SessionGroup
        : accounts is not null && accounts.IsNotificationConversation(conversationId) ? SessionNotification
        : SessionSingle;

    /// <summary>For a Parley 1:1 conversation id: the user other than <paramref name="userId"/>, or null.</summary>
    public static string? PeerOf(string conversationId, string userId) => Ids.DirectPeer(conversationId, userId);

    /// <summary>
    /// A Parley conversation id as OpenIM clients compute it: a 1:1 id becomes OpenIM's unescaped
    /// <c>si_{min}_{max}</c> (the same string unless a user id contains <c>_</c> or <c>:</c>); other ids are unchanged.
    /// Every conversation id the edge writes goes through this (ADR 0010). A 1:1 with a notification account is OpenIM's
    /// notification conversation <c>sn_{min}_{max}</c> (session type 4).
    /// </summary>
    public static string ToOpenIm(string conversationId, NotificationAccountIds? accounts) =>
        !Ids.TryParseDirectConversationId(conversationId, out var a, out var b) ? conversationId
        : accounts is not null && (accounts.Contains(a) || accounts.Contains(b)) ? $"sn_{a}_{b}"
        : $"si_{a}_{b}";

    /// <summary>
    /// The Parley conversation id of an id an OpenIM client sent: for OpenIM's <c>si_{min}_{max}</c> the caller is one
    /// of the two users, which makes the other one unambiguous even where <c>_</c> in user ids makes the string alone
    /// ambiguous; other ids are unchanged. Every conversation id the edge reads goes through this (ADR 0010).
    /// </summary>
    public static string FromOpenIm(string conversationId, string callerId)
    {
        // sn_ (a notification conversation, session type 4) names the same Parley 1:1 as si_ would.
        if (!conversationId.StartsWith("si_", StringComparison.Ordinal) && !conversationId.StartsWith("sn_", StringComparison.Ordinal))
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

    /// <summary>Content OpenIM shows as a user message (text, custom, media); everything else is a system notice.</summary>
    public static bool IsUserContent(Content.BodyOneofCase? body) => body is null
        or Content.BodyOneofCase.Text or Content.BodyOneofCase.Custom
        or Content.BodyOneofCase.Image or Content.BodyOneofCase.Voice or Content.BodyOneofCase.Video or Content.BodyOneofCase.File;

    /// <summary>
    /// A native message as OpenIM's MsgData (without sender profile fields; the caller fills those). Media content names
    /// its objects by <paramref name="urls"/> (<c>{ObjectUrl}/object/{id}</c>).
    /// </summary>
    public static MsgData ToMsgData(Message message, NotificationAccountIds? accounts, OpenImObjectUrls? urls = null, Func<string, long, MsgData?>? quoted = null)
    {
        var data = new MsgData
        {
            SendID = message.SenderId,
            ClientMsgID = message.ClientMsgId,
            ServerMsgID = message.ServerMsgId,
            SessionType = SessionType(message.ConversationId, accounts),
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
        if (content.BodyCase == Content.BodyOneofCase.Text && content.ReplyTo is { Seq: > 0 } replyTo)
        {
            // A reply: OpenIM's QuoteElem (114) {text, quoteMessage}, or an AtElem (106) carrying the quote when it mentions.
            var quote = QuoteMessage(message.ConversationId, replyTo, data.SessionType, quoted);
            if (content.Text.MentionUserIds.Count == 0 && !content.Text.MentionAll)
            {
                data.ContentType = Quote;
                data.Content = Json(new Dictionary<string, object> { ["text"] = content.Text.Text, ["quoteMessage"] = quote });
            }
            else
            {
                SetAtText(data, content.Text, quote);
            }

            return data;
        }

        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Text when content.Text.MentionUserIds.Count == 0 && !content.Text.MentionAll:
                data.ContentType = Text;
                data.Content = Json(new Dictionary<string, object> { ["content"] = content.Text.Text });
                break;
            case Content.BodyOneofCase.Text:
                SetAtText(data, content.Text, quote: null);
                break;
            case Content.BodyOneofCase.Custom when TryVerbatimType(content.Custom.Type, out var contentType):
                data.ContentType = contentType;
                data.Content = Utf8(content.Custom.Json);
                break;
            case Content.BodyOneofCase.Image or Content.BodyOneofCase.Voice or Content.BodyOneofCase.Video or Content.BodyOneofCase.File:
                (data.ContentType, data.Content) = MediaElem(content, urls);
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

                    content = new Content { Text = body, ReplyTo = ReadQuote(json) };
                    return null;
                }

            case Quote when ReadString(json, "text") is { Length: > 0 } quoteText && ReadQuote(json) is { } reply:
                // A reply to a message of this conversation: native text with its reply reference (ADR 0018).
                content = new Content { Text = new TextContent { Text = quoteText }, ReplyTo = reply };
                return null;
            case Picture or Sound or Video or File when MediaContent(data.ContentType, json) is { } media:
                content = media;
                return null;
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

    /// <summary>
    /// OpenIM's PictureElem / SoundElem / VideoElem / FileElem whose URL names an object uploaded to this server (the
    /// <c>/object/*</c> calls) as native image / voice / video / file content, so the media service checks the sender may use
    /// the object, fills size and type from it and records the reference that lets the conversation's members download it.
    /// Null for an element whose URL points elsewhere (createImageMessageByURL with an outside URL): kept verbatim.
    /// </summary>
    internal static Content? MediaContent(int contentType, string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            switch (contentType)
            {
                case Picture:
                    {
                        var source = Child(root, "sourcePicture");
                        return OpenImObjectUrls.ObjectIdOf(StringOf(source, "url")) is { } id
                            ? new Content { Image = new ImageContent { ObjectId = id } }
                            : null;
                    }

                case Sound:
                    return OpenImObjectUrls.ObjectIdOf(StringOf(root, "sourceUrl")) is { } sound
                        ? new Content { Voice = new VoiceContent { ObjectId = sound, DurationMs = Seconds(root, "duration") } }
                        : null;
                case Video:
                    {
                        if (OpenImObjectUrls.ObjectIdOf(StringOf(root, "videoUrl")) is not { } video)
                        {
                            return null;
                        }

                        return new Content
                        {
                            Video = new VideoContent
                            {
                                ObjectId = video,
                                DurationMs = Seconds(root, "duration"),
                                PosterObjectId = OpenImObjectUrls.ObjectIdOf(StringOf(root, "snapshotUrl")) ?? string.Empty,
                            },
                        };
                    }

                case File:
                    return OpenImObjectUrls.ObjectIdOf(StringOf(root, "sourceUrl")) is { } file
                        ? new Content { File = new FileContent { ObjectId = file, FileName = StringOf(root, "fileName") ?? string.Empty } }
                        : null;
                default:
                    return null;
            }
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Native media content as OpenIM's element JSON, with URLs the recipient fetches with its token.</summary>
    internal static (int ContentType, ByteString Json) MediaElem(Content content, OpenImObjectUrls? urls)
    {
        string Url(string id) => id.Length == 0 ? string.Empty : urls is null ? "/object/" + id : urls.UrlOf(id);
        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Image:
                {
                    var image = content.Image;
                    var picture = new Dictionary<string, object>
                    {
                        ["uuid"] = image.ObjectId, ["type"] = image.ContentType, ["size"] = (long)image.Size,
                        ["width"] = image.Width, ["height"] = image.Height, ["url"] = Url(image.ObjectId),
                    };
                    var snapshot = image.ThumbnailObjectId.Length == 0 ? picture : new Dictionary<string, object>
                    {
                        ["uuid"] = image.ThumbnailObjectId, ["type"] = "image/jpeg", ["size"] = 0L,
                        ["width"] = image.ThumbnailWidth, ["height"] = image.ThumbnailHeight, ["url"] = Url(image.ThumbnailObjectId),
                    };
                    return (Picture, Json(new Dictionary<string, object>
                    {
                        ["sourcePath"] = string.Empty, ["sourcePicture"] = picture, ["bigPicture"] = picture, ["snapshotPicture"] = snapshot,
                    }));
                }

            case Content.BodyOneofCase.Voice:
                return (Sound, Json(new Dictionary<string, object>
                {
                    ["uuid"] = content.Voice.ObjectId, ["soundPath"] = string.Empty, ["sourceUrl"] = Url(content.Voice.ObjectId),
                    ["dataSize"] = (long)content.Voice.Size, ["duration"] = (long)Math.Round(content.Voice.DurationMs / 1000.0),
                }));
            case Content.BodyOneofCase.Video:
                {
                    var video = content.Video;
                    return (Video, Json(new Dictionary<string, object>
                    {
                        ["videoPath"] = string.Empty, ["videoUUID"] = video.ObjectId, ["videoUrl"] = Url(video.ObjectId),
                        ["videoType"] = video.ContentType, ["videoSize"] = (long)video.Size, ["duration"] = (long)Math.Round(video.DurationMs / 1000.0),
                        ["snapshotPath"] = string.Empty, ["snapshotUUID"] = video.PosterObjectId, ["snapshotSize"] = 0L,
                        ["snapshotUrl"] = Url(video.PosterObjectId), ["snapshotWidth"] = video.PosterWidth, ["snapshotHeight"] = video.PosterHeight,
                    }));
                }

            default:
                return (File, Json(new Dictionary<string, object>
                {
                    ["filePath"] = string.Empty, ["uuid"] = content.File.ObjectId, ["sourceUrl"] = Url(content.File.ObjectId),
                    ["fileName"] = content.File.FileName, ["fileSize"] = (long)content.File.Size,
                }));
        }
    }

    private static JsonElement Child(JsonElement element, string name) =>
        element.TryGetProperty(name, out var child) && child.ValueKind == JsonValueKind.Object ? child : default;

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>OpenIM durations are whole seconds; Parley's milliseconds (capped at a day, nonsense → 0).</summary>
    private static uint Seconds(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && seconds is > 0 and <= 86_400
            ? (uint)(seconds * 1000)
            : 0;

    /// <summary>True for a Parley custom type that carries an OpenIM content type verbatim.</summary>
    public static bool TryVerbatimType(string customType, out int contentType)
    {
        contentType = 0;
        return customType.StartsWith(CustomTypePrefix, StringComparison.Ordinal)
            && int.TryParse(customType.AsSpan(CustomTypePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out contentType)
            && (VerbatimTypes.Contains(contentType) || contentType is OpenImRest.OaNotification or OpenImRest.BusinessNotification);
    }

    public static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);

    public static ByteString Json<T>(T value) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(value));

    /// <summary>
    /// An AtElem (106): the mentioned users (and <see cref="AtAllTag"/> for @all) in atUserIDList and in the content,
    /// with the quoted message when the text is a reply.
    /// </summary>
    private static void SetAtText(MsgData data, TextContent text, Dictionary<string, object>? quote)
    {
        data.ContentType = AtText;
        data.AtUserIDList.AddRange(text.MentionUserIds);
        if (text.MentionAll)
        {
            data.AtUserIDList.Add(AtAllTag);
        }

        var elem = new Dictionary<string, object>
        {
            ["text"] = text.Text,
            ["atUserList"] = data.AtUserIDList.ToArray(),
            ["isAtSelf"] = false,
        };
        if (quote is not null)
        {
            elem["quoteMessage"] = quote;
        }

        data.Content = Json(elem);
    }

    /// <summary>
    /// The quoted message of a reply as OpenIM's SDK puts it in <c>quoteMessage</c> (its message struct): from
    /// <paramref name="quoted"/> (the replied-to message the grain put into the reply's event, or that a pull read for its
    /// reader; none when revoked or not to be shown) when there is one, else only what the reply itself says (seq and
    /// server id), which the SDK shows as an empty quote.
    /// </summary>
    private static Dictionary<string, object> QuoteMessage(string conversationId, ReplyTo replyTo, int sessionType, Func<string, long, MsgData?>? quoted)
    {
        var target = quoted?.Invoke(conversationId, (long)replyTo.Seq);
        var quote = new Dictionary<string, object>
        {
            ["seq"] = (long)replyTo.Seq,
            ["serverMsgID"] = target?.ServerMsgID ?? replyTo.ServerMsgId,
            ["clientMsgID"] = target?.ClientMsgID ?? string.Empty,
            ["sessionType"] = sessionType,
            ["contentType"] = target?.ContentType ?? Text,
            ["status"] = StatusSucceeded,
        };
        if (target is null)
        {
            return quote;
        }

        quote["sendID"] = target.SendID;
        quote["recvID"] = target.RecvID;
        quote["groupID"] = target.GroupID;
        quote["sendTime"] = target.SendTime;
        quote["createTime"] = target.CreateTime;
        quote["msgFrom"] = target.MsgFrom;
        quote["senderNickname"] = target.SenderNickname;
        quote["senderFaceUrl"] = target.SenderFaceURL;
        var json = target.Content.ToStringUtf8();
        quote["content"] = json;
        if (target.ContentType == Quote && ReadString(json, "text") is { } quotedText)
        {
            // A quote of a quote shows the quoted reply as plain text, as the SDK's createQuoteMessage does.
            quote["contentType"] = Text;
            quote["textElem"] = new Dictionary<string, string> { ["content"] = quotedText };
            return quote;
        }

        // The SDK's message struct carries the parsed element under its own name.
        var element = target.ContentType switch
        {
            Text => "textElem",
            AtText => "atTextElem",
            Quote => "quoteElem",
            Picture => "pictureElem",
            Sound => "soundElem",
            Video => "videoElem",
            File => "fileElem",
            Custom => "customElem",
            _ => null,
        };
        if (element is not null)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                quote[element] = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                // Shown without its element.
            }
        }

        return quote;
    }

    /// <summary>
    /// OpenIM's quote of an earlier message (QuoteElem's or AtElem's <c>quoteMessage</c>) as Parley's reply reference: its
    /// seq and server message id (checked by the conversation grain: same conversation, visible, a user message). Null
    /// when the content quotes nothing the server can name.
    /// </summary>
    private static ReplyTo? ReadQuote(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("quoteMessage", out var quote)
                || quote.ValueKind != JsonValueKind.Object
                || !quote.TryGetProperty("seq", out var seq)
                || !seq.TryGetInt64(out var value)
                || value <= 0)
            {
                return null;
            }

            var reply = new ReplyTo { Seq = (ulong)value };
            if (quote.TryGetProperty("serverMsgID", out var id) && id.ValueKind == JsonValueKind.String)
            {
                reply.ServerMsgId = id.GetString() ?? string.Empty;
            }

            return reply;
        }
        catch (JsonException)
        {
            return null;
        }
    }

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
