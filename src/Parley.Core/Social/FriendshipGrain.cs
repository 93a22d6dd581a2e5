using Microsoft.Extensions.Logging;
using Parley.Abstractions.Social;
using Parley.Core.Delivery;
using Parley.Core.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;
using FriendRequestState = Parley.Abstractions.Social.FriendRequestState;

namespace Parley.Core.Social;

/// <summary>
/// Not reentrant: one change of the pair at a time, each read-decide-write-propagate. The pair's rows are cached
/// after activation because every write between the two users goes through this grain.
/// </summary>
public sealed partial class FriendshipGrain(
    IRelationStore store,
    IGrainFactory grains,
    IDeliveryHub hub,
    TimeProvider time,
    ILogger<FriendshipGrain> logger,
    ShedDirectConversations shedDirect) : Grain, IFriendshipGrain
{
    private string _first = string.Empty;
    private string _second = string.Empty;
    private RelationPair? _pair;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var bar = key.IndexOf('|', StringComparison.Ordinal);
        _first = key[..bar];
        _second = key[(bar + 1)..];
        return Task.CompletedTask;
    }

    public async Task<CoreResult<FriendshipChange>> SendRequestAsync(string fromUserId, string message)
    {
        var (pair, from, to) = await ViewAsync(fromUserId);
        if (pair is null)
        {
            return NotInPair();
        }

        if (from.Blocks || to.Blocks)
        {
            // The same answer whichever side blocked: a blocked user learns nothing more.
            return Fail(CoreError.Blocked, "Friend requests between these users are blocked.");
        }

        if (pair.Friends)
        {
            return Fail(CoreError.Conflict, "Already friends.");
        }

        if (from.Request is { State: FriendRequestState.Pending })
        {
            return Fail(CoreError.Conflict, "A request to this user is already pending.");
        }

        var now = Now();
        var write = new RelationWrite();
        FriendRequestRecord mine;
        var befriend = to.Request is { State: FriendRequestState.Pending };
        if (befriend)
        {
            // Both want it: the crossing request accepts the pending one.
            write.Requests.Add(to.Request! with { State = FriendRequestState.Accepted, HandledAt = now, HandleMessage = message });
            mine = new FriendRequestRecord(fromUserId, to.UserId, message, FriendRequestState.Accepted, now, now, string.Empty);
            AddFriendship(write, now, deleted: false);
        }
        else
        {
            mine = new FriendRequestRecord(fromUserId, to.UserId, message, FriendRequestState.Pending, now, 0, string.Empty);
        }

        write.Requests.Add(mine);
        var version = await CommitAsync(write, relationChanged: befriend, notify: [_first, _second]);
        return CoreResult.Success(new FriendshipChange(ToData(mine), version));
    }

    public async Task<CoreResult<FriendshipChange>> RespondAsync(string responderId, bool accept, string message)
    {
        var (pair, responder, requester) = await ViewAsync(responderId);
        if (pair is null)
        {
            return NotInPair();
        }

        if (requester.Request is not { State: FriendRequestState.Pending } request)
        {
            return Fail(CoreError.NotFound, "No pending friend request from this user.");
        }

        if (accept && (responder.Blocks || requester.Blocks))
        {
            return Fail(CoreError.Blocked, "Friend requests between these users are blocked.");
        }

        var now = Now();
        var write = new RelationWrite();
        var handled = request with
        {
            State = accept ? FriendRequestState.Accepted : FriendRequestState.Refused,
            HandledAt = now,
            HandleMessage = message,
        };
        write.Requests.Add(handled);
        if (accept)
        {
            if (responder.Request is { State: FriendRequestState.Pending } crossing)
            {
                write.Requests.Add(crossing with { State = FriendRequestState.Accepted, HandledAt = now });
            }

            AddFriendship(write, now, deleted: false);
        }

        var version = await CommitAsync(write, relationChanged: accept, notify: [_first, _second]);
        return CoreResult.Success(new FriendshipChange(ToData(handled), version));
    }

    public async Task<CoreResult<FriendshipChange>> DeleteAsync(string userId)
    {
        var (pair, _, _) = await ViewAsync(userId);
        if (pair is null)
        {
            return NotInPair();
        }

        if (!pair.Friends)
        {
            return Fail(CoreError.NotFound, "Not a friend.");
        }

        var write = new RelationWrite();
        AddFriendship(write, Now(), deleted: true);
        var version = await CommitAsync(write, relationChanged: true, notify: [_first, _second]);
        return CoreResult.Success(new FriendshipChange(null, version));
    }

    public async Task<CoreResult<FriendshipChange>> SetRemarkAsync(string userId, string remark)
    {
        var (pair, user, _) = await ViewAsync(userId);
        if (pair is null)
        {
            return NotInPair();
        }

        if (!pair.Friends || user.FriendRow is null)
        {
            return Fail(CoreError.NotFound, "Not a friend.");
        }

        var write = new RelationWrite();
        write.Friends.Add(user.FriendRow with { Remark = remark });
        var version = await CommitAsync(write, relationChanged: false, notify: [userId]);
        return CoreResult.Success(new FriendshipChange(null, version));
    }

    public async Task<CoreResult<FriendshipChange>> SetBlockedAsync(string userId, bool blocked)
    {
        var (pair, user, other) = await ViewAsync(userId);
        if (pair is null)
        {
            return NotInPair();
        }

        var write = new RelationWrite();
        if (user.Blocks != blocked)
        {
            write.Blocks.Add(new BlockRecord(userId, other.UserId, blocked));
        }

        // Also when nothing changed: a retry after a failure between the write and the conversation update repairs it.
        // Only the blocker is told; the blocked user's relations did not change.
        var version = await CommitAsync(write, relationChanged: true, notify: write.IsEmpty ? [] : [userId]);
        return CoreResult.Success(new FriendshipChange(null, version));
    }

    private async Task<long> CommitAsync(RelationWrite write, bool relationChanged, string[] notify)
    {
        long version;
        // Before the write, whatever it changes: no shed state of the pair's conversation read before it is kept (ADR 0033).
        shedDirect.RelationChanging(Ids.DirectConversationId(_first, _second));

        try
        {
            version = await store.ApplyAsync(write);
            _pair = await store.GetPairAsync(_first, _second);
        }
        catch
        {
            // The write may or may not have committed: read the pair again next time.
            _pair = null;
            throw;
        }

        if (relationChanged)
        {
            var pair = _pair;
            await grains.GetGrain<IConversationGrain>(Ids.DirectConversationId(_first, _second))
                .SetRelationAsync(DirectRelation.Of(pair.FirstBlocksSecond, pair.SecondBlocksFirst, pair.Friends));
        }

        if (notify.Length > 0)
        {
            hub.PublishEphemeral(notify, new RelationsChanged(version), null);
            LogRelationsChanged(logger, _first, _second, version);
        }

        return version;
    }

    private void AddFriendship(RelationWrite write, long now, bool deleted)
    {
        write.Friends.Add(new FriendRecord(_first, _second, string.Empty, now, deleted));
        write.Friends.Add(new FriendRecord(_second, _first, string.Empty, now, deleted));
    }

    private async Task<(RelationPair? Pair, Side User, Side Other)> ViewAsync(string userId)
    {
        if (userId != _first && userId != _second)
        {
            return (null, default, default);
        }

        var pair = _pair ??= await store.GetPairAsync(_first, _second);
        var first = new Side(_first, pair.FirstFriendRow, pair.FirstToSecondRequest, pair.FirstBlocksSecond);
        var second = new Side(_second, pair.SecondFriendRow, pair.SecondToFirstRequest, pair.SecondBlocksFirst);
        return userId == _first ? (pair, first, second) : (pair, second, first);
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static CoreFailure Fail(CoreError code, string message) => new(code, message);

    private static CoreFailure NotInPair() => Fail(CoreError.Forbidden, "Not one of this pair's users.");

    private static FriendRequestData ToData(FriendRequestRecord r) =>
        new(r.FromUserId, r.ToUserId, r.Message, (int)r.State, r.CreatedAt, r.HandledAt, r.HandleMessage);

    /// <summary>One user's side of the pair: their friend row, their request to the other, whether they block the other.</summary>
    private readonly record struct Side(string UserId, FriendRecord? FriendRow, FriendRequestRecord? Request, bool Blocks);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "Relations of {First} and {Second} changed (version {Version})")]
    private static partial void LogRelationsChanged(ILogger logger, string first, string second, long version);
}
