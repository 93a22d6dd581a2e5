using System.Text.Unicode;
using Parley.Protocol.V1;

namespace Parley.Protocol;

/// <summary>
/// A text send's content as the bytes it arrived in (ADR 0027): <see cref="Content"/> is the frame's content field copied
/// once, byte for byte what serialising the parsed <see cref="V1.Content"/> writes; the text is its UTF-8 bytes
/// <c>Content[TextStart..TextStart + TextLength]</c>, never a string.
/// </summary>
/// <param name="Content">The content's bytes (a new array, not the frame's buffer).</param>
/// <param name="TextStart">Where the text's UTF-8 bytes start in <paramref name="Content"/>.</param>
/// <param name="TextLength">The text's length in UTF-8 bytes (at least 1).</param>
/// <param name="MentionUserIds">The mentioned user ids as sent (empty when none).</param>
/// <param name="MentionAll">The text mentions everyone.</param>
public readonly record struct TextContentBytes(byte[] Content, int TextStart, int TextLength, string[] MentionUserIds, bool MentionAll)
{
    /// <summary>Whether this holds a content (the default value holds none).</summary>
    public bool HasContent => Content is not null;

    /// <summary>The text's UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> Text => Content.AsSpan(TextStart, TextLength);

    /// <summary>The content parsed into objects, for the paths that need them (a before-send hook).</summary>
    public V1.Content Parse() => V1.Content.Parser.ParseFrom(Content);
}

/// <summary>
/// Reads the commonest client frame, a text send, straight from its bytes (ADR 0027): the request id, the client message
/// id, the target and the content's bytes, without the protobuf objects of the content or a string of its text. It accepts
/// only frames written the way the protobuf serialiser writes them — each field once, in field-number order, no unknown
/// field, minimal varints, valid UTF-8, a non-empty text, no <c>reply_to</c> — so that what it reads is exactly what
/// <see cref="ClientFrame"/>'s parser would read and the content's bytes are exactly what serialising that parse writes.
/// Anything else returns false, and the caller parses the frame with protobuf as before (the same answers, refusals
/// included).
/// </summary>
public static class SendFrameReader
{
    private const byte RequestIdTag = 1 << 3;         // ClientFrame.request_id = 1, varint
    private const byte SendTag = (12 << 3) | 2;        // ClientFrame.send = 12, length-delimited
    private const byte ClientMsgIdTag = (1 << 3) | 2;  // SendRequest.client_msg_id = 1
    private const byte TargetTag = (2 << 3) | 2;       // SendRequest.target = 2
    private const byte ContentTag = (3 << 3) | 2;      // SendRequest.content = 3
    private const byte UserIdTag = (1 << 3) | 2;       // Target.user_id = 1
    private const byte ConversationIdTag = (2 << 3) | 2; // Target.conversation_id = 2
    private const byte TextBodyTag = (1 << 3) | 2;     // Content.text = 1
    private const byte TextTag = (1 << 3) | 2;         // TextContent.text = 1
    private const byte MentionTag = (2 << 3) | 2;      // TextContent.mention_user_ids = 2
    private const byte MentionAllTag = 3 << 3;         // TextContent.mention_all = 3, varint

