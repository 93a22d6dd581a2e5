using System.Text.Json;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Wire;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Core.Delivery;
using Parley.Core.Internal;
using Parley.Core.Limits;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Core;

namespace Parley.Compat.OpenIM.WebSocket;

internal sealed partial class OpenImSession
{
    private const int MaxPullConversations = 100;
    private const int MaxSeqsPerConversation = 200;
    private const int MaxPullNum = 100;
    private const int MaxListedConversations = 20_000;
    private const int MaxSubscribedUsers = OpenImPresence.MaxSubscriptionsPerSession;

    private long _openVersion;
    private bool _loggedOut;

    public int MaxFrameBytes => OpenImWebSocketEndpoint.MaxFrameBytes;

    /// <summary>
    /// After the handshake result: when this platform's previous connection dropped within <see cref="OpenImResume.Window"/>,
    /// what it was not sent is pushed now as 2001 in seq order (SDK 0.0.14's own gap fill throws), and live events held
    /// meanwhile follow without those already replayed. Otherwise live events flow at once (a fresh login syncs itself
    /// with 1006 and pulls).
    /// </summary>
    public async Task<long> OpenAsync()
    {
        if (_handshakeResult)
        {
            await Connection.WriteWireAsync(OpenImEnvelope.HandshakeResult(0, string.Empty), true).ConfigureAwait(false);
        }

        if (await _services.Resume.TakeAsync(UserId, PlatformId).ConfigureAwait(false) is not { } since)
        {
            _openVersion = await _services.Store.GetSyncVersionAsync().ConfigureAwait(false);
            return 0;
        }

        // Should this connection drop during the replay, its successor starts from the same position again.
        _openVersion = since;
        var snapshot = await _services.Store.GetChangesAsync(UserId, since, OpenImResume.MaxMessagesPerConversation).ConfigureAwait(false);
        foreach (var change in snapshot.Changes)
        {
            var messages = change.Messages.OrderBy(m => m.Seq).ToList();
            var roots = await QuotedRootsAsync(change.Conversation.ConversationId, messages.Select(m => m.ReplyToSeq)).ConfigureAwait(false);
            foreach (var message in messages)
            {
                // Encoded as the live push of the same commit would be (text and media, notices, seq fillers), with the
                // quoted message of a reply as this user may read it now.
                var replayed = new MessageCommitted(message) { ReplyTo = roots.GetValueOrDefault(message.ReplyToSeq)?.ToStored() };
                if (_services.Protocol.Encode(replayed, quoteReadByRecipient: true).Frame is { } frame)
                {
                    await Connection.WriteWireAsync(frame.Bytes, frame.Text, replayed).ConfigureAwait(false);
                }
            }
        }

        _openVersion = Math.Max(snapshot.Version, since);
        return _openVersion;
    }

    /// <summary>
    /// The connection ended: unless it logged out, was kicked or was closed by the client (the next login is a fresh one,
    /// which syncs itself), remember how far it was sent for the platform's next connection, on whichever node it lands.
    /// </summary>
    public Task SaveResumePositionAsync(bool clientClosed)
    {
        var code = _connection?.CloseCode;
        var position = Math.Max(_openVersion, _connection?.LastSentVersion ?? 0);
        if (_loggedOut || clientClosed || code is Parley.Protocol.CloseCodes.Kicked or Parley.Protocol.CloseCodes.TokenInvalid || position == 0)
        {
            return _services.Resume.ForgetAsync(UserId, PlatformId, _openVersion);
        }

        return _services.Resume.SaveAsync(UserId, PlatformId, position, _openVersion);
    }

    /// <summary>
    /// The messages that <paramref name="seqs"/> (reply roots; 0 = none) name in <paramref name="conversationId"/>, read
    /// through the conversation grain for this user (so only what the user may see: a newcomer never gets a quote of what
    /// was before their join), current as of now (an edit shows its latest revision, a revoked one is flagged).
    /// </summary>
    private async Task<Dictionary<long, MessageData>> QuotedRootsAsync(string conversationId, IEnumerable<long> seqs, IReadOnlyList<MessageData>? page = null)
    {
        var roots = new Dictionary<long, MessageData>();
        foreach (var seq in seqs.Where(s => s > 0).Distinct().Order())
        {
            if (page?.FirstOrDefault(m => m.Seq == seq) is { } inPage)
            {
                // Read for this user in the same page: no second read.
                roots[seq] = inPage;
                continue;
            }

            var read = await _services.Grains.Conversation(conversationId).GetHistoryAsync(UserId, seq, ReadDirection.Forward, 1).ConfigureAwait(false);
            if (read.IsOk && read.Value!.Messages.FirstOrDefault(m => m.Seq == seq) is { } root)
            {
                roots[seq] = root;
            }
        }

        return roots;
    }

