using Parley.Protocol.V1;

namespace Parley.Core.Delivery;

/// <summary>
/// Hands event frames to the node's live connections. Implemented by the gateway. Must not block: frames go to
/// bounded per-connection outboxes; a full outbox closes that connection, never the caller's work.
/// </summary>
public interface IDeliveryHub
{
    /// <summary>
    /// Delivers a versioned event (called only from the commit dispatch loop, in version order) to every connection of
    /// <paramref name="userIds"/> except <paramref name="excludeConnectionId"/>.
    /// </summary>
    void Publish(IReadOnlyList<string> userIds, ServerFrame frame, long version, string? excludeConnectionId);

    /// <summary>Delivers an unversioned, unstored event (typing).</summary>
    void PublishEphemeral(IReadOnlyList<string> userIds, ServerFrame frame, string? excludeConnectionId);

    /// <summary>Delivers an unversioned event to every connection of this node (e.g. "the directory changed").</summary>
    void PublishToAll(ServerFrame frame);
}
