using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Core.Messaging;
using Parley.Core.Sessions;
using Parley.Gateway.Connections;
using Parley.Protocol.V1;

namespace Parley.Gateway.Cluster;

/// <summary>
/// Delivery and session control across the nodes of a cluster (ADR 0016). Everything is applied to this node's
/// connections at once and forwarded to every other live node through that node's <see cref="INodeDeliveryObserver"/>:
/// one ordered queue and one sender loop per peer node, which sends whatever is queued as ONE call (so the cost per
/// event is one call per node, never one per connection, and a node's events reach a peer in the order it produced
/// them). Peers come from the <see cref="INodeDirectoryGrain"/>, renewed every few seconds and filtered by Orleans
/// membership (a dead silo's queue is dropped as soon as membership declares it dead).
/// <para>
/// Versioned events (this node's and those from its peers) reach this node's connections through a
/// <see cref="DeliveryGate"/>, strictly in version order: a client's resume cursor is exact and a conversation's seqs
/// arrive ascending, whichever node committed them. A version is released here with its event, or, for a version that
/// carries none, when its node says so (<see cref="NodeDeliveryOp.Done"/>). A gap that stays open for
/// <see cref="GapTimeout"/> (the node that committed it died before forwarding it, or a forward was dropped) is closed
/// by making every local connection whose user's feed changed since the gap resync from its cursor (close code 4012),
/// then skipping it. A tail gap (the cluster's last versions never arrived and nothing later reveals them) is found by
/// comparing the gate with the store's committed version once a second while the gate holds nothing, and closed the same way.
/// </para>
/// </summary>
internal sealed partial class ClusterDeliveryHub : IDeliveryHub, ISessionControl, IRemoteConnections, IHostedService, IDisposable
{
    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private const int MaxItemsPerCall = 512;
    private const int MaxQueuedPerPeer = 100_000;

