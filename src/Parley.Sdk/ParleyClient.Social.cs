using Parley.Protocol.V1;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    /// <summary>
    /// This user's friends, friend requests or blocks changed (on any device, by either user). Pull the change with
    /// <see cref="SyncRelationsAsync"/> from the version you have. Not raised for changes made while disconnected:
    /// call <see cref="SyncRelationsAsync"/> after (re)connecting.
    /// </summary>
    public event EventHandler<RelationsChangedEventArgs>? RelationsChanged;

    /// <summary>
    /// Finds users by exact id (always) or by a case-insensitive nickname substring (only users who are searchable).
    /// Returns public profiles only.
    /// </summary>
    /// <param name="query">1..64 characters.</param>
    /// <param name="limit">1..100; 0 = the server default (20).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<UserList> SearchUsersAsync(string query, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SearchUsers = new SearchUsersRequest { Query = query, Limit = limit } },
            ServerFrame.BodyOneofCase.Users, cancellationToken).ConfigureAwait(false);
        return reply.Users;
    }

    /// <summary>The public profiles of the users among <paramref name="userIds"/> (at most 100) that exist.</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<UserList> GetUsersAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var request = new GetUsersRequest();
        request.UserIds.AddRange(userIds);
        var reply = await InvokeAsync(new ClientFrame { GetUsers = request }, ServerFrame.BodyOneofCase.Users, cancellationToken).ConfigureAwait(false);
        return reply.Users;
    }

    /// <summary>Whether other users can find this user by nickname (on by default; the exact id always finds them).</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task SetSearchableAsync(bool searchable, CancellationToken cancellationToken = default) =>
        await InvokeAsync(new ClientFrame { UpdateMySettings = new UpdateMySettingsRequest { Searchable = searchable } },
            ServerFrame.BodyOneofCase.Ok, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Asks <paramref name="toUserId"/> to be friends. When that user already asked this one, both requests are
    /// accepted and the users become friends (the result's state is accepted).
    /// </summary>
    /// <param name="toUserId">The user to befriend.</param>
    /// <param name="message">At most 256 characters.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The request as stored.</returns>
    /// <exception cref="ParleyException">
    /// <see cref="ErrorCode.Blocked"/> when either user blocked the other; <see cref="ErrorCode.Conflict"/> when they
    /// are friends or a request is pending; <see cref="ErrorCode.NotFound"/> for an unknown user; or another error.
    /// </exception>
    /// <exception cref="TimeoutException">No connection or no result within <see cref="ParleyClientOptions.RequestTimeout"/>.</exception>
    public async Task<FriendRequest> SendFriendRequestAsync(string toUserId, string message = "", CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SendFriendRequest = new SendFriendRequestRequest { ToUserId = toUserId, Message = message } },
            ServerFrame.BodyOneofCase.FriendRequest, cancellationToken).ConfigureAwait(false);
        return reply.FriendRequest;
    }

    /// <summary>Accepts or refuses the pending request from <paramref name="fromUserId"/>.</summary>
    /// <param name="fromUserId">The requester.</param>
    /// <param name="accept">True to become friends.</param>
    /// <param name="message">Optional answer (at most 256 characters), shown to the requester.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The handled request.</returns>
    /// <exception cref="ParleyException">
    /// <see cref="ErrorCode.NotFound"/> when no request is pending; <see cref="ErrorCode.Blocked"/> when accepting
    /// while either user blocks the other; or another error.
    /// </exception>
    /// <exception cref="TimeoutException">No connection or no result within <see cref="ParleyClientOptions.RequestTimeout"/>.</exception>
    public async Task<FriendRequest> RespondFriendRequestAsync(string fromUserId, bool accept, string message = "", CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { RespondFriendRequest = new RespondFriendRequestRequest { FromUserId = fromUserId, Accept = accept, Message = message } },
            ServerFrame.BodyOneofCase.FriendRequest, cancellationToken).ConfigureAwait(false);
        return reply.FriendRequest;
    }

    /// <summary>Requests received (<see cref="RequestDirection.Incoming"/>) or sent by this user, newest first, in every state.</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<FriendRequestList> GetFriendRequestsAsync(RequestDirection direction, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { ListFriendRequests = new ListFriendRequestsRequest { Direction = direction } },
            ServerFrame.BodyOneofCase.FriendRequests, cancellationToken).ConfigureAwait(false);
        return reply.FriendRequests;
    }

    /// <summary>Ends the friendship with <paramref name="userId"/> for both users.</summary>
    /// <exception cref="ParleyException"><see cref="ErrorCode.NotFound"/> when not friends, or another error.</exception>
    /// <exception cref="TimeoutException">No connection or no result within <see cref="ParleyClientOptions.RequestTimeout"/>.</exception>
    public async Task DeleteFriendAsync(string userId, CancellationToken cancellationToken = default) =>
        await InvokeAsync(new ClientFrame { DeleteFriend = new DeleteFriendRequest { UserId = userId } },
            ServerFrame.BodyOneofCase.Ok, cancellationToken).ConfigureAwait(false);

    /// <summary>Sets this user's private remark for a friend (at most 64 characters; empty clears it).</summary>
    /// <exception cref="ParleyException"><see cref="ErrorCode.NotFound"/> when not friends, or another error.</exception>
    /// <exception cref="TimeoutException">No connection or no result within <see cref="ParleyClientOptions.RequestTimeout"/>.</exception>
    public async Task SetFriendRemarkAsync(string userId, string remark, CancellationToken cancellationToken = default) =>
        await InvokeAsync(new ClientFrame { SetFriendRemark = new SetFriendRemarkRequest { UserId = userId, Remark = remark } },
            ServerFrame.BodyOneofCase.Ok, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Blocks or unblocks <paramref name="userId"/>. While the block stands neither user can send the other a 1:1
    /// message or a friend request (<see cref="ErrorCode.Blocked"/>); a friendship is kept. Idempotent. When this
    /// returns, every later message between the two is refused.
    /// </summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task SetBlockedAsync(string userId, bool blocked, CancellationToken cancellationToken = default) =>
        await InvokeAsync(new ClientFrame { SetBlocked = new SetBlockedRequest { UserId = userId, Blocked = blocked } },
            ServerFrame.BodyOneofCase.Ok, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// What changed in this user's friends, requests and blocks since <paramref name="version"/> (0 = everything).
    /// Keep the result's <see cref="RelationsDelta.Version"/> for the next call; when
    /// <see cref="RelationsDelta.FullReset"/> is set, replace the local state with the result.
    /// </summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<RelationsDelta> SyncRelationsAsync(ulong version, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { SyncRelations = new SyncRelationsRequest { Version = version } },
            ServerFrame.BodyOneofCase.Relations, cancellationToken).ConfigureAwait(false);
        return reply.Relations;
    }

    private void OnRelationsChanged(RelationsChangedEvent changed) =>
        Raise(RelationsChanged, new RelationsChangedEventArgs(changed.Version));
}

/// <summary>The user's relations changed; pull them with <see cref="ParleyClient.SyncRelationsAsync"/>.</summary>
public sealed class RelationsChangedEventArgs : EventArgs
{
    internal RelationsChangedEventArgs(ulong version) => Version = version;

    /// <summary>The relation version of the change; nothing to pull when the local version is at or above it.</summary>
    public ulong Version { get; }
}
