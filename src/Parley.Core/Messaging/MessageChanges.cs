using System.Globalization;
using System.Text;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// The rules and forms of message changes (ADR 0018): the stored annotations, the search text of a content, reaction
/// validation, and the snippet of a search hit. Plain functions; the conversation grain applies them.
/// </summary>
public static class MessageChanges
{
    /// <summary>How many reacting users a message shows per emoji (most recent first).</summary>
    public const int RecentReactors = 10;

    /// <summary>Start and end of a highlighted match in a snippet (Unicode private use).</summary>
    public const char HighlightStart = '\uE000';

    public const char HighlightEnd = '\uE001';

    private const int SnippetContext = 30;

    public static MessageAnnotations Read(byte[]? annotations) =>
        annotations is null || annotations.Length == 0 ? new MessageAnnotations() : MessageAnnotations.Parser.ParseFrom(annotations);

    public static byte[] Write(MessageAnnotations annotations) => annotations.ToByteArray();

    /// <summary>The text the search index holds for a content: text, a file's name, a location's name and address.</summary>
    public static string? SearchText(Content content) => content.BodyCase switch
    {
        Content.BodyOneofCase.Text => content.Text.Text,
        Content.BodyOneofCase.File => content.File.FileName,
        Content.BodyOneofCase.Location => (content.Location.Name + " " + content.Location.Address).Trim(),
        _ => null,
    };

    /// <summary>Null when <paramref name="emoji"/> is one emoji (sequence) of at most <paramref name="maxBytes"/> UTF-8 bytes; otherwise why not.</summary>
    public static string? CheckEmoji(string emoji, int maxBytes)
    {
        if (string.IsNullOrEmpty(emoji))
        {
            return "emoji is required.";
        }

        if (Encoding.UTF8.GetByteCount(emoji) > maxBytes)
        {
            return $"A reaction is at most {maxBytes} UTF-8 bytes.";
        }

        var symbols = 0;
        foreach (var rune in emoji.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            switch (category)
            {
                case UnicodeCategory.OtherSymbol:
                    symbols++;
                    break;
                case UnicodeCategory.ModifierSymbol or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark:
                    break;

                // Zero-width joiner and the tag characters of subdivision flags.
                case UnicodeCategory.Format when rune.Value == 0x200D || (rune.Value >= 0xE0020 && rune.Value <= 0xE007F):
                    break;

                // Keycaps: 0-9, # and * followed by U+20E3.
                case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.OtherPunctuation when rune.IsAscii && emoji.Contains('\u20E3', StringComparison.Ordinal):
                    symbols++;
                    break;
                default:
                    return "A reaction must be one emoji.";
            }
        }

        return symbols == 0 ? "A reaction must be one emoji." : null;
    }

    /// <summary>
    /// The message as <paramref name="viewer"/> sees it: the stored record with its edits, reply count and reactions
    /// (counts, "reacted by me", the most recent reacting users).
    /// </summary>
    public static void Annotate(Message message, StoredMessage stored, string? viewer)
    {
        if (stored.Annotations is not { Length: > 0 })
        {
            return;
        }

        var a = Read(stored.Annotations);
        message.EditCount = a.EditCount;
        message.EditedTime = a.EditedTime;
        message.ReplyCount = a.ReplyCount;
        if (stored.Revoked)
        {
            return;
        }

        foreach (var r in a.Reactions)
        {
            var summary = new ReactionSummary
            {
                Emoji = r.Emoji,
                Count = (uint)r.UserIds.Count,
                ReactedByMe = viewer is not null && r.UserIds.Contains(viewer),
            };
            for (var i = r.UserIds.Count - 1; i >= 0 && summary.RecentUserIds.Count < RecentReactors; i--)
            {
                summary.RecentUserIds.Add(r.UserIds[i]);
            }

            message.Reactions.Add(summary);
        }
    }

    /// <summary>
    /// A piece of <paramref name="text"/> around the first match of <paramref name="query"/> (case-insensitive), every match
    /// inside it wrapped in <see cref="HighlightStart"/> … <see cref="HighlightEnd"/>, cut text marked with "…".
    /// </summary>
    public static string Snippet(string text, string query)
    {
        var first = text.IndexOf(query, StringComparison.OrdinalIgnoreCase);
        if (first < 0)
        {
            return text.Length <= 2 * SnippetContext ? text : text[..(2 * SnippetContext)] + "…";
        }

        var start = Math.Max(0, first - SnippetContext);
        var end = Math.Min(text.Length, first + query.Length + SnippetContext);

        // Never cut a surrogate pair in two.
        if (start > 0 && char.IsLowSurrogate(text[start]))
        {
            start--;
        }

        if (end < text.Length && char.IsLowSurrogate(text[end]))
        {
            end++;
        }

        var builder = new StringBuilder(end - start + 8);
        if (start > 0)
        {
            builder.Append('…');
        }

        var at = start;
        while (at < end)
        {
            var next = text.IndexOf(query, at, end - at, StringComparison.OrdinalIgnoreCase);
            if (next < 0 || next + query.Length > end)
            {
                builder.Append(text, at, end - at);
                break;
            }

            builder.Append(text, at, next - at).Append(HighlightStart).Append(text, next, query.Length).Append(HighlightEnd);
            at = next + query.Length;
        }

        if (end < text.Length)
        {
            builder.Append('…');
        }

        return builder.ToString();
    }
}
