using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Social;
using Parley.Compat.OpenIM.Rest;
using Parley.Core.Social;
using Parley.Protocol;
using Parley.Protocol.V1;
using static Parley.Compat.OpenIM.Rest.SocialJson;
using static Parley.Compat.OpenIM.Rest.SocialRestSupport;
using Parley.Core;
using FriendRequestState = Parley.Protocol.V1.FriendRequestState;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's <c>/friend/*</c> endpoints on Parley's friends, requests and blocks (<see cref="SocialService"/> for changes,
/// <see cref="IRelationStore"/> for reads). The acting user is always the token's; a body user id naming someone else is
/// refused with 1002.
/// </summary>
internal static partial class OpenImRest
{
    private const int MaxIdsPerCall = 1000;

    static partial void MapFriends(RouteGroupBuilder group)
    {
        Route(group, "/friend/add_friend", OpenImAuth.User, AddFriendAsync);
        Route(group, "/friend/add_friend_response", OpenImAuth.User, AddFriendResponseAsync);
        Route(group, "/friend/get_friend_apply_list", OpenImAuth.User, (c, b, u) => FriendApplyListAsync(c, b, u!, incoming: true));
        Route(group, "/friend/get_self_friend_apply_list", OpenImAuth.User, (c, b, u) => FriendApplyListAsync(c, b, u!, incoming: false));
        Route(group, "/friend/get_designated_friend_apply", OpenImAuth.User, DesignatedFriendApplyAsync);
        Route(group, "/friend/get_friend_list", OpenImAuth.User, FriendListAsync);
        Route(group, "/friend/get_designated_friends", OpenImAuth.User, DesignatedFriendsAsync);
        Route(group, "/friend/delete_friend", OpenImAuth.User, DeleteFriendAsync);
        Route(group, "/friend/is_friend", OpenImAuth.User, IsFriendAsync);
        Route(group, "/friend/update_friends", OpenImAuth.User, UpdateFriendsAsync);
        Route(group, "/friend/set_friend_remark", OpenImAuth.User, SetFriendRemarkAsync);
        Route(group, "/friend/add_black", OpenImAuth.User, (c, b, u) => SetBlackAsync(c, b, u!, blocked: true));
        Route(group, "/friend/remove_black", OpenImAuth.User, (c, b, u) => SetBlackAsync(c, b, u!, blocked: false));
        Route(group, "/friend/get_black_list", OpenImAuth.User, BlackListAsync);
        Route(group, "/friend/get_specified_blacks", OpenImAuth.User, SpecifiedBlacksAsync);
        Route(group, "/friend/get_incremental_friends", OpenImAuth.User, IncrementalFriendsAsync);
        Route(group, "/friend/get_full_friend_user_ids", OpenImAuth.User, FullFriendUserIdsAsync);
    }

    private static SocialService Social(HttpContext context) => context.RequestServices.GetRequiredService<SocialService>();

    private static IRelationStore Relations(HttpContext context) => context.RequestServices.GetRequiredService<IRelationStore>();

    private static Task<RelationPair> PairAsync(HttpContext context, string a, string b) =>
        string.CompareOrdinal(a, b) <= 0
            ? Relations(context).GetPairAsync(a, b, context.RequestAborted)
            : Relations(context).GetPairAsync(b, a, context.RequestAborted);

    private static async Task<OpenImResponse> AddFriendAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "fromUserID"), me, "fromUserID") is { } refused)
        {
            return refused;
        }

        var to = Str(body, "toUserID");
        if (!Ids.IsValid(to))
        {
            return Args("toUserID is required");
        }

        if (to == me)
        {
            return OpenImResponse.Error(OpenImErrors.CanNotAddYourself, "CanNotAddYourselfError", "cannot add yourself");
        }

        var message = Str(body, "reqMsg") ?? string.Empty;
        if ((await PairAsync(context, me, to!).ConfigureAwait(false)).Friends)
        {
            return OpenImResponse.Error(OpenImErrors.RelationshipAlready, "RelationshipAlreadyError", "already friends");
        }

        var result = await Social(context).SendFriendRequestAsync(me, to!, message, context.RequestAborted).ConfigureAwait(false);
        if (result.IsOk || result.Error == CoreError.Conflict)
        {
            // OpenIM lets an applicant apply again while the request is pending; Parley keeps the first request.
            return OpenImResponse.Ok(null);
        }

        return MapError(result.Error, result.Message, notFound: OpenImErrors.UserNotFound, conflict: OpenImErrors.RelationshipAlready);
    }

    private static async Task<OpenImResponse> AddFriendResponseAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "toUserID"), me, "toUserID") is { } refused)
        {
            return refused;
        }

        if (ReadApplicationAnswer(body, out var from, out var accept) is { } invalid)
        {
            return invalid;
        }

        var result = await Social(context).RespondFriendRequestAsync(me, from, accept, Str(body, "handleMsg") ?? string.Empty, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : MapError(result.Error, result.Message, conflict: OpenImErrors.RelationshipAlready);
    }

    private static async Task<OpenImResponse> FriendApplyListAsync(HttpContext context, JsonElement body, string me, bool incoming)
    {
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var page = Page(body);
        var list = await Social(context).ListFriendRequestsAsync(me, incoming ? RequestDirection.Incoming : RequestDirection.Outgoing, context.RequestAborted).ConfigureAwait(false);
        var requests = list.Value!.Requests;
        var slice = Slice(requests, page);
        var json = await FriendRequestsJsonAsync(context, slice).ConfigureAwait(false);

        // OpenIM's Go structs: GetPaginationFriendsApplyToResp has `FriendRequests`, the "from" variant `friendRequests`.
        return OpenImResponse.Ok(incoming
            ? Data(new FriendApplyToList(json, requests.Count))
            : Data(new FriendApplyFromList(json, requests.Count)));
    }

    private static async Task<OpenImResponse> DesignatedFriendApplyAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        var from = Str(body, "fromUserID") ?? string.Empty;
        var to = Str(body, "toUserID") ?? string.Empty;
        if (!Ids.IsValid(from) || !Ids.IsValid(to) || from == to)
        {
            return Args("fromUserID and toUserID must name two users");
        }

        if (from != me && to != me)
        {
            return NoPermission("the token's user must be fromUserID or toUserID");
        }

        // Both directions, as OpenIM does: after accepting, the SDK asks with itself as fromUserID for the request it accepted.
        var pair = await PairAsync(context, from, to).ConfigureAwait(false);
        var forward = string.CompareOrdinal(from, to) <= 0;
        var records = new[] { forward ? pair.FirstToSecondRequest : pair.SecondToFirstRequest, forward ? pair.SecondToFirstRequest : pair.FirstToSecondRequest }
            .OfType<FriendRequestRecord>()
            .Select(SocialService.ToProto)
            .ToList();
        var json = await FriendRequestsJsonAsync(context, records).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new FriendApplyFromList(NullIfEmpty(json), json.Count)));
    }

    private static async Task<List<FriendRequestJson>> FriendRequestsJsonAsync(HttpContext context, IReadOnlyList<FriendRequest> requests)
    {
        var profiles = await ProfilesAsync(context, requests.SelectMany(r => new[] { r.FromUserId, r.ToUserId })).ConfigureAwait(false);
        return [.. requests.Select(r =>
        {
            var from = profiles.GetValueOrDefault(r.FromUserId);
            var to = profiles.GetValueOrDefault(r.ToUserId);
            var handled = r.State != FriendRequestState.Pending;
            return new FriendRequestJson(
                r.FromUserId,
                from?.Nickname,
                from?.AvatarUrl,
                r.ToUserId,
                to?.Nickname,
                to?.AvatarUrl,
                r.State switch { FriendRequestState.Accepted => 1, FriendRequestState.Refused => -1, _ => 0 },
                r.Message,
                r.CreatedTime,
                handled ? r.ToUserId : null,
                r.HandleMessage,
                r.HandledTime,
                null);
        })];
    }

    /// <summary>The caller's live friends, oldest friendship first.</summary>
    private static async Task<(long Version, List<FriendRecord> Friends, IReadOnlyList<string> Blocked)> FullRelationsAsync(HttpContext context, string me)
    {
        var state = await Relations(context).GetChangesAsync(me, 0, context.RequestAborted).ConfigureAwait(false);
        var friends = state.Friends.Where(f => !f.Deleted)
            .OrderBy(f => f.CreatedAt)
            .ThenBy(f => f.FriendId, StringComparer.Ordinal)
            .ToList();
        return (state.Version, friends, state.BlockedUserIds);
    }

    private static async Task<List<FriendInfoJson>> FriendsJsonAsync(HttpContext context, string me, IReadOnlyList<FriendRecord> friends)
    {
        var profiles = await ProfilesAsync(context, friends.Select(f => f.FriendId)).ConfigureAwait(false);
        return [.. friends.Select(f => new FriendInfoJson(me, f.Remark, f.CreatedAt, User(profiles, f.FriendId), 0, null, null, false))];
    }

    private static async Task<OpenImResponse> FriendListAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var page = Page(body);
        var (_, friends, _) = await FullRelationsAsync(context, me).ConfigureAwait(false);
        var json = await FriendsJsonAsync(context, me, Slice(friends, page)).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new FriendList(json, friends.Count)));
    }

    private static async Task<OpenImResponse> DesignatedFriendsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var wanted = StrList(body, "friendUserIDs");
        if (wanted.Count > MaxIdsPerCall)
        {
            return Args($"at most {MaxIdsPerCall} friendUserIDs");
        }

        var set = wanted.ToHashSet(StringComparer.Ordinal);
        var (_, friends, _) = await FullRelationsAsync(context, me).ConfigureAwait(false);
        var json = await FriendsJsonAsync(context, me, [.. friends.Where(f => set.Contains(f.FriendId))]).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new FriendList(json, 0)));
    }

    private static async Task<OpenImResponse> DeleteFriendAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var friend = Str(body, "friendUserID") ?? string.Empty;
        var result = await Social(context).DeleteFriendAsync(me, friend, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : MapError(result.Error, result.Message, notFound: OpenImErrors.NotFriend);
    }

    private static async Task<OpenImResponse> IsFriendAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        var user1 = Str(body, "userID1") ?? string.Empty;
        var user2 = Str(body, "userID2") ?? string.Empty;
        if (!Ids.IsValid(user1) || !Ids.IsValid(user2))
        {
            return Args("userID1 and userID2 are required");
        }

        if (user1 != me && user2 != me)
        {
            return NoPermission("the token's user must be userID1 or userID2");
        }

        var friends = user1 != user2 && (await PairAsync(context, user1, user2).ConfigureAwait(false)).Friends;
        return OpenImResponse.Ok(Data(new IsFriendData(friends, friends)));
    }

    private static async Task<OpenImResponse> UpdateFriendsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var friends = StrList(body, "friendUserIDs").Distinct(StringComparer.Ordinal).ToList();
        if (friends.Count is 0 or > MaxIdsPerCall)
        {
            return Args($"friendUserIDs must name 1..{MaxIdsPerCall} friends");
        }

        // isPinned and ex have no Parley counterpart and are ignored.
        _ = Bool(body, "isPinned");
        _ = Str(body, "ex");
        if (Str(body, "remark") is not { } remark)
        {
            return OpenImResponse.Ok(null);
        }

        foreach (var friend in friends)
        {
            var result = await Social(context).SetRemarkAsync(me, friend, remark, context.RequestAborted).ConfigureAwait(false);
            if (!result.IsOk)
            {
                return MapError(result.Error, result.Message, notFound: OpenImErrors.NotFriend);
            }
        }

        return OpenImResponse.Ok(null);
    }

    private static async Task<OpenImResponse> SetFriendRemarkAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var result = await Social(context).SetRemarkAsync(me, Str(body, "friendUserID") ?? string.Empty, Str(body, "remark") ?? string.Empty, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : MapError(result.Error, result.Message, notFound: OpenImErrors.NotFriend);
    }

    private static async Task<OpenImResponse> SetBlackAsync(HttpContext context, JsonElement body, string me, bool blocked)
    {
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var other = Str(body, "blackUserID") ?? string.Empty;
        if (other == me)
        {
            return Args("cannot black yourself");
        }

        var result = await Social(context).SetBlockedAsync(me, other, blocked, context.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? OpenImResponse.Ok(null) : MapError(result.Error, result.Message, notFound: OpenImErrors.UserNotFound);
    }

    private static async Task<List<BlackInfoJson>> BlacksJsonAsync(HttpContext context, string me, IReadOnlyList<string> blocked)
    {
        var profiles = await ProfilesAsync(context, blocked).ConfigureAwait(false);
        return [.. blocked.Select(id => new BlackInfoJson(me, 0, User(profiles, id), 0, null, null))];
    }

    private static async Task<OpenImResponse> BlackListAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var page = Page(body);
        var (_, _, blocked) = await FullRelationsAsync(context, me).ConfigureAwait(false);
        var sorted = blocked.Order(StringComparer.Ordinal).ToList();
        var json = await BlacksJsonAsync(context, me, Slice(sorted, page)).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new BlackList(json, sorted.Count)));
    }

    private static async Task<OpenImResponse> SpecifiedBlacksAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "ownerUserID"), me, "ownerUserID") is { } refused)
        {
            return refused;
        }

        var wanted = StrList(body, "userIDList");
        if (wanted.Count > MaxIdsPerCall)
        {
            return Args($"at most {MaxIdsPerCall} userIDList");
        }

        var (_, _, blocked) = await FullRelationsAsync(context, me).ConfigureAwait(false);
        var set = blocked.ToHashSet(StringComparer.Ordinal);
        var hits = wanted.Distinct(StringComparer.Ordinal).Where(set.Contains).ToList();
        var json = await BlacksJsonAsync(context, me, hits).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new BlackList(json, hits.Count)));
    }

    private static async Task<OpenImResponse> IncrementalFriendsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var now = Now(context);
        var previous = PreviousTime(Str(body, "versionID"), Long(body, "version") ?? 0);
        var changes = await Relations(context).GetChangesAsync(me, previous is null ? 0 : Long(body, "version") ?? 0, context.RequestAborted).ConfigureAwait(false);
        var full = previous is null || changes.FullReset;
        var live = changes.Friends.Where(f => !f.Deleted).OrderBy(f => f.CreatedAt).ThenBy(f => f.FriendId, StringComparer.Ordinal).ToList();
        var json = await FriendsJsonAsync(context, me, live).ConfigureAwait(false);
        List<FriendInfoJson> insert = [];
        List<FriendInfoJson> update = [];
        for (var i = 0; i < live.Count; i++)
        {
            (full || live[i].CreatedAt > previous ? insert : update).Add(json[i]);
        }

        var deleted = full ? [] : changes.DeletedFriendIds.Concat(changes.Friends.Where(f => f.Deleted).Select(f => f.FriendId)).Distinct(StringComparer.Ordinal).ToList();
        return OpenImResponse.Ok(Data(new IncrementalData<FriendInfoJson>(changes.Version, VersionId(now), full, NullIfEmpty(deleted), NullIfEmpty(insert), NullIfEmpty(update), 0)));
    }

    private static async Task<OpenImResponse> FullFriendUserIdsAsync(HttpContext context, JsonElement body, string? caller)
    {
        var me = caller!;
        if (NotCaller(Str(body, "userID"), me, "userID") is { } refused)
        {
            return refused;
        }

        var (version, friends, _) = await FullRelationsAsync(context, me).ConfigureAwait(false);
        return OpenImResponse.Ok(Data(new FullUserIds(version, VersionId(Now(context)), false, NullIfEmpty(friends.Select(f => f.FriendId).ToList()))));
    }

    private static List<T>? NullIfEmpty<T>(List<T> list) => list.Count == 0 ? null : list;

    private sealed record FriendApplyToList(
        [property: JsonPropertyName("FriendRequests")] List<FriendRequestJson>? FriendRequests,
        [property: JsonPropertyName("total")] int Total);

    private sealed record FriendApplyFromList(
        [property: JsonPropertyName("friendRequests")] List<FriendRequestJson>? FriendRequests,
        [property: JsonPropertyName("total")] int Total);

    private sealed record FriendList(
        [property: JsonPropertyName("friendsInfo")] List<FriendInfoJson> FriendsInfo,
        [property: JsonPropertyName("total")] int Total);

    private sealed record BlackList(
        [property: JsonPropertyName("blacks")] List<BlackInfoJson> Blacks,
        [property: JsonPropertyName("total")] int Total);

    // Written even when false: the SDK reads Number(inUser1Friends), which is NaN for an absent field.
    private sealed record IsFriendData(
        [property: JsonPropertyName("inUser1Friends"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] bool InUser1Friends,
        [property: JsonPropertyName("inUser2Friends"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] bool InUser2Friends);

    private sealed record FullUserIds(
        [property: JsonPropertyName("version")] long Version,
        [property: JsonPropertyName("versionID")] string VersionId,
        [property: JsonPropertyName("equal")] bool Equal,
        [property: JsonPropertyName("userIDs")] List<string>? UserIds);
}
