using Parley.Protocol.V1;

namespace Parley.Gateway.Connections;

/// <summary>
/// The users' connections on the other nodes of a cluster, as those nodes last reported them (ADR 0016, "who is
/// connected where"): registered only in cluster mode, next to this node's <see cref="ConnectionRegistry"/>. A report is
/// as fresh as the node's ordered stream (milliseconds between live nodes); a dead node's connections go when membership
/// declares it dead.
/// </summary>
public interface IRemoteConnections
{
    /// <summary>Raised (on the reporting thread; keep it short) when another node's connections of a user changed.</summary>
    event Action<string>? UserConnectionsChanged;

    /// <summary>The user's connections on the other nodes: device, platform, connection id, token id and state of each.</summary>
    IReadOnlyList<RemoteConnection> ConnectionsOf(string userId);
}

/// <summary>
/// One connection on another node. <paramref name="ConnectionId"/> and <paramref name="TokenId"/> are empty when the
/// reporting node runs a version that did not report them.
/// </summary>
public readonly record struct RemoteConnection(string DeviceId, Platform Platform, string ConnectionId = "", string TokenId = "", bool Background = false);
