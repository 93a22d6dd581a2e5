using System.Security.Cryptography;
using System.Text.Json;
using Parley.Compat.OpenIM.Wire;
using Parley.Core.Social;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// Friend notifications (content types 1201–1208) for OpenIM clients. Parley tells a user's live connections only that
/// their relations changed (a <see cref="RelationsChangedEvent"/> carrying the relation version of that change); the
/// OpenIM SDK needs to be told what changed between whom (<c>detail.fromToUserID</c>), after which it fetches the details
/// itself over REST. This reads the change behind each event and turns it into those notifications.
/// </summary>
internal sealed class OpenImRelationNotifier(SocialService social, TimeProvider time)
{
    public const int FriendApplicationApproved = 1201;
    public const int FriendApplicationRejected = 1202;
    public const int FriendApplication = 1203;
    public const int FriendAdded = 1204;
    public const int FriendDeleted = 1205;
    public const int FriendRemarkSet = 1206;
    public const int BlackAdded = 1207;
    public const int BlackDeleted = 1208;
    public const int FriendInfoUpdated = 1209;

    /// <summary>
    /// The notifications for the relation change of version <paramref name="version"/> (and any later one not yet seen);
    /// <paramref name="state"/> remembers, per connection, the last version turned into notifications so none is sent twice.
    /// Null when there is nothing to tell. Calls for one connection must not overlap.
    /// </summary>
    public async Task<PushMessages?> OnRelationsChangedAsync(string userId, ulong version, RelationCursor state, CancellationToken cancellationToken = default)
    {
        if (version == 0 || version <= state.LastVersion)
        {
            return null;
        }

        // A write takes exactly one relation version, so the change behind this event is everything above version - 1.
        var since = Math.Max(version - 1, state.LastVersion);
        var result = await social.SyncAsync(userId, since, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk || result.Value is null)
        {
            return null;
        }

        var delta = result.Value;
        state.LastVersion = Math.Max(state.LastVersion, delta.Version);
        // Asking from version 0 always answers with the whole state; when that is the user's first relation change (no
        // version before it), the whole state is exactly that change, so it is told like any other. Only a reset past
        // the purge horizon leaves "something changed, resync" (1209).
        List<(string Peer, MsgData Data)> notifications = delta.FullReset && since > 0
            ? [(userId, Notification(userId, userId, FriendInfoUpdated, new { fromToUserID = new { fromUserID = userId, toUserID = userId } }))]
            : FromDelta(userId, delta);
        if (notifications.Count == 0)
        {
            return null;
        }

        var push = new PushMessages();
        foreach (var (peer, data) in notifications)
        {
            var key = "n_" + (string.CompareOrdinal(userId, peer) <= 0 ? userId + "_" + peer : peer + "_" + userId);
            if (!push.NotificationMsgs.TryGetValue(key, out var list))
            {
                list = new PullMsgs();
                push.NotificationMsgs[key] = list;
            }

            list.Msgs.Add(data);
        }

        return push;
    }

    /// <summary>The notifications a delta of <paramref name="userId"/>'s relations stands for (pure; for tests).</summary>
    internal List<(string Peer, MsgData Data)> FromDelta(string userId, RelationsDelta delta)
    {
        var output = new List<(string, MsgData)>();
        var accepted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var request in delta.Requests)
        {
            var peer = request.FromUserId == userId ? request.ToUserId : request.FromUserId;
            var type = request.State switch
            {
                FriendRequestState.Accepted => FriendApplicationApproved,
                FriendRequestState.Refused => FriendApplicationRejected,
                _ => FriendApplication,
            };
            if (request.State == FriendRequestState.Accepted)
            {
                accepted.Add(peer);
            }

            output.Add((peer, Notification(request.FromUserId, userId, type, new { fromToUserID = new { fromUserID = request.FromUserId, toUserID = request.ToUserId } })));
        }

        foreach (var friend in delta.Friends)
        {
            output.Add(accepted.Contains(friend.UserId)
                ? (friend.UserId, Notification(friend.UserId, userId, FriendAdded, new
                {
                    friend = new { ownerUserID = userId, friendUser = new { userID = friend.UserId } },
                    opUser = new { userID = friend.UserId },
                }))
                : (friend.UserId, Notification(userId, userId, FriendRemarkSet, new { fromToUserID = new { fromUserID = userId, toUserID = friend.UserId } })));
        }

        foreach (var id in delta.DeletedFriendIds)
        {
            output.Add((id, Notification(userId, userId, FriendDeleted, new { fromToUserID = new { fromUserID = userId, toUserID = id } })));
        }

        foreach (var id in delta.BlockedUserIds)
        {
            output.Add((id, Notification(userId, userId, BlackAdded, new { fromToUserID = new { fromUserID = userId, toUserID = id } })));
        }

        foreach (var id in delta.UnblockedUserIds)
        {
            output.Add((id, Notification(userId, userId, BlackDeleted, new { fromToUserID = new { fromUserID = userId, toUserID = id } })));
        }

        return output;
    }

    private MsgData Notification(string sendId, string recvId, int contentType, object tips)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        return new MsgData
        {
            SendID = sendId,
            RecvID = recvId,
            ClientMsgID = id,
            ServerMsgID = id,
            SessionType = 4,
            MsgFrom = OpenImMessages.MsgFromSystem,
            ContentType = contentType,
            Content = OpenImMessages.Json(new Dictionary<string, string> { ["detail"] = JsonSerializer.Serialize(tips) }),
            SendTime = now,
            CreateTime = now,
            Status = OpenImMessages.StatusSucceeded,
        };
    }
}

/// <summary>Per connection: the last relation version turned into notifications.</summary>
internal sealed class RelationCursor
{
    public ulong LastVersion { get; set; }
}
