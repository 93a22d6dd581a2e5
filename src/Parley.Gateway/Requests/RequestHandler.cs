using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Core;
using Parley.Core.Directory;
using Parley.Core.Push;
using Parley.Core.Internal;
using Parley.Core.Media;
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
    IOptions<MessagingOptions> messaging,
    ParleyMetrics metrics,
    TimeProvider time,
    GroupRequestHandler groupRequests,
    IServiceProvider services)
{
    private readonly IDirectoryService? _directory = services.GetService(typeof(IDirectoryService)) as IDirectoryService;
    private readonly IPushClientApi? _push = services.GetService(typeof(IPushClientApi)) as IPushClientApi;
    private readonly SocialRequestHandler? _social = services.GetService(typeof(SocialRequestHandler)) as SocialRequestHandler;
    private readonly IMediaContentResolver? _media = services.GetService(typeof(IMediaContentResolver)) as IMediaContentResolver;

    private const int MaxGroupNameLength = 128;
    private const int MaxCustomTypeLength = 64;

    public async Task<ServerFrame> HandleAsync(ClientConnection connection, ClientFrame request)
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
            ClientFrame.BodyOneofCase.Send => await SendAsync(connection, request.Send).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.History => await HistoryAsync(connection, request.History).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.MarkRead => await MarkReadAsync(connection, request.MarkRead).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Revoke => await RevokeAsync(connection, request.Revoke).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.ListConversations => await ListAsync(connection, request.ListConversations).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.CreateGroup => await CreateGroupAsync(connection, request.CreateGroup).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Typing => await TypingAsync(connection, request.Typing).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UpdateConversation => await UpdateConversationAsync(connection, request.UpdateConversation).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.SyncDirectory => _directory is null
                ? Error(ErrorCode.Unsupported, "This server has no organisation directory.")
                : new ServerFrame { Directory = await _directory.SyncAsync(connection.UserId, request.SyncDirectory.Version).ConfigureAwait(false) },
            ClientFrame.BodyOneofCase.AppState => SetAppState(connection, request.AppState),
            ClientFrame.BodyOneofCase.RegisterDevice or ClientFrame.BodyOneofCase.UnregisterDevice or ClientFrame.BodyOneofCase.PushReport
                or ClientFrame.BodyOneofCase.UpdatePushSettings =>
                await PushAsync(connection, request).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.Hello => Error(ErrorCode.ProtocolViolation, "Hello was already accepted."),
            _ when _social is not null && SocialRequestHandler.CanHandle(request.BodyCase) => await _social.HandleAsync(connection, request).ConfigureAwait(false),
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

        var error = request.BodyCase switch
        {
            ClientFrame.BodyOneofCase.RegisterDevice => await _push.RegisterDeviceAsync(connection.UserId, connection.DeviceId, connection.Platform, request.RegisterDevice).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UnregisterDevice => await _push.UnregisterDeviceAsync(connection.UserId, connection.DeviceId).ConfigureAwait(false),
            ClientFrame.BodyOneofCase.UpdatePushSettings => await _push.UpdateSettingsAsync(connection.UserId, request.UpdatePushSettings).ConfigureAwait(false),
            _ => await _push.ReportAsync(connection.UserId, request.PushReport).ConfigureAwait(false),
        };
        return error == 0 ? new ServerFrame { Ok = new Ok() } : Error((ErrorCode)error, "The push request was refused.");
    }

    public static ServerFrame Error(ErrorCode code, string message, uint requestId = 0) =>
        new() { RequestId = requestId, Error = new Protocol.V1.Error { Code = code, Message = message } };

    private async Task<ServerFrame> SendAsync(ClientConnection connection, SendRequest send)
    {
        var started = Stopwatch.GetTimestamp();
        if (!Ids.IsValid(send.ClientMsgId))
        {
            return Error(ErrorCode.BadRequest, "client_msg_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        string conversationId;
        string? peer = null;
        switch (send.Target?.KindCase)
        {
            case Target.KindOneofCase.UserId when Ids.IsValid(send.Target.UserId):
                peer = send.Target.UserId;
                conversationId = Ids.DirectConversationId(connection.UserId, peer);
                break;
            case Target.KindOneofCase.ConversationId when IsConversationId(send.Target.ConversationId):
                conversationId = send.Target.ConversationId;
                break;
            default:
                return Error(ErrorCode.BadRequest, "target must name a valid user or conversation.");
        }

        var validation = ValidateContent(send.Content);
        if (validation is not null)
        {
            return validation;
        }

        if (ContentKinds.IsMedia(send.Content.BodyCase))
        {
            if (_media is null)
            {
                return Error(ErrorCode.Unsupported, "This server stores no media.");
            }

            var resolved = await _media.ResolveAsync(connection.UserId, conversationId, send.ClientMsgId, send.Content).ConfigureAwait(false);
            if (resolved.Error != 0)
            {
                return Error((ErrorCode)resolved.Error, resolved.Message ?? "The media content was refused.");
            }
        }

        var bytes = send.Content.ToByteArray();
        if (bytes.Length > messaging.Value.MaxContentBytes)
        {
            return Error(ErrorCode.TooLarge, $"Content is larger than {messaging.Value.MaxContentBytes} bytes.");
        }

        var result = await grains.GetGrain<IConversationGrain>(conversationId)
            .SendAsync(new SendCommand(connection.UserId, send.ClientMsgId, peer, (int)send.Content.BodyCase, bytes, connection.Id))
            .ConfigureAwait(false);
        var frame = ToAck(result);
        if (result.Error == 0)
        {
            metrics.AckDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        return frame;
    }

    private static ServerFrame? ValidateContent(Content? content)
    {
        switch (content?.BodyCase)
        {
            case Content.BodyOneofCase.Text:
                return content.Text.Text.Length == 0 ? Error(ErrorCode.BadRequest, "Text must not be empty.") : MediaRules(content);
            case Content.BodyOneofCase.Custom:
                var custom = content.Custom;
                if (custom.Type.Length is 0 or > MaxCustomTypeLength)
                {
                    return Error(ErrorCode.BadRequest, $"Custom content needs a type of 1..{MaxCustomTypeLength} characters.");
                }

                try
                {
                    using var _ = JsonDocument.Parse(custom.Json.Length == 0 ? "{}" : custom.Json);
                }
                catch (JsonException)
                {
                    return Error(ErrorCode.BadRequest, "Custom content must be valid JSON.");
                }

                return MediaRules(content);
            case Content.BodyOneofCase.Image or Content.BodyOneofCase.Voice or Content.BodyOneofCase.Video
                or Content.BodyOneofCase.File or Content.BodyOneofCase.Location:
                return MediaRules(content);
            default:
                return Error(ErrorCode.BadRequest, "Clients may send text, custom, media or location content only.");
        }
    }

    private static ServerFrame? MediaRules(Content content) =>
        MediaContentRules.Validate(content) is { } problem ? Error(ErrorCode.BadRequest, problem) : null;

    private async Task<ServerFrame> RevokeAsync(ClientConnection connection, RevokeRequest revoke)
    {
        if (!IsConversationId(revoke.ConversationId) || revoke.Seq == 0)
        {
            return Error(ErrorCode.BadRequest, "conversation_id and seq are required.");
        }

        var clientMsgId = string.IsNullOrEmpty(revoke.ClientMsgId) ? $"revoke:{revoke.Seq}" : revoke.ClientMsgId;
        if (!Ids.IsValid(clientMsgId))
        {
            return Error(ErrorCode.BadRequest, "client_msg_id is invalid.");
        }

        var result = await grains.GetGrain<IConversationGrain>(revoke.ConversationId)
            .RevokeAsync(new RevokeCommand(connection.UserId, (long)revoke.Seq, clientMsgId, connection.Id))
            .ConfigureAwait(false);
        return ToAck(result);
    }

    private async Task<ServerFrame> HistoryAsync(ClientConnection connection, HistoryRequest history)
    {
        if (!IsConversationId(history.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var direction = history.Direction == Direction.Forward ? ReadDirection.Forward : ReadDirection.Backward;
        var page = await grains.GetGrain<IConversationGrain>(history.ConversationId)
            .GetHistoryAsync(connection.UserId, (long)Math.Min(history.FromSeq, long.MaxValue), direction, (int)Math.Min(history.Limit, int.MaxValue))
            .ConfigureAwait(false);
        if (page.Error != 0)
        {
            return Error((ErrorCode)page.Error, "Not a member of this conversation.");
        }

        var result = new HistoryResult { ConversationId = history.ConversationId, HasMore = page.HasMore, MaxSeq = (ulong)page.MaxSeq };
        foreach (var m in page.Messages)
        {
            result.Messages.Add(ProtoMapper.ToProto(m.ToStored()));
        }

        return new ServerFrame { History = result };
    }

    private async Task<ServerFrame> MarkReadAsync(ClientConnection connection, MarkReadRequest markRead)
    {
        if (!IsConversationId(markRead.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var outcome = await grains.GetGrain<IConversationGrain>(markRead.ConversationId)
            .MarkReadAsync(connection.UserId, (long)Math.Min(markRead.Seq, long.MaxValue), connection.Id)
            .ConfigureAwait(false);
        return outcome.Error != 0
            ? Error((ErrorCode)outcome.Error, "Cannot mark this conversation read.")
            : new ServerFrame { MarkRead = new MarkReadResult { ConversationId = markRead.ConversationId, ReadSeq = (ulong)outcome.ReadSeq, Unread = (ulong)outcome.Unread } };
    }

    private async Task<ServerFrame> ListAsync(ClientConnection connection, ListConversationsRequest list)
    {
        var limit = list.Limit == 0 ? 100 : (int)Math.Min(list.Limit, 500);
        var (page, total) = await store.ListConversationsAsync(connection.UserId, (int)Math.Min(list.Offset, int.MaxValue), limit).ConfigureAwait(false);
        var result = new ConversationList { Total = (uint)total };
        foreach (var view in page)
        {
            result.Conversations.Add(ProtoMapper.ToProto(view));
        }

        return new ServerFrame { Conversations = result };
    }

    private async Task<ServerFrame> UpdateConversationAsync(ClientConnection connection, UpdateConversationRequest update)
    {
        if (!IsConversationId(update.ConversationId) || (!update.HasPinned && !update.HasMuted && !update.HasMentionsOnly))
        {
            return Error(ErrorCode.BadRequest, "conversation_id and at least one setting are required.");
        }

        var error = await grains.GetGrain<IConversationGrain>(update.ConversationId)
            .UpdateSettingsAsync(connection.UserId, update.HasPinned ? update.Pinned : null, update.HasMuted ? update.Muted : null, update.HasMentionsOnly ? update.MentionsOnly : null, connection.Id)
            .ConfigureAwait(false);
        if (error != 0)
        {
            return Error((ErrorCode)error, "Cannot update this conversation.");
        }

        var view = await store.GetConversationViewAsync(connection.UserId, update.ConversationId).ConfigureAwait(false);
        return view is null ? Error(ErrorCode.NotFound, "No such conversation.") : new ServerFrame { Conversation = ProtoMapper.ToProto(view) };
    }

    private async Task<ServerFrame> CreateGroupAsync(ClientConnection connection, CreateGroupRequest create)
    {
        var groupId = string.IsNullOrEmpty(create.GroupId) ? Guid.NewGuid().ToString("N") : create.GroupId;
        if (!Ids.IsValid(groupId) || create.Name.Length > MaxGroupNameLength || create.MemberIds.Any(m => !Ids.IsValid(m))
            || create.AvatarUrl.Length > 1024 || create.Introduction.Length > 4096 || create.Announcement.Length > 4096
            || !GroupRequestHandler.IsJson(create.Ex))
        {
            return Error(ErrorCode.BadRequest, "Invalid group id, name, member id, text field or ex JSON.");
        }

        var conversationId = Ids.GroupConversationId(groupId);
        var result = await grains.GetGrain<IConversationGrain>(conversationId)
            .CreateGroupAsync(new CreateGroupCommand(groupId, create.Name, connection.UserId, [.. create.MemberIds], connection.Id)
            {
                AvatarUrl = create.AvatarUrl,
                Introduction = create.Introduction,
                Announcement = create.Announcement,
                Ex = create.Ex.Length == 0 ? "{}" : create.Ex,
                JoinPolicy = (GroupJoinPolicy)create.JoinPolicy,
                HistoryVisibleToNewMembers = create.HistoryVisibleToNewMembers,
            })
            .ConfigureAwait(false);
        return result.Error != 0
            ? Error((ErrorCode)result.Error, result.ErrorMessage ?? "Cannot create the group.")
            : new ServerFrame { CreateGroup = new CreateGroupResult { GroupId = groupId, ConversationId = conversationId } };
    }

    private async Task<ServerFrame> TypingAsync(ClientConnection connection, TypingRequest typing)
    {
        if (!IsConversationId(typing.ConversationId))
        {
            return Error(ErrorCode.BadRequest, "conversation_id is required.");
        }

        var error = await grains.GetGrain<IConversationGrain>(typing.ConversationId)
            .TypingAsync(connection.UserId, typing.Typing, connection.Id)
            .ConfigureAwait(false);
        return error != 0 ? Error((ErrorCode)error, "Not a member of this conversation.") : new ServerFrame { Ok = new Ok() };
    }

    private static ServerFrame ToAck(SendResult result) => result.Error != 0
        ? Error((ErrorCode)result.Error, result.ErrorMessage ?? "Refused.")
        : new ServerFrame
        {
            SendAck = new SendAck
            {
                ConversationId = result.ConversationId,
                Seq = (ulong)result.Seq,
                ServerMsgId = result.ServerMsgId,
                ServerTime = result.ServerTime,
                Duplicate = result.Duplicate,
                Version = (ulong)result.Version,
            },
        };

    private static bool IsConversationId(string id) => Ids.IsValidConversationId(id);
}
