using System.Buffers;
using System.Net.WebSockets;

namespace Parley.LoadTest;

/// <summary>One whole WebSocket message, in a pooled buffer that is valid only for the call.</summary>
internal delegate void ReceivedMessage(ReadOnlySpan<byte> message, WebSocketMessageType type);

/// <summary>
/// The receive loop every generator connection uses (<see cref="LeanConnection"/>, <see cref="OpenImConnection"/>): it
/// waits for data with a zero-byte read and only then rents a buffer from the shared pool (so idle connections hold no
/// receive buffer), reads one whole message into it (growing it up to 16 MB), hands it to the connection and returns
/// the buffer. It ends when the server closes, or throws what the socket or the handler threw; the caller records why.
/// </summary>
internal static class PooledReceive
{
    private const int RentSize = 16 * 1024;
    private const int MaxFrame = 16 * 1024 * 1024;

    public static async Task RunAsync(WebSocket socket, ReceivedMessage onMessage, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            // Zero-byte read: wait for data without holding a buffer.
            var probe = await socket.ReceiveAsync(Memory<byte>.Empty, stop).ConfigureAwait(false);
            if (probe.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(RentSize);
            var length = 0;
            try
            {
                ValueWebSocketReceiveResult r;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= MaxFrame)
                        {
                            throw new InvalidDataException("frame too large");
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    r = await socket.ReceiveAsync(buffer.AsMemory(length), stop).ConfigureAwait(false);
                    length += r.Count;
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                }
                while (!r.EndOfMessage);

                onMessage(buffer.AsSpan(0, length), r.MessageType);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
