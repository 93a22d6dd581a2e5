using System.Text.Json;
using Parley.Core.Media;
using Parley.Core.Webhooks;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// The message commands every edge calls (native WebSocket, OpenIM WebSocket and REST): argument and content rules,
/// then the conversation's grain. Identity comes from the caller's session, never from the request.
/// </summary>
public sealed partial class MessagingService(
    IGrainFactory grains,
    Optional<IMediaContentResolver> media,
    Optional<MessageHooks> hooks,
    Parley.Abstractions.Messaging.IMessageStore store,
    Microsoft.Extensions.Options.IOptions<MessagingOptions> options,
    SendBacklog backlog)
{
    public const int MaxCustomTypeLength = 64;

    // A reference built per send was 1.2 % of the warm 1:1 send's CPU (issue 17).
    private readonly ConversationReferenceCache _conversations = new(grains);

    /// <summary>Sends client content to a user (the direct conversation is created on first send) or a conversation.</summary>
    /// <param name="peerUserId">The addressed user, or null when <paramref name="conversationId"/> names the conversation.</param>
    /// <param name="times">The gateway's per-hop stamps of this send (issue 17), or null.</param>
    /// <remarks>
    /// Not an async method when no before-send hook is enabled and the content is not media (every text send): the grain
    /// call's own task is the result. A pooled state machine here still allocated its box on most sends (the pool keeps one
    /// box per thread, and the send resumes on another thread than it started on): 0.43 KB per message (issue 17).
    /// </remarks>
    public ValueTask<CoreResult<MessageAck>> SendAsync(string senderId, string clientMsgId, string? peerUserId, string? conversationId, ClientContent content, string? originConnectionId, Telemetry.SendTimes? times = null)
    {
        if (CheckSend(clientMsgId, peerUserId, conversationId, content) is { } invalid)
        {
            return new(invalid);
        }

        // Counted against the node's bound of outstanding send work until the call's result (ADR 0031; a call that times
        // out stops counting then: Orleans drops its late response, so its grain's answer cannot be waited for here).
        if (!backlog.TryEnter())
        {
            return new(SendBacklog.Busy);
        }

        ValueTask<CoreResult<MessageAck>> call;
        try
        {
            if (hooks.Value is not null || (content.Parsed is { } parsed && ContentKinds.IsMedia(parsed.BodyCase)))
            {
                var target = peerUserId is not null ? Ids.DirectConversationId(senderId, peerUserId) : conversationId!;
                call = SendCheckedAsync(senderId, clientMsgId, peerUserId, target, content.ToContent()!, originConnectionId, times);
            }
            else
            {
                // A send to a user names its conversation by the pair: no id string when its reference is in the table (issue 17).
                var conversation = peerUserId is not null ? _conversations.GetDirect(senderId, peerUserId) : _conversations.Get(conversationId!);
                call = SubmitAsync(conversation, senderId, clientMsgId, peerUserId, content, originConnectionId, times);
            }
        }
        catch
        {
            backlog.Exit();
            throw;
        }

        if (call.IsCompleted)
        {
            backlog.Exit();
            return call;
        }

        return ExitWhenAnsweredAsync(call);
    }

    // The request/response send's count ends with its result (ADR 0031).
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CoreResult<MessageAck>> ExitWhenAnsweredAsync(ValueTask<CoreResult<MessageAck>> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        finally
        {
            backlog.Exit();
        }
    }

    /// <summary>
    /// Whether a send of <paramref name="content"/> may take the one-way call (<see cref="SubmitOneWay"/>, ADR 0022): the
    /// setting is on, no before-send hook is enabled and the content is not media (those await before the grain).
    /// </summary>
    public bool TakesOneWay(ClientContent content) =>
        options.Value.OneWaySend && hooks.Value is null
        && (content.Bytes.HasContent || (content.Parsed is { } parsed && !ContentKinds.IsMedia(parsed.BodyCase)));

    /// <summary>
    /// The send of <see cref="SendAsync"/> as a one-way grain call (ADR 0022; only when <see cref="TakesOneWay"/>): the
    /// outcome reaches <paramref name="route"/> through the delivery hub. Returns the refusal of the arguments or content
    /// (nothing was called: the caller answers it), or null once the call is made.
    /// </summary>
    public CoreFailure? SubmitOneWay(string senderId, string clientMsgId, string? peerUserId, string? conversationId, ClientContent content, string? originConnectionId, AckRoute route, Telemetry.SendTimes? times = null)
    {
        if (CheckSend(clientMsgId, peerUserId, conversationId, content) is { } invalid)
        {
            return invalid;
        }

        var conversation = peerUserId is not null ? _conversations.GetDirect(senderId, peerUserId) : _conversations.Get(conversationId!);

        // One-way: the returned task completes once the message is queued, never with the outcome. A call that failed to
        // leave is refused here (nothing ran); one lost later is answered by the gateway's timeout.
        ValueTask call;
        try
        {
            call = conversation.SubmitAsync(Command(senderId, clientMsgId, peerUserId, content, originConnectionId, times, route));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new CoreFailure(CoreError.Unavailable, "The send could not be submitted; retry.");
        }

        if (call.IsCompletedSuccessfully)
        {
            // Consumed, so Orleans' pooled completion source of the call goes back to its pool (its GetResult returns it):
            // left unconsumed, the pool made a new one for every send (0.08 KB per message, issue 17).
            call.GetAwaiter().GetResult();
        }
        else
        {
            var task = call.AsTask();
            if (task.IsFaulted || task.IsCanceled)
            {
                _ = task.Exception;
                return new CoreFailure(CoreError.Unavailable, "The send could not be submitted; retry.");
            }

            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        return null;
    }

    // The send's arguments and content, as both send forms refuse them before any call: null when they are valid.
    private static CoreFailure? CheckSend(string clientMsgId, string? peerUserId, string? conversationId, ClientContent content)
    {
        if (!Ids.IsValid(clientMsgId))
        {
            return Invalid("client_msg_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (peerUserId is not null ? !Ids.IsValid(peerUserId) : conversationId is null || !Ids.IsValidConversationId(conversationId))
        {
            return Invalid("target must name a valid user or conversation.");
        }

        // A text send read from its frame is valid content by construction (a non-empty text, no reply_to: ADR 0027).
        return content.Bytes.HasContent ? null : CheckContent(content.Parsed);
    }

    // The before-send hook and the media check, each of which may await; then the grain.
    private async ValueTask<CoreResult<MessageAck>> SendCheckedAsync(string senderId, string clientMsgId, string? peerUserId, string target, Content content, string? originConnectionId, Telemetry.SendTimes? times)
    {
        if (hooks.Value is { } hook)
        {
            var checkedContent = await hook.BeforeSendAsync(senderId, target, peerUserId, clientMsgId, content).ConfigureAwait(false);
            if (!checkedContent.IsOk)
            {
                return checkedContent.Failure;
            }

            content = checkedContent.Value!;
        }

        if (ContentKinds.IsMedia(content.BodyCase))
        {
            if (media.Value is not { } resolver)
            {
                return CoreResult.Fail(CoreError.Unsupported, "This server stores no media.");
            }

            var resolved = await resolver.ResolveAsync(senderId, target, clientMsgId, content).ConfigureAwait(false);
            if (!resolved.IsOk)
            {
                return resolved.Failure;
            }
        }

        return await SubmitAsync(_conversations.Get(target), senderId, clientMsgId, peerUserId, content, originConnectionId, times).ConfigureAwait(false);
    }

    private ValueTask<CoreResult<MessageAck>> SubmitAsync(IConversationGrain conversation, string senderId, string clientMsgId, string? peerUserId, ClientContent content, string? originConnectionId, Telemetry.SendTimes? times) =>
        conversation.SendAsync(Command(senderId, clientMsgId, peerUserId, content, originConnectionId, times));

    private SendCommand Command(string senderId, string clientMsgId, string? peerUserId, ClientContent content, string? originConnectionId, Telemetry.SendTimes? times, AckRoute? route = null) =>
        content.Bytes.HasContent
            ? TextCommand(senderId, clientMsgId, peerUserId, content.Bytes, originConnectionId, times, route)
            : Command(senderId, clientMsgId, peerUserId, content.Parsed!, originConnectionId, times, route);

    // A text send read from its frame (ADR 0027): the frame's content bytes are the row's, the search text is their text's
    // UTF-8 range (no string of it), the mentions as read.
    private SendCommand TextCommand(string senderId, string clientMsgId, string? peerUserId, TextContentBytes content, string? originConnectionId, Telemetry.SendTimes? times, AckRoute? route) =>
        new SendCommand(senderId, clientMsgId, peerUserId, (int)Content.BodyOneofCase.Text, content.Content, originConnectionId)
        {
            SearchTextStart = options.Value.FullTextSearch ? content.TextStart : 0,
            SearchTextLength = options.Value.FullTextSearch ? content.TextLength : 0,
            MentionUserIds = content.MentionUserIds.Length > 0 ? [.. content.MentionUserIds.Distinct(StringComparer.Ordinal)] : [],
            MentionAll = content.MentionAll,
            Times = times,
            Route = route,
        };

    private SendCommand Command(string senderId, string clientMsgId, string? peerUserId, Content content, string? originConnectionId, Telemetry.SendTimes? times, AckRoute? route) =>
        new SendCommand(senderId, clientMsgId, peerUserId, (int)content.BodyCase, Internal.ProtoMapper.Serialize(content), originConnectionId)
        {
            SearchText = options.Value.FullTextSearch ? MessageChanges.SearchText(content) ?? string.Empty : string.Empty,
            ReplyToSeq = content.ReplyTo is { } reply ? (long)Math.Min(reply.Seq, long.MaxValue) : 0,
            ReplyToServerMsgId = content.ReplyTo?.ServerMsgId ?? string.Empty,
            MentionUserIds = content.BodyCase == Content.BodyOneofCase.Text && content.Text.MentionUserIds.Count > 0
                ? [.. content.Text.MentionUserIds.Distinct(StringComparer.Ordinal)]
                : [],
            MentionAll = content.BodyCase == Content.BodyOneofCase.Text && content.Text.MentionAll,
            Times = times,
            Route = route,
        };

    /// <summary>Revokes the caller's own message; <paramref name="clientMsgId"/> defaults to one per seq (retries dedupe).</summary>
    public Task<CoreResult<MessageAck>> RevokeAsync(string userId, string conversationId, long seq, string? clientMsgId, string? originConnectionId)
    {
        if (!Ids.IsValidConversationId(conversationId) || seq <= 0)
        {
            return Refuse<MessageAck>("conversation_id and seq are required.");
        }

        clientMsgId = string.IsNullOrEmpty(clientMsgId) ? $"revoke:{seq}" : clientMsgId;
        if (!Ids.IsValid(clientMsgId))
        {
            return Refuse<MessageAck>("client_msg_id is invalid.");
        }

        return _conversations.Get(conversationId).RevokeAsync(new RevokeCommand(userId, seq, clientMsgId, originConnectionId));
    }

    /// <summary>
    /// The rules of content a client may send: non-empty text, custom content with a type and JSON, or well-formed
    /// media and location content (<see cref="MediaContentRules"/>; the stored objects are the resolver's to check).
    /// </summary>
    public static CoreFailure? CheckContent(Content? content)
    {
        switch (content?.BodyCase)
        {
            case Content.BodyOneofCase.Text:
                return content.Text.Text.Length == 0 ? Invalid("Text must not be empty.") : MediaRules(content);
            case Content.BodyOneofCase.Custom:
                var custom = content.Custom;
                if (custom.Type.Length is 0 or > MaxCustomTypeLength)
                {
                    return Invalid($"Custom content needs a type of 1..{MaxCustomTypeLength} characters.");
                }

                try
                {
                    using var _ = JsonDocument.Parse(custom.Json.Length == 0 ? "{}" : custom.Json);
                }
                catch (JsonException)
                {
                    return Invalid("Custom content must be valid JSON.");
                }

                return MediaRules(content);
            case Content.BodyOneofCase.Image or Content.BodyOneofCase.Voice or Content.BodyOneofCase.Video
                or Content.BodyOneofCase.File or Content.BodyOneofCase.Location:
                return MediaRules(content);
            default:
                return Invalid("Clients may send text, custom, media or location content only.");
        }
    }

    private static CoreFailure? MediaRules(Content content) =>
        MediaContentRules.Validate(content) is { } problem ? Invalid(problem) : null;

    private static CoreFailure Invalid(string message) => new(CoreError.InvalidArgument, message);

    private static Task<CoreResult<T>> Refuse<T>(string message) => Task.FromResult<CoreResult<T>>(Invalid(message));
}
