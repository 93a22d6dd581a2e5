namespace Parley.LoadTest;

/// <summary>
/// Reads a native <c>ServerFrame</c> carrying a <c>Message</c> with text content straight from its protobuf bytes: the
/// text's UTF-8 and the message's version, nothing allocated. A group step's receivers take hundreds of thousands of
/// these a second on the generator's one core, where decoding each into objects (frame, message, content, strings) was
/// a large part of the generator's CPU per delivery (issue 17: the generator, not the server, bounded the fan-out figure).
/// Anything else (another body, no text, a malformed frame) returns false and is decoded in full.
/// </summary>
internal static class FastFrame
{
    private const int ServerFrameMessage = 30; // ServerFrame.message
    private const int MessageContent = 7; // Message.content
    private const int MessageVersion = 9; // Message.version
    private const int ContentText = 1; // Content.text
    private const int TextContentText = 1; // TextContent.text

    public static bool TryText(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> text, out ulong version)
    {
        text = default;
        version = 0;
        ReadOnlySpan<byte> message = default;
        var found = false;
        while (!frame.IsEmpty)
        {
            if (!TryField(ref frame, out var field, out var wire, out var value, out var bytes))
            {
                return false;
            }

            if (field == ServerFrameMessage && wire == 2)
            {
                message = bytes;
                found = true;
            }
            else if (field != 1) // request_id; any other field is another body (or not this frame's)
            {
                return false;
            }
        }

        if (!found)
        {
            return false;
        }

        ReadOnlySpan<byte> content = default;
        while (!message.IsEmpty)
        {
            if (!TryField(ref message, out var field, out var wire, out var value, out var bytes))
            {
                return false;
            }

            if (field == MessageContent && wire == 2)
            {
                content = bytes;
            }
            else if (field == MessageVersion && wire == 0)
            {
                version = value;
            }
        }

        ReadOnlySpan<byte> textContent = default;
        var isText = false;
        while (!content.IsEmpty)
        {
            if (!TryField(ref content, out var field, out var wire, out _, out var bytes))
            {
                return false;
            }

            if (field == ContentText && wire == 2)
            {
                textContent = bytes;
                isText = true;
            }
        }

        if (!isText)
        {
            return false;
        }

        while (!textContent.IsEmpty)
        {
            if (!TryField(ref textContent, out var field, out var wire, out _, out var bytes))
            {
                return false;
            }

            if (field == TextContentText && wire == 2)
            {
                text = bytes;
            }
        }

        return true;
    }

    // One field: its number, wire type, and its varint value (wire type 0) or bytes (wire type 2); fixed32/64 skipped.
    private static bool TryField(scoped ref ReadOnlySpan<byte> data, out int field, out int wire, out ulong value, out ReadOnlySpan<byte> bytes)
    {
        field = 0;
        wire = 0;
        value = 0;
        bytes = default;
        if (!TryVarint(ref data, out var tag))
        {
            return false;
        }

        field = (int)(tag >> 3);
        wire = (int)(tag & 7);
        switch (wire)
        {
            case 0:
                return TryVarint(ref data, out value);
            case 1:
                if (data.Length < 8)
                {
                    return false;
                }

                data = data[8..];
                return true;
            case 2:
                if (!TryVarint(ref data, out var length) || length > (ulong)data.Length)
                {
                    return false;
                }

                bytes = data[..(int)length];
                data = data[(int)length..];
                return true;
            case 5:
                if (data.Length < 4)
                {
                    return false;
                }

                data = data[4..];
                return true;
            default:
                return false;
        }
    }

    private static bool TryVarint(scoped ref ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < data.Length; i++)
        {
            value |= (ulong)(data[i] & 0x7F) << (7 * i);
            if (data[i] < 0x80)
            {
                data = data[(i + 1)..];
                return true;
            }
        }

        return false;
    }
}
