using System.Text.Json;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Wire;
using Parley.Gateway.Connections;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Compat.OpenIM.WebSocket;

internal sealed partial class OpenImSession
{
    private const int MaxPullConversations = 100;
    private const int MaxSeqsPerConversation = 200;
    private const int MaxPullNum = 100;
    private const int MaxListedConversations = 20_000;
    private const int MaxSubscribedUsers = 200;

    /// <summary>What the receive loop does after a request: keep reading, or close (logout).</summary>
    public enum Outcome
    {
        Continue,
        Close,
    }

    /// <summary>Answers one request on the connection's outbox. Never throws for bad input.</summary>
    public async Task<Outcome> HandleAsync(OpenImRequest request)
    {
        try
        {
            switch (request.ReqIdentifier)
            {
                case OpenImReq.SendMsg:
                    await SendMsgAsync(request).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.GetConvMaxReadSeq:
                    await ReplyAsync(request, await GetConvMaxReadSeqAsync(GetConversationsHasReadAndMaxSeqReq.Parser.ParseFrom(request.Data)).ConfigureAwait(false)).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.PullMsgBySeqList:
                    await ReplyAsync(request, await PullBySeqsAsync(GetSeqMessageReq.Parser.ParseFrom(request.Data)).ConfigureAwait(false)).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.PullMsgByRange:
                    await ReplyAsync(request, await PullByRangeAsync(PullMessageBySeqsReq.Parser.ParseFrom(request.Data)).ConfigureAwait(false)).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.GetNewestSeq:
                    await ReplyAsync(request, await GetNewestSeqAsync().ConfigureAwait(false)).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.SetBackgroundStatus:
                    Connection.Background = SetAppBackgroundStatusReq.Parser.ParseFrom(request.Data).IsBackground;
                    await ReplyAsync(request, new SetAppBackgroundStatusResp()).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.SubUserOnlineStatus:
                    await ReplyAsync(request, OnlineStatus(SubUserOnlineStatus.Parser.ParseFrom(request.Data))).ConfigureAwait(false);
                    return Outcome.Continue;
                case OpenImReq.Logout:
                    await ReplyAsync(request, null).ConfigureAwait(false);
                    return Outcome.Close;
                default:
                    await ErrorAsync(request, OpenImErrors.Args, "unsupported reqIdentifier").ConfigureAwait(false);
                    return Outcome.Continue;
            }
        }
        catch (InvalidProtocolBufferException)
        {
            await ErrorAsync(request, OpenImErrors.Args, "data is not a valid protobuf message for this reqIdentifier").ConfigureAwait(false);
            return Outcome.Continue;
        }
    }

    public Task ReplyAsync(OpenImRequest request, IMessage? data) =>
        Connection.WriteWireAsync(OpenImEnvelope.Response(request.ReqIdentifier, request.MsgIncr, request.OperationId, 0, string.Empty, data), false).AsTask();

    public Task ErrorAsync(OpenImRequest request, int errCode, string errMsg) =>
        Connection.WriteWireAsync(OpenImEnvelope.Response(request.ReqIdentifier, request.MsgIncr, request.OperationId, errCode, errMsg, null), false).AsTask();

