using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Webhooks;

/// <summary>
/// The before-send hooks (<c>beforeSendSingleMsg</c>, <c>beforeSendGroupMsg</c>): the receiver allows the message,
/// replaces its content, or refuses it with a reason the sender gets (FORBIDDEN), before anything is stored. Registered
/// (as <see cref="Optional{T}"/>) only when one of them is enabled, so an unhooked send pays one null check.
/// </summary>
public sealed class MessageHooks(WebhookClient client)
{
    /// <summary>The longest hook reason passed on to the sender.</summary>
    public const int MaxReasonLength = 200;

    private static readonly JsonFormatter ContentFormatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonParser ContentParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    /// <summary>
    /// Runs the enabled before-send hook of the conversation's kind. Returns the content to store (the same instance
    /// when allowed unchanged), or a refusal: FORBIDDEN with the hook's reason, or UNAVAILABLE when a fail-closed hook
    /// failed. A replacement content must itself be valid client content, else the call counts as failed.
    /// </summary>
    public async Task<CoreResult<Content>> BeforeSendAsync(string senderId, string conversationId, string? peerUserId, string clientMsgId, Content content)
    {
        var group = conversationId.StartsWith("sg_", StringComparison.Ordinal);
        var hook = group ? WebhookOptions.BeforeSendGroupMsg : WebhookOptions.BeforeSendSingleMsg;
        if (client.Options.Enabled(hook) is not { } options)
        {
            return CoreResult.Success(content);
        }

        var eventId = Guid.CreateVersion7().ToString("N");
        var body = Body(hook, eventId, senderId, conversationId, peerUserId, clientMsgId, content, group);
        var answer = await client.CallAsync(hook, options, eventId, body).ConfigureAwait(false);
        using var document = answer.Body;
        if (document is null)
        {
            return Failed(hook, options, content);
        }

        var root = document.RootElement;
        if (Code(root, "errCode") != 0 || Code(root, "actionCode") != 0)
        {
            client.Count(hook, "rejected");
            WebhookClient.WebhookRejected(client.Logger, hook, eventId);
            return CoreResult.Fail(CoreError.Forbidden, Reason(root));
        }

        if (!root.TryGetProperty("content", out var replacement) || replacement.ValueKind == JsonValueKind.Null)
        {
            client.Count(hook, "allowed");
            return CoreResult.Success(content);
        }

        Content modified;
        try
        {
            modified = replacement.ValueKind == JsonValueKind.Object ? ContentParser.Parse<Content>(replacement.GetRawText()) : null!;
        }
        catch (InvalidProtocolBufferException)
        {
            modified = null!;
        }
        catch (InvalidJsonException)
        {
            modified = null!;
        }

        if (modified is null || Messaging.MessagingService.CheckContent(modified) is not null)
        {
            return Failed(hook, options, content);
        }

        client.Count(hook, "modified");
        return CoreResult.Success(modified);
    }

    private CoreResult<Content> Failed(string hook, HookOptions options, Content content)
    {
        if (options.FailOpen)
        {
            client.Count(hook, "failed_open");
            return CoreResult.Success(content);
        }

        client.Count(hook, "failed_closed");
        return CoreResult.Fail(CoreError.Unavailable, "The server's message check did not answer; try again later.");
    }

    internal static long Code(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var code) ? code : 0;

    internal static string Reason(JsonElement root)
    {
        var reason = root.TryGetProperty("errMsg", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;
        var clean = new StringBuilder(Math.Min(reason.Length, MaxReasonLength));
        foreach (var c in reason)
        {
            if (clean.Length == MaxReasonLength)
            {
                break;
            }

            clean.Append(char.IsControl(c) ? ' ' : c);
        }

        return clean.Length == 0 ? "Refused by the server's message check." : clean.ToString().Trim();
    }

    private static byte[] Body(string hook, string eventId, string senderId, string conversationId, string? peerUserId, string clientMsgId, Content content, bool group)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("callbackCommand", hook);
            json.WriteString("eventId", eventId);
            json.WriteString("sendID", senderId);
            if (group)
            {
                json.WriteString("groupID", conversationId[3..]);
            }
            else
            {
                json.WriteString("recvID", peerUserId ?? Ids.DirectPeer(conversationId, senderId) ?? string.Empty);
            }

            json.WriteString("conversationID", conversationId);
            json.WriteString("clientMsgID", clientMsgId);
            json.WriteNumber("sessionType", group ? 3 : 1);
            json.WriteString("contentType", content.BodyCase.ToString().ToLowerInvariant());
            json.WritePropertyName("content");
            json.WriteRawValue(ContentFormatter.Format(content), skipInputValidation: true);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
