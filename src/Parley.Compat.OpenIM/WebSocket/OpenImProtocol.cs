using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Wire;
using Parley.Core.Business;
using Parley.Core.Delivery;
using Parley.Core.Internal;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// The encoding half of OpenIM's long connection: the core's domain events as OpenIM pushes (2001 messages and
/// notifications, 2002 kick), each encoded once for every OpenIM connection. A committed message's content is parsed
/// once per event here (OpenIM's MsgData is a different shape), never per connection.
/// </summary>
internal sealed class OpenImProtocol(ConnectionRegistry registry, OpenImProfiles profiles, OpenImObjectUrls objectUrls, TimeProvider time, NotificationAccountIds accounts) : IWireProtocol
{
    public const int ProtocolSlot = 1;
    public const int RevokeNotification = 2101;
    public const int ConversationChangeNotification = 1300;
    public const int HasReadReceipt = 2200;
    public const int WebPlatform = 5;
    public const int StatusDeleted = 4;

    /// <summary>A notification type in OpenIM's notification range that the SDK has no handler for (the filler shows nothing).</summary>
    public const int SeqFillerContentType = 1000;
    private const int MaxReceiptSeqs = 100;

    private static readonly string[] NoStorageOptions =
        ["history", "persistent", "offlinePush", "unreadCount", "conversationUpdate", "senderSync", "senderConversationUpdate", "senderNotificationPush"];

    /// <summary>This protocol's name (<see cref="Name"/>), which the OpenIM edge's <see cref="EdgeNotice"/>s carry.</summary>
    public const string ProtocolName = "openim";

    public string Name => ProtocolName;

    /// <summary>
    /// The quoted message of a reply (QuoteElem's quoteMessage) from <paramref name="root"/>, the replied-to message as it
    /// was when the reply committed (the grain carries it in the event, so every node of a cluster encodes the same quote,
    /// with the latest revision of an edited root) or as a pull reads it now; none for a revoked root (its content is
    /// never quoted), which leaves the quote naming only the seq.
    /// </summary>
    internal Func<string, long, MsgData?>? Quoting(StoredMessage? root) =>
        root is null || root.Revoked
            ? null
            : (_, seq) => seq == root.Seq ? OpenImMessages.ToMsgData(ProtoMapper.ToProto(root), accounts, objectUrls) : null;

    /// <summary>
    /// The live push's quote: in a 1:1, or a group whose history every member may read; otherwise (a newcomer must not
    /// read what was before their join) the quote names only the seq, unless the root was read for the recipient
    /// (<paramref name="readForRecipient"/>: the replay, which reads it through the grain for the user).
    /// </summary>
    private Func<string, long, MsgData?>? QuotedIn(string conversationId, GroupRecord? group, StoredMessage? root, bool readForRecipient) =>
        readForRecipient || !conversationId.StartsWith("sg_", StringComparison.Ordinal) || group is { HistoryVisibleToNewMembers: true }
            ? Quoting(root)
            : null;

    public int Slot => ProtocolSlot;

    public bool Accepts(DeliveryEvent @event, ClientConnection recipient) => @event switch
    {
        // OpenIM tells the peer of a 1:1 chat which of its messages were read (HasReadReceipt 2200, OnRecvC2CReadReceipt);
        // the user's own other devices learn their read seq from the next 1006 / REST sync.
        ReceiptChanged r => r.UserId != recipient.UserId,
        TypingChanged t => t.UserId != recipient.UserId,
        _ => true,
    };

    public EncodedEvent Encode(DeliveryEvent @event) => Encode(@event, quoteReadByRecipient: false);

