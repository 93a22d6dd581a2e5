using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Webhooks;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Webhooks;

/// <summary>
/// Turns what happened into after-hook events in the durable outbox (ADR 0012). Events of a commit (messages, group
/// creation) are added to the commit's own batch, so they are stored in the same transaction as the change: a crash
/// cannot keep the message and lose its event, or the other way round. Other events (presence, friends) are enqueued
/// right after the change. Registered (as <see cref="Optional{T}"/>) only when an after-hook is enabled.
/// </summary>
public sealed partial class AfterHooks
{
    private static readonly JsonFormatter ContentFormatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    private readonly WebhookOptions _options;
    private readonly IWebhookOutbox _outbox;
    private readonly TimeProvider _clock;
    private readonly WebhookSignal _signal;
    private readonly ILogger<AfterHooks> _logger;
    private readonly bool _single;
    private readonly bool _group;
    private readonly bool _createGroup;
    private readonly bool _notices;
    private readonly bool _reads;

    public AfterHooks(WebhookOptions options, IWebhookOutbox outbox, TimeProvider clock, WebhookSignal signal, ILogger<AfterHooks> logger)
    {
        _options = options;
        _outbox = outbox;
        _clock = clock;
        _signal = signal;
        _logger = logger;
        _single = options.Enabled(WebhookOptions.AfterSendSingleMsg) is not null;
        _group = options.Enabled(WebhookOptions.AfterSendGroupMsg) is not null;
        _createGroup = options.Enabled(WebhookOptions.AfterCreateGroup) is not null;
        _notices = WebhookOptions.NoticeAfterHooks.Any(h => options.Enabled(h) is not null);
        _reads = options.Enabled(WebhookOptions.AfterSingleMsgRead) is not null || options.Enabled(WebhookOptions.AfterGroupMsgRead) is not null;
    }

    /// <summary>True when an enabled hook is fed from commits (the commit pipeline then calls <see cref="AddTo"/>).</summary>
    public bool FromCommits => _single || _group || _createGroup || _notices || _reads;

    public bool IsEnabled(string hook) => _options.Enabled(hook) is not null;

    /// <summary>
    /// Adds the events of the batch's user messages and new groups to the batch itself (called by the commit writer
    /// after the batch is built, before it is written). Returns true when it added any.
    /// </summary>
    public bool AddTo(CommitBatch batch)
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var before = batch.WebhookEvents.Count;
        foreach (var message in batch.Messages)
        {
            if (!ContentKinds.IsUserContent(message.ContentKind))
            {
                if (_notices)
                {
                    AddNotice(batch, message, now);
                }

                continue;
            }

            var group = message.ConversationId.StartsWith("sg_", StringComparison.Ordinal);
            if (group ? !_group : !_single)
            {
                continue;
            }

            var hook = group ? WebhookOptions.AfterSendGroupMsg : WebhookOptions.AfterSendSingleMsg;
            batch.WebhookEvents.Add(Event(hook, now, json => WriteMessage(json, message, group)));
        }

        if (_notices)
        {
            // A super group's join or leave committed without a notice message (ADR 0017): the same hooks (noticeSeq 0).
            foreach (var notice in batch.MembershipNotices)
            {
                AddNotice(batch, notice, now);
            }
        }

        if (_createGroup)
        {
            foreach (var conversation in batch.Conversations)
            {
                if (conversation.Kind != Parley.Abstractions.Messaging.ConversationKind.Group)
                {
                    continue;
                }

                batch.WebhookEvents.Add(Event(WebhookOptions.AfterCreateGroup, now, json =>
                {
                    json.WriteString("groupID", conversation.GroupId ?? conversation.ConversationId[3..]);
                    json.WriteString("conversationID", conversation.ConversationId);
                    json.WriteString("creatorUserID", conversation.CreatorId);
                    json.WriteString("groupName", conversation.Name);
                    json.WriteNumber("createTime", conversation.CreatedAt);
                    json.WriteStartArray("memberUserIDs");
                    foreach (var member in conversation.Members)
                    {
                        json.WriteStringValue(member);
                    }

                    json.WriteEndArray();
                }));
            }
        }

        if (_reads)
        {
            foreach (var read in batch.ReadCursors)
            {
                var group = read.ConversationId.StartsWith("sg_", StringComparison.Ordinal);
                var hook = group ? WebhookOptions.AfterGroupMsgRead : WebhookOptions.AfterSingleMsgRead;
                if (_options.Enabled(hook) is null)
                {
                    continue;
                }

                batch.WebhookEvents.Add(Event(hook, now, json =>
                {
                    json.WriteString("userID", read.UserId);
                    WriteConversation(json, read.ConversationId, read.UserId);
                    json.WriteNumber("hasReadSeq", read.ReadSeq);
                }));
            }
        }

