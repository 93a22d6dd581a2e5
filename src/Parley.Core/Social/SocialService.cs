using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;
using Parley.Core.Webhooks;
using Parley.Protocol;
using Parley.Protocol.V1;
using FriendRequestState = Parley.Protocol.V1.FriendRequestState;

namespace Parley.Core.Social;

/// <summary>
/// The social requests of one authenticated user: validation, reads straight from the stores, and changes through
/// the pair's <see cref="IFriendshipGrain"/>.
/// </summary>
public sealed class SocialService(IRelationStore relations, IAccountStore accounts, IGrainFactory grains, TimeProvider time, Optional<FriendHooks> hooks, Optional<AfterHooks> afterHooks)
{
    public const int MaxRequestMessageLength = 256;
    public const int MaxRemarkLength = 64;
    public const int MaxQueryLength = 64;
    public const int MaxUserIds = 100;
    public const int MaxListedRequests = 500;

    public async Task<CoreResult<UserList>> SearchUsersAsync(string query, uint limit, CancellationToken cancellationToken = default)
    {
        query = query.Trim();
        if (query.Length == 0 || query.Length > MaxQueryLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"query must be 1..{MaxQueryLength} characters.");
        }

        var take = limit == 0 ? 20 : (int)Math.Min(limit, 100);
        var users = await relations.SearchUsersAsync(query, take, cancellationToken).ConfigureAwait(false);
        return CoreResult.Success(ToList(users));
    }

    public async Task<CoreResult<UserList>> GetUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        if (userIds.Count > MaxUserIds)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"At most {MaxUserIds} user ids per request.");
        }

        var ids = userIds.Where(Ids.IsValid).Distinct(StringComparer.Ordinal).ToArray();
        var users = await accounts.GetUsersAsync(ids, cancellationToken).ConfigureAwait(false);
        return CoreResult.Success(ToList(users));
    }

    public async Task<CoreResult<Ok>> UpdateSettingsAsync(string userId, bool? searchable, CancellationToken cancellationToken = default)
    {
        if (searchable is { } value)
        {
            await relations.SetSearchableAsync(userId, value, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        }

        return CoreResult.Success(new Ok());
    }

    public async Task<CoreResult<FriendRequest>> SendFriendRequestAsync(string userId, string toUserId, string message, CancellationToken cancellationToken = default)
    {
        if (message.Length > MaxRequestMessageLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"The message is longer than {MaxRequestMessageLength} characters.");
        }

        if (await CheckPeerAsync(userId, toUserId, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            return refusal;
        }

        if (hooks.Value is { } hook && await hook.BeforeAddFriendAsync(userId, toUserId, message).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        var outcome = await Pair(userId, toUserId).SendRequestAsync(userId, message).ConfigureAwait(false);
        return ToResult(outcome);
    }

    public async Task<CoreResult<FriendRequest>> RespondFriendRequestAsync(string userId, string fromUserId, bool accept, string message, CancellationToken cancellationToken = default)
    {
        if (message.Length > MaxRequestMessageLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"The message is longer than {MaxRequestMessageLength} characters.");
        }

        if (!Ids.IsValid(fromUserId) || fromUserId == userId)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "from_user_id must name another user.");
        }

        var outcome = await Pair(userId, fromUserId).RespondAsync(userId, accept, message).ConfigureAwait(false);
        var result = ToResult(outcome);
        if (accept && result.IsOk && afterHooks.Value is { } after)
        {
            await after.EnqueueAsync(WebhookOptions.AfterAddFriendAgree, json =>
            {
                json.WriteString("fromUserID", fromUserId);
                json.WriteString("toUserID", userId);
                json.WriteString("handleMsg", message);
            }).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<CoreResult<FriendRequestList>> ListFriendRequestsAsync(string userId, RequestDirection direction, CancellationToken cancellationToken = default)
    {
        var requests = await relations.ListRequestsAsync(userId, direction == RequestDirection.Incoming, MaxListedRequests, cancellationToken).ConfigureAwait(false);
        var list = new FriendRequestList();
        list.Requests.AddRange(requests.Select(ToProto));
        return CoreResult.Success(list);
    }

    public async Task<CoreResult<Ok>> DeleteFriendAsync(string userId, string friendId, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(friendId) || friendId == userId)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "user_id must name another user.");
        }

        var result = ToOk(await Pair(userId, friendId).DeleteAsync(userId).ConfigureAwait(false));
        if (result.IsOk && afterHooks.Value is { } after)
        {
            await after.EnqueueAsync(WebhookOptions.AfterDeleteFriend, json =>
            {
                json.WriteString("ownerUserID", userId);
                json.WriteString("friendUserID", friendId);
            }).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<CoreResult<Ok>> SetRemarkAsync(string userId, string friendId, string remark, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(friendId) || friendId == userId || remark.Length > MaxRemarkLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"user_id must name another user and the remark be at most {MaxRemarkLength} characters.");
        }

        return ToOk(await Pair(userId, friendId).SetRemarkAsync(userId, remark).ConfigureAwait(false));
    }

    public async Task<CoreResult<Ok>> SetBlockedAsync(string userId, string otherId, bool blocked, CancellationToken cancellationToken = default)
    {
        if (await CheckPeerAsync(userId, otherId, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            return refusal;
        }

        return ToOk(await Pair(userId, otherId).SetBlockedAsync(userId, blocked).ConfigureAwait(false));
    }

    public async Task<CoreResult<RelationsDelta>> SyncAsync(string userId, ulong version, CancellationToken cancellationToken = default)
    {
        var changes = await relations.GetChangesAsync(userId, (long)Math.Min(version, long.MaxValue), cancellationToken).ConfigureAwait(false);
        var profiles = changes.Friends.Count == 0
            ? new Dictionary<string, UserRecord>(StringComparer.Ordinal)
            : (await accounts.GetUsersAsync([.. changes.Friends.Select(f => f.FriendId)], cancellationToken).ConfigureAwait(false))
                .ToDictionary(u => u.UserId, StringComparer.Ordinal);
        var delta = new RelationsDelta { Version = (ulong)changes.Version, FullReset = changes.FullReset };
        foreach (var f in changes.Friends)
        {
            delta.Friends.Add(new Friend
            {
                UserId = f.FriendId,
                Remark = f.Remark,
                CreatedTime = f.CreatedAt,
                Profile = profiles.TryGetValue(f.FriendId, out var user) ? ToProto(user) : new UserProfile { UserId = f.FriendId },
            });
        }

        delta.DeletedFriendIds.AddRange(changes.DeletedFriendIds);
        delta.Requests.AddRange(changes.Requests.Select(ToProto));
        delta.BlockedUserIds.AddRange(changes.BlockedUserIds);
        delta.UnblockedUserIds.AddRange(changes.UnblockedUserIds);
        return CoreResult.Success(delta);
    }

    public static UserProfile ToProto(UserRecord user) => new() { UserId = user.UserId, Nickname = user.Nickname, AvatarUrl = user.AvatarUrl, Ex = user.Ex };

    public static FriendRequest ToProto(FriendRequestRecord r) => new()
    {
        FromUserId = r.FromUserId,
        ToUserId = r.ToUserId,
        Message = r.Message,
        State = (FriendRequestState)(int)r.State,
        CreatedTime = r.CreatedAt,
        HandledTime = r.HandledAt,
        HandleMessage = r.HandleMessage,
    };

    private IFriendshipGrain Pair(string a, string b) => grains.GetGrain<IFriendshipGrain>(FriendshipKey.For(a, b));

    private async Task<CoreFailure?> CheckPeerAsync(string userId, string otherId, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(otherId) || otherId == userId)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "user_id must name another user.");
        }

        return await accounts.GetUserAsync(otherId, cancellationToken).ConfigureAwait(false) is null
            ? CoreResult.Fail(CoreError.NotFound, "No such user.")
            : null;
    }

    private static UserList ToList(IEnumerable<UserRecord> users)
    {
        var list = new UserList();
        list.Users.AddRange(users.Select(ToProto));
        return list;
    }

    private static CoreResult<FriendRequest> ToResult(CoreResult<FriendshipChange> outcome) =>
        !outcome.IsOk
            ? outcome.Failure
            : CoreResult.Success(new FriendRequest
            {
                FromUserId = outcome.Value!.Request!.FromUserId,
                ToUserId = outcome.Value.Request.ToUserId,
                Message = outcome.Value.Request.Message,
                State = (FriendRequestState)outcome.Value.Request.State,
                CreatedTime = outcome.Value.Request.CreatedAt,
                HandledTime = outcome.Value.Request.HandledAt,
                HandleMessage = outcome.Value.Request.HandleMessage,
            });

    private static CoreResult<Ok> ToOk(CoreResult<FriendshipChange> outcome) =>
        outcome.IsOk ? CoreResult.Success(new Ok()) : outcome.Failure;
}
