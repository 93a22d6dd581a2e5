using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Social;
using Parley.Compat.OpenIM.Rest;
using Parley.Compat.OpenIM.Wire;
using Parley.Core.Internal;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Core;
using ParleyContent = Parley.Protocol.V1.Content;

namespace Parley.Compat.OpenIM;

/// <summary>
/// Conversations and messages: the login sync calls (<c>get_incremental_conversations</c>, <c>get_not_notify_conversation_ids</c>,
/// <c>/jssdk/get_active_conversations</c>), per-user settings, read cursors and revoke. Every call acts for the token's user only.
/// </summary>
internal static partial class OpenImRest
{
    /// <summary>OpenIM's conversation types (= session types).</summary>
    private const int ConversationTypeSingle = 1;
    private const int ConversationTypeGroup = 3;

    /// <summary>OpenIM's per-conversation receive option for a muted conversation ("receive, do not notify").</summary>
    private const int ConversationRecvOptMuted = 2;

    /// <summary>
    /// Parley's feed version is global and monotonic, so one version id serves every user; a client that presents another (or a version
    /// from the future, e.g. after the database was replaced) gets a full answer.
    /// </summary>
    private const string ConversationVersionId = "parley-feed-1";

    /// <summary>OpenIM answers <c>full</c> rather than listing more than this many changes (incrversion syncLimit).</summary>
    private const int IncrementalSyncLimit = 200;

    private const int DefaultActiveConversations = 100;
    private const int MaxActiveConversations = 500;
    private const int MaxConversationIds = 1000;
    private const int MaxConversationIdLength = 200;
    private const int ListPageSize = 500;

    private const int RevokeNotification = 2101;

    static partial void MapConversations(RouteGroupBuilder group)
    {
        Route(group, "/conversation/get_incremental_conversations", OpenImAuth.User, GetIncrementalConversationsAsync);
        Route(group, "/conversation/get_not_notify_conversation_ids", OpenImAuth.User, GetNotNotifyConversationIdsAsync);
        Route(group, "/conversation/get_all_conversations", OpenImAuth.User, GetAllConversationsAsync);
        Route(group, "/conversation/get_conversations", OpenImAuth.User, GetConversationsJsonAsync);
        Route(group, "/conversation/set_conversations", OpenImAuth.User, SetConversationsAsync);
        Route(group, "/msg/mark_conversation_as_read", OpenImAuth.User, MarkConversationAsReadAsync);
        Route(group, "/msg/revoke_msg", OpenImAuth.User, RevokeMsgAsync);
        Route(group, "/msg/delete_msgs", OpenImAuth.User, UnsupportedDeletionAsync);
        Route(group, "/msg/clear_conversation_msg", OpenImAuth.User, UnsupportedDeletionAsync);
        Route(group, "/msg/user_clear_all_msg", OpenImAuth.User, UnsupportedDeletionAsync);
        Route(group, "/msg/get_server_time", OpenImAuth.User, GetServerTimeAsync);
        RouteProto(group, "/jssdk/get_active_conversations", GetActiveConversationsAsync);
        RouteProto(group, "/jssdk/get_conversations", GetConversationsProtoAsync);
    }

    // ───────────────────────────── login sync ─────────────────────────────

    private static async Task<OpenImResponse> GetIncrementalConversationsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<IncrementalConversationsRequest>(Json);
        if (NotSelf(request?.UserId, caller!) is { } denied)
        {
            return denied;
        }

