using Google.Protobuf;
using Parley.Protocol.V1;

namespace Parley.Protocol;

/// <summary>Encodes and decodes frames of the native protocol v1.</summary>
public static class FrameCodec
{
    /// <summary>The WebSocket sub-protocol name clients offer.</summary>
    public const string SubProtocol = "parley.v1";

    /// <summary>Serializes a frame to a new array.</summary>
    public static byte[] Encode(IMessage frame) => frame.ToByteArray();

    /// <summary>
    /// Tries to decode a client frame. Returns false on malformed or truncated input; never throws for bad bytes.
    /// </summary>
    public static bool TryDecodeClient(ReadOnlySpan<byte> bytes, out ClientFrame frame)
    {
        try
        {
            frame = ClientFrame.Parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            frame = null!;
            return false;
        }
    }

    /// <summary>
    /// Tries to decode a server frame. Returns false on malformed or truncated input; never throws for bad bytes.
    /// </summary>
    public static bool TryDecodeServer(ReadOnlySpan<byte> bytes, out ServerFrame frame)
    {
        try
        {
            frame = ServerFrame.Parser.ParseFrom(bytes);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            frame = null!;
            return false;
        }
    }
}
