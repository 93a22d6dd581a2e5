using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core.Delivery;
using Parley.Core.Sessions;
using Parley.Core.Telemetry;
using Parley.Gateway.Protocols;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Gateway.Connections;

/// <summary>
/// The node's live connections by user: applies the multi-login policy, fans domain events out to outboxes (each event
/// encoded at most once per wire protocol, the same bytes shared by every connection of that protocol) and kicks
/// sessions for the admin API.
/// </summary>
internal sealed partial class ConnectionRegistry : IDeliveryHub, ISessionControl
{
    // Per-node rosters of read-diffusion groups (ADR 0017): group conversation → this node's online users that are active
    // members. Changed only under _rosterLock, by the dispatch of the group's own membership events and by LoadRosterAsync.
    private readonly Dictionary<string, HashSet<string>> _rosters = new(StringComparer.Ordinal);
    private readonly Lock _rosterLock = new();

    private readonly ConcurrentDictionary<string, UserSessions> _users = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<SessionOptions> _sessions;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<ConnectionRegistry> _logger;

    private readonly INodeBroadcastObserver[] _broadcastObservers;

    private readonly SendAnswers? _answers;

    public ConnectionRegistry(IOptionsMonitor<SessionOptions> sessions, ParleyMetrics metrics, ILogger<ConnectionRegistry> logger, IEnumerable<INodeBroadcastObserver>? broadcastObservers = null, SendAnswers? answers = null)
    {
        _answers = answers;
        _broadcastObservers = broadcastObservers?.ToArray() ?? [];
        _sessions = sessions;
        _metrics = metrics;
        _logger = logger;
    }

    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _draining;

    public int Count
    {
        get
        {
            var count = 0;
            foreach (var pair in _users)
            {
                count += pair.Value.Snapshot.Length;
            }

            return count;
        }
    }

    /// <summary>
    /// Raised with the user's id after one of the user's connections registered or unregistered (presence: OpenIM's 2005
    /// subscriptions). Called on the registering thread, outside the registry's locks; handlers must not block.
    /// </summary>
    public event Action<string>? UserConnectionsChanged;

    /// <summary>Raised after a connection registered (cluster: its login displaces logins on the other nodes too).</summary>
    public event Action<ClientConnection>? ConnectionRegistered;

    /// <summary>Raised once per connection when it leaves the registry (closed, displaced or kicked).</summary>
    public event Action<ClientConnection>? ConnectionUnregistered;

    /// <summary>True once the node drains for a shutdown: every connection, present or new, is drained and closed.</summary>
    public bool IsDraining => _draining;

    /// <summary>
    /// Shutdown: drains every connection (see <see cref="ClientConnection.Drain"/>), and every connection registered from
    /// now on. The task completes when the last connection has unregistered.
    /// </summary>
    public Task DrainAllAsync()
    {
        _draining = true;
        foreach (var connection in All())
        {
            connection.Drain();
        }

        if (_users.IsEmpty)
        {
            _drained.TrySetResult();
        }

        return _drained.Task;
    }

    /// <summary>Adds a connection; returns the connections it displaces under the multi-login policy (not yet closed).</summary>
    public List<ClientConnection> Register(ClientConnection connection)
    {
        var policy = _sessions.CurrentValue.MultiLogin;
        var displaced = new List<ClientConnection>();
        while (true)
        {
            var user = _users.GetOrAdd(connection.UserId, static _ => new UserSessions());
            lock (user)
            {
                if (user.Removed)
                {
                    continue;
                }

                var kept = new List<ClientConnection>(user.Snapshot.Length + 1);
                foreach (var existing in user.Snapshot)
                {
                    if (SessionPolicy.Displaces(policy, existing.DeviceId, existing.Platform, connection.DeviceId, connection.Platform))
                    {
                        displaced.Add(existing);
                    }
                    else
                    {
                        kept.Add(existing);
                    }
                }

                kept.Add(connection);
                user.Snapshot = [.. kept];
                if (_draining)
                {
                    // Registered after the drain began (or while it enumerated): closes at once with 1012.
                    connection.Drain();
                }
            }

            UserConnectionsChanged?.Invoke(connection.UserId);
            ConnectionRegistered?.Invoke(connection);
            return displaced;
        }
    }