    public Decoded<OpenImRequest> Decode(ReadOnlySpan<byte> frame, bool text)
    {
        if (text)
        {
            switch (OpenImEnvelope.TextType(frame))
            {
                case "ping":
                    return Decoded<OpenImRequest>.Answer(PongFrame);
                case "pong":
                    return Decoded<OpenImRequest>.Ignore();
                default:
                    return Malformed("text frames carry only {\"type\":\"ping\"}");
            }
        }

        var request = OpenImEnvelope.TryParse(frame, out var error);
        if (request is null)
        {
            return Malformed(error ?? "malformed frame");
        }

        if (request.SendId != UserId)
        {
            // As OpenIM: a frame on behalf of someone else ends the connection.
            return Decoded<OpenImRequest>.Violation("sendID mismatch");
        }

        if (request.ReqIdentifier == OpenImReq.SendMsg)
        {
            try
            {
                var data = MsgData.Parser.ParseFrom(request.Data);
                request = request with { Message = data };
                if (data.ContentType == OpenImMessages.Typing)
                {
                    return Decoded<OpenImRequest>.Typing(request);
                }
            }
            catch (InvalidProtocolBufferException)
            {
                // Answered by HandleAsync with errCode 1001.
            }
        }

        return Decoded<OpenImRequest>.Dispatch(request);
    }

    /// <summary>Answers one request on the connection's outbox. Never throws for bad input.</summary>
    public async ValueTask<RequestOutcome> HandleAsync(OpenImRequest request, long receivedAt)
    {
        try
        {
            switch (request.ReqIdentifier)
            {
                case OpenImReq.SendMsg:
                    await SendMsgAsync(request, request.Message ?? MsgData.Parser.ParseFrom(request.Data)).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.GetConvMaxReadSeq:
                    var maxReadSeqRequest = GetConversationsHasReadAndMaxSeqReq.Parser.ParseFrom(request.Data);
                    await AnswerBeforeLaterPushesAsync(request, () => GetConvMaxReadSeqAsync(maxReadSeqRequest)).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.PullMsgBySeqList:
                    await ReplyAsync(request, await PullBySeqsAsync(GetSeqMessageReq.Parser.ParseFrom(request.Data)).ConfigureAwait(false)).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.PullMsgByRange:
                    await ReplyAsync(request, await PullByRangeAsync(PullMessageBySeqsReq.Parser.ParseFrom(request.Data)).ConfigureAwait(false)).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.GetNewestSeq:
                    await AnswerBeforeLaterPushesAsync(request, GetNewestSeqAsync).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.SetBackgroundStatus:
                    Connection.Background = SetAppBackgroundStatusReq.Parser.ParseFrom(request.Data).IsBackground;
                    await ReplyAsync(request, new SetAppBackgroundStatusResp()).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.SubUserOnlineStatus:
                    var subscription = SubUserOnlineStatus.Parser.ParseFrom(request.Data);
                    var tips = _services.Presence.Update(this, subscription.SubscribeUserID.Take(MaxSubscribedUsers), subscription.UnsubscribeUserID);
                    await (tips is null
                        ? ErrorAsync(request, OpenImErrors.Args, $"at most {OpenImPresence.MaxSubscriptionsPerSession} users may be subscribed per connection")
                        : ReplyAsync(request, tips)).ConfigureAwait(false);
                    return RequestOutcome.Continue;
                case OpenImReq.Logout:
                    _loggedOut = true;
                    // The answer is the connection's last frame: the SDK clears its state on it, and a push after it
                    // (a message, a notification) would reach a cleared SDK (its get_conversations then fails).
                    Connection.Close(
                        (int)System.Net.WebSockets.WebSocketCloseStatus.NormalClosure,
                        "logout",
                        new WireFrame(OpenImEnvelope.Response(request.ReqIdentifier, request.MsgIncr, request.OperationId, 0, string.Empty, null), Text: false));
                    return RequestOutcome.Close;
                default:
                    await ErrorAsync(request, OpenImErrors.Args, "unsupported reqIdentifier").ConfigureAwait(false);
                    return RequestOutcome.Continue;
            }
        }
        catch (InvalidProtocolBufferException)
        {
            await ErrorAsync(request, OpenImErrors.Args, "data is not a valid protobuf message for this reqIdentifier").ConfigureAwait(false);
            return RequestOutcome.Continue;
        }
    }

