namespace Parley.Core.Delivery;

/// <summary>
/// Hands domain events to the node's live connections. Implemented by the gateway's connection host, which encodes each
/// event once per wire protocol. Must not block: frames go to bounded per-connection outboxes; a full outbox closes that
/// connection, never the caller's work.
/// </summary>
public interface IDeliveryHub
{
    /// <summary>
    /// Delivers a versioned event (called only from the commit dispatch loop, in version order) to every connection of
    /// <paramref name="userIds"/> except <paramref name="excludeConnectionId"/>.
    /// </summary>
    void Publish(IReadOnlyList<string> userIds, DeliveryEvent @event, long version, string? excludeConnectionId);

    /// <summary>
    /// Delivers a versioned event of a read-diffusion group (ADR 0017; called only from the commit dispatch loop, in
    /// version order) through each node's roster of the group's online members: one call per node, never per member.
    /// <paramref name="joined"/> enter the roster before the delivery (they see their own join), <paramref name="left"/>
    /// get this event and leave the roster after it (they see their removal notice and nothing later).
    /// </summary>
    void PublishToGroup(string conversationId, IReadOnlyList<string> joined, IReadOnlyList<string> left, DeliveryEvent @event, long version, string? excludeConnectionId);

    /// <summary>Delivers an unversioned, unstored event (typing, "relations changed").</summary>
    void PublishEphemeral(IReadOnlyList<string> userIds, DeliveryEvent @event, string? excludeConnectionId);

    /// <summary>Delivers an unversioned event to every connection of this node (e.g. "the directory changed").</summary>
    void PublishToAll(DeliveryEvent @event);

    /// <summary>
    /// The resume cursor an answer carrying <paramref name="version"/> (a send's ack) may give its client: the version
    /// itself on one node (events are published in version order before the ack); in a cluster at most the highest
    /// version the node's release gate has handed out (ADR 0016).
    /// </summary>
    long ResumeCursorFor(long version) => version;

    /// <summary>
    /// Hands a one-way send's outcome to the connection that asked (ADR 0022): on this node through its table of sends
    /// awaiting their answer, on another node as an item of this node's ordered stream to it (after the events this node
    /// published before). Called once per send, after the durable commit for an ack; must not block or throw. A hub without
    /// connections drops it (the gateway's timeout answers).
    /// </summary>
    void Answer(Messaging.AckRoute route, CoreResult<Messaging.MessageAck> outcome)
    {
    }
}
