namespace Parley.Gateway.Connections;

/// <summary>
/// Writes whole WebSocket messages below the <see cref="System.Net.WebSockets.WebSocket"/> of a connection, several per
/// flush: a connection's send loop writes what its outbox holds as one batch (issue 17, group fan-out). Between
/// <see cref="BeginFramesAsync"/> and <see cref="EndFrames"/> the caller is the only writer of the transport (the
/// WebSocket's own writes, such as pongs and its close, wait); only one caller may hold a batch at a time.
/// </summary>
internal interface IFrameWriter
{
    /// <summary>Waits until the caller is the transport's only writer.</summary>
    Task BeginFramesAsync();

    /// <summary>Buffers one whole unmasked frame (binary, or text) with <paramref name="payload"/>; returns the bytes buffered.</summary>
    int WriteFrame(ReadOnlySpan<byte> payload, bool text);

    /// <summary>Sends what was buffered (waits while the transport applies back-pressure).</summary>
    ValueTask FlushFramesAsync(CancellationToken cancellationToken);

    /// <summary>Ends the batch: the WebSocket may write again.</summary>
    void EndFrames();
}