    /// <summary>A message (not typing) costs a send against the rate limits; pulls and seq queries are bounded by the in-flight limit.</summary>
    public RateLimitAction? Cost(OpenImRequest request) =>
        request.ReqIdentifier == OpenImReq.SendMsg && request.Message?.ContentType != OpenImMessages.Typing ? RateLimitAction.Send : null;

    /// <summary>
    /// Typing over the connection's typing window is answered as sent and not forwarded (typing is best effort); any other
    /// refused request gets <see cref="OpenImErrors.TooManyRequests"/> with the wait in errMsg, so the SDK fails that one
    /// message and the app may resend it.
    /// </summary>
    public Task RateLimitedAsync(OpenImRequest request, TimeSpan retryAfter) =>
        request.Message?.ContentType == OpenImMessages.Typing
            ? ReplyAsync(request, new SendMsgResp { ClientMsgID = request.Message.ClientMsgID, SendTime = _services.Time.GetUtcNow().ToUnixTimeMilliseconds() })
            : ErrorAsync(request, OpenImErrors.TooManyRequests, OpenImErrors.TooManyRequestsMessage(new RateLimitDecision(false, retryAfter)));

    public Task FailedAsync(OpenImRequest request) => ErrorAsync(request, OpenImErrors.Internal, "internal error; retry");

    public WireFrame? TooManyMalformed(string? error) => MalformedReply(error ?? "malformed frame");

    public string Describe(OpenImRequest request) => request.ReqIdentifier.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly WireFrame PongFrame = new(OpenImEnvelope.Pong, Text: true);

    private static WireFrame MalformedReply(string error) =>
        new(OpenImEnvelope.Response(0, string.Empty, string.Empty, OpenImErrors.Args, error, null), Text: false);

    private static Decoded<OpenImRequest> Malformed(string error) => Decoded<OpenImRequest>.Malformed(MalformedReply(error), error);

    public Task ReplyAsync(OpenImRequest request, IMessage? data) =>
        Connection.WriteWireAsync(OpenImEnvelope.Response(request.ReqIdentifier, request.MsgIncr, request.OperationId, 0, string.Empty, data), false).AsTask();

    public Task ErrorAsync(OpenImRequest request, int errCode, string errMsg) =>
        Connection.WriteWireAsync(OpenImEnvelope.Response(request.ReqIdentifier, request.MsgIncr, request.OperationId, errCode, errMsg, null), false).AsTask();

