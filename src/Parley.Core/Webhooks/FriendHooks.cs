using System.Text.Json;

namespace Parley.Core.Webhooks;

/// <summary>
/// The <c>beforeAddFriend</c> hook: the receiver allows a friend request or refuses it with a reason the requester gets
/// (FORBIDDEN), before anything is stored. Registered (as <see cref="Optional{T}"/>) only when the hook is enabled.
/// </summary>
public sealed class FriendHooks(WebhookClient client)
{
    /// <summary>Null when the request may go on; otherwise the refusal (FORBIDDEN, or UNAVAILABLE when a fail-closed call failed).</summary>
    public async Task<CoreFailure?> BeforeAddFriendAsync(string fromUserId, string toUserId, string message)
    {
        const string Hook = WebhookOptions.BeforeAddFriend;
        if (client.Options.Enabled(Hook) is not { } options)
        {
            return null;
        }

        var eventId = Guid.CreateVersion7().ToString("N");
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("callbackCommand", Hook);
            json.WriteString("eventId", eventId);
            json.WriteString("fromUserID", fromUserId);
            json.WriteString("toUserID", toUserId);
            json.WriteString("reqMsg", message);
            json.WriteEndObject();
        }

        var answer = await client.CallAsync(Hook, options, eventId, buffer.ToArray()).ConfigureAwait(false);
        using var document = answer.Body;
        if (document is null)
        {
            client.Count(Hook, options.FailOpen ? "failed_open" : "failed_closed");
            return options.FailOpen ? null : CoreResult.Fail(CoreError.Unavailable, "The server's friend request check did not answer; try again later.");
        }

        var root = document.RootElement;
        if (MessageHooks.Code(root, "errCode") != 0 || MessageHooks.Code(root, "actionCode") != 0)
        {
            client.Count(Hook, "rejected");
            WebhookClient.WebhookRejected(client.Logger, Hook, eventId);
            return CoreResult.Fail(CoreError.Forbidden, MessageHooks.Reason(root));
        }

        client.Count(Hook, "allowed");
        return null;
    }
}