    /// <summary>As <see cref="Encode(DeliveryEvent)"/>; <paramref name="quoteReadByRecipient"/>: a reply's root was read for the one recipient (replay).</summary>
    internal EncodedEvent Encode(DeliveryEvent @event, bool quoteReadByRecipient) => @event switch
    {
        MessageRevoked r => Of(EncodeRevoke(r, accounts)),
        MembersChanged m => Of(EncodeMessage(m.Message, m.Group, m.Members, null, false)),
        MessageCommitted m => Of(EncodeMessage(m.Message, m.Group, null, m.ReplyTo, quoteReadByRecipient)),
        ReceiptChanged r => Of(EncodeReceipt(r)),
        TypingChanged t => Of(EncodeTyping(t)),
        SettingsChanged s => Of(EncodeSettings(s)),
        ProfileChanged p => EncodedEvent.Of(Push(EncodeProfileChanged(p), p.OperationId is { Length: > 0 } operationId ? operationId : NewId())),
        EdgeNotice n when n.Protocol == Name => EncodeNotice(n),
        SessionKicked => EncodedEvent.Of(Frame(OpenImEnvelope.Response(OpenImReq.KickOnlineMsg, string.Empty, NewId(), 0, string.Empty, null))),
        // Friend notifications read the change behind the event per user and connection (OpenImSession).
        RelationsChanged => EncodedEvent.PerConnection,
        // No OpenIM counterpart (directory, …): the SDK learns those over REST.
        _ => EncodedEvent.None,
    };

    // A notice the OpenIM REST edge built (OpenImRest.PushNoticeAsync), on this node or another: its PushMessages as a 2001 push.
    private static EncodedEvent EncodeNotice(EdgeNotice notice)
    {
        try
        {
            return EncodedEvent.Of(Push(PushMessages.Parser.ParseFrom(notice.Payload), notice.OperationId.Length > 0 ? notice.OperationId : NewId()));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return EncodedEvent.None;
        }
    }

    private static EncodedEvent Of(PushMessages? push) => push is null ? EncodedEvent.None : EncodedEvent.Of(Push(push, NewId()));

    /// <summary>A 2001 push frame with <paramref name="operationId"/>.</summary>
    public static WireFrame Push(PushMessages push, string operationId) =>
        Frame(OpenImEnvelope.Response(OpenImReq.PushMsg, string.Empty, operationId, 0, string.Empty, push));

    private static WireFrame Frame(byte[] bytes) => new(bytes, Text: false);

    private PushMessages? EncodeMessage(StoredMessage stored, GroupRecord? group, IReadOnlyList<MemberChange>? members, StoredMessage? replyTo, bool quoteReadByRecipient)
    {
        var message = ProtoMapper.ToProto(stored);
        var push = new PushMessages();
        switch (message.Content?.BodyCase)
        {
            case var body when OpenImMessages.IsUserContent(body):
                var data = OpenImMessages.ToMsgData(message, accounts, objectUrls, QuotedIn(message.ConversationId, group, replyTo, quoteReadByRecipient));
                profiles.Fill(data);
                Add(push.Msgs, message.ConversationId, data, accounts);
                break;
            default:
                var notification = OpenImNotifications.FromGroupContent(message, group, members);
                if (notification is null)
                {
                    // No OpenIM counterpart, but the seq is taken: the SDK must still count it.
                    Add(push.Msgs, message.ConversationId, SeqFiller(stored, accounts), accounts);
                    return push;
                }

                FillFromMessage(notification, message);
                Add(push.Msgs, message.ConversationId, notification, accounts);
                Add(push.NotificationMsgs, NotificationConversationId(message.ConversationId, accounts), notification.Clone(), accounts);
                break;
        }

        return push;
    }