        var store = context.RequestServices.GetRequiredService<IMessageStore>();
        var current = await store.GetSyncVersionAsync(context.RequestAborted).ConfigureAwait(false);
        var since = request?.Version ?? 0;
        // Version 0 with our versionID is a real position (the feed was empty when the client synced), not "never synced":
        // answering it with full would drop the first change after such a login (the SDK diffs only update lists).
        if (request?.VersionId == ConversationVersionId && since >= 0 && since <= current)
        {
            var snapshot = await store.GetChangesAsync(caller!, since, 0, context.RequestAborted).ConfigureAwait(false);
            if (snapshot.Changes.Count <= IncrementalSyncLimit)
            {
                var update = snapshot.Changes.Select(c => ConversationJson.From(ToWire(c.Conversation, caller!, Accounts(context)))).ToList();
                return OpenImResponse.Ok(new IncrementalConversationsData { Version = snapshot.Version, VersionId = ConversationVersionId, Update = OpenImJson.OrNull<ConversationJson>(update) });
            }

            current = snapshot.Version;
        }

        // As OpenIM: a full answer carries no lists; the SDK then relies on get_active_conversations and the seqs of WS 1006.
        return OpenImResponse.Ok(new IncrementalConversationsData { Version = current, VersionId = ConversationVersionId, Full = true });
    }

    private static async Task<OpenImResponse> GetNotNotifyConversationIdsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<OwnerRequest>(Json);
        if (NotSelf(request?.UserId, caller!) is { } denied)
        {
            return denied;
        }

        var views = await ListAllConversationsAsync(context, caller!).ConfigureAwait(false);
        var muted = views.Where(v => v.Muted).Select(v => OpenImMessages.ToOpenIm(v.ConversationId, Accounts(context))).ToList();
        return OpenImResponse.Ok(new ConversationIdsData(OpenImJson.OrNull<string>(muted)));
    }

    private static async Task<OpenImResponse> GetAllConversationsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<OwnerRequest>(Json);
        if (NotSelf(request?.OwnerUserId, caller!) is { } denied)
        {
            return denied;
        }

        var views = await ListAllConversationsAsync(context, caller!).ConfigureAwait(false);
        var conversations = views.Select(v => ConversationJson.From(ToWire(v, caller!, Accounts(context)))).ToList();
        return OpenImResponse.Ok(new ConversationsData(OpenImJson.OrNull<ConversationJson>(conversations)));
    }

    private static async Task<OpenImResponse> GetConversationsJsonAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<OwnerRequest>(Json);
        if (NotSelf(request?.OwnerUserId, caller!) is { } denied)
        {
            return denied;
        }

        if (CheckConversationIds(request?.ConversationIds) is { } invalid)
        {
            return invalid;
        }

        var views = await GetViewsAsync(context, caller!, request!.ConversationIds!).ConfigureAwait(false);
        var conversations = views.Select(v => ConversationJson.From(ToWire(v, caller!, Accounts(context)))).ToList();
        return OpenImResponse.Ok(new ConversationsData(OpenImJson.OrNull<ConversationJson>(conversations)));
    }

    /// <summary>
    /// The caller's conversations that have messages, pinned first and then by last activity (as OpenIM sorts them), the first
    /// <c>count</c> with their last message and peer user / group. <c>unreadCount</c> sums every such conversation, muted ones
    /// included, as OpenIM does.
    /// </summary>
    private static async Task<OpenImResponse> GetActiveConversationsAsync(HttpContext context, byte[] body, string caller)
    {
        var request = GetActiveConversationsReq.Parser.ParseFrom(body);
        if (NotSelf(request.OwnerUserID, caller) is { } denied)
        {
            return denied;
        }

        var count = request.Count is <= 0 or > MaxActiveConversations ? DefaultActiveConversations : (int)request.Count;
        var sent = SentToCaller(context, caller);
        var active = (await ListAllConversationsAsync(context, caller).ConfigureAwait(false)).Where(v => v.MaxSeq > 0).Select(v => AsSent(v, sent)).ToList();
        var response = new GetActiveConversationsResp { UnreadCount = active.Sum(v => v.Unread) };
        response.Conversations.AddRange(await ToConversationMsgsAsync(context, caller, active.Take(count).ToList()).ConfigureAwait(false));
        return OpenImResponse.Ok(Convert.ToBase64String(response.ToByteArray()));
    }

    /// <summary>The given conversations of the caller (others' and unknown ones are left out), in the order asked.</summary>
    private static async Task<OpenImResponse> GetConversationsProtoAsync(HttpContext context, byte[] body, string caller)
    {
        var request = GetConversationsReq.Parser.ParseFrom(body);
        if (NotSelf(request.OwnerUserID, caller) is { } denied)
        {
            return denied;
        }

        if (CheckConversationIds([.. request.ConversationIDs]) is { } invalid)
        {
            return invalid;
        }

        var sent = SentToCaller(context, caller);
        var views = (await GetViewsAsync(context, caller, [.. request.ConversationIDs]).ConfigureAwait(false)).Select(v => AsSent(v, sent)).ToList();
        var response = new GetConversationsResp { UnreadCount = views.Sum(v => v.Unread) };
        response.Conversations.AddRange(await ToConversationMsgsAsync(context, caller, views).ConfigureAwait(false));
        return OpenImResponse.Ok(Convert.ToBase64String(response.ToByteArray()));
    }

    /// <summary>
    /// How far each conversation has been sent to the caller's OpenIM connection(s) of this request's token on this node
    /// (<see cref="WebSocket.OpenImSession"/>.Sent.cs), read before the store so that it is never ahead of the store's answer;
    /// null when that token has no connection here (a REST-only client, or its socket on another node of a cluster).
    /// </summary>
    private static Dictionary<string, long>? SentToCaller(HttpContext context, string caller)
    {
        if (context.Items[TokenIdKey] is not string tokenId)
        {
            return null;
        }

        Dictionary<string, long>? sent = null;
        foreach (var connection in context.RequestServices.GetRequiredService<Parley.Gateway.Connections.ConnectionRegistry>().ConnectionsOf(caller))
        {
            if (connection.TokenId == tokenId && !connection.IsClosing && connection.Events is WebSocket.OpenImSession session)
            {
                session.CopySentTo(sent ??= new Dictionary<string, long>(StringComparer.Ordinal));
            }
        }

        return sent;
    }

    /// <summary>
    /// The caller's view with <c>maxSeq</c> no further than what their connection has been sent of it (never below their read
    /// seq). SDK 0.0.14 computes a fetched conversation's unread as maxSeq − readSeq and then adds one for each message it is
    /// pushed; counting a committed message that is still on its way to the socket would count it twice. A conversation the
    /// connection was sent nothing of (or that <paramref name="sent"/> does not track) is answered as stored.
    /// </summary>
    private static ConversationView AsSent(ConversationView view, Dictionary<string, long>? sent) =>
        sent is not null && sent.TryGetValue(view.ConversationId, out var told) && told < view.MaxSeq
            ? view with { MaxSeq = Math.Max(told, Math.Min(view.ReadSeq, view.MaxSeq)) }
            : view;

    // ───────────────────────────── settings, read, revoke ─────────────────────────────

    /// <summary>
    /// Pin and receive option of the caller's own conversation. recvMsgOpt 1 and 2 both become Parley's mute (no pushes; messages
    /// still arrive and count as unread) and read back as 2. Features Parley does not have are refused rather than dropped.
    /// </summary>
    private static async Task<OpenImResponse> SetConversationsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<SetConversationsRequest>(Json);
        var userIds = request?.UserIds ?? [];
        if (userIds.Count == 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "userIDs is empty");
        }

        if (userIds.Any(id => id != caller))
        {
            return OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only change your own conversations");
        }

        var patch = request!.Conversation;
        if (patch is null || string.IsNullOrEmpty(patch.ConversationId))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversation.conversationID is required");
        }

        if (patch.RecvMsgOpt is not (null or 0 or 1 or 2))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "recvMsgOpt must be 0, 1 or 2");
        }

        if (patch.IsPrivateChat == true || patch.BurnDuration is > 0 || patch.IsMsgDestruct == true || patch.MsgDestructTime is > 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "burn-after-reading and periodic message destruction are not supported by this server");
        }

        if (!string.IsNullOrEmpty(patch.Ex))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversation ex is not supported by this server");
        }

        var (view, error) = await GetMemberViewAsync(context, caller!, patch.ConversationId).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        // groupAtType (the "@ me" marker) is client state in Parley; resetting it is accepted and has nothing to store.
        bool? muted = patch.RecvMsgOpt is { } opt ? opt != 0 : null;
        if (patch.IsPinned is null && muted is null)
        {
            return OpenImResponse.Ok(null);
        }

        var grain = context.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IConversationGrain>(view!.ConversationId);
        var result = await grain.UpdateSettingsAsync(caller!, patch.IsPinned, muted, muted == false ? false : null, null).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : FromCoreError(result.Failure, view.ConversationId);
    }

    /// <summary>Moves the caller's read cursor to <c>hasReadSeq</c> (or the highest of <c>seqs</c>); the peer gets a read receipt.</summary>
    private static async Task<OpenImResponse> MarkConversationAsReadAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<MarkConversationAsReadRequest>(Json);
        if (request is null || string.IsNullOrEmpty(request.ConversationId))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversationID is required");
        }

        if (NotSelf(request.UserId, caller!) is { } denied)
        {
            return denied;
        }

        var seq = Math.Max(request.HasReadSeq ?? 0, request.Seqs is { Count: > 0 } seqs ? seqs.Max() : 0);
        if (seq <= 0 || request.Seqs?.Any(s => s <= 0) == true)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "hasReadSeq (or seqs) must be positive");
        }

        var (view, error) = await GetMemberViewAsync(context, caller!, request.ConversationId).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var grain = context.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IConversationGrain>(view!.ConversationId);
        var outcome = await grain.MarkReadAsync(caller!, seq, null).ConfigureAwait(false);
        return outcome.IsOk ? OpenImResponse.Ok(null) : FromCoreError(outcome.Failure, view.ConversationId);
    }

    /// <summary>Revokes the caller's own message (Parley lets only the sender revoke, within the server's revoke window).</summary>
    private static async Task<OpenImResponse> RevokeMsgAsync(HttpContext context, JsonElement body, string? caller)
    {
        var request = body.Deserialize<RevokeMsgRequest>(Json);
        if (request is null || string.IsNullOrEmpty(request.ConversationId) || request.Seq is not > 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversationID and a positive seq are required");
        }

        if (NotSelf(request.UserId, caller!) is { } denied)
        {
            return denied;
        }

        var (view, error) = await GetMemberViewAsync(context, caller!, request.ConversationId).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var seq = request.Seq.Value;
        var target = seq <= view!.MaxSeq
            ? await context.RequestServices.GetRequiredService<IMessageStore>().GetMessageAsync(view.ConversationId, seq, context.RequestAborted).ConfigureAwait(false)
            : null;
        if (target is null)
        {
            return OpenImResponse.Error(OpenImErrors.RecordNotFound, "RecordNotFoundError", "no message with this seq");
        }

        if (target.Revoked)
        {
            return OpenImResponse.Error(OpenImErrors.MsgAlreadyRevoked, "MsgAlreadyRevokedError", "the message was already revoked");
        }

        // A fixed client id per target makes a retried request idempotent in the grain.
        var result = await context.RequestServices.GetRequiredService<MessagingService>()
            .RevokeAsync(caller!, view.ConversationId, seq, "openim-revoke-" + seq.ToString(System.Globalization.CultureInfo.InvariantCulture), null).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : FromCoreError(result.Failure, view.ConversationId);
    }

    /// <summary>
    /// Parley keeps one history per conversation for all its members and has no per-user deletion, so deleting or clearing messages
    /// "for me" is refused rather than pretended: the messages would come back at the next login.
    /// </summary>
    private static Task<OpenImResponse> UnsupportedDeletionAsync(HttpContext context, JsonElement body, string? caller) =>
        Task.FromResult(OpenImResponse.Error(OpenImErrors.Args, "NotSupportedError", "this server does not delete messages per user; the history is shared by all members"));

    private static Task<OpenImResponse> GetServerTimeAsync(HttpContext context, JsonElement body, string? caller) =>
        Task.FromResult(OpenImResponse.Ok(new ServerTimeData(context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds())));

    // ───────────────────────────── helpers ─────────────────────────────

    /// <summary>A user id in the body must be the caller's (absent/empty means the caller); 1002 otherwise.</summary>
    private static OpenImResponse? NotSelf(string? userId, string caller) =>
        string.IsNullOrEmpty(userId) || userId == caller ? null : OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", "can only act for yourself");

    private static OpenImResponse? CheckConversationIds(List<string?>? ids)
    {
        if (ids is null || ids.Count == 0)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversationIDs is empty");
        }

        return ids.Count > MaxConversationIds
            ? OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"at most {MaxConversationIds} conversationIDs per call")
            : null;
    }

    private static bool IsConversationId(string? id) =>
        id is { Length: > 3 and <= MaxConversationIdLength } && (id.StartsWith("si_", StringComparison.Ordinal) || id.StartsWith("sg_", StringComparison.Ordinal) || id.StartsWith("sn_", StringComparison.Ordinal));

    /// <summary>
    /// The caller's view of a conversation they may act in: 1001 for a malformed id, 1203 for a group they are not in, 1004 for an
    /// unknown conversation or someone else's 1:1 conversation (its existence is not revealed).
    /// </summary>
    private static async Task<(ConversationView? View, OpenImResponse? Error)> GetMemberViewAsync(HttpContext context, string caller, string conversationId)
    {
        if (!IsConversationId(conversationId))
        {
            return (null, OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "conversationID must be si_{userID}_{userID}, sn_{userID}_{userID} or sg_{groupID}"));
        }

        conversationId = OpenImMessages.FromOpenIm(conversationId, caller);

        var store = context.RequestServices.GetRequiredService<IMessageStore>();
        var view = await store.GetConversationViewAsync(caller, conversationId, context.RequestAborted).ConfigureAwait(false);
        if (view is not null)
        {
            return (view, null);
        }

        if (conversationId.StartsWith("sg_", StringComparison.Ordinal)
            && await store.GetConversationAsync(conversationId, context.RequestAborted).ConfigureAwait(false) is not null)
        {
            return (null, OpenImResponse.Error(OpenImErrors.NotInGroup, "NotInGroupYetError", "you are not a member of this group"));
        }

        return (null, OpenImResponse.Error(OpenImErrors.RecordNotFound, "RecordNotFoundError", "conversation not found"));
    }

    private static async Task<List<ConversationView>> GetViewsAsync(HttpContext context, string caller, IEnumerable<string?> ids)
    {
        var store = context.RequestServices.GetRequiredService<IMessageStore>();
        var views = new List<ConversationView>();
        foreach (var id in ids.Where(IsConversationId).Select(id => OpenImMessages.FromOpenIm(id!, caller)).Distinct(StringComparer.Ordinal))
        {
            if (await store.GetConversationViewAsync(caller, id, context.RequestAborted).ConfigureAwait(false) is { } view)
            {
                views.Add(view);
            }
        }

        return views;
    }

    private static async Task<List<ConversationView>> ListAllConversationsAsync(HttpContext context, string caller)
    {
        var store = context.RequestServices.GetRequiredService<IMessageStore>();
        var all = new List<ConversationView>();
        while (true)
        {
            var (page, total) = await store.ListConversationsAsync(caller, all.Count, ListPageSize, context.RequestAborted).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Count < ListPageSize || all.Count >= total)
            {
                return all;
            }
        }
    }

    private static Parley.Core.Business.NotificationAccountIds Accounts(HttpContext context) =>
        context.RequestServices.GetRequiredService<Parley.Core.Business.NotificationAccountIds>();

    private static Conversation ToWire(ConversationView view, string owner, Parley.Core.Business.NotificationAccountIds accounts) => new()
    {
        OwnerUserID = owner,
        ConversationID = OpenImMessages.ToOpenIm(view.ConversationId, accounts),
        ConversationType = view.Kind == ConversationKind.Group ? ConversationTypeGroup : OpenImMessages.SessionType(view.ConversationId, accounts),
        UserID = view.Kind == ConversationKind.Group ? string.Empty : view.PeerUserId ?? OpenImMessages.PeerOf(view.ConversationId, owner) ?? string.Empty,
        GroupID = view.Kind == ConversationKind.Group ? view.GroupId ?? view.ConversationId[3..] : string.Empty,
        RecvMsgOpt = view.Muted ? ConversationRecvOptMuted : 0,
        IsPinned = view.Pinned,
        MaxSeq = view.MaxSeq,
    };

    /// <summary>ConversationMsg for each view: the conversation, its last message, the peer (user and, if friends, friend row) or group.</summary>
    private static async Task<List<ConversationMsg>> ToConversationMsgsAsync(HttpContext context, string caller, List<ConversationView> views)
    {
        var services = context.RequestServices;
        var conversations = views.Select(v => ToWire(v, caller, Accounts(context))).ToList();
        var userIds = conversations.Where(c => c.UserID.Length > 0).Select(c => c.UserID)
            .Concat(views.Where(v => v.LastMessage is not null).Select(v => v.LastMessage!.SenderId))
            .Distinct(StringComparer.Ordinal).ToList();
        var users = userIds.Count == 0 ? [] : await services.GetRequiredService<IAccountStore>().GetUsersAsync(userIds, context.RequestAborted).ConfigureAwait(false);
        var usersById = users.ToDictionary(u => u.UserId, StringComparer.Ordinal);
        var groupIds = conversations.Where(c => c.GroupID.Length > 0).Select(c => c.GroupID).Distinct(StringComparer.Ordinal).ToList();
        var groups = groupIds.Count == 0 ? [] : await services.GetRequiredService<IGroupStore>().GetGroupsAsync(groupIds, context.RequestAborted).ConfigureAwait(false);
        var groupsById = groups.ToDictionary(g => g.GroupId, StringComparer.Ordinal);
        var relations = services.GetService<IRelationStore>();

        var result = new List<ConversationMsg>(views.Count);
        for (var i = 0; i < views.Count; i++)
        {
            var view = views[i];
            var item = new ConversationMsg { Conversation = conversations[i], MaxSeq = view.MaxSeq, ReadSeq = view.ReadSeq };
            if (view.LastMessage is { } last)
            {
                item.LastMsg = await LastMsgAsync(context, last, usersById).ConfigureAwait(false);
            }

            var peer = conversations[i].UserID;
            if (peer.Length > 0)
            {
                if (usersById.TryGetValue(peer, out var user))
                {
                    item.User = new UserInfo { UserID = user.UserId, Nickname = user.Nickname, FaceURL = user.AvatarUrl, Ex = user.Ex, CreateTime = user.CreatedAt };
                }

                if (relations is not null && await FriendRowAsync(relations, caller, peer, context.RequestAborted).ConfigureAwait(false) is { } friend)
                {
                    item.Friend = new FriendInfoOnly { OwnerUserID = caller, FriendUserID = peer, Remark = friend.Remark, CreateTime = friend.CreatedAt };
                }
            }
            else if (groupsById.TryGetValue(conversations[i].GroupID, out var group))
            {
                item.Group = ToGroupInfo(group);
            }

            result.Add(item);
        }

        return result;
    }

    private static async Task<FriendRecord?> FriendRowAsync(IRelationStore relations, string caller, string peer, CancellationToken cancellationToken)
    {
        var callerFirst = string.CompareOrdinal(caller, peer) < 0;
        var pair = await relations.GetPairAsync(callerFirst ? caller : peer, callerFirst ? peer : caller, cancellationToken).ConfigureAwait(false);
        if (!pair.Friends)
        {
            return null;
        }

        return callerFirst ? pair.FirstFriendRow : pair.SecondFriendRow;
    }

    private static GroupInfo ToGroupInfo(GroupRecord group) => new()
    {
        GroupID = group.GroupId,
        GroupName = group.Name,
        Notification = group.Announcement,
        Introduction = group.Introduction,
        FaceURL = group.AvatarUrl,
        OwnerUserID = group.OwnerId,
        CreateTime = group.CreatedAt,
        MemberCount = (uint)Math.Max(0, group.MemberCount),
        Ex = group.Ex,
        // OpenIM group status: 0 ok, 2 dismissed, 3 muted; groupType 2 is the only type v3 creates.
        Status = group.Dismissed ? 2 : group.MuteAll ? 3 : 0,
        GroupType = 2,
        // OpenIM: 2 = join directly, 1 = everything needs approval (Parley's approval and invite-only policies).
        NeedVerification = group.JoinPolicy == GroupJoinPolicy.Free ? 2 : 1,
    };

    /// <summary>
    /// A stored message as OpenIM's MsgData for <c>lastMsg</c>. A revoke event becomes OpenIM's 2101 revoke notification; group
    /// system messages go through the group-notification mapping.
    /// </summary>
    private static async Task<MsgData> LastMsgAsync(HttpContext context, StoredMessage stored, Dictionary<string, UserRecord> users)
    {
        var message = ProtoMapper.ToProto(stored);
        MsgData data;
        if (message.Content?.BodyCase == ParleyContent.BodyOneofCase.Revoke)
        {
            var revoked = message.Content.Revoke;
            var target = await context.RequestServices.GetRequiredService<IMessageStore>()
                .GetMessageAsync(stored.ConversationId, (long)revoked.Seq, context.RequestAborted).ConfigureAwait(false);
            var accounts = Accounts(context);
            var sessionType = OpenImMessages.SessionType(stored.ConversationId, accounts);
            var tips = new RevokedTipsJson(revoked.RevokedBy, target?.ClientMsgId ?? string.Empty, stored.ServerTime, sessionType, (long)revoked.Seq, OpenImMessages.ToOpenIm(stored.ConversationId, accounts), revoked.RevokedBy != target?.SenderId);
            data = OpenImMessages.ToMsgData(message, accounts);
            data.MsgFrom = OpenImMessages.MsgFromSystem;
            data.ContentType = RevokeNotification;
            data.Content = OpenImMessages.Json(new Dictionary<string, string> { ["detail"] = JsonSerializer.Serialize(tips) });
        }
        else
        {
            data = (!OpenImMessages.IsUserContent(message.Content?.BodyCase)
                ? OpenImNotifications.FromGroupContent(message)
                : null) ?? OpenImMessages.ToMsgData(message, Accounts(context), context.RequestServices.GetRequiredService<OpenImObjectUrls>());
        }

        if (users.TryGetValue(stored.SenderId, out var sender))
        {
            data.SenderNickname = sender.Nickname;
            data.SenderFaceURL = sender.AvatarUrl;
        }

        return data;
    }

    /// <summary>A Parley grain error as the nearest OpenIM code.</summary>
    // A direct conversation has no "not in group": OpenIM answers record-not-found there.
    private static OpenImResponse FromCoreError(CoreFailure failure, string conversationId)
    {
        var code = OpenImErrors.FromCore(failure.Error, notMember: conversationId.StartsWith("sg_", StringComparison.Ordinal) ? OpenImErrors.NotInGroup : OpenImErrors.RecordNotFound);
        return OpenImResponse.Error(code, OpenImErrors.Name(code), failure.Message);
    }
}
