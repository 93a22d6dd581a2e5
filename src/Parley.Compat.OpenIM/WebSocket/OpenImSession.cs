using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Parley.Compat.OpenIM.Wire;
using Parley.Gateway.Connections;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// One OpenIM connection: translates the native events the registry fans out into OpenIM pushes (2001 messages and
/// notifications, 2002 kick) on the connection's send loop, and answers the client's requests
/// (<see cref="OpenImSession"/>.Requests.cs).
/// </summary>
internal sealed partial class OpenImSession : IWireAdapter
{
    private const int RememberedMessages = 4096;
    private const int MaxReceiptSeqs = 100;

    private readonly OpenImServices _services;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Conversation, long Seq), string> _clientMsgIds = [];
    private readonly Queue<(string Conversation, long Seq)> _clientMsgIdOrder = new();
    private readonly Dictionary<string, long> _peerReadSeqs = new(StringComparer.Ordinal);
    private readonly RelationCursor _relationCursor = new();
    private Task _relationChain = Task.CompletedTask;
    private long _typingWindowStart;
    private int _typingCount;
    private ClientConnection? _connection;

    public OpenImSession(OpenImServices services, string userId, int platformId, string operationId)
    {
        _services = services;
        UserId = userId;
        PlatformId = platformId;
        OperationId = operationId;
    }

    public string UserId { get; }

    public int PlatformId { get; }

    /// <summary>The operationID of the connect; pushes carry it like OpenIM's gateway does.</summary>
    public string OperationId { get; }

    public ClientConnection Connection => _connection ?? throw new InvalidOperationException("The session has no connection yet.");

    public void Attach(ClientConnection connection) => _connection = connection;

    /// <summary>Called on the connection's send loop for every native event and for the last frame before a close.</summary>
    public void Translate(ReadOnlySpan<byte> nativeFrame, List<WireFrame> output)
    {
        var frame = ServerFrame.Parser.ParseFrom(nativeFrame);
        switch (frame.BodyCase)
        {
            case ServerFrame.BodyOneofCase.Message:
                TranslateMessage(frame.Message, output);
                break;
            case ServerFrame.BodyOneofCase.Receipt:
                TranslateReceipt(frame.Receipt, output);
                break;
            case ServerFrame.BodyOneofCase.Typing:
                TranslateTyping(frame.Typing, output);
                break;
            case ServerFrame.BodyOneofCase.Kick:
                output.Add(new WireFrame(OpenImEnvelope.Response(OpenImReq.KickOnlineMsg, string.Empty, OperationId, 0, string.Empty, null), false));
                break;
            case ServerFrame.BodyOneofCase.RelationsChanged:
                QueueRelationNotifications(frame.RelationsChanged.Version);
                break;
            case ServerFrame.BodyOneofCase.ConversationUpdated:
                TranslateConversationUpdated(frame.ConversationUpdated, output);
                break;
            default:
                // No OpenIM counterpart (directory, …): the SDK learns those over REST.
                break;
        }
    }

    private void TranslateMessage(Message message, List<WireFrame> output)
    {
        var push = new PushMessages();
        var conversationId = message.ConversationId;
        switch (message.Content?.BodyCase)
        {
            case Content.BodyOneofCase.Revoke:
                var revoke = message.Content.Revoke;
                var tips = new Dictionary<string, object>
                {
                    ["revokerUserID"] = string.IsNullOrEmpty(revoke.RevokedBy) ? message.SenderId : revoke.RevokedBy,
                    ["clientMsgID"] = RecallClientMsgId(conversationId, (long)revoke.Seq) ?? string.Empty,
                    ["revokeTime"] = message.ServerTime,
                    ["sesstionType"] = OpenImMessages.SessionType(conversationId),
                    ["seq"] = (long)revoke.Seq,
                    ["conversationID"] = conversationId,
                    ["isAdminRevoke"] = false,
                };
                Add(push.NotificationMsgs, NotificationConversationId(conversationId), Notification(message, RevokeNotification, tips));
                break;
            case Content.BodyOneofCase.Text or Content.BodyOneofCase.Custom or null:
                var data = OpenImMessages.ToMsgData(message);
                _services.FillProfile(data);
                Remember(conversationId, (long)message.Seq, message.ClientMsgId);
                Add(push.Msgs, conversationId, data);
                break;
            default:
                var notification = OpenImNotifications.FromGroupContent(message);
                if (notification is null)
                {
                    return;
                }

                FillFromMessage(notification, message);
                Add(push.Msgs, conversationId, notification);
                Add(push.NotificationMsgs, NotificationConversationId(conversationId), notification.Clone());
                break;
        }

        output.Add(Push(push));
    }

    private void TranslateReceipt(ReceiptEvent receipt, List<WireFrame> output)
    {
        // OpenIM tells the peer of a 1:1 chat which of its messages were read (HasReadReceipt 2200, OnRecvC2CReadReceipt);
        // the user's own other devices learn their read seq from the next 1006 / REST sync.
        if (receipt.UserId == UserId || !receipt.ConversationId.StartsWith("si_", StringComparison.Ordinal) || receipt.ReadSeq == 0)
        {
            return;
        }

        var readSeq = (long)receipt.ReadSeq;
        long previous;
        lock (_lock)
        {
            previous = _peerReadSeqs.GetValueOrDefault(receipt.ConversationId, readSeq - 1);
            _peerReadSeqs[receipt.ConversationId] = Math.Max(previous, readSeq);
        }

        if (readSeq <= previous)
        {
            return;
        }

        var from = Math.Max(previous + 1, readSeq - MaxReceiptSeqs + 1);
        var seqs = new List<long>();
        for (var s = from; s <= readSeq; s++)
        {
            seqs.Add(s);
        }

        var tips = new Dictionary<string, object>
        {
            ["markAsReadUserID"] = receipt.UserId,
            ["conversationID"] = receipt.ConversationId,
            ["seqs"] = seqs,
            ["hasReadSeq"] = readSeq,
        };
        var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var data = NewNotification(receipt.UserId, UserId, OpenImMessages.SessionSingle, HasReadReceipt, tips, now);
        var push = new PushMessages();
        Add(push.NotificationMsgs, NotificationConversationId(receipt.ConversationId), data);
        output.Add(Push(push));
    }

    /// <summary>
    /// The user's own settings of a conversation changed (pin, mute; from any of its sessions or over REST): OpenIM's
    /// ConversationChangeNotification 1300, on which the SDK pulls <c>get_incremental_conversations</c> and raises
    /// OnConversationChanged.
    /// </summary>
    private void TranslateConversationUpdated(ConversationUpdatedEvent updated, List<WireFrame> output)
    {
        var conversationId = updated.Conversation?.ConversationId;
        if (string.IsNullOrEmpty(conversationId))
        {
            return;
        }

        var tips = new Dictionary<string, object> { ["userID"] = UserId, ["conversationIDList"] = new[] { conversationId } };
        var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var data = NewNotification(UserId, UserId, OpenImMessages.SessionSingle, ConversationChangeNotification, tips, now);
        var push = new PushMessages();
        Add(push.NotificationMsgs, "n_" + UserId, data);
        output.Add(Push(push));
    }

    private void TranslateTyping(TypingEvent typing, List<WireFrame> output)
    {
        if (typing.UserId == UserId)
        {
            return;
        }

        var now = _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var id = NewId();
        var data = new MsgData
        {
            SendID = typing.UserId,
            ClientMsgID = id,
            ServerMsgID = id,
            SenderPlatformID = PlatformOf(typing.UserId),
            SessionType = OpenImMessages.SessionType(typing.ConversationId),
            MsgFrom = OpenImMessages.MsgFromUser,
            ContentType = OpenImMessages.Typing,
            Content = OpenImMessages.Json(new Dictionary<string, string> { ["msgTips"] = typing.Typing ? "yes" : "no" }),
            SendTime = now,
            CreateTime = now,
            Status = OpenImMessages.StatusSucceeded,
        };
        if (data.SessionType == OpenImMessages.SessionGroup)
        {
            data.GroupID = typing.ConversationId[3..];
        }
        else
        {
            data.RecvID = UserId;
        }

        // As OpenIM sends typing: not stored, no unread count, no conversation update.
        foreach (var option in NoStorageOptions)
        {
            data.Options[option] = false;
        }

        var push = new PushMessages();
        Add(push.Msgs, typing.ConversationId, data);
        output.Add(Push(push));
    }

    /// <summary>Friend notifications need a read of the relation change; they follow on the outbox once read, in order.</summary>
    private void QueueRelationNotifications(ulong version)
    {
        var notifier = _services.RelationNotifier;
        if (notifier is null || _connection is null)
        {
            return;
        }

        lock (_lock)
        {
            _relationChain = _relationChain.ContinueWith(
                _ => SendRelationNotificationsAsync(notifier, version),
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default).Unwrap();
        }
    }

    private async Task SendRelationNotificationsAsync(OpenImRelationNotifier notifier, ulong version)
    {
        try
        {
            var push = await notifier.OnRelationsChangedAsync(UserId, version, _relationCursor).ConfigureAwait(false);
            if (push is not null && _connection is { IsClosing: false } connection)
            {
                await connection.WriteWireAsync(OpenImEnvelope.Response(OpenImReq.PushMsg, string.Empty, OperationId, 0, string.Empty, push), false).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            OpenImLog.RelationNotificationFailed(_services.Logger, ex, _connection?.Id ?? string.Empty);
        }
    }

    private int PlatformOf(string userId)
    {
        foreach (var c in _services.Registry.ConnectionsOf(userId))
        {
            if (c.DeviceId.StartsWith("openim-", StringComparison.Ordinal)
                && int.TryParse(c.DeviceId.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return id;
            }
        }

        return WebPlatform;
    }

    private WireFrame Push(PushMessages push) =>
        new(OpenImEnvelope.Response(OpenImReq.PushMsg, string.Empty, OperationId, 0, string.Empty, push), false);

    internal void Remember(string conversationId, long seq, string clientMsgId)
    {
        if (seq <= 0 || string.IsNullOrEmpty(clientMsgId))
        {
            return;
        }

        lock (_lock)
        {
            if (_clientMsgIds.TryAdd((conversationId, seq), clientMsgId))
            {
                _clientMsgIdOrder.Enqueue((conversationId, seq));
                if (_clientMsgIdOrder.Count > RememberedMessages)
                {
                    _clientMsgIds.Remove(_clientMsgIdOrder.Dequeue());
                }
            }
        }
    }

    private string? RecallClientMsgId(string conversationId, long seq)
    {
        lock (_lock)
        {
            return _clientMsgIds.GetValueOrDefault((conversationId, seq));
        }
    }

    private static void Add(Google.Protobuf.Collections.MapField<string, PullMsgs> map, string key, MsgData data)
    {
        if (!map.TryGetValue(key, out var list))
        {
            list = new PullMsgs();
            map[key] = list;
        }

        list.Msgs.Add(data);
    }

    /// <summary>OpenIM keeps notifications in <c>n_{…}</c> conversations; the JS SDK only routes on the content type.</summary>
    internal static string NotificationConversationId(string conversationId) =>
        "n_" + (conversationId.Length > 3 ? conversationId[3..] : conversationId);

    private static void FillFromMessage(MsgData data, Message message)
    {
        data.Seq = (long)message.Seq;
        if (data.SendTime == 0)
        {
            data.SendTime = message.ServerTime;
        }

        if (data.CreateTime == 0)
        {
            data.CreateTime = message.ServerTime;
        }

        if (string.IsNullOrEmpty(data.ServerMsgID))
        {
            data.ServerMsgID = message.ServerMsgId;
        }

        if (string.IsNullOrEmpty(data.ClientMsgID))
        {
            data.ClientMsgID = message.ClientMsgId.Length > 0 ? message.ClientMsgId : message.ServerMsgId;
        }

        if (data.Status == 0)
        {
            data.Status = OpenImMessages.StatusSucceeded;
        }
    }

    private MsgData Notification(Message message, int contentType, object tips)
    {
        var data = NewNotification(message.SenderId, UserId, OpenImMessages.SessionType(message.ConversationId), contentType, tips, message.ServerTime);
        data.ServerMsgID = message.ServerMsgId;
        if (data.SessionType == OpenImMessages.SessionGroup)
        {
            data.GroupID = message.ConversationId[3..];
        }

        return data;
    }

    internal static MsgData NewNotification(string sendId, string recvId, int sessionType, int contentType, object tips, long time)
    {
        var id = NewId();
        return new MsgData
        {
            SendID = sendId,
            RecvID = recvId,
            ClientMsgID = id,
            ServerMsgID = id,
            SessionType = sessionType,
            MsgFrom = OpenImMessages.MsgFromSystem,
            ContentType = contentType,
            Content = OpenImMessages.Json(new Dictionary<string, string> { ["detail"] = JsonSerializer.Serialize(tips) }),
            SendTime = time,
            CreateTime = time,
            Status = OpenImMessages.StatusSucceeded,
        };
    }

    internal static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public const int RevokeNotification = 2101;
    public const int ConversationChangeNotification = 1300;
    public const int HasReadReceipt = 2200;
    public const int WebPlatform = 5;
    public const int StatusDeleted = 4;

    private static readonly string[] NoStorageOptions =
        ["history", "persistent", "offlinePush", "unreadCount", "conversationUpdate", "senderSync", "senderConversationUpdate", "senderNotificationPush"];
}