    private async Task SendMsgAsync(OpenImRequest request, MsgData data)
    {
        string conversationId;
        string? peer = null;
        switch (data.SessionType)
        {
            case OpenImMessages.SessionSingle or OpenImMessages.SessionNotification when Ids.IsValid(data.RecvID):
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

        _services.Profiles.Remember(UserId, data.SenderNickname, data.SenderFaceURL);
        var invalid = OpenImMessages.TryToContent(data, out var content);
        if (invalid is not null || content is null)
        {
            await ErrorAsync(request, OpenImErrors.Args, invalid ?? "invalid content").ConfigureAwait(false);
            return;
        }

        // The same core command as a native send: the same rules, authorisation and dedup.
        var result = await _services.Messaging.SendAsync(UserId, data.ClientMsgID, peer, peer is null ? conversationId : null, content, Connection.Id).ConfigureAwait(false);
        if (!result.IsOk)
        {
            await RefuseAsync(request, result.Failure, conversationId).ConfigureAwait(false);
            return;
        }

        var ack = result.Value!;
        await ReplyAsync(request, new SendMsgResp { ServerMsgID = ack.ServerMsgId, ClientMsgID = data.ClientMsgID, SendTime = ack.ServerTime }).ConfigureAwait(false);

        // Sender sync: OpenIM pushes the stored message back to the sending connection too; that is how the SDK learns its seq.
        var replyTo = content.ReplyTo is { Seq: > 0 and <= (ulong)long.MaxValue } reply ? (long)reply.Seq : 0;
        var echoRoots = replyTo > 0 ? await QuotedRootsAsync(ack.ConversationId, [replyTo]).ConfigureAwait(false) : null;
        var echo = OpenImMessages.ToMsgData(new Message
        {
            ConversationId = ack.ConversationId,
            Seq = (ulong)ack.Seq,
            ServerMsgId = ack.ServerMsgId,
            ClientMsgId = data.ClientMsgID,
            SenderId = UserId,
            ServerTime = ack.ServerTime,
            Content = content,
        }, _services.Accounts, _services.ObjectUrls, _services.Protocol.Quoting(echoRoots?.GetValueOrDefault(replyTo)?.ToStored()));
        echo.SenderPlatformID = data.SenderPlatformID;
        echo.SenderNickname = data.SenderNickname;
        echo.SenderFaceURL = data.SenderFaceURL;
        echo.CreateTime = data.CreateTime != 0 ? data.CreateTime : ack.ServerTime;
        var push = new PushMessages();
        OpenImProtocol.Add(push.Msgs, ack.ConversationId, echo, _services.Accounts);

        // With the send's operationID, as OpenIM's push carries it: the SDK then only files the seq into the message it
        // already shows instead of announcing its own message as a new one.
        var frame = OpenImProtocol.Push(push, request.OperationId);
        await Connection.WriteWireAsync(frame.Bytes, frame.Text, new SentSeq(ack.ConversationId, ack.Seq)).ConfigureAwait(false);
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

        var result = await _services.Grains.Conversation(conversationId)
            .TypingAsync(UserId, tips == "yes", Connection.Id)
            .ConfigureAwait(false);
        if (!result.IsOk)
        {
            await RefuseAsync(request, result.Failure, conversationId).ConfigureAwait(false);
            return;
        }

        // Typing is not stored: no seq, no server message id.
        await ReplyAsync(request, new SendMsgResp { ClientMsgID = data.ClientMsgID, SendTime = _services.Time.GetUtcNow().ToUnixTimeMilliseconds() }).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers a max-seq request (1006, 1001) with live pushes held from before its store read until the answer is queued.
    /// The SDK takes these answers as absolute: 0.0.14 replaces its cached seqs with them, then raises its max seq by one
    /// per later push. A push committed after the read but written before the answer would be overtaken by it: the SDK's
    /// max seq would end one below the message it already holds and stay one behind from then on (its history, which reads
    /// down from that seq, then never shows the newest message). Held, such a push follows the answer and counts up from it.
    /// </summary>
    private async Task AnswerBeforeLaterPushesAsync<TAnswer>(OpenImRequest request, Func<Task<TAnswer>> answer)
        where TAnswer : IMessage
    {
        Connection.HoldEvents();
        try
        {
            await ReplyAsync(request, await answer().ConfigureAwait(false)).ConfigureAwait(false);
        }
        finally
        {
            _ = Connection.ReleaseEvents(); // true: closed for an outbox overflow (4008), the client resyncs
        }
    }

    private async Task<GetConversationsHasReadAndMaxSeqResp> GetConvMaxReadSeqAsync(GetConversationsHasReadAndMaxSeqReq request)
    {
        var response = new GetConversationsHasReadAndMaxSeqResp();
        foreach (var view in await ViewsAsync(request.ConversationIDs).ConfigureAwait(false))
        {
            response.Seqs[OpenImMessages.ToOpenIm(view.ConversationId, _services.Accounts)] = new Seqs
            {
                MaxSeq = view.MaxSeq,
                HasReadSeq = Math.Min(view.ReadSeq, view.MaxSeq),
                MaxSeqTime = view.LastMessage?.ServerTime ?? view.UpdatedAt,
            };
            if (request.ReturnPinned && view.Pinned)
            {
                response.PinnedConversationIDs.Add(OpenImMessages.ToOpenIm(view.ConversationId, _services.Accounts));
            }
        }

        return response;
    }

    private async Task<GetMaxSeqResp> GetNewestSeqAsync()
    {
        var response = new GetMaxSeqResp();
        foreach (var view in await ViewsAsync([]).ConfigureAwait(false))
        {
            response.MaxSeqs[OpenImMessages.ToOpenIm(view.ConversationId, _services.Accounts)] = view.MaxSeq;
        }

        return response;
    }

    /// <summary>The listed conversations the user is in, or all of them when the list is empty.</summary>
    private async Task<List<ConversationView>> ViewsAsync(IReadOnlyCollection<string> conversationIds)
    {
        var views = new List<ConversationView>();
        if (conversationIds.Count > 0)
        {
            foreach (var id in conversationIds.Select(c => OpenImMessages.FromOpenIm(c, UserId)).Distinct(StringComparer.Ordinal).Take(MaxListedConversations))
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
            // The answer stays keyed by the id as the client sent it; reads use Parley's id.
            var parleyId = OpenImMessages.FromOpenIm(id, UserId);
            if (!Ids.IsValidConversationId(parleyId) || seqs.Count == 0)
            {
                list.IsEnd = true;
                continue;
            }

            var found = await ReadSeqsAsync(parleyId, seqs).ConfigureAwait(false);
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
            var parleyId = OpenImMessages.FromOpenIm(id, UserId);
            if (!Ids.IsValidConversationId(parleyId) || end < begin)
            {
                continue;
            }

            // OpenIM answers a range with its newest `num` messages (the reconnect gap fill shows the latest first).
            var num = range.Num is > 0 and <= MaxPullNum ? range.Num : MaxPullNum;
            var from = Math.Max(begin, end - num + 1);
            var page = await _services.Grains.Conversation(parleyId)
                .GetHistoryAsync(UserId, from, ReadDirection.Forward, (int)(end - from + 1))
                .ConfigureAwait(false);
            if (!page.IsOk)
            {
                continue;
            }

            var inRange = page.Value!.Messages.Where(m => m.Seq >= from && m.Seq <= end).ToList();
            var roots = await QuotedRootsAsync(parleyId, inRange.Select(m => m.ReplyToSeq), inRange).ConfigureAwait(false);
            var messages = inRange.Select(m => ToOpenIm(m, roots)).ToList();
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
        var grain = _services.Grains.Conversation(conversationId);
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
            if (!page.IsOk)
            {
                return [];
            }

            var inRange = page.Value!.Messages.Where(m => m.Seq >= start && m.Seq <= seqs[j]).ToList();
            var roots = await QuotedRootsAsync(conversationId, inRange.Select(m => m.ReplyToSeq), inRange).ConfigureAwait(false);
            foreach (var m in inRange)
            {
                found[m.Seq] = ToOpenIm(m, roots);
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
    private MsgData ToOpenIm(MessageData stored, Dictionary<long, MessageData> roots)
    {
        var message = ProtoMapper.ToProto(stored.ToStored());
        switch (message.Content?.BodyCase)
        {
            case var body when OpenImMessages.IsUserContent(body):
                var data = OpenImMessages.ToMsgData(message, _services.Accounts, _services.ObjectUrls, _services.Protocol.Quoting(roots.GetValueOrDefault(stored.ReplyToSeq)?.ToStored()));
                _services.Profiles.Fill(data);
                return data;
            case Content.BodyOneofCase.Revoke:
                return Placeholder(message);
            default:
                var notification = OpenImNotifications.FromGroupContent(message);
                if (notification is null)
                {
                    return Placeholder(message);
                }

                OpenImProtocol.FillFromMessage(notification, message);
                return notification;
        }
    }

    private MsgData Placeholder(Message message)
    {
        var data = OpenImMessages.ToMsgData(message, _services.Accounts);
        data.Status = OpenImProtocol.StatusDeleted;
        return data;
    }

    internal static int OpenImPlatformOf(ClientConnection connection) => OpenImPlatformOf(connection.DeviceId, connection.Platform);

    internal static int OpenImPlatformOf(string deviceId, Platform platform)
    {
        if (deviceId.StartsWith("openim-", StringComparison.Ordinal)
            && int.TryParse(deviceId.AsSpan(7), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return id;
        }

        return platform switch
        {
            Platform.Ios => 1,
            Platform.Android => 2,
            Platform.Windows => 3,
            Platform.Macos => 4,
            Platform.MiniProgram => 6,
            Platform.Linux => 7,
            Platform.AndroidPad => 8,
            Platform.Ipad => 9,
            _ => OpenImProtocol.WebPlatform,
        };
    }

    /// <summary>A core refusal as OpenIM's error code (the one table), so the SDK reports what OpenIM would.</summary>
    private Task RefuseAsync(OpenImRequest request, CoreFailure failure, string conversationId)
    {
        var group = conversationId.StartsWith("sg_", StringComparison.Ordinal);
        var code = OpenImErrors.FromCore(
            failure.Error,
            notFound: group ? OpenImErrors.GroupNotFound : OpenImErrors.UserNotFound,
            notMember: group ? OpenImErrors.NotInGroup : OpenImErrors.NoPermission);
        return ErrorAsync(request, code, failure.Message);
    }
}
