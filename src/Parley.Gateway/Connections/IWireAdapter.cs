namespace Parley.Gateway.Connections;

/// <summary>
/// A wire protocol other than Parley's native one, spoken by a <see cref="ClientConnection"/> (the OpenIM edge). The
/// registry fans native event frames out to every connection alike; a connection with an adapter translates each one on
/// its send loop, off the publishing path, and may turn one native event into several frames or none.
/// </summary>
internal interface IWireAdapter
{
    /// <summary>Translates a native <c>ServerFrame</c> (a live event, or the last frame before a close such as a kick).</summary>
    void Translate(ReadOnlySpan<byte> nativeFrame, List<WireFrame> output);
}

/// <summary>One frame of a foreign wire protocol, sent as a text or a binary WebSocket message.</summary>
internal readonly record struct WireFrame(byte[] Bytes, bool Text);