    /// <summary>How long a gap in the versions this node received may stay open before it is closed through the store.</summary>
    public static readonly TimeSpan GapTimeout = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan GapCheckEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a gap may stay open while a live peer whose stream is flowing has not forwarded past it yet (it is late,
    /// not lost: an overloaded node's forwards can take longer than <see cref="GapTimeout"/>).
    /// </summary>
    public static readonly TimeSpan MaxGapWait = TimeSpan.FromSeconds(60);

    /// <summary>A peer whose progress marks (one a second) stopped arriving for this long is not waited for.</summary>
    public static readonly TimeSpan ProgressSilence = TimeSpan.FromSeconds(15);

    /// <summary>How often the gate is compared with the store's committed version when it holds nothing (tail gaps).</summary>
    private const int TailCheckEveryGapChecks = 4; // 1 s: one primary-key read of feed_state per node and second

    private readonly ConnectionRegistry _registry;
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly ILocalSiloDetails _silo;
    private readonly IOptionsMonitor<SessionOptions> _sessions;
    private readonly ILogger<ClusterDeliveryHub> _logger;
    private readonly CommitPipeline _pipeline;
    private readonly IFeedChangeQuery? _feedChanges;
    private readonly IMessageStore _store;
    private DeliveryGate _gate = new(long.MaxValue / 2, 0); // replaced at start, before any commit
    private long _lastPublishedVersion; // the dispatch loop's last published version (only that loop writes it)
    private long _ownDispatched; // the last version this node committed whose event or Done was forwarded
    private long _progressThrough; // the last progress mark sent: every version this node committed up to it was forwarded
    private readonly PeerProgress _peerProgress = new();
    private long _gapDeferredFrom; // the gap (its first version) last reported as waited for, to log it once
    private Task? _gapLoop;
    private readonly string _nodeId; // this node's SendAnswers id: answer routes name it (ADR 0022)
    private readonly SendAnswers _answers;
    private readonly Receiver _receiver; // held strongly for the node's life: observer references are weak
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _peersLock = new();
    private readonly SemaphoreSlim _renewGate = new(1, 1);
    private Dictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private NodeEntry[] _entries = [];
    private INodeDeliveryObserver? _self;
    private bool _renewed; // the directory answered once: from then on the timer renews every RenewEvery

    // Items this node produced before the directory first answered (its silo just started and may already host grains
    // that commit): kept and sent to the first peers after their hello, so a joining node's first versions are never a
    // gap on the nodes already running. Null once flushed.
    private List<NodeDeliveryItem>? _early = [];
    private readonly Lock _earlyLock = new();
    private int _renewRequests;
    private Task? _renewLoop;
    private Task? _membershipLoop;

    // Who is connected where (push suppression and session counts across nodes): each peer's connections per user, as
    // that peer last reported them through its ordered stream. A peer's entries go when membership declares it dead.
    private readonly ConcurrentDictionary<string, RemoteNode> _remote = new(StringComparer.Ordinal);
    private readonly Lock _presenceLock = new(); // orders the reading and sending of this node's presence items

    public ClusterDeliveryHub(
        ConnectionRegistry registry,
        IGrainFactory grains,
        IClusterMembershipService membership,
        ILocalSiloDetails silo,
        IOptionsMonitor<SessionOptions> sessions,
        ILogger<ClusterDeliveryHub> logger,
        CommitPipeline pipeline,
        IMessageStore store,
        SendAnswers answers)
    {
        _answers = answers;
        _nodeId = answers.NodeId;
        _pipeline = pipeline;
        _feedChanges = store as IFeedChangeQuery;
        _store = store;
        _registry = registry;
        _grains = grains;
        _membership = membership;
        _silo = silo;
        _sessions = sessions;
        _logger = logger;
        _receiver = new Receiver(this);
        _registry.ConnectionRegistered += OnRegistered;
        _registry.ConnectionUnregistered += OnUnregistered;
        _pipeline.VersionDispatched += OnVersionDispatched;
    }

    /// <summary>Every version up to this one was handed to this node's connections (tests, diagnostics).</summary>
    public long DeliveredThrough => Volatile.Read(ref _gate).Through;

    /// <summary>The peer nodes this node currently forwards to (tests, diagnostics).</summary>
    public int PeerCount => Volatile.Read(ref _peers).Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The commit pipeline started before this service (it is registered first) and nothing has committed yet:
        // every version up to the store's current one needs no live delivery.
        Volatile.Write(ref _gate, new DeliveryGate(_pipeline.CurrentVersion, Environment.TickCount64));
        _gapLoop = Task.Run(GapLoopAsync, CancellationToken.None);
        // The silo starts after the hosted services registered before it: the loops wait for it.
        _renewLoop = Task.Run(RenewLoopAsync, CancellationToken.None);
        _membershipLoop = Task.Run(MembershipLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _grains.GetGrain<INodeDirectoryGrain>(0).Remove(_nodeId).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDirectoryFailed(_logger, ex);
        }

        lock (_peersLock)
        {
            foreach (var peer in _peers.Values)
            {
                peer.Complete();
            }

            _peers = new(StringComparer.Ordinal);
        }

        foreach (var loop in new[] { _renewLoop, _membershipLoop, _gapLoop })
        {
            if (loop is not null)
            {
                await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    public void Dispose()
    {
        _registry.ConnectionRegistered -= OnRegistered;
        _registry.ConnectionUnregistered -= OnUnregistered;
        _pipeline.VersionDispatched -= OnVersionDispatched;
        _stopping.Dispose();
        _renewGate.Dispose();
    }

    // Called by this node's commit dispatch loop, in this node's version order. Forwarded at once (each peer gates it
    // itself); handed to this node's connections once every lower version was.
    public void Publish(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        Forward(NodeDeliveryOp.Publish, userIds, version, excludeConnectionId, null, @event);
        _lastPublishedVersion = version;
        Volatile.Read(ref _gate).Release(version, () => HandOut(userIds, @event, version, excludeConnectionId), Environment.TickCount64);
    }

    /// <inheritdoc />
    public long ResumeCursorFor(long version) => Volatile.Read(ref _gate).CursorFor(version);

    // A version this node committed was dispatched: a version without an event is released here and announced to the
    // peers (one with an event is released with it, here and there).
    private void OnVersionDispatched(long version)
    {
        if (_lastPublishedVersion != version)
        {
            Forward(NodeDeliveryOp.Done, [], version, null, null, null);
            Volatile.Read(ref _gate).Release(version, null, Environment.TickCount64);
        }

        // Its event (Publish) or its Done is on every peer's queue now: a progress mark queued later may cover it.
        Volatile.Write(ref _ownDispatched, version);
    }

    // The progress mark (ADR 0016): queued on every peer's stream behind everything this node forwarded, it says that
    // every version this node committed up to the mark is ahead of it. When the pipeline holds no batch (none being
    // committed, none waiting for dispatch), that is true of the store's committed version read just before (a batch
    // this node starts later gets higher versions); otherwise of the last version this node dispatched.
    private void SendProgress(long committedBefore)
    {
        var through = _pipeline.HasUndispatched ? Volatile.Read(ref _ownDispatched) : committedBefore;
        through = Math.Max(through, _progressThrough);
        _progressThrough = through;
        Forward(NodeDeliveryOp.Progress, [], through, _nodeId, null, null, _silo.SiloAddress.ToString());
    }

    // Whether a version up to `version` may still reach this node from a live peer whose stream is flowing.
    private bool MayStillArrive(long version)
    {
        var active = _membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToString())
            .ToHashSet(StringComparer.Ordinal);
        return _peerProgress.MayStillForward(version, Environment.TickCount64, (long)ProgressSilence.TotalMilliseconds, active.Contains);
    }

    // Runs under the gate's lock, in version order: must not throw into the gate or block (outboxes are bounded queues).
    private void HandOut(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        try
        {
            _registry.Publish(userIds, @event, version, excludeConnectionId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogApplyFailed(_logger, ex, NodeDeliveryOp.Publish);
        }
    }

    // A read-diffusion group's event: versioned like Publish, so it passes the gate the same way.
    public void PublishToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        Forward(NodeDeliveryOp.PublishGroup, joined, version, excludeConnectionId, left as string[] ?? [.. left], @event, conversationId);
        _lastPublishedVersion = version;
        Volatile.Read(ref _gate).Release(version, () => HandOutToGroup(conversationId, joined, left, @event, version, excludeConnectionId), Environment.TickCount64);
    }

    // As HandOut, for a read-diffusion group's roster on this node.
    private void HandOutToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId)
    {
        try
        {
            _registry.PublishToGroup(conversationId, joined, left, @event, version, excludeConnectionId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogApplyFailed(_logger, ex, NodeDeliveryOp.PublishGroup);
        }
    }

    /// <summary>
    /// A one-way send's answer (ADR 0022): to this node's table when the connection is here, else as an item to that node
    /// only, on this node's ordered stream to it (behind the message's event, which the commit's dispatch forwarded before
    /// the grain's turn that answers). A node this one does not know (dead, or not in the directory yet) gets nothing: its
    /// own timeout answers Unavailable.
    /// </summary>
    public void Answer(AckRoute route, Parley.Core.CoreResult<MessageAck> outcome)
    {
        if (route.NodeId == _nodeId)
        {
            _answers.Answer(route.Ticket, outcome);
            return;
        }

        var item = new NodeDeliveryItem(NodeDeliveryOp.Answer, [], 0, route.NodeId, null, null, Answer: new SendAnswer(route.Ticket, outcome));
        if (Volatile.Read(ref _early) is not null)
        {
            lock (_earlyLock)
            {
                if (_early is { } early)
                {
                    // Sent to every first peer; only the node it names applies it.
                    if (early.Count < MaxQueuedPerPeer)
                    {
                        early.Add(item);
                    }

                    return;
                }
            }
        }

        if (Volatile.Read(ref _peers).TryGetValue(route.NodeId, out var peer) && !peer.TryEnqueue(item))
        {
            LogPeerOverflow(_logger, peer.Entry.NodeId);
        }
    }

    public void PublishEphemeral(IReadOnlyList<string> userIds, DeliveryEvent @event, string? excludeConnectionId)
    {
        _registry.PublishEphemeral(userIds, @event, excludeConnectionId);
        Forward(NodeDeliveryOp.Ephemeral, userIds, 0, excludeConnectionId, null, @event);
    }

    public void PublishToAll(DeliveryEvent @event)
    {
        _registry.PublishToAll(@event);
        Forward(NodeDeliveryOp.ToAll, [], 0, null, null, @event);
    }

    /// <summary>
    /// Kicks here at once and on every other node (asynchronously, within milliseconds); returns the cluster's count: this
    /// node's closed connections and the matching connections the peers last reported (they close them on arrival).
    /// </summary>
    public int KickUser(string userId, string? deviceId, KickReason reason)
    {
        Forward(NodeDeliveryOp.KickUser, [userId], (long)reason, deviceId, null, null);
        var remote = 0;
        foreach (var node in _remote.Values)
        {
            if (node.Users.TryGetValue(userId, out var presence))
            {
                remote += deviceId is null ? presence.Devices.Length : presence.Devices.Count(d => d == deviceId);
            }
        }

        return _registry.KickUser(userId, deviceId, reason) + remote;
    }

    /// <inheritdoc cref="KickUser"/>
    public int KickTokens(string userId, IReadOnlyCollection<string> tokenIds, KickReason reason)
    {
        Forward(NodeDeliveryOp.KickTokens, [userId], (long)reason, null, [.. tokenIds], null);
        var remote = 0;
        foreach (var node in _remote.Values)
        {
            if (node.Users.TryGetValue(userId, out var presence) && presence.TokenIds.Length > 0)
            {
                remote += presence.TokenIds.Count(tokenIds.Contains);
            }
        }

        return _registry.KickTokens(userId, tokenIds, reason) + remote;
    }

    /// <summary>The user's connections on every node: this node's now, the peers' as they last reported them.</summary>
    public int CountConnections(string userId)
    {
        var count = _registry.CountConnections(userId);
        foreach (var node in _remote.Values)
        {
            if (node.Users.TryGetValue(userId, out var presence))
            {
                count += presence.Devices.Length;
            }
        }

        return count;
    }

    /// <inheritdoc/>
    public event Action<string>? UserConnectionsChanged;

    /// <inheritdoc/>
    public IReadOnlyList<RemoteConnection> ConnectionsOf(string userId)
    {
        List<RemoteConnection>? all = null;
        foreach (var node in _remote.Values)
        {
            if (node.Users.TryGetValue(userId, out var presence))
            {
                all ??= [];
                for (var i = 0; i < presence.Devices.Length; i++)
                {
                    all.Add(new RemoteConnection(
                        presence.Devices[i],
                        i < presence.Platforms.Length ? (Platform)presence.Platforms[i] : Platform.Unspecified,
                        i < presence.ConnectionIds.Length ? presence.ConnectionIds[i] : "",
                        i < presence.TokenIds.Length ? presence.TokenIds[i] : "",
                        i < presence.Background.Length ? presence.Background[i] : !presence.Foreground.Contains(presence.Devices[i], StringComparer.Ordinal)));
                }
            }
        }

        return (IReadOnlyList<RemoteConnection>?)all ?? Array.Empty<RemoteConnection>();
    }

    /// <summary>
    /// The user's devices in the foreground on any node (the push bridge of the node that committed a message suppresses
    /// their offline push, wherever their sockets are): this node's now, the peers' as they last reported them.
    /// </summary>
    public IReadOnlyList<string> ForegroundDevices(string userId)
    {
        var local = _registry.ForegroundDevices(userId);
        List<string>? all = null;
        foreach (var node in _remote.Values)
        {
            if (node.Users.TryGetValue(userId, out var presence) && presence.Foreground.Length > 0)
            {
                all ??= [.. local];
                foreach (var device in presence.Foreground)
                {
                    if (!all.Contains(device, StringComparer.Ordinal))
                    {
                        all.Add(device);
                    }
                }
            }
        }

        return all ?? local;
    }

    // A login on this node displaces, under the multi-login policy, the user's logins on the other nodes too (those
    // accepted before it: a device that reconnected from node A to B and then to C must not lose its session on C to
    // B's displacement arriving late).
    private void OnRegistered(ClientConnection connection)
    {
        Forward(NodeDeliveryOp.Displace, [connection.UserId], (long)connection.Platform, connection.DeviceId, null, null, at: connection.AcceptedAt);
        connection.BackgroundChanged = c => SendPresence(c.UserId); // before the state is read: no change is missed
        SendPresence(connection.UserId);
    }

    private void OnUnregistered(ClientConnection connection)
    {
        connection.BackgroundChanged = null;
        SendPresence(connection.UserId);
    }

    // This node's connections of the user, to every peer. Read and queued under one lock, so the last item a peer gets for
    // a user was read after the user's last change here (peers apply a node's items in order).
    private void SendPresence(string userId)
    {
        if (Volatile.Read(ref _peers).Count == 0)
        {
            return;
        }

        lock (_presenceLock)
        {
            var item = PresenceItem(userId);
            foreach (var peer in Volatile.Read(ref _peers).Values)
            {
                if (!peer.TryEnqueue(item))
                {
                    LogPeerOverflow(_logger, peer.Entry.NodeId);
                }
            }
        }
    }

    private NodeDeliveryItem PresenceItem(string userId)
    {
        var connections = _registry.ConnectionsOf(userId);
        return new NodeDeliveryItem(
            NodeDeliveryOp.UserPresence,
            [userId],
            0,
            _nodeId,
            [.. connections.Select(c => c.DeviceId)],
            null,
            _silo.SiloAddress.ToString(),
            Foreground: [.. connections.Where(c => !c.Background && !c.IsClosing).Select(c => c.DeviceId).Distinct(StringComparer.Ordinal)],
            Platforms: [.. connections.Select(c => (int)c.Platform)],
            ConnectionIds: [.. connections.Select(c => c.Id)],
            TokenIds: [.. connections.Select(c => c.TokenId)],
            Background: [.. connections.Select(c => c.Background)]);
    }

    // A peer's report of its connections of one user.
    private void ApplyPresence(NodeDeliveryItem item)
    {
        var node = _remote.GetOrAdd(item.Text ?? "", static (_, silo) => new RemoteNode(silo), item.Group ?? "");
        var devices = item.Tokens ?? [];
        if (devices.Length == 0)
        {
            node.Users.TryRemove(item.UserIds[0], out _);
        }
        else
        {
            node.Users[item.UserIds[0]] = new UserPresence(devices, item.Foreground ?? [], item.Platforms ?? [], item.ConnectionIds ?? [], item.TokenIds ?? [], item.Background ?? []);
        }

        UserConnectionsChanged?.Invoke(item.UserIds[0]);
    }

    // Forgets the peers membership declared dead (their connections are gone). Unknown silos are kept: a new peer's
    // reports may arrive before this node's membership view lists it.
    private void ForgetDeadNodes()
    {
        var dead = _membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Dead)
            .Select(m => m.SiloAddress.ToString())
            .ToHashSet(StringComparer.Ordinal);
        _peerProgress.Forget(dead.Contains);
        if (_remote.IsEmpty)
        {
            return;
        }

        foreach (var (id, node) in _remote)
        {
            if (dead.Contains(node.SiloAddress) && _remote.TryRemove(id, out _))
            {
                foreach (var userId in node.Users.Keys)
                {
                    UserConnectionsChanged?.Invoke(userId);
                }
            }
        }
    }

    /// <summary>
    /// A peer's connections of one user: every connection's device (and at the same index its platform, connection id,
    /// token id and background state; empty arrays from a node that did not report them), and the devices in the foreground.
    /// </summary>
    private sealed record UserPresence(string[] Devices, string[] Foreground, int[] Platforms, string[] ConnectionIds, string[] TokenIds, bool[] Background);

    private sealed class RemoteNode(string siloAddress)
    {
        public string SiloAddress { get; } = siloAddress;

        public ConcurrentDictionary<string, UserPresence> Users { get; } = new(StringComparer.Ordinal);
    }

    private void Forward(NodeDeliveryOp op, IReadOnlyList<string> userIds, long number, string? text, string[]? tokens, DeliveryEvent? @event, string? group = null, long at = 0)
    {
        if (Volatile.Read(ref _early) is not null)
        {
            lock (_earlyLock)
            {
                if (_early is { } early)
                {
                    if (early.Count < MaxQueuedPerPeer)
                    {
                        early.Add(new NodeDeliveryItem(op, userIds as string[] ?? [.. userIds], number, text, tokens, @event is null ? null : ClusterEventCodec.Encode(@event), group, at));
                    }

                    return;
                }
            }
        }

        var peers = Volatile.Read(ref _peers);
        if (peers.Count == 0)
        {
            return;
        }

        var item = new NodeDeliveryItem(op, userIds as string[] ?? [.. userIds], number, text, tokens, @event is null ? null : ClusterEventCodec.Encode(@event), group, at);
        foreach (var peer in peers.Values)
        {
            if (!peer.TryEnqueue(item))
            {
                LogPeerOverflow(_logger, peer.Entry.NodeId);
            }
        }
    }

    // Work from another node, applied to this node's connections in the order it was sent.
    private void Apply(NodeDeliveryItem[] items)
    {
        foreach (var item in items)
        {
            try
            {
                ApplyOne(item);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogApplyFailed(_logger, ex, item.Op);
            }
        }
    }

    private void ApplyOne(NodeDeliveryItem item)
    {
        switch (item.Op)
        {
            case NodeDeliveryOp.Publish:
                var @event = ClusterEventCodec.Decode(item.Event!);
                Volatile.Read(ref _gate).Release(item.Number, () => HandOut(item.UserIds, @event, item.Number, item.Text), Environment.TickCount64);
                break;
            case NodeDeliveryOp.Done:
                Volatile.Read(ref _gate).Release(item.Number, null, Environment.TickCount64);
                break;
            case NodeDeliveryOp.PublishGroup:
                var groupEvent = ClusterEventCodec.Decode(item.Event!);
                Volatile.Read(ref _gate).Release(item.Number, () => HandOutToGroup(item.Group!, item.UserIds, item.Tokens ?? [], groupEvent, item.Number, item.Text), Environment.TickCount64);
                break;
            case NodeDeliveryOp.Ephemeral:
                _registry.PublishEphemeral(item.UserIds, ClusterEventCodec.Decode(item.Event!), item.Text);
                break;
            case NodeDeliveryOp.Answer:
                // Tickets are per node: only the node the answer names may look its ticket up.
                if (item.Text == _nodeId && item.Answer is { } answer)
                {
                    _answers.Answer(answer.Ticket, answer.Outcome);
                }

                break;
            case NodeDeliveryOp.ToAll:
                _registry.PublishToAll(ClusterEventCodec.Decode(item.Event!));
                break;
            case NodeDeliveryOp.KickUser:
                _registry.KickUser(item.UserIds[0], item.Text, (KickReason)item.Number);
                break;
            case NodeDeliveryOp.KickTokens:
                _registry.KickTokens(item.UserIds[0], item.Tokens ?? [], (KickReason)item.Number);
                break;
            case NodeDeliveryOp.UserPresence:
                ApplyPresence(item);
                break;
            case NodeDeliveryOp.Progress:
                _peerProgress.Report(item.Text ?? "", item.Group ?? "", item.Number, Environment.TickCount64);
                break;
            case NodeDeliveryOp.Hello:
                if (!Volatile.Read(ref _peers).ContainsKey(item.Text ?? ""))
                {
                    LogHello(_logger, item.Text ?? "", item.Group ?? "");
                    _ = Task.Run(() => RenewAsync(_stopping.Token));
                }

                break;
            case NodeDeliveryOp.Displace:
                var policy = _sessions.CurrentValue.MultiLogin;
                foreach (var existing in _registry.ConnectionsOf(item.UserIds[0]))
                {
                    if (existing.AcceptedAt < item.At && SessionPolicy.Displaces(policy, existing.DeviceId, existing.Platform, item.Text ?? "", (Platform)item.Number))
                    {
                        _registry.Kick(existing, KickReason.Displaced);
                    }
                }

                break;
        }
    }

    // Closes gaps that stay open: the users connected here whose feed changed at or after the gap's first version
    // resync from their cursors (below the gap: nothing above it was handed out yet); then the gate moves on and hands
    // out what it held. Nobody else connected here can have missed anything in the gap.
    private async Task GapLoopAsync()
    {
        var token = _stopping.Token;
        var checks = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(GapCheckEvery, token).ConfigureAwait(false);
                await CloseOverdueGapAsync(token).ConfigureAwait(false);
                if (++checks % TailCheckEveryGapChecks == 0)
                {
                    // One read of the store's committed version a second: the tail check's and the progress mark's.
                    var committed = await _store.GetMaxVersionAsync(token).ConfigureAwait(false);
                    await CloseOverdueTailAsync(committed, token).ConfigureAwait(false);
                    if (Volatile.Read(ref _peers).Count > 0)
                    {
                        SendProgress(committed);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogGapFailed(_logger, ex);
            }
        }
    }

    internal async Task CloseOverdueGapAsync(CancellationToken token)
    {
        var gate = Volatile.Read(ref _gate);
        var now = Environment.TickCount64;
        if (gate.OverdueGap(now, (long)GapTimeout.TotalMilliseconds, (long)MaxGapWait.TotalMilliseconds, MayStillArrive) is not { } gap)
        {
            if (gate.OverdueGap(now, (long)GapTimeout.TotalMilliseconds) is { } waiting && waiting.From != _gapDeferredFrom)
            {
                _gapDeferredFrom = waiting.From;
                LogGapWaited(_logger, waiting.From, waiting.To);
            }

            return;
        }

        await ResyncAndSkipAsync(gate, gap.From, gap.To, tail: false, token).ConfigureAwait(false);
    }

    // A tail gap (ADR 0016): the last versions committed in the cluster never reached this node and nothing later came to
    // reveal them, so the gate holds nothing. Only then (an ordinary gap is closed above) is its position compared with
    // the store's committed version; a lag older than GapTimeout is closed like a gap.
    internal async Task CloseOverdueTailAsync(long committed, CancellationToken token)
    {
        var gate = Volatile.Read(ref _gate);
        if (gate.Held > 0)
        {
            return;
        }

        if (gate.OverdueTail(committed, Environment.TickCount64, (long)GapTimeout.TotalMilliseconds, (long)MaxGapWait.TotalMilliseconds, MayStillArrive) is not { } gap)
        {
            return;
        }

        await ResyncAndSkipAsync(gate, gap.From, gap.To, tail: true, token).ConfigureAwait(false);
    }

    private async Task ResyncAndSkipAsync(DeliveryGate gate, long from, long to, bool tail, CancellationToken token)
    {
        var gap = (From: from, To: to);
        var users = _registry.All().Select(c => c.UserId).Distinct(StringComparer.Ordinal).ToArray();
        IReadOnlyList<string> affected = users;
        if (users.Length > 0 && _feedChanges is not null)
        {
            affected = await _feedChanges.UsersChangedSinceAsync(users, gap.From, token).ConfigureAwait(false);
        }

        var closed = 0;
        foreach (var user in affected)
        {
            foreach (var connection in _registry.ConnectionsOf(user))
            {
                // Not a connection whose connect-time sync already had the whole gap (it connected after the gap was
                // committed, e.g. to a node that was still joining the mesh): it missed nothing.
                closed += connection.ResyncIfMissed(gap.To) ? 1 : 0;
            }
        }

        gate.Skip(gap.To, Environment.TickCount64);
        LogGapClosed(_logger, tail ? "tail " : "", gap.From, gap.To, closed);
    }

    private async Task RenewLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            await RenewAsync(token).ConfigureAwait(false);
            try
            {
                // Until the directory first answered (the silo is starting, or the directory grain is moving), every 500 ms.
                await Task.Delay(Volatile.Read(ref _renewed) ? RenewEvery : TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Any membership change (a node joined, died or left) renews at once: new peers are reached without waiting for
    // the timer and a dead node's queue is dropped.
    private async Task MembershipLoopAsync()
    {
        try
        {
            await foreach (var _ in _membership.MembershipUpdates.WithCancellation(_stopping.Token).ConfigureAwait(false))
            {
                UpdatePeers(Volatile.Read(ref _entries), fromDirectory: false);
                await RenewAsync(_stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDirectoryFailed(_logger, ex);
        }
    }

    // Coalesced: a request made while a renewal runs makes it run once more (a membership change or a new peer's hello
    // arriving mid-renewal must not wait for the timer).
    private async Task RenewAsync(CancellationToken token)
    {
        Interlocked.Increment(ref _renewRequests);
        while (true)
        {
            if (!await _renewGate.WaitAsync(0, token).ConfigureAwait(false))
            {
                return; // the running renewal sees the request
            }

            try
            {
                while (Interlocked.Exchange(ref _renewRequests, 0) > 0 && !token.IsCancellationRequested)
                {
                    await RenewOnceAsync(token).ConfigureAwait(false);
                }
            }
            finally
            {
                _renewGate.Release();
            }

            if (Volatile.Read(ref _renewRequests) == 0)
            {
                return;
            }
        }
    }

    private async Task RenewOnceAsync(CancellationToken token)
    {
        // Not before this silo is active: the loops start with the host, before the silo has joined, and a grain call
        // made then has no active silo to place the directory on (on the first node, or while this node's own silo is
        // not in the cluster manifest yet): Orleans fails it with "No active nodes are compatible with grain
        // nodedirectory", which was logged as a warning at every start. The silo turning active is a membership change,
        // which renews at once; the timer also retries every 500 ms until the first answer.
        if (!Volatile.Read(ref _renewed) && _membership.CurrentSnapshot.GetSiloStatus(_silo.SiloAddress) != SiloStatus.Active)
        {
            return;
        }

        try
        {
            _self ??= _grains.CreateObjectReference<INodeDeliveryObserver>(_receiver);
            var entries = await _grains.GetGrain<INodeDirectoryGrain>(0).Renew(_nodeId, _silo.SiloAddress.ToString(), _self)
                .WaitAsync(CallTimeout, token).ConfigureAwait(false);
            Volatile.Write(ref _entries, entries);
            Volatile.Write(ref _renewed, true);
            UpdatePeers(entries, fromDirectory: true);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDirectoryFailed(_logger, ex);
        }
    }

    private void UpdatePeers(NodeEntry[] entries, bool fromDirectory)
    {
        var active = _membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToString())
            .ToHashSet(StringComparer.Ordinal);
        var dead = _membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Dead)
            .Select(m => m.SiloAddress.ToString())
            .ToHashSet(StringComparer.Ordinal);
        lock (_peersLock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            var next = new Dictionary<string, Peer>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (entry.NodeId == _nodeId || !active.Contains(entry.SiloAddress))
                {
                    continue;
                }

                next[entry.NodeId] = _peers.TryGetValue(entry.NodeId, out var known) ? known : new Peer(entry, this);
            }

            // A peer the directory's answer lacks stays while membership lists its silo as active: the directory grain
            // restarts empty when its silo dies and is refilled by the renewals within RenewEvery, and dropping a live
            // peer meanwhile would lose its items (gaps there, and 4012 resyncs for its users).
            foreach (var (id, peer) in _peers)
            {
                if (!next.ContainsKey(id) && active.Contains(peer.Entry.SiloAddress))
                {
                    next[id] = peer;
                }
            }

            foreach (var (id, peer) in _peers)
            {
                if (!next.ContainsKey(id))
                {
                    peer.Complete();
                    LogPeerGone(_logger, id, peer.Entry.SiloAddress);
                }
            }

            var added = next.Where(p => !_peers.ContainsKey(p.Key)).Select(p => p.Value).ToList();
            foreach (var peer in added)
            {
                LogPeerAdded(_logger, peer.Entry.NodeId, peer.Entry.SiloAddress);
            }

            // A new peer first hears from this node (so it adds this node at once if it does not know it yet, instead of
            // on its next timer renewal: its items until then would never reach this node), then learns every user
            // connected here (later changes follow on its queue, in order).
            lock (_presenceLock)
            {
                // Under the early lock: no item produced meanwhile can overtake the hello or the early items.
                lock (_earlyLock)
                {
                    Volatile.Write(ref _peers, next);
                    var hello = new NodeDeliveryItem(NodeDeliveryOp.Hello, [], 0, _nodeId, null, null, _silo.SiloAddress.ToString());
                    foreach (var peer in added)
                    {
                        peer.TryEnqueue(hello);
                    }

                    // The early items go to the first peers the directory named, once every node it named is either a
                    // peer or dead in this node's membership view (a node this view does not list yet would miss them).
                    if (fromDirectory && _early is { } early
                        && !entries.Any(e => e.NodeId != _nodeId && !next.ContainsKey(e.NodeId) && !dead.Contains(e.SiloAddress)))
                    {
                        Volatile.Write(ref _early, null);
                        foreach (var peer in next.Values)
                        {
                            foreach (var item in early)
                            {
                                peer.TryEnqueue(item);
                            }
                        }
                    }
                }

                if (added.Count > 0)
                {

                    foreach (var user in _registry.All().Select(c => c.UserId).Distinct(StringComparer.Ordinal))
                    {
                        var item = PresenceItem(user);
                        foreach (var peer in added)
                        {
                            peer.TryEnqueue(item);
                        }
                    }
                }
            }
        }

        ForgetDeadNodes();
    }

    /// <summary>One peer node: an ordered queue and the loop that sends it, batch by batch.</summary>
    private sealed class Peer
    {
        private readonly Channel<NodeDeliveryItem> _queue = Channel.CreateBounded<NodeDeliveryItem>(
            new BoundedChannelOptions(MaxQueuedPerPeer) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        private readonly ClusterDeliveryHub _hub;

        public Peer(NodeEntry entry, ClusterDeliveryHub hub)
        {
            Entry = entry;
            _hub = hub;
            _ = Task.Run(SendLoopAsync);
        }

        public NodeEntry Entry { get; }

        public bool TryEnqueue(NodeDeliveryItem item) => _queue.Writer.TryWrite(item);

        public void Complete() => _queue.Writer.TryComplete();

        private async Task SendLoopAsync()
        {
            var reader = _queue.Reader;
            var items = new List<NodeDeliveryItem>(64);
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                items.Clear();
                while (items.Count < MaxItemsPerCall && reader.TryRead(out var item))
                {
                    items.Add(item);
                }

                try
                {
                    await Entry.Observer.Deliver([.. items]).WaitAsync(CallTimeout).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Delivery is a hint (storage is the truth); a node that cannot be reached is dropped by membership.
                    LogSendFailed(_hub._logger, ex, Entry.NodeId, items.Count);
                }
            }
        }
    }

    private sealed class Receiver(ClusterDeliveryHub hub) : INodeDeliveryObserver
    {
        public Task Deliver(NodeDeliveryItem[] items)
        {
            hub.Apply(items);
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Cluster delivery: node {NodeId} at {SiloAddress} joined")]
    private static partial void LogPeerAdded(ILogger logger, string nodeId, string siloAddress);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Cluster delivery: node {NodeId} at {SiloAddress} left")]
    private static partial void LogPeerGone(ILogger logger, string nodeId, string siloAddress);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Cluster delivery: {Count} items to node {NodeId} were not delivered")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string nodeId, int count);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Cluster delivery: the queue to node {NodeId} is full; an item was dropped")]
    private static partial void LogPeerOverflow(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Cluster delivery: the node directory could not be renewed")]
    private static partial void LogDirectoryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "Cluster delivery: {Kind}versions {From}..{To} never arrived live; {Count} connections whose users changed since resync from their cursors")]
    private static partial void LogGapClosed(ILogger logger, string kind, long from, long to, int count);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Warning, Message = "Cluster delivery: closing a gap in the live versions failed; retried")]
    private static partial void LogGapFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "Cluster delivery: versions {From}..{To} are late, not lost: a live peer has not forwarded past them yet; waiting for it")]
    private static partial void LogGapWaited(ILogger logger, long from, long to);

    [LoggerMessage(EventId = 1209, Level = LogLevel.Information, Message = "Cluster delivery: node {NodeId} at {SiloAddress} says hello; renewing the directory")]
    private static partial void LogHello(ILogger logger, string nodeId, string siloAddress);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "Cluster delivery: applying a {Op} item from another node failed")]
    private static partial void LogApplyFailed(ILogger logger, Exception exception, NodeDeliveryOp op);
}

public static class ClusterDeliveryExtensions
{
    /// <summary>
    /// Cluster mode: the delivery hub and session control reach every node (replaces the node-local registrations of
    /// <c>AddParleyGateway</c>, which must come first).
    /// </summary>
    public static IServiceCollection AddParleyClusterDelivery(this IServiceCollection services)
    {
        services.AddSingleton<ClusterDeliveryHub>();
        services.Replace(ServiceDescriptor.Singleton<IDeliveryHub>(sp => sp.GetRequiredService<ClusterDeliveryHub>()));
        services.Replace(ServiceDescriptor.Singleton<ISessionControl>(sp => sp.GetRequiredService<ClusterDeliveryHub>()));
        services.AddSingleton<IRemoteConnections>(sp => sp.GetRequiredService<ClusterDeliveryHub>());
        services.AddHostedService(sp => sp.GetRequiredService<ClusterDeliveryHub>());
        return services;
    }
}