    private static PushMessages EncodeRevoke(MessageRevoked revoked, NotificationAccountIds accounts)
    {
        var marker = revoked.Message;
        var conversationId = marker.ConversationId;
        var tips = new Dictionary<string, object>
        {
            ["revokerUserID"] = revoked.RevokedBy,
            ["clientMsgID"] = revoked.TargetClientMsgId,
            ["revokeTime"] = marker.ServerTime,
            ["sesstionType"] = OpenImMessages.SessionType(conversationId, accounts),
            ["seq"] = revoked.TargetSeq,
            ["conversationID"] = OpenImMessages.ToOpenIm(conversationId, accounts),
            ["isAdminRevoke"] = false,
        };
        var sessionType = OpenImMessages.SessionType(conversationId, accounts);
        var data = NewNotification(marker.SenderId, OpenImMessages.PeerOf(conversationId, marker.SenderId) ?? string.Empty, sessionType, RevokeNotification, tips, marker.ServerTime);
        data.ServerMsgID = marker.ServerMsgId;
        if (sessionType == OpenImMessages.SessionGroup)
        {
            data.GroupID = conversationId[3..];
            data.RecvID = string.Empty;
        }

        var push = new PushMessages();
        Add(push.NotificationMsgs, NotificationConversationId(conversationId, accounts), data, accounts);
        Add(push.Msgs, conversationId, SeqFiller(marker, accounts), accounts);
        return push;
    }

    /// <summary>
    /// A seq the native side consumed without an OpenIM message (a revoke marker, a group notice OpenIM does not show).
    /// SDK 0.0.14 raises its cached max seq by one per message pushed in <c>msgs</c> (not to the message's seq), so a seq
    /// that is never pushed leaves it one behind and <c>getAdvancedHistoryMessageList</c> then omits the newest message.
    /// This pushes the seq as a message that stores, counts and shows nothing (every option false, like typing): the SDK
    /// only advances its max seq; in pulls the same seq reads as a deleted placeholder.
    /// </summary>
    internal static MsgData SeqFiller(StoredMessage stored, NotificationAccountIds? accounts)
    {
        var sessionType = OpenImMessages.SessionType(stored.ConversationId, accounts);
        var data = new MsgData
        {
            SendID = stored.SenderId,
            ClientMsgID = stored.ClientMsgId.Length > 0 ? stored.ClientMsgId : stored.ServerMsgId,
            ServerMsgID = stored.ServerMsgId,
            SessionType = sessionType,
            MsgFrom = OpenImMessages.MsgFromSystem,
            // Not 2101: the revoke itself is told once, in notificationMsgs; this only carries the seq.
            ContentType = SeqFillerContentType,
            Content = OpenImMessages.Json(new Dictionary<string, string> { ["detail"] = "{}" }),
            Seq = stored.Seq,
            SendTime = stored.ServerTime,
            CreateTime = stored.ServerTime,
            Status = OpenImMessages.StatusSucceeded,
        };
        if (sessionType == OpenImMessages.SessionGroup)
        {
            data.GroupID = stored.ConversationId[3..];
        }
        else
        {
            data.RecvID = OpenImMessages.PeerOf(stored.ConversationId, stored.SenderId) ?? string.Empty;
        }

        foreach (var option in NoStorageOptions)
        {
            data.Options[option] = false;
        }

        return data;
    }

    private PushMessages? EncodeReceipt(ReceiptChanged receipt)
    {
        if (!receipt.ConversationId.StartsWith("si_", StringComparison.Ordinal) || receipt.ReadSeq <= 0 || receipt.ReadSeq <= receipt.PreviousReadSeq)
        {
            return null;
        }

        var readSeq = receipt.ReadSeq;
        var from = Math.Max(receipt.PreviousReadSeq + 1, readSeq - MaxReceiptSeqs + 1);
        var seqs = new List<long>();
        for (var s = from; s <= readSeq; s++)
        {
            seqs.Add(s);
        }

        var tips = new Dictionary<string, object>
        {
            ["markAsReadUserID"] = receipt.UserId,
            ["conversationID"] = OpenImMessages.ToOpenIm(receipt.ConversationId, accounts),
            ["seqs"] = seqs,
            ["hasReadSeq"] = readSeq,
        };
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var peer = OpenImMessages.PeerOf(receipt.ConversationId, receipt.UserId) ?? string.Empty;
        var data = NewNotification(receipt.UserId, peer, OpenImMessages.SessionType(receipt.ConversationId, accounts), HasReadReceipt, tips, now);
        var push = new PushMessages();
        Add(push.NotificationMsgs, NotificationConversationId(receipt.ConversationId, accounts), data, accounts);
        return push;
    }