    /// <summary>
    /// Reads <paramref name="frame"/> as a text send with a request id; false (and nothing allocated beyond what was read)
    /// when it is anything else or not written canonically.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out uint requestId, out string clientMsgId, out Target target, out TextContentBytes content)
    {
        requestId = 0;
        clientMsgId = null!;
        target = null!;
        content = default;

        var pos = 0;
        if (!TryTag(frame, ref pos, RequestIdTag) || !TryVarint(frame, ref pos, out var id) || id is 0 or > uint.MaxValue)
        {
            // No request id (a send without one is refused by the protobuf path), or a zero one written out (not canonical).
            return false;
        }

        if (!TryTag(frame, ref pos, SendTag) || !TryLength(frame, ref pos, out var sendLength) || pos + sendLength != frame.Length)
        {
            return false;
        }

        var send = frame[pos..];
        pos = 0;
        var msgId = string.Empty;
        if (TryTag(send, ref pos, ClientMsgIdTag))
        {
            if (!TryString(send, ref pos, out var msgIdBytes) || msgIdBytes.IsEmpty)
            {
                return false;
            }

            msgId = System.Text.Encoding.UTF8.GetString(msgIdBytes);
        }

        if (!TryTag(send, ref pos, TargetTag) || !TryLength(send, ref pos, out var targetLength))
        {
            return false;
        }

        var targetBytes = send.Slice(pos, targetLength);
        pos += targetLength;
        var t = 0;
        var targetKind = targetBytes.IsEmpty ? (byte)0 : targetBytes[0];
        if (targetKind is not (UserIdTag or ConversationIdTag) || !TryTag(targetBytes, ref t, targetKind)
            || !TryString(targetBytes, ref t, out var targetId) || t != targetBytes.Length)
        {
            return false;
        }

        if (!TryTag(send, ref pos, ContentTag) || !TryLength(send, ref pos, out var contentLength) || pos + contentLength != send.Length)
        {
            return false;
        }

        var body = send.Slice(pos, contentLength);
        if (!TryText(body, out var textStart, out var textLength, out var mentions, out var mentionAll))
        {
            return false;
        }

        requestId = (uint)id;
        clientMsgId = msgId;
        var targetString = System.Text.Encoding.UTF8.GetString(targetId);
        target = targetKind == UserIdTag ? new Target { UserId = targetString } : new Target { ConversationId = targetString };
        content = new TextContentBytes(body.ToArray(), textStart, textLength, mentions, mentionAll);
        return true;
    }

    // Content { text = 1: TextContent { text = 1 (non-empty), mention_user_ids = 2 (repeated), mention_all = 3 (true) } },
    // nothing else. The mention ids are read only after the whole content was checked.
    private static bool TryText(ReadOnlySpan<byte> body, out int textStart, out int textLength, out string[] mentions, out bool mentionAll)
    {
        textStart = 0;
        textLength = 0;
        mentions = [];
        mentionAll = false;
        var pos = 0;
        if (!TryTag(body, ref pos, TextBodyTag) || !TryLength(body, ref pos, out var innerLength) || pos + innerLength != body.Length)
        {
            return false;
        }

        if (!TryTag(body, ref pos, TextTag) || !TryString(body, ref pos, out var text) || text.IsEmpty)
        {
            return false;
        }

        textStart = pos - text.Length;
        textLength = text.Length;
        var mentionsStart = pos;
        var mentionCount = 0;
        while (TryTag(body, ref pos, MentionTag))
        {
            if (!TryString(body, ref pos, out _))
            {
                return false;
            }

            mentionCount++;
        }

        if (TryTag(body, ref pos, MentionAllTag))
        {
            // A bool is written as one byte 1, and only when true.
            if (pos >= body.Length || body[pos] != 1)
            {
                return false;
            }

            pos++;
            mentionAll = true;
        }

        if (pos != body.Length)
        {
            return false;
        }

        if (mentionCount > 0)
        {
            mentions = new string[mentionCount];
            pos = mentionsStart;
            for (var i = 0; i < mentionCount; i++)
            {
                TryTag(body, ref pos, MentionTag);
                TryString(body, ref pos, out var mention);
                mentions[i] = System.Text.Encoding.UTF8.GetString(mention);
            }
        }

        return true;
    }

    private static bool TryTag(ReadOnlySpan<byte> bytes, ref int pos, byte tag)
    {
        if (pos < bytes.Length && bytes[pos] == tag)
        {
            pos++;
            return true;
        }

        return false;
    }

    // A length-delimited field's UTF-8 string (validated), after its tag.
    private static bool TryString(ReadOnlySpan<byte> bytes, ref int pos, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TryLength(bytes, ref pos, out var length))
        {
            return false;
        }

        value = bytes.Slice(pos, length);
        pos += length;
        return Utf8.IsValid(value);
    }

    private static bool TryLength(ReadOnlySpan<byte> bytes, ref int pos, out int length)
    {
        length = 0;
        if (!TryVarint(bytes, ref pos, out var value) || value > (ulong)(bytes.Length - pos))
        {
            return false;
        }

        length = (int)value;
        return true;
    }

    // A minimally encoded varint of at most 10 bytes (a longer or padded one is not what the serialiser writes).
    private static bool TryVarint(ReadOnlySpan<byte> bytes, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && pos < bytes.Length; shift += 7)
        {
            var b = bytes[pos++];
            if (shift == 63 && b > 1)
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                // A last byte of 0 after others is padding.
                return b != 0 || shift == 0;
            }
        }

        return false;
    }
}
