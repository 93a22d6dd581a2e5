using System.Diagnostics;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Core;
using Parley.Core.Delivery;
using Parley.Core.Directory;
using Parley.Core.Push;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Requests;

/// <summary>
/// Turns one client request into grain or store calls and a typed result. Identity always comes from the connection,
/// never from the request.
/// </summary>
internal sealed class RequestHandler(
    IGrainFactory grains,
    IMessageStore store,
    MessagingService messaging,
    ParleyMetrics metrics,
    TimeProvider time,
    GroupRequestHandler groupRequests,
    SocialRequestHandler social,
    Optional<IDirectoryService> directory,
    Optional<IPushClientApi> push,
    IDeliveryHub hub,
    Parley.Core.Groups.GroupService groupService,
    SendAnswers answers,
    SendBacklog backlog,
    Parley.Core.Business.NotificationAccountIds? notificationAccounts = null)
{
    /// <summary>The notification accounts (flags notification conversations), when the server has them.</summary>
    public Parley.Core.Business.NotificationAccountIds? NotificationAccounts => notificationAccounts;

    private readonly IDirectoryService? _directory = directory.Value;
    private readonly IPushClientApi? _push = push.Value;

    /// <summary>Answers one request other than a send (<see cref="SendAsync"/> answers those on their connection).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ServerFrame> HandleAsync(ClientConnection connection, ClientFrame request)
    {
        // Each request (not the long-lived socket) is the root of its own trace; heartbeats and typing are not traced.
        using var activity = request.BodyCase is ClientFrame.BodyOneofCase.Ping or ClientFrame.BodyOneofCase.Typing ? null : ParleyActivities.StartRequest(request.BodyCase.ToString());
        if (GroupRequestHandler.CanHandle(request.BodyCase))
        {
            var groupResult = await groupRequests.HandleAsync(connection, request).ConfigureAwait(false);
            groupResult.RequestId = request.RequestId;
            return groupResult;
        }

        var result = request.BodyCase switch
        {
            ClientFrame.BodyOneofCase.Ping => new ServerFrame { Pong = new Pong { ServerTime = time.GetUtcNow().ToUnixTimeMilliseconds() } },
            ClientFrame.BodyOneofCase.History => await HistoryAsync(connection, request.History).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.MarkRead => await MarkReadAsync(connection, request.MarkRead).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Revoke => await RevokeAsync(connection, request.Revoke).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.ListConversations => await ListAsync(connection, request.ListConversations).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.CreateGroup => await CreateGroupAsync(connection, request.CreateGroup).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Typing => await TypingAsync(connection, request.Typing).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UpdateConversation => await UpdateConversationAsync(connection, request.UpdateConversation).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Edit => await EditAsync(connection, request.Edit).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.React => await ReactAsync(connection, request.React).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.GetRevisions => await RevisionsAsync(connection, request.GetRevisions).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Thread => await ThreadAsync(connection, request.Thread).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Search => await SearchAsync(connection, request.Search).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.SyncDirectory => _directory is null
                ? Error(ErrorCode.Unsupported, "This server has no organisation directory.")
                : new ServerFrame { Directory = await _directory.SyncAsync(connection.UserId, request.SyncDirectory.Version).ConfigureAwait(false) },
            ClientFrame.BodyOneofCase.AppState => SetAppState(connection, request.AppState),
            ClientFrame.BodyOneofCase.RegisterDevice or ClientFrame.BodyOneofCase.UnregisterDevice or ClientFrame.BodyOneofCase.PushReport
                or ClientFrame.BodyOneofCase.UpdatePushSettings =>
                await PushAsync(connection, request).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Hello => Error(ErrorCode.ProtocolViolation, "Hello was already accepted."),
            ClientFrame.BodyOneofCase.Send => throw new InvalidOperationException("A send is answered by SendAsync."),
            _ when SocialRequestHandler.CanHandle(request.BodyCase) => await social.HandleAsync(connection, request).ConfigureAwait(false),
            _ => Error(ErrorCode.Unsupported, "Unknown request."),
        };
        result.RequestId = request.RequestId;
        return result;
    }

    private static ServerFrame SetAppState(ClientConnection connection, AppStateRequest state)
    {
        connection.Background = state.Background;
        return new ServerFrame { Ok = new Ok() };
    }

    private async Task<ServerFrame> PushAsync(ClientConnection connection, ClientFrame request)
    {
        if (_push is null)
        {
            return Error(ErrorCode.Unsupported, "Offline push is not enabled on this server.");
        }

        var result = request.BodyCase switch
        {
            ClientFrame.BodyOneofCase.RegisterDevice => await _push.RegisterDeviceAsync(connection.UserId, connection.DeviceId, connection.Platform, request.RegisterDevice).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UnregisterDevice => await _push.UnregisterDeviceAsync(connection.UserId, connection.DeviceId).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UpdatePushSettings => await _push.UpdateSettingsAsync(connection.UserId, request.UpdatePushSettings).ConfigureAwait(false),
            _ => await _push.ReportAsync(connection.UserId, request.PushReport).ConfigureAwait(false),
        };
        return Reply(result, () => new ServerFrame { Ok = new Ok() });
    }

    public static ServerFrame Error(ErrorCode code, string message, uint requestId = 0) =>
        new() { RequestId = requestId, Error = new Protocol.V1.Error { Code = code, Message = message } };

    /// <summary>
    /// A send, answered on its connection: the grain call, the ack and the ack's write in one state machine, with the send's
    /// per-hop stamps <paramref name="times"/> (issue 17), or null. The native handler's own state machine around this one
    /// (await the result, then write it) was one more box on most sends (0.17 KB: the pool keeps one box per thread, and a
    /// send resumes on another thread than it started on; issue 17).
    /// </summary>
    public ValueTask<RequestOutcome> SendAsync(ClientConnection connection, ClientFrame request, SendTimes? times) =>
        request.RequestId != 0 && messaging.TakesOneWay(ContentOf(request.Send))
            ? SubmitOneWay(connection, request, times)
            : CallAsync(connection, request, times);

    /// <summary>
    /// A send as a one-way grain call (ADR 0022, <c>Parley:Messaging:OneWaySend</c>): its entry in this node's
    /// <see cref="SendAnswers"/> is registered first (the answer may come before the call returns), the route names that
    /// entry (never anything of the request), and the request ends once the answer is written (the entry's task).
    /// </summary>
    private ValueTask<RequestOutcome> SubmitOneWay(ClientConnection connection, ClientFrame request, SendTimes? times)
    {
        var started = Stopwatch.GetTimestamp();
        if (times is not null)
        {
            times.Handled = started;
        }

        if (answers.TryBegin(connection, request.RequestId, times, started, hub) is not { } entry)
        {
            // Past the node's or the connection's bound of outstanding send work (ADR 0031): refused before any work.
            return BusyAsync(connection, request.RequestId, times);
        }

        var task = entry.Task;
        var ticket = entry.RouteTicket;
        using (ParleyActivities.StartRequest(nameof(ClientFrame.BodyOneofCase.Send)))
        {
            var send = request.Send;
            var (peer, conversationId) = TargetOf(send);
            if (messaging.SubmitOneWay(connection.UserId, send.ClientMsgId, peer, conversationId, ContentOf(send), connection.Id, new AckRoute(answers.NodeId, ticket), times) is { } refused)
            {
                answers.Answer(ticket, refused);
            }
        }

        return task;
    }

    /// <summary>The busy refusal of a send (ADR 0031): Unavailable with the backlog's retry-after; nothing was done.</summary>
    private async ValueTask<RequestOutcome> BusyAsync(ClientConnection connection, uint requestId, SendTimes? times)
    {
        await connection.WriteAsync(BusyFrame(requestId), times).ConfigureAwait(false);
        return RequestOutcome.Continue;
    }

    private ServerFrame BusyFrame(uint requestId) =>
        new() { RequestId = requestId, Error = new Protocol.V1.Error { Code = ErrorCode.Unavailable, Message = SendBacklog.BusyMessage, RetryAfterMs = backlog.RetryAfterMs() } };

    // A send's content: the bytes the gateway read it as (ADR 0027), or the parsed content.
    private static ClientContent ContentOf(SendRequest send) => send.ContentBytes.HasContent ? new ClientContent(send.ContentBytes) : send.Content;

    // A send's target as the messaging service takes it: a peer user, or a conversation id (empty when the frame names
    // neither, which the service refuses as an invalid target).
    private static (string? Peer, string? ConversationId) TargetOf(SendRequest send) => send.Target?.KindCase switch
    {
        Target.KindOneofCase.UserId => (send.Target.UserId, null),
        Target.KindOneofCase.ConversationId => (null, send.Target.ConversationId),
        _ => (null, string.Empty),
    };

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RequestOutcome> CallAsync(ClientConnection connection, ClientFrame request, SendTimes? times)
    {
        CoreResult<MessageAck> result;

        // The root of its own trace, as every request (HandleAsync); it ends before the ack is written, as before.
        using (ParleyActivities.StartRequest(nameof(ClientFrame.BodyOneofCase.Send)))
        {
            var started = Stopwatch.GetTimestamp();
            if (times is not null)
            {
                times.Handled = started;
            }

            var send = request.Send;
            var (peer, conversationId) = TargetOf(send);
            result = await messaging.SendAsync(connection.UserId, send.ClientMsgId, peer, conversationId, ContentOf(send), connection.Id, times).ConfigureAwait(false);
            var returned = Stopwatch.GetTimestamp();
            if (times is not null)
            {
                times.Returned = returned;
            }

            if (result.IsOk)
            {
                metrics.AckDuration.Record(Stopwatch.GetElapsedTime(started, returned).TotalSeconds);
            }

        }

        if (request.RequestId == 0)
        {
            return RequestOutcome.Continue;
        }

        if (result.IsOk)
        {
            // The ack frame written from its fields (AckFrame: the bytes ToAck's frame serialises to, without its objects).
            var ack = result.Value!;
            var frame = AckFrame.Rent(
                request.RequestId, ack.ConversationId, (ulong)ack.Seq, ack.ServerMsgId, ack.ServerTime, ack.Duplicate, AckVersion(ack), out var length);
            await connection.WritePooledAsync(frame, length, times).ConfigureAwait(false);
        }
        else
        {
            var refused = SendBacklog.IsBusy(result.Failure) ? BusyFrame(request.RequestId) : ToAck(result);
            refused.RequestId = request.RequestId;
            await connection.WriteAsync(refused, times).ConfigureAwait(false);
        }

        return RequestOutcome.Continue;
    }

    private async Task<ServerFrame> RevokeAsync(ClientConnection connection, RevokeRequest revoke) =>
        ToAck(await messaging.RevokeAsync(connection.UserId, revoke.ConversationId, (long)Math.Min(revoke.Seq, long.MaxValue), revoke.ClientMsgId, connection.Id).ConfigureAwait(false));

    private async Task<ServerFrame> HistoryAsync(ClientConnection connection, HistoryRequest history)
    {
        if (!IsConversationId(history.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var direction = history.Direction == Direction.Forward ? ReadDirection.Forward : ReadDirection.Backward;
        var page = await grains.Conversation(history.ConversationId)
            .GetHistoryAsync(connection.UserId, (long)Math.Min(history.FromSeq, long.MaxValue), direction, (int)Math.Min(history.Limit, int.MaxValue))
            .ConfigureAwait(false);
        if (!page.IsOk)
        {
            return NativeErrors.Frame(page.Failure);
        }

        var result = new HistoryResult { ConversationId = history.ConversationId, HasMore = page.Value!.HasMore, MaxSeq = (ulong)page.Value.MaxSeq };
        foreach (var m in page.Value.Messages)
        {
            result.Messages.Add(ProtoMapper.ToProto(m.ToStored(), viewer: connection.UserId));
        }

        return new ServerFrame { History = result };
    }

    private async Task<ServerFrame> EditAsync(ClientConnection connection, EditRequest edit)
    {
        var result = await messaging.EditAsync(connection.UserId, edit.ConversationId, Seq(edit.Seq), edit.EditId, edit.Text, connection.Id).ConfigureAwait(false);
        return Reply(result, value => new ServerFrame
        {
            Edit = new EditResult
            {
                ConversationId = edit.ConversationId,
                Seq = (ulong)value.Seq,
                EditCount = (uint)value.EditCount,
                EditedTime = value.EditedTime,
                Version = (ulong)value.Version,
                Duplicate = value.Duplicate,
            },
        });
    }

    private async Task<ServerFrame> ReactAsync(ClientConnection connection, ReactRequest react)
    {
        var result = await messaging.ReactAsync(connection.UserId, react.ConversationId, Seq(react.Seq), react.Emoji, react.Remove, connection.Id).ConfigureAwait(false);
        return Reply(result, value => new ServerFrame
        {
            React = new ReactResult
            {
                ConversationId = react.ConversationId, Seq = (ulong)value.Seq, Emoji = value.Emoji, Count = (uint)value.Count, Version = (ulong)value.Version,
            },
        });
    }

    private async Task<ServerFrame> RevisionsAsync(ClientConnection connection, GetRevisionsRequest request)
    {
        var result = await messaging.GetRevisionsAsync(connection.UserId, request.ConversationId, Seq(request.Seq)).ConfigureAwait(false);
        return Reply(result, value =>
        {
            var list = new RevisionList { ConversationId = request.ConversationId, Seq = request.Seq };
            list.Revisions.AddRange(value.Select(r => new Revision { Revision_ = (uint)r.Revision, Content = Content.Parser.ParseFrom(r.Content), Time = r.Time }));
            return new ServerFrame { Revisions = list };
        });
    }

    private async Task<ServerFrame> ThreadAsync(ClientConnection connection, ThreadRequest thread)
    {
        var page = await messaging.GetThreadAsync(connection.UserId, thread.ConversationId, Seq(thread.RootSeq), Seq(thread.AfterSeq), (int)Math.Min(thread.Limit, int.MaxValue))
            .ConfigureAwait(false);
        return Reply(page, value =>
        {
            var result = new HistoryResult { ConversationId = thread.ConversationId, HasMore = value.HasMore, MaxSeq = (ulong)value.MaxSeq };
            result.Messages.AddRange(value.Messages.Select(m => ProtoMapper.ToProto(m.ToStored(), viewer: connection.UserId)));
            return new ServerFrame { History = result };
        });
    }

    private async Task<ServerFrame> SearchAsync(ClientConnection connection, SearchRequest search)
    {
        var page = await messaging.SearchAsync(connection.UserId, search.ConversationId, search.Query, search.PageToken, (int)Math.Min(search.Limit, int.MaxValue))
            .ConfigureAwait(false);
        return Reply(page, value =>
        {
            var result = new SearchResult { NextPageToken = value.NextPageToken };
            result.Hits.AddRange(value.Hits.Select(h => new SearchHit { Message = ProtoMapper.ToProto(h.Message.ToStored(), viewer: connection.UserId), Snippet = h.Snippet }));
            return new ServerFrame { Search = result };
        });
    }

    private static long Seq(ulong seq) => (long)Math.Min(seq, long.MaxValue);

    private async Task<ServerFrame> MarkReadAsync(ClientConnection connection, MarkReadRequest markRead)
    {
        if (!IsConversationId(markRead.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var outcome = await grains.Conversation(markRead.ConversationId)
            .MarkReadAsync(connection.UserId, (long)Math.Min(markRead.Seq, long.MaxValue), connection.Id)
            .ConfigureAwait(false);
        return Reply(outcome, state => new ServerFrame { MarkRead = new MarkReadResult { ConversationId = markRead.ConversationId, ReadSeq = (ulong)state.ReadSeq, Unread = (ulong)state.Unread } });
    }

    private async Task<ServerFrame> ListAsync(ClientConnection connection, ListConversationsRequest list)
    {
        var limit = list.Limit == 0 ? 100 : (int)Math.Min(list.Limit, 500);
        var (page, total) = await store.ListConversationsAsync(connection.UserId, (int)Math.Min(list.Offset, int.MaxValue), limit).ConfigureAwait(false);
        var result = new ConversationList { Total = (uint)total };
        foreach (var view in page)
        {
            result.Conversations.Add(ProtoMapper.ToProto(view, connection.UserId, notificationAccounts));
        }

        return new ServerFrame { Conversations = result };
    }

    private async Task<ServerFrame> UpdateConversationAsync(ClientConnection connection, UpdateConversationRequest update)
    {
        if (!IsConversationId(update.ConversationId) || (!update.HasPinned && !update.HasMuted && !update.HasMentionsOnly))
        {
            return Error(ErrorCode.BadRequest, "conversation_id and at least one setting are required.");
        }

        var updated = await grains.Conversation(update.ConversationId)
            .UpdateSettingsAsync(connection.UserId, update.HasPinned ? update.Pinned : null, update.HasMuted ? update.Muted : null, update.HasMentionsOnly ? update.MentionsOnly : null, connection.Id)
            .ConfigureAwait(false);
        if (!updated.IsOk)
        {
            return NativeErrors.Frame(updated.Failure);
        }

        var view = await store.GetConversationViewAsync(connection.UserId, update.ConversationId).ConfigureAwait(false);
        return view is null ? Error(ErrorCode.NotFound, "No such conversation.") : new ServerFrame { Conversation = ProtoMapper.ToProto(view, connection.UserId, notificationAccounts) };
    }

    private async Task<ServerFrame> CreateGroupAsync(ClientConnection connection, CreateGroupRequest create)
    {
        var groupId = string.IsNullOrEmpty(create.GroupId) ? Guid.NewGuid().ToString("N") : create.GroupId;
        if (!Ids.IsValid(groupId))
        {
            return Error(ErrorCode.BadRequest, "group_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        var conversationId = Ids.GroupConversationId(groupId);
        var result = await groupService
            .CreateAsync(new CreateGroupCommand(groupId, create.Name, connection.UserId, [.. create.MemberIds], connection.Id)
            {
                AvatarUrl = create.AvatarUrl,
                Introduction = create.Introduction,
                Announcement = create.Announcement,
                Ex = create.Ex.Length == 0 ? "{}" : create.Ex,
                JoinPolicy = (GroupJoinPolicy)create.JoinPolicy,
                HistoryVisibleToNewMembers = create.HistoryVisibleToNewMembers,
                Kind = (Parley.Abstractions.Messaging.GroupKind)create.Kind,
            })
            .ConfigureAwait(false);
        return Reply(result, _ => new ServerFrame { CreateGroup = new CreateGroupResult { GroupId = groupId, ConversationId = conversationId } });
    }

    private async Task<ServerFrame> TypingAsync(ClientConnection connection, TypingRequest typing)
    {
        if (!IsConversationId(typing.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var result = await grains.Conversation(typing.ConversationId)
            .TypingAsync(connection.UserId, typing.Typing, connection.Id)
            .ConfigureAwait(false);
        return Reply(result, () => new ServerFrame { Ok = new Ok() });
    }

    // The ack's version is the sender's resume cursor (its own message is not echoed to it): in a cluster, at most the
    // node's delivery watermark (ADR 0016).
    // Not through Reply: its lambda reads the hub, so it was a new delegate on every send (issue 17).
    private ServerFrame ToAck(CoreResult<MessageAck> result)
    {
        if (!result.IsOk)
        {
            return NativeErrors.Frame(result.Failure);
        }

        var ack = result.Value!;
        return new ServerFrame
        {
            SendAck = new SendAck
            {
                ConversationId = ack.ConversationId,
                Seq = (ulong)ack.Seq,
                ServerMsgId = ack.ServerMsgId,
                ServerTime = ack.ServerTime,
                Duplicate = ack.Duplicate,
                Version = AckVersion(ack),
            },
        };
    }

    // The version an ack carries: the resume cursor that covers the message (ADR 0016).
    private ulong AckVersion(MessageAck ack) => (ulong)Math.Max(hub.ResumeCursorFor(ack.Version), 0);

    /// <summary>The answer frame of a core result: built from its value, or the refusal through <see cref="NativeErrors"/>.</summary>
    internal static ServerFrame Reply<T>(CoreResult<T> result, Func<T, ServerFrame> answer) =>
        result.IsOk ? answer(result.Value!) : NativeErrors.Frame(result.Failure);

    internal static ServerFrame Reply(CoreResult result, Func<ServerFrame> answer) =>
        result.IsOk ? answer() : NativeErrors.Frame(result.Failure);

    private static bool IsConversationId(string id) => Ids.IsValidConversationId(id);
}