    private async Task SendMsgAsync(OpenImRequest request)
    {
        var data = MsgData.Parser.ParseFrom(request.Data);
        string conversationId;
        string? peer = null;
        switch (data.SessionType)
        {
            case OpenImMessages.SessionSingle when Ids.IsValid(data.RecvID):
                peer = data.RecvID;
                conversationId = Ids.DirectConversationId(UserId, peer);
                break;
            case OpenImMessages.SessionGroup when Ids.IsValid(data.GroupID):
                conversationId = Ids.GroupConversationId(data.GroupID);
                break;
            default:
                await ErrorAsync(request, OpenImErrors.Args, "sessionType must be 1 with a recvID or 3 with a groupID").ConfigureAwait(false);
                return;
        }

        if (data.ContentType == OpenImMessages.Typing)
        {
            await TypingAsync(request, data, conversationId).ConfigureAwait(false);
            return;
        }

        _services.RememberProfile(UserId, data.SenderNickname, data.SenderFaceURL);
        var invalid = OpenImMessages.TryToContent(data, out var content);
        if (invalid is not null || content is null)
        {
            await ErrorAsync(request, OpenImErrors.Args, invalid ?? "invalid content").ConfigureAwait(false);
            return;
        }

        var send = new SendRequest
        {
            ClientMsgId = data.ClientMsgID,
            Target = peer is null ? new Target { ConversationId = conversationId } : new Target { UserId = peer },
            Content = content,
        };
        var result = await _services.Handler.HandleAsync(Connection, new ClientFrame { RequestId = 1, Send = send }).ConfigureAwait(false);
        if (result.BodyCase != ServerFrame.BodyOneofCase.SendAck)
        {
            var (code, message) = MapError(result, conversationId);
            await ErrorAsync(request, code, message).ConfigureAwait(false);
            return;
        }

        var ack = result.SendAck;
        await ReplyAsync(request, new SendMsgResp { ServerMsgID = ack.ServerMsgId, ClientMsgID = data.ClientMsgID, SendTime = ack.ServerTime }).ConfigureAwait(false);

        // Sender sync: OpenIM pushes the stored message back to the sending connection too; that is how the SDK learns its seq.
        var echo = OpenImMessages.ToMsgData(new Message
        {
            ConversationId = ack.ConversationId,
            Seq = ack.Seq,
            ServerMsgId = ack.ServerMsgId,
            ClientMsgId = data.ClientMsgID,
            SenderId = UserId,
            ServerTime = ack.ServerTime,
            Content = content,
        });
        echo.SenderPlatformID = data.SenderPlatformID;
        echo.SenderNickname = data.SenderNickname;
        echo.SenderFaceURL = data.SenderFaceURL;
        echo.CreateTime = data.CreateTime != 0 ? data.CreateTime : ack.ServerTime;
        Remember(ack.ConversationId, (long)ack.Seq, data.ClientMsgID);
        var push = new PushMessages();
        Add(push.Msgs, ack.ConversationId, echo);

        // With the send's operationID, as OpenIM's push carries it: the SDK then only files the seq into the message it
        // already shows instead of announcing its own message as a new one.
        await Connection.WriteWireAsync(OpenImEnvelope.Response(OpenImReq.PushMsg, string.Empty, request.OperationId, 0, string.Empty, push), false).ConfigureAwait(false);
    }

    private async Task TypingAsync(OpenImRequest request, MsgData data, string conversationId)
    {
        string? tips = null;
        try
        {
            using var document = JsonDocument.Parse(data.Content.Memory);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("msgTips", out var value) && value.ValueKind == JsonValueKind.String)
            {
                tips = value.GetString();
            }
        }
        catch (JsonException)
        {
            // Answered below.
        }

        if (tips is null)
        {
            await ErrorAsync(request, OpenImErrors.Args, "typing content must be {\"msgTips\": \"yes\"|\"no\"}").ConfigureAwait(false);
            return;
        }

        if (!AllowTyping())
        {
            // Over the native per-connection typing limit: answered, not forwarded (typing is best effort).
            await ReplyAsync(request, new SendMsgResp { ClientMsgID = data.ClientMsgID, SendTime = _services.Time.GetUtcNow().ToUnixTimeMilliseconds() }).ConfigureAwait(false);
            return;
        }

        var result = await _services.Handler.HandleAsync(Connection, new ClientFrame
        {
            RequestId = 1,
            Typing = new TypingRequest { ConversationId = conversationId, Typing = tips == "yes" },
        }).ConfigureAwait(false);
        if (result.BodyCase == ServerFrame.BodyOneofCase.Error)
        {
            var (code, message) = MapError(result, conversationId);
            await ErrorAsync(request, code, message).ConfigureAwait(false);
            return;
        }

