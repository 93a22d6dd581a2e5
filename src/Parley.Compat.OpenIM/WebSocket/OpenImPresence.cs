using Parley.Compat.OpenIM.Wire;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// OpenIM's presence subscriptions (WS 2005): a session subscribes to users, gets their online platforms in the answer,
/// and afterwards a 2005 push with an empty msgIncr whenever a subscribed user's set of online platforms changes (the SDK
/// raises <c>OnUserStatusChanged</c>). Online means a live connection, native or OpenIM, on this node or (in a cluster)
/// on another node as it last reported it (<see cref="IRemoteConnections"/>). Subscriptions live with the connection and
/// end with it, as in OpenIM.
/// </summary>
internal sealed class OpenImPresence
{
    /// <summary>At most this many users per session (OpenIM bounds subscriptions too; the SDK subscribes on demand).</summary>
    public const int MaxSubscriptionsPerSession = 1000;

    private readonly ConnectionRegistry _registry;
    private readonly IRemoteConnections? _remote;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<OpenImSession>> _subscribers = new(StringComparer.Ordinal);
    private readonly Dictionary<OpenImSession, HashSet<string>> _subscriptions = [];

    // The platforms last told to subscribers, per subscribed user: a register/unregister that does not change the set
    // (a second tab on the same platform) pushes nothing.
    private readonly Dictionary<string, int[]> _told = new(StringComparer.Ordinal);

    public OpenImPresence(ConnectionRegistry registry, IEnumerable<IRemoteConnections> remote)
    {
        _registry = registry;
        registry.UserConnectionsChanged += OnConnectionsChanged;
        _remote = remote.FirstOrDefault();
        if (_remote is not null)
        {
            _remote.UserConnectionsChanged += OnConnectionsChanged;
        }
    }

    /// <summary>Applies a 2005 request and answers the subscribed users' current platforms; null when the session would pass the limit.</summary>
    public SubUserOnlineStatusTips? Update(OpenImSession session, IEnumerable<string> subscribe, IEnumerable<string> unsubscribe)
    {
        var answer = new List<string>();
        lock (_lock)
        {
            if (!_subscriptions.TryGetValue(session, out var mine))
            {
                mine = new HashSet<string>(StringComparer.Ordinal);
                _subscriptions[session] = mine;
            }

            foreach (var userId in unsubscribe.Where(Parley.Protocol.Ids.IsValid).Distinct(StringComparer.Ordinal).Take(MaxSubscriptionsPerSession))
            {
                if (mine.Remove(userId))
                {
                    RemoveSubscriber(userId, session);
                }

                // Answered too: SDK 0.0.14 unsubscribes with an empty subscribe list and reads `subscribers` of the answer,
                // which an empty message (OpenIM's answer) leaves null, so its unsubscribeUsersStatus threw. Listed users it
                // has just unsubscribed it drops again at once.
                answer.Add(userId);
            }

            var added = subscribe.Where(Parley.Protocol.Ids.IsValid).Distinct(StringComparer.Ordinal).ToList();
            if (mine.Count + added.Count(id => !mine.Contains(id)) > MaxSubscriptionsPerSession)
            {
                return null;
            }

            foreach (var userId in added)
            {
                answer.Remove(userId);
                answer.Add(userId);
                if (mine.Add(userId))
                {
                    if (!_subscribers.TryGetValue(userId, out var set))
                    {
                        set = [];
                        _subscribers[userId] = set;
                        _told[userId] = Platforms(userId);
                    }

                    set.Add(session);
                }
            }
        }

        var tips = new SubUserOnlineStatusTips();
        foreach (var userId in answer)
        {
            tips.Subscribers.Add(Elem(userId, Platforms(userId)));
        }

        return tips;
    }

    /// <summary>The connection ended: its subscriptions go with it.</summary>
    public void Forget(OpenImSession session)
    {
        lock (_lock)
        {
            if (!_subscriptions.Remove(session, out var mine))
            {
                return;
            }

            foreach (var userId in mine)
            {
                RemoveSubscriber(userId, session);
            }
        }
    }

    private void RemoveSubscriber(string userId, OpenImSession session)
    {
        if (_subscribers.TryGetValue(userId, out var set) && set.Remove(session) && set.Count == 0)
        {
            _subscribers.Remove(userId);
            _told.Remove(userId);
        }
    }

    private void OnConnectionsChanged(string userId)
    {
        OpenImSession[] sessions;
        int[] platforms;
        lock (_lock)
        {
            if (!_subscribers.TryGetValue(userId, out var set))
            {
                return;
            }

            platforms = Platforms(userId);
            if (_told.TryGetValue(userId, out var told) && told.AsSpan().SequenceEqual(platforms))
            {
                return;
            }

            _told[userId] = platforms;
            sessions = [.. set];
        }

        var tips = new SubUserOnlineStatusTips();
        tips.Subscribers.Add(Elem(userId, platforms));

        // msgIncr "" marks it a push (the SDK's handler tells it from the answer to its own 2005 that way).
        var frame = new WireFrame(OpenImEnvelope.Response(OpenImReq.SubUserOnlineStatus, string.Empty, OpenImProtocol.NewId(), 0, string.Empty, tips), Text: false);
        foreach (var session in sessions)
        {
            // Best effort, never blocking the registry: a full outbox is closed by the next event's fan-out anyway.
            _ = session.Connection.TryEnqueueEvent(frame, 0);
        }
    }

    private int[] Platforms(string userId) =>
        [.. _registry.ConnectionsOf(userId).Where(c => !c.IsClosing).Select(OpenImSession.OpenImPlatformOf)
            .Concat((_remote?.ConnectionsOf(userId) ?? Array.Empty<RemoteConnection>()).Select(c => OpenImSession.OpenImPlatformOf(c.DeviceId, c.Platform)))
            .Distinct().Order()];

    private static SubUserOnlineStatusElem Elem(string userId, int[] platforms)
    {
        var elem = new SubUserOnlineStatusElem { UserID = userId };
        elem.OnlinePlatformIDs.Add(platforms);
        return elem;
    }
}