        return batch.WebhookEvents.Count > before;
    }

    // A group notice or a revoke marker of the batch, as the enabled after-hook of its kind (OpenIM's shapes, plus the
    // conversation and the notice's seq so a receiver can order them).
    private void AddNotice(CommitBatch batch, StoredMessage message, long now)
    {
        var kind = (Content.BodyOneofCase)message.ContentKind;
        var hook = kind switch
        {
            Content.BodyOneofCase.Revoke => WebhookOptions.AfterRevokeMsg,
            Content.BodyOneofCase.MembersAdded => WebhookOptions.AfterJoinGroup,
            Content.BodyOneofCase.MembersRemoved => null, // quit or kick: decided below
            Content.BodyOneofCase.GroupInfoChanged => WebhookOptions.AfterSetGroupInfo,
            Content.BodyOneofCase.GroupDismissed => WebhookOptions.AfterDismissGroup,
            Content.BodyOneofCase.OwnerTransferred => WebhookOptions.AfterTransferGroupOwner,
            _ => string.Empty,
        };
        if (hook is { Length: 0 })
        {
            return;
        }

        var content = Content.Parser.ParseFrom(message.Content);
        hook ??= content.MembersRemoved.Quit ? WebhookOptions.AfterQuitGroup : WebhookOptions.AfterKickGroupMember;
        if (_options.Enabled(hook) is null)
        {
            return;
        }

        batch.WebhookEvents.Add(Event(hook, now, json =>
        {
            switch (content.BodyCase)
            {
                case Content.BodyOneofCase.Revoke:
                    json.WriteString("userID", content.Revoke.RevokedBy);
                    WriteConversation(json, message.ConversationId, content.Revoke.RevokedBy);
                    json.WriteNumber("seq", content.Revoke.Seq);
                    json.WriteString("serverMsgID", content.Revoke.ServerMsgId);
                    break;
                case Content.BodyOneofCase.MembersAdded:
                    var added = content.MembersAdded;
                    json.WriteString("groupID", added.GroupId);
                    json.WriteString("operatorUserID", added.OperatorId);
                    json.WriteString("inviterUserID", added.InviterId);
                    // OpenIM's join sources: 2 invited, 3 joined by themselves (a free join or an approved request).
                    json.WriteNumber("joinSource", added.InviterId.Length == 0 || (added.UserIds.Count == 1 && added.UserIds[0] == added.OperatorId) ? 3 : 2);
                    WriteUsers(json, "userIDs", Everyone(batch, message, added.UserIds, added.Count, active: true));
                    json.WriteNumber("count", added.Count > 0 ? added.Count : added.UserIds.Count);
                    break;
                case Content.BodyOneofCase.MembersRemoved:
                    var removed = content.MembersRemoved;
                    json.WriteString("groupID", removed.GroupId);
                    if (removed.Quit)
                    {
                        json.WriteString("userID", removed.UserIds.FirstOrDefault() ?? removed.OperatorId);
                    }
                    else
                    {
                        json.WriteString("operatorUserID", removed.OperatorId);
                        WriteUsers(json, "kickedUserIDs", Everyone(batch, message, removed.UserIds, removed.Count, active: false));
                        json.WriteString("reason", removed.Reason);
                        json.WriteNumber("count", removed.Count > 0 ? removed.Count : removed.UserIds.Count);
                    }

                    break;
                case Content.BodyOneofCase.GroupInfoChanged:
                    var info = content.GroupInfoChanged;
                    json.WriteString("groupID", info.GroupId);
                    json.WriteString("operatorUserID", info.OperatorId);
                    var changed = info.Changed ?? new GroupSettings();
                    if (changed.HasName)
                    {
                        json.WriteString("groupName", changed.Name);
                    }

                    if (changed.HasAnnouncement)
                    {
                        json.WriteString("notification", changed.Announcement);
                    }

                    if (changed.HasIntroduction)
                    {
                        json.WriteString("introduction", changed.Introduction);
                    }

                    if (changed.HasAvatarUrl)
                    {
                        json.WriteString("faceURL", changed.AvatarUrl);
                    }

                    if (changed.HasEx)
                    {
                        json.WriteString("ex", changed.Ex);
                    }

                    if (changed.HasMuteAll)
                    {
                        json.WriteBoolean("muteAll", changed.MuteAll);
                    }

                    break;
                case Content.BodyOneofCase.GroupDismissed:
                    json.WriteString("groupID", content.GroupDismissed.GroupId);
                    json.WriteString("ownerID", content.GroupDismissed.OperatorId);
                    json.WriteString("groupType", "2");
                    break;
                case Content.BodyOneofCase.OwnerTransferred:
                    json.WriteString("groupID", content.OwnerTransferred.GroupId);
                    json.WriteString("oldOwnerUserID", content.OwnerTransferred.OldOwnerId);
                    json.WriteString("newOwnerUserID", content.OwnerTransferred.NewOwnerId);
                    break;
            }

            if (content.BodyCase != Content.BodyOneofCase.Revoke)
            {
                json.WriteString("conversationID", message.ConversationId);
            }

            json.WriteNumber("noticeSeq", message.Seq);
            json.WriteNumber("sendTime", message.ServerTime);
        }));
    }

    private static void WriteConversation(Utf8JsonWriter json, string conversationId, string userId)
    {
        json.WriteString("conversationID", conversationId);
        if (conversationId.StartsWith("sg_", StringComparison.Ordinal))
        {
            json.WriteString("groupID", conversationId[3..]);
            json.WriteNumber("sessionType", 3);
        }
        else
        {
            json.WriteString("recvID", Ids.DirectPeer(conversationId, userId) ?? string.Empty);
            json.WriteNumber("sessionType", 1);
        }
    }

    /// <summary>
    /// The users a membership notice is about. A super group's bulk chunk (ADR 0017) names only its first few users in the
    /// notice (with the whole count); the commit's member rows name every one, so the after-hook lists them all.
    /// </summary>
    private static IEnumerable<string> Everyone(CommitBatch batch, StoredMessage notice, IReadOnlyCollection<string> named, uint count, bool active)
    {
        if (count <= named.Count)
        {
            return named;
        }

        var rows = batch.MemberChanges
            .Where(c => c.Version == notice.Version && c.Active == active && c.ConversationId == notice.ConversationId)
            .Select(c => c.UserId)
            .ToList();
        return rows.Count >= named.Count ? rows : named;
    }

    private static void WriteUsers(Utf8JsonWriter json, string name, IEnumerable<string> userIds)
    {
        json.WriteStartArray(name);
        foreach (var userId in userIds)
        {
            json.WriteStringValue(userId);
        }

        json.WriteEndArray();
    }

    /// <summary>Wakes this node's dispatcher (new events were committed).</summary>
    public void Committed() => _signal.Notify();

    /// <summary>
    /// Stores one event of an enabled hook (nothing when it is not enabled) and wakes the dispatcher. A failure to store
    /// is logged, never thrown: the change it reports already happened.
    /// </summary>
    public async Task EnqueueAsync(string hook, Action<Utf8JsonWriter> fill)
    {
        if (_options.Enabled(hook) is null)
        {
            return;
        }

        var @event = Event(hook, _clock.GetUtcNow().ToUnixTimeMilliseconds(), fill);
        try
        {
            await _outbox.EnqueueAsync([@event]).ConfigureAwait(false);
            _signal.Notify();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogEnqueueFailed(_logger, ex, hook, @event.EventId);
        }
    }

    private static WebhookEvent Event(string hook, long now, Action<Utf8JsonWriter> fill)
    {
        var eventId = Guid.CreateVersion7().ToString("N");
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("callbackCommand", hook);
            json.WriteString("eventId", eventId);
            json.WriteNumber("eventTime", now);
            fill(json);
            json.WriteEndObject();
        }

        return WebhookEvent.New(eventId, hook, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length), now);
    }

    private static void WriteMessage(Utf8JsonWriter json, StoredMessage message, bool group)
    {
        json.WriteString("sendID", message.SenderId);
        if (group)
        {
            json.WriteString("groupID", message.ConversationId[3..]);
        }
        else
        {
            json.WriteString("recvID", Ids.DirectPeer(message.ConversationId, message.SenderId) ?? string.Empty);
        }

        json.WriteString("conversationID", message.ConversationId);
        json.WriteString("serverMsgID", message.ServerMsgId);
        json.WriteString("clientMsgID", message.ClientMsgId);
        json.WriteNumber("seq", message.Seq);
        json.WriteNumber("sendTime", message.ServerTime);
        json.WriteNumber("sessionType", group ? 3 : 1);
        json.WriteString("contentType", ((Content.BodyOneofCase)message.ContentKind).ToString().ToLowerInvariant());
        json.WritePropertyName("content");
        json.WriteRawValue(ContentFormatter.Format(Content.Parser.ParseFrom(message.Content)), skipInputValidation: true);
    }

    [LoggerMessage(EventId = 5303, Level = LogLevel.Error, Message = "Webhook {Hook} event {EventId} could not be stored in the outbox")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string hook, string eventId);
}

/// <summary>Wakes the outbox dispatcher when this node stored new events or finished a delivery (else it polls).</summary>
public sealed class WebhookSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    /// <summary>Waits for a signal or the timeout.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}