        // Typing is not stored: no seq, no server message id.
        await ReplyAsync(request, new SendMsgResp { ClientMsgID = data.ClientMsgID, SendTime = _services.Time.GetUtcNow().ToUnixTimeMilliseconds() }).ConfigureAwait(false);
    }

    private bool AllowTyping()
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            if (now - _typingWindowStart >= 1000)
            {
                _typingWindowStart = now;
                _typingCount = 0;
            }

            return ++_typingCount <= _services.TypingPerSecond;
        }
    }

    private async Task<GetConversationsHasReadAndMaxSeqResp> GetConvMaxReadSeqAsync(GetConversationsHasReadAndMaxSeqReq request)
    {
        var response = new GetConversationsHasReadAndMaxSeqResp();
        foreach (var view in await ViewsAsync(request.ConversationIDs).ConfigureAwait(false))
        {
            response.Seqs[view.ConversationId] = new Seqs
            {
                MaxSeq = view.MaxSeq,
                HasReadSeq = Math.Min(view.ReadSeq, view.MaxSeq),
                MaxSeqTime = view.LastMessage?.ServerTime ?? view.UpdatedAt,
            };
            if (request.ReturnPinned && view.Pinned)
            {
                response.PinnedConversationIDs.Add(view.ConversationId);
            }
        }

        return response;
    }

    private async Task<GetMaxSeqResp> GetNewestSeqAsync()
    {
        var response = new GetMaxSeqResp();
        foreach (var view in await ViewsAsync([]).ConfigureAwait(false))
        {
            response.MaxSeqs[view.ConversationId] = view.MaxSeq;
        }

        return response;
    }

    /// <summary>The listed conversations the user is in, or all of them when the list is empty.</summary>
    private async Task<List<ConversationView>> ViewsAsync(IReadOnlyCollection<string> conversationIds)
    {
        var views = new List<ConversationView>();
        if (conversationIds.Count > 0)
        {
            foreach (var id in conversationIds.Distinct(StringComparer.Ordinal).Take(MaxListedConversations))
            {
                if (Ids.IsValidConversationId(id) && await _services.Store.GetConversationViewAsync(UserId, id).ConfigureAwait(false) is { } view)
                {
                    views.Add(view);
                }
            }

            return views;
        }

        const int page = 500;
        for (var offset = 0; offset < MaxListedConversations; offset += page)
        {
            var (items, total) = await _services.Store.ListConversationsAsync(UserId, offset, page).ConfigureAwait(false);
            views.AddRange(items);
            if (items.Count < page || offset + page >= total)
            {
                break;
            }
        }

        return views;
    }

    private async Task<GetSeqMessageResp> PullBySeqsAsync(GetSeqMessageReq request)
    {
        var response = new GetSeqMessageResp();
        foreach (var conversation in request.Conversations.Take(MaxPullConversations))
        {
            var id = conversation.ConversationID;
            if (response.Msgs.ContainsKey(id))
            {
                continue;
            }

            // Always answer each asked conversation (the SDK indexes the answer by it), empty when the user may not read it.
            var list = new PullMsgs();
            response.Msgs[id] = list;
            var seqs = conversation.Seqs.Where(s => s > 0).Distinct().Order().Take(MaxSeqsPerConversation).ToList();
            if (!Ids.IsValidConversationId(id) || seqs.Count == 0)
            {
                list.IsEnd = true;
                continue;
            }

            var found = await ReadSeqsAsync(id, seqs).ConfigureAwait(false);
            var ordered = request.Order == PullOrder.Desc ? Enumerable.Reverse(seqs) : seqs;
            foreach (var seq in ordered)
            {
                if (found.TryGetValue(seq, out var data))
                {
                    list.Msgs.Add(data);
                }
            }

            list.IsEnd = seqs[0] <= 1;
            list.EndSeq = seqs[0];
        }

        return response;
    }

    private async Task<PullMessageBySeqsResp> PullByRangeAsync(PullMessageBySeqsReq request)
    {
        var response = new PullMessageBySeqsResp();
        foreach (var range in request.SeqRanges.Take(MaxPullConversations))
        {
            var id = range.ConversationID;
            if (response.Msgs.ContainsKey(id))
            {
                continue;
            }

            var list = new PullMsgs { IsEnd = true };
            response.Msgs[id] = list;
            var begin = Math.Max(1, range.Begin);
            var end = range.End;
            if (!Ids.IsValidConversationId(id) || end < begin)
            {
                continue;
            }

            // OpenIM answers a range with its newest `num` messages (the reconnect gap fill shows the latest first).
            var num = range.Num is > 0 and <= MaxPullNum ? range.Num : MaxPullNum;
            var from = Math.Max(begin, end - num + 1);
            var page = await _services.Grains.GetGrain<IConversationGrain>(id)
                .GetHistoryAsync(UserId, from, ReadDirection.Forward, (int)(end - from + 1))
                .ConfigureAwait(false);
            if (page.Error != 0)
            {
                continue;
            }

            var messages = page.Messages.Where(m => m.Seq >= from && m.Seq <= end).Select(ToOpenIm).ToList();
            if (request.Order == PullOrder.Desc)
            {
                messages.Reverse();
            }

            list.Msgs.AddRange(messages);
            list.IsEnd = from <= begin;
            list.EndSeq = messages.Count == 0 ? 0 : messages.Max(m => m.Seq);
        }

        return response;
    }

    /// <summary>Reads the given seqs (ascending) through the conversation grain, which authorises the user; empty when it refuses.</summary>
    private async Task<Dictionary<long, MsgData>> ReadSeqsAsync(string conversationId, List<long> seqs)
    {
        var found = new Dictionary<long, MsgData>();
        var grain = _services.Grains.GetGrain<IConversationGrain>(conversationId);
        var i = 0;
        while (i < seqs.Count)
        {
            var start = seqs[i];
            var j = i;
            while (j + 1 < seqs.Count && seqs[j + 1] == seqs[j] + 1)
            {
                j++;
            }

            var count = j - i + 1;
            var page = await grain.GetHistoryAsync(UserId, start, ReadDirection.Forward, count).ConfigureAwait(false);
            if (page.Error != 0)
            {
                return [];
            }

            foreach (var m in page.Messages)
            {
                if (m.Seq >= start && m.Seq <= seqs[j])
                {
                    found[m.Seq] = ToOpenIm(m);
                }
            }

            i = j + 1;
        }

        return found;
    }

    /// <summary>
    /// A stored message as an OpenIM client sees it in a pull. Parley system messages without an OpenIM counterpart (the
    /// revoke marker, group events OpenIM does not show) become deleted placeholders (status 4), which the SDK skips
    /// while its seqs stay gapless.
    /// </summary>
    private MsgData ToOpenIm(MessageData stored)
    {
        var message = ProtoMapper.ToProto(stored.ToStored());
        switch (message.Content?.BodyCase)
        {
            case null or Content.BodyOneofCase.Text or Content.BodyOneofCase.Custom:
                Remember(message.ConversationId, (long)message.Seq, message.ClientMsgId);
                var data = OpenImMessages.ToMsgData(message);
                _services.FillProfile(data);
                return data;
            case Content.BodyOneofCase.Revoke:
                return Placeholder(message);
            default:
                var notification = OpenImNotifications.FromGroupContent(message);
                if (notification is null)
                {
                    return Placeholder(message);
                }

                FillFromMessage(notification, message);
                return notification;
        }
    }

    private static MsgData Placeholder(Message message)
    {
        var data = OpenImMessages.ToMsgData(message);
        data.Status = StatusDeleted;
        return data;
    }

    private SubUserOnlineStatusTips OnlineStatus(SubUserOnlineStatus request)
    {
        var tips = new SubUserOnlineStatusTips();
        foreach (var userId in request.SubscribeUserID.Distinct(StringComparer.Ordinal).Take(MaxSubscribedUsers))
        {
            var elem = new SubUserOnlineStatusElem { UserID = userId };
            foreach (var platform in _services.Registry.ConnectionsOf(userId).Select(OpenImPlatformOf).Distinct().Order())
            {
                elem.OnlinePlatformIDs.Add(platform);
            }

            tips.Subscribers.Add(elem);
        }

        return tips;
    }

    private static int OpenImPlatformOf(ClientConnection connection)
    {
        if (connection.DeviceId.StartsWith("openim-", StringComparison.Ordinal)
            && int.TryParse(connection.DeviceId.AsSpan(7), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        return connection.Platform switch
        {
            Platform.Ios => 1,
            Platform.Android => 2,
            Platform.Windows => 3,
            Platform.Macos => 4,
            Platform.MiniProgram => 6,
            Platform.Linux => 7,
            Platform.AndroidPad => 8,
            Platform.Ipad => 9,
            _ => WebPlatform,
        };
    }

    /// <summary>A native refusal as OpenIM's error code (servererrs/code.go), so the SDK reports what OpenIM would.</summary>
    internal static (int Code, string Message) MapError(ServerFrame result, string conversationId)
    {
        if (result.BodyCase != ServerFrame.BodyOneofCase.Error)
        {
            return (OpenImErrors.Internal, "unexpected result");
        }

        var group = conversationId.StartsWith("sg_", StringComparison.Ordinal);
        var message = result.Error.Message;
        var code = result.Error.Code switch
        {
            ErrorCode.BadRequest or ErrorCode.BadFrame or ErrorCode.TooLarge or ErrorCode.Unsupported or ErrorCode.ProtocolViolation or ErrorCode.RateLimited => OpenImErrors.Args,
            ErrorCode.NotMember => group ? OpenImErrors.NotInGroup : OpenImErrors.NoPermission,
            ErrorCode.GroupDismissed => OpenImErrors.GroupDismissed,
            ErrorCode.Muted => message == Parley.Core.Messaging.ConversationGrain.GroupMutedMessage ? OpenImErrors.MutedGroup : OpenImErrors.MutedInGroup,
            ErrorCode.Blocked => OpenImErrors.Blocked,
            ErrorCode.NotFriends => OpenImErrors.NotFriend,
            ErrorCode.Forbidden or ErrorCode.RevokeWindowPassed => OpenImErrors.NoPermission,
            ErrorCode.NotFound => group ? OpenImErrors.GroupNotFound : OpenImErrors.UserNotFound,
            ErrorCode.AlreadyExists or ErrorCode.Conflict => OpenImErrors.Duplicate,
            ErrorCode.Unauthenticated => OpenImErrors.TokenInvalid,
            ErrorCode.TokenExpired => OpenImErrors.TokenExpired,
            ErrorCode.TokenRevoked => OpenImErrors.TokenKicked,
            _ => OpenImErrors.Internal,
        };
        return (code, string.IsNullOrEmpty(message) ? result.Error.Code.ToString() : message);
    }
}
