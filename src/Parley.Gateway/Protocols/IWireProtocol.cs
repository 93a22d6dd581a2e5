using Parley.Core.Delivery;
using Parley.Gateway.Connections;

namespace Parley.Gateway.Protocols;

/// <summary>
/// The encoding half of a wire protocol spoken by the connection host (native protocol v1, OpenIM): turns the core's
/// domain events into frames. An event is encoded at most once per protocol (the result is cached on the event), and
/// the fan-out writes the same bytes to every connection of that protocol, in the spirit of SignalR's IHubProtocol.
/// </summary>
internal interface IWireProtocol
{
    /// <summary>A short name for metrics and logs (<c>native</c>, <c>openim</c>).</summary>
    string Name { get; }

    /// <summary>The protocol's slot in <see cref="DeliveryEvent.GetOrEncode{T}"/>; unique per protocol.</summary>
    int Slot { get; }

    /// <summary>
    /// Encodes <paramref name="event"/> for every connection of this protocol alike; <see cref="EncodedEvent.None"/> when the
    /// protocol has no frame for it. Called once per event; must not depend on the recipient.
    /// </summary>
    EncodedEvent Encode(DeliveryEvent @event);

    /// <summary>Whether a connection of this protocol gets the event at all (e.g. OpenIM does not echo a user's own typing).</summary>
    bool Accepts(DeliveryEvent @event, ClientConnection recipient);

    /// <summary>
    /// For an event that goes to exactly one connection: its frame (as <see cref="Encode"/> would make it, binary) in an array
    /// rented from <see cref="FramePool.Live"/>, <paramref name="length"/> bytes of it, which the caller
    /// gives to that connection's outbox or returns; null when the protocol has none for the event (then <see cref="Encode"/>).
    /// </summary>
    byte[]? RentFrame(DeliveryEvent @event, out int length)
    {
        length = 0;
        return null;
    }
}

/// <summary>An event as one protocol sends it: one shared frame, nothing, or "ask each connection's session" (events whose
/// frame needs per-connection state, such as OpenIM's friend notifications which read the change per user).</summary>
internal sealed class EncodedEvent
{
    public static readonly EncodedEvent None = new(null, perConnection: false);

    public static readonly EncodedEvent PerConnection = new(null, perConnection: true);

    private EncodedEvent(WireFrame? frame, bool perConnection)
    {
        Frame = frame;
        IsPerConnection = perConnection;
    }

    public WireFrame? Frame { get; }

    public bool IsPerConnection { get; }

    public static EncodedEvent Of(WireFrame frame) => new(frame, perConnection: false);
}

/// <summary>One frame of a wire protocol, sent as a text or a binary WebSocket message. The array may be shared by many connections.</summary>
internal readonly record struct WireFrame(byte[] Bytes, bool Text);

/// <summary>The per-connection side of a protocol for events it cannot encode once for all connections.</summary>
internal interface IConnectionEvents
{
    /// <summary>Called on the publishing thread; must not block (queue the work).</summary>
    void OnEvent(DeliveryEvent @event);
}
