using Orleans;
using Orleans.Concurrency;

namespace Parley.Gateway.Cluster;

/// <summary>
/// The delivery end of one node: registered by the node that holds the connections (a grain observer, held strongly for
/// the node's life), called by every other node with batches of work for its local connections (one call per node and
/// batch, never one per connection).
/// </summary>
public interface INodeDeliveryObserver : IGrainObserver
{
    /// <summary>Applies the items to this node's connections, in order.</summary>
    Task Deliver(NodeDeliveryItem[] items);
}

/// <summary>What a node asks another node to do with its connections.</summary>
public enum NodeDeliveryOp
{
    /// <summary>A versioned event to the connections of <see cref="NodeDeliveryItem.UserIds"/>.</summary>
    Publish = 0,

    /// <summary>An unversioned event (typing, relations changed) to the connections of the users.</summary>
    Ephemeral = 1,

    /// <summary>An unversioned event to every connection of the node.</summary>
    ToAll = 2,

    /// <summary>Kick the user's connections (all, or one device: <see cref="NodeDeliveryItem.Text"/>).</summary>
    KickUser = 3,

    /// <summary>Kick the user's connections authenticated with one of the token ids in <see cref="NodeDeliveryItem.Tokens"/>.</summary>
    KickTokens = 4,

    /// <summary>
    /// A login registered elsewhere (device <see cref="NodeDeliveryItem.Text"/>, platform <see cref="NodeDeliveryItem.Number"/>):
    /// kick the user's connections here that the multi-login policy says it displaces.
    /// </summary>
    Displace = 5,

    /// <summary>
    /// A versioned event of the read-diffusion group <see cref="NodeDeliveryItem.Group"/> to this node's roster of it; joined
    /// users in <see cref="NodeDeliveryItem.UserIds"/>, left users in <see cref="NodeDeliveryItem.Tokens"/> (ADR 0017).
    /// </summary>
    PublishGroup = 6,

    /// <summary>A feed version the sender committed that carries no event (Number): done for the delivery watermark.</summary>
    Done = 7,

    /// <summary>
    /// The sender's connections of user <see cref="NodeDeliveryItem.UserIds"/>[0] now: every connection's device in
    /// <see cref="NodeDeliveryItem.Tokens"/> (and its platform at the same index of <see cref="NodeDeliveryItem.Platforms"/>),
    /// the foreground ones in <see cref="NodeDeliveryItem.Foreground"/>; at the same index again each connection's id in
    /// <see cref="NodeDeliveryItem.ConnectionIds"/>, its token id in <see cref="NodeDeliveryItem.TokenIds"/> and whether it
    /// is in the background in <see cref="NodeDeliveryItem.Background"/> (for presence queries answered on any node); the sender's
    /// node id in <see cref="NodeDeliveryItem.Text"/> and silo address in <see cref="NodeDeliveryItem.Group"/>.
    /// </summary>
    UserPresence = 8,

    /// <summary>
    /// The sender (node id <see cref="NodeDeliveryItem.Text"/>, silo <see cref="NodeDeliveryItem.Group"/>) just added this
    /// node as a peer: a node that does not know the sender yet renews the directory at once (the sender is in it), so
    /// both forward to each other within a round trip of a join instead of a renewal interval.
    /// </summary>
    Hello = 9,

    /// <summary>
    /// A progress mark from the sender (node id <see cref="NodeDeliveryItem.Text"/>, silo <see cref="NodeDeliveryItem.Group"/>):
    /// every version it committed up to <see cref="NodeDeliveryItem.Number"/> is ahead of this item in its stream. Sent
    /// once a second; a receiver holding a gap waits for a live peer that has not forwarded past it yet (ADR 0016).
    /// </summary>
    Progress = 10,

    /// <summary>
    /// A one-way send's answer (ADR 0022) for a connection of node <see cref="NodeDeliveryItem.Text"/>: the outcome of the
    /// send with that node's ticket, in <see cref="NodeDeliveryItem.Answer"/>. Sent to that node only, on the same ordered
    /// stream as (and after) the events this node published before it; any other node ignores it.
    /// </summary>
    Answer = 11,
}

/// <summary>A one-way send's outcome for the send <see cref="Ticket"/> of the node that holds its connection (ADR 0022).</summary>
[GenerateSerializer, Immutable, Alias("parley.send-answer")]
public sealed record SendAnswer(
    [property: Id(0)] long Ticket,
    [property: Id(1)] Parley.Core.CoreResult<Parley.Core.Messaging.MessageAck> Outcome);

/// <summary>One unit of cross-node work; <see cref="Event"/> is the domain event encoded once by the sending node.</summary>
[GenerateSerializer, Immutable, Alias("parley.node-delivery-item")]
public sealed record NodeDeliveryItem(
    [property: Id(0)] NodeDeliveryOp Op,
    [property: Id(1)] string[] UserIds,
    [property: Id(2)] long Number,
    [property: Id(3)] string? Text,
    [property: Id(4)] string[]? Tokens,
    [property: Id(5)] byte[]? Event,
    [property: Id(6)] string? Group = null,
    [property: Id(7)] long At = 0,
    [property: Id(8)] string[]? Foreground = null,
    [property: Id(9)] int[]? Platforms = null,
    [property: Id(10)] string[]? ConnectionIds = null,
    [property: Id(11)] string[]? TokenIds = null,
    [property: Id(12)] bool[]? Background = null,
    [property: Id(13)] SendAnswer? Answer = null);

/// <summary>A node of the cluster as the directory knows it.</summary>
[GenerateSerializer, Immutable, Alias("parley.node-entry")]
public sealed record NodeEntry(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string SiloAddress,
    [property: Id(2)] INodeDeliveryObserver Observer,
    [property: Id(3)] DateTimeOffset RenewedAt);

/// <summary>
/// The cluster's list of nodes and their delivery observers (one activation, key 0). Nodes renew their entry on a timer;
/// an entry not renewed within <see cref="NodeDirectoryGrain.Expiry"/> is dropped. The list is also rebuilt by the
/// renewals when the activation moves (its silo died).
/// </summary>
public interface INodeDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or renews a node's entry; returns every live entry (this node's included).</summary>
    Task<NodeEntry[]> Renew(string nodeId, string siloAddress, INodeDeliveryObserver observer);

    /// <summary>Removes a node (graceful shutdown).</summary>
    Task Remove(string nodeId);
}

internal sealed class NodeDirectoryGrain(TimeProvider time) : Grain, INodeDirectoryGrain
{
    public static readonly TimeSpan Expiry = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);

    public Task<NodeEntry[]> Renew(string nodeId, string siloAddress, INodeDeliveryObserver observer)
    {
        var now = time.GetUtcNow();
        _nodes[nodeId] = new NodeEntry(nodeId, siloAddress, observer, now);
        foreach (var stale in _nodes.Values.Where(n => now - n.RenewedAt > Expiry).Select(n => n.NodeId).ToList())
        {
            _nodes.Remove(stale);
        }

        return Task.FromResult(_nodes.Values.ToArray());
    }

    public Task Remove(string nodeId)
    {
        _nodes.Remove(nodeId);
        return Task.CompletedTask;
    }
}