    /// <summary>Removes exactly this connection (a displaced connection can never remove its successor).</summary>
    public void Unregister(ClientConnection connection)
    {
        if (!_users.TryGetValue(connection.UserId, out var user))
        {
            return;
        }

        bool removed;
        lock (user)
        {
            removed = user.Snapshot.Any(c => ReferenceEquals(c, connection));
            user.Snapshot = [.. user.Snapshot.Where(c => !ReferenceEquals(c, connection))];
            if (user.Snapshot.Length == 0)
            {
                user.Removed = true;
                _users.TryRemove(new KeyValuePair<string, UserSessions>(connection.UserId, user));
            }
        }

        if (user.Removed)
        {
            LeaveRosters(connection.UserId, user);
        }

        UserConnectionsChanged?.Invoke(connection.UserId);
        if (removed)
        {
            ConnectionUnregistered?.Invoke(connection);
        }

        if (_draining && _users.IsEmpty)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Every registered connection. Walks the dictionary without its locks and without copying it (<c>Values</c> takes
    /// every lock and copies every entry, and enumerating each snapshot array as an <c>IEnumerable</c> allocated once per
    /// user): the sweeper calls this every second, so that was garbage and lock hold time proportional to the online
    /// users, every second, on an idle server (issue 17).
    /// </summary>
    public IEnumerable<ClientConnection> All()
    {
        foreach (var pair in _users)
        {
            foreach (var connection in pair.Value.Snapshot)
            {
                yield return connection;
            }
        }
    }

    public ClientConnection[] ConnectionsOf(string userId) =>
        _users.TryGetValue(userId, out var user) ? user.Snapshot : [];

    public void Publish(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId) =>
        Fanout(userIds, @event, version, excludeConnectionId);

    public void PublishToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        string[] targets;
        lock (_rosterLock)
        {
            foreach (var userId in joined)
            {
                if (_users.TryGetValue(userId, out var user) && !user.Removed)
                {
                    (user.RosterSeen ??= new(StringComparer.Ordinal))[conversationId] = version;
                    JoinRoster(conversationId, userId, user);
                }
            }

            var roster = _rosters.GetValueOrDefault(conversationId);
            if (@event is MembershipChanged { Audience: { } audience })
            {
                // A membership event for the changed users and the group's owner and admins only (ADR 0017); the
                // roster moves with it all the same, in this event's order.
                targets = [.. audience];
                foreach (var userId in left)
                {
                    LeaveRoster(conversationId, userId, version, roster);
                }
            }
            else if (left.Count == 0)
            {
                targets = roster is null ? [] : [.. roster];
            }
            else
            {
                // The removed get their removal notice (they may not be on this node's roster any more), then nothing.
                targets = roster is null ? [.. left] : [.. roster.Union(left, StringComparer.Ordinal)];
                foreach (var userId in left)
                {
                    LeaveRoster(conversationId, userId, version, roster);
                }
            }
        }

        Fanout(targets, @event, version, excludeConnectionId);
    }

    // Under _rosterLock: a removed member leaves this node's roster of the group (after the event was addressed).
    private void LeaveRoster(string conversationId, string userId, long version, HashSet<string>? roster)
    {
        if (_users.TryGetValue(userId, out var user))
        {
            (user.RosterSeen ??= new(StringComparer.Ordinal))[conversationId] = version;
            user.Groups?.Remove(conversationId);
        }

        if (roster is not null && roster.Remove(userId) && roster.Count == 0)
        {
            _rosters.Remove(conversationId);
        }
    }

    /// <summary>
    /// Puts a newly registered connection's user on the rosters of the read-diffusion groups they are an active member of.
    /// Runs before the connect-time sync: what commits after the read reaches the connection live (held until its sync
    /// ends), what committed before is in the sync. A membership event dispatched after the read's snapshot wins over it.
    /// </summary>
    public async Task LoadRosterAsync(ClientConnection connection, Parley.Abstractions.Messaging.ISuperGroupStore store)
    {
        var memberships = await store.GetSuperGroupMembershipsAsync(connection.UserId).ConfigureAwait(false);
        lock (_rosterLock)
        {
            if (!_users.TryGetValue(connection.UserId, out var user) || user.Removed)
            {
                return;
            }

            foreach (var conversationId in memberships.ConversationIds)
            {
                if (user.RosterSeen is { } rosterSeen && rosterSeen.TryGetValue(conversationId, out var seen) && seen > memberships.Version)
                {
                    continue;
                }

                JoinRoster(conversationId, connection.UserId, user);
            }
        }
    }

    /// <summary>This node's online members of a read-diffusion group (tests, metrics).</summary>
    public int RosterSize(string conversationId)
    {
        lock (_rosterLock)
        {
            return _rosters.GetValueOrDefault(conversationId)?.Count ?? 0;
        }
    }

    private void JoinRoster(string conversationId, string userId, UserSessions user)
    {
        if (!_rosters.TryGetValue(conversationId, out var roster))
        {
            _rosters[conversationId] = roster = new HashSet<string>(StringComparer.Ordinal);
        }

        roster.Add(userId);
        (user.Groups ??= new(StringComparer.Ordinal)).Add(conversationId);
    }

    private void LeaveRosters(string userId, UserSessions user)
    {
        lock (_rosterLock)
        {
            if (user.Groups is null)
            {
                return;
            }

            foreach (var conversationId in user.Groups)
            {
                if (_rosters.TryGetValue(conversationId, out var roster) && roster.Remove(userId) && roster.Count == 0)
                {
                    _rosters.Remove(conversationId);
                }
            }

            user.Groups.Clear();
        }
    }

    /// <summary>A one-way send's answer (ADR 0022): one node, so every route is this node's.</summary>
    public void Answer(Parley.Core.Messaging.AckRoute route, Parley.Core.CoreResult<Parley.Core.Messaging.MessageAck> outcome) =>
        _answers?.Answer(route.Ticket, outcome);

    public void PublishEphemeral(IReadOnlyList<string> userIds, DeliveryEvent @event, string? excludeConnectionId) =>
        Fanout(userIds, @event, 0, excludeConnectionId);

    public void PublishToAll(DeliveryEvent @event)
    {
        foreach (var observer in _broadcastObservers)
        {
            observer.OnBroadcast(@event);
        }

        var delivered = 0;
        foreach (var connection in All())
        {
            delivered += Deliver(connection, @event, 0);
        }

        if (delivered > 0)
        {
            _metrics.Deliveries.Add(delivered);
        }
    }

    public int KickUser(string userId, string? deviceId, KickReason reason)
    {
        var closed = 0;
        foreach (var c in ConnectionsOf(userId))
        {
            if (deviceId is null || c.DeviceId == deviceId)
            {
                closed += Kick(c, reason) ? 1 : 0;
            }
        }

        return closed;
    }

    public int KickTokens(string userId, IReadOnlyCollection<string> tokenIds, KickReason reason)
    {
        var closed = 0;
        foreach (var c in ConnectionsOf(userId))
        {
            if (tokenIds.Contains(c.TokenId))
            {
                closed += Kick(c, reason) ? 1 : 0;
            }
        }

        return closed;
    }

    public int CountConnections(string userId) => ConnectionsOf(userId).Length;

    public IReadOnlyList<string> ForegroundDevices(string userId) =>
        [.. ConnectionsOf(userId).Where(c => !c.Background && !c.IsClosing).Select(c => c.DeviceId)];

    /// <summary>Sends a KickEvent and closes with the matching code.</summary>
    public bool Kick(ClientConnection connection, KickReason reason)
    {
        var code = reason == KickReason.Displaced ? CloseCodes.Kicked : CloseCodes.TokenInvalid;
        var frame = Encode(connection.Protocol, new SessionKicked(reason)).Frame;
        if (!connection.Close(code, reason.ToString(), frame))
        {
            return false;
        }

        _metrics.Kicks.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
        LogKicked(_logger, connection.Id, connection.UserId, reason);
        return true;
    }

    private void Fanout(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        var delivered = 0;

        // The first recipient is held until a second one shows up: an event of a committed message that reaches one
        // connection only (a 1:1 message: the peer's; the sender's own is excluded) gets a frame rented for it and owned by
        // its outbox, which returns it after the write, instead of a new array cached on the event for connections that do
        // not exist (issue 17). With more recipients every one shares the encoded frame, the first one first.
        ClientConnection? first = null;
        var several = false;

        // By index: a foreach over the list (an array behind the interface) allocated its enumerator per event (issue 17).
        for (var i = 0; i < userIds.Count; i++)
        {
            if (!_users.TryGetValue(userIds[i], out var user))
            {
                continue;
            }

            foreach (var connection in user.Snapshot)
            {
                if (excludeConnectionId is not null && connection.Id == excludeConnectionId)
                {
                    continue;
                }

                if (!several)
                {
                    if (first is null)
                    {
                        first = connection;
                        continue;
                    }

                    several = true;
                    delivered += Deliver(first, @event, version);
                }

                delivered += Deliver(connection, @event, version);
            }
        }

        if (first is not null && !several)
        {
            delivered += @event is MessageCommitted ? DeliverRented(first, @event, version) : Deliver(first, @event, version);
        }

        if (delivered > 0)
        {
            _metrics.Deliveries.Add(delivered);
        }
    }

    private long _rentedDeliveries;

    /// <summary>Live events queued as a frame rented for their only recipient connection, since start (tests and diagnostics).</summary>
    internal long RentedDeliveries => Interlocked.Read(ref _rentedDeliveries);

    // Deliver for the event's only recipient: a frame of its own, rented, when the protocol makes one (the outbox returns it
    // after the write; not queued: returned here); otherwise the shared encoding.
    private int DeliverRented(ClientConnection connection, DeliveryEvent @event, long version)
    {
        var protocol = connection.Protocol;
        if (!protocol.Accepts(@event, connection))
        {
            return 0;
        }

        if (protocol.RentFrame(@event, out var length) is not { } rented)
        {
            return Deliver(connection, @event, version);
        }

        switch (connection.TryEnqueueEvent(rented, length, FramePool.Live, version, @event))
        {
            case EnqueueResult.Queued:
                Interlocked.Increment(ref _rentedDeliveries);
                return 1;
            case EnqueueResult.Overflow:
                FramePool.Live.Return(rented);
                OnOverflow(connection);
                return 0;
            default:
                FramePool.Live.Return(rented);
                return 0;
        }
    }

    private static EncodedEvent Encode(IWireProtocol protocol, DeliveryEvent @event) =>
        @event.GetOrEncode<EncodedEvent, IWireProtocol>(protocol.Slot, protocol, static (e, p) => p.Encode(e)) ?? EncodedEvent.None; // no delegate per recipient

    // No closure per recipient: the overflow outcome comes back as a value and only then costs anything.
    private int Deliver(ClientConnection connection, DeliveryEvent @event, long version)
    {
        var protocol = connection.Protocol;
        if (!protocol.Accepts(@event, connection))
        {
            return 0;
        }

        var encoded = Encode(protocol, @event);
        if (encoded.IsPerConnection)
        {
            connection.Events?.OnEvent(@event);
            return 1;
        }

        if (encoded.Frame is not { } frame)
        {
            return 0;
        }

        // The event rides along as the frame's tag for a protocol that wants to know when it was written (OpenIM).
        switch (connection.TryEnqueueEvent(frame, version, @event))
        {
            case EnqueueResult.Queued:
                return 1;
            case EnqueueResult.Overflow:
                OnOverflow(connection);
                return 0;
            default:
                return 0;
        }
    }

    private void OnOverflow(ClientConnection connection)
    {
        if (connection.CloseForOverflow())
        {
            LogOverflow(_logger, connection.Id, connection.UserId);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Connection {ConnectionId} of user {UserId} kicked: {Reason}")]
    private static partial void LogKicked(ILogger logger, string connectionId, string userId, KickReason reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Connection {ConnectionId} of user {UserId} closed: outbox overflow (slow consumer)")]
    private static partial void LogOverflow(ILogger logger, string connectionId, string userId);

    private sealed class UserSessions
    {
        public ClientConnection[] Snapshot { get; set; } = [];

        // Both created on first use (under the roster lock): most users are in no read-diffusion group, and every online
        // user has an entry, so empty collections would cost every connection (issue 17, idle memory).

        /// <summary>Read-diffusion groups whose roster holds this user (under the registry's roster lock); null: none yet.</summary>
        public HashSet<string>? Groups { get; set; }

        /// <summary>Version of the last membership event of each group seen for this user (under the roster lock); null: none yet.</summary>
        public Dictionary<string, long>? RosterSeen { get; set; }

        public bool Removed { get; set; }
    }
}