    /// <summary>
    /// The user's own settings of a conversation changed (pin, mute; from any of its sessions or over REST): OpenIM's
    /// ConversationChangeNotification 1300, on which the SDK pulls <c>get_incremental_conversations</c> and raises
    /// OnConversationChanged.
    /// </summary>
    private PushMessages EncodeSettings(SettingsChanged changed)
    {
        var tips = new Dictionary<string, object> { ["userID"] = changed.UserId, ["conversationIDList"] = new[] { OpenImMessages.ToOpenIm(changed.View.ConversationId, accounts) } };
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var data = NewNotification(changed.UserId, changed.UserId, OpenImMessages.SessionSingle, ConversationChangeNotification, tips, now);
        var push = new PushMessages();
        Add(push.NotificationMsgs, "n_" + changed.UserId, data, accounts);
        return push;
    }

    /// <summary>
    /// OpenIM's UserInfoUpdatedNotification (1303, tips {userID}) in the user's <c>n_{userID}</c> conversation, as OpenIM
    /// sends it to the changed user: the SDK re-reads its own profile and raises OnSelfInfoUpdated (the session whose
    /// request made the change recognises its operationID and skips it).
    /// </summary>
    private PushMessages EncodeProfileChanged(ProfileChanged changed)
    {
        var data = NewNotification(changed.UserId, changed.UserId, OpenImMessages.SessionSingle, OpenImRest.UserInfoUpdatedNotification,
            new Dictionary<string, object?> { ["userID"] = changed.UserId }, time.GetUtcNow().ToUnixTimeMilliseconds());
        var push = new PushMessages();
        Add(push.NotificationMsgs, "n_" + changed.UserId, data, accounts);
        return push;
    }

    private PushMessages EncodeTyping(TypingChanged typing)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var id = NewId();
        var data = new MsgData
        {
            SendID = typing.UserId,
            ClientMsgID = id,
            ServerMsgID = id,
            SenderPlatformID = PlatformOf(typing.UserId),
            SessionType = OpenImMessages.SessionType(typing.ConversationId, accounts),
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
            data.RecvID = OpenImMessages.PeerOf(typing.ConversationId, typing.UserId) ?? string.Empty;
        }

        // As OpenIM sends typing: not stored, no unread count, no conversation update.
        foreach (var option in NoStorageOptions)
        {
            data.Options[option] = false;
        }

        var push = new PushMessages();
        Add(push.Msgs, typing.ConversationId, data, accounts);
        return push;
    }

    private int PlatformOf(string userId)
    {
        foreach (var c in registry.ConnectionsOf(userId))
        {
            if (c.DeviceId.StartsWith("openim-", StringComparison.Ordinal)
                && int.TryParse(c.DeviceId.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return id;
            }
        }

        return WebPlatform;
    }

    /// <summary>Adds a message under its conversation; a Parley conversation id key is written as OpenIM's id.</summary>
    internal static void Add(Google.Protobuf.Collections.MapField<string, PullMsgs> map, string key, MsgData data, NotificationAccountIds? accounts)
    {
        key = OpenImMessages.ToOpenIm(key, accounts);
        if (!map.TryGetValue(key, out var list))
        {
            list = new PullMsgs();
            map[key] = list;
        }

        list.Msgs.Add(data);
    }

    /// <summary>OpenIM keeps notifications in <c>n_{…}</c> conversations; the JS SDK only routes on the content type.</summary>
    internal static string NotificationConversationId(string conversationId, NotificationAccountIds? accounts)
    {
        conversationId = OpenImMessages.ToOpenIm(conversationId, accounts);
        return "n_" + (conversationId.Length > 3 ? conversationId[3..] : conversationId);
    }

    internal static void FillFromMessage(MsgData data, Message message)
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
}
