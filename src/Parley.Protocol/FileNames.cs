using System.Text;

namespace Parley.Protocol;

/// <summary>File names that are safe to show and to put in a Content-Disposition header.</summary>
public static class FileNames
{
    /// <summary>Longest file name kept (characters).</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// The last path segment of <paramref name="name"/> without control characters, path separators, quotes, leading
    /// dots or trailing dots and spaces, cut to <see cref="MaxLength"/>; "file" when nothing usable is left.
    /// </summary>
    public static string Sanitize(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "file";
        }

        var lastSeparator = name.LastIndexOfAny(['/', '\\']);
        var segment = lastSeparator >= 0 ? name[(lastSeparator + 1)..] : name;
        var builder = new StringBuilder(segment.Length);
        foreach (var rune in segment.EnumerateRunes())
        {
            // Controls, format characters (bidi overrides that disguise an extension), unpaired surrogates and the
            // characters Windows refuses in names are dropped.
            if (!Rune.IsControl(rune) && Rune.GetUnicodeCategory(rune) != System.Globalization.UnicodeCategory.Format
                && rune != Rune.ReplacementChar && rune.Value is not ('"' or ':' or '*' or '?' or '<' or '>' or '|'))
            {
                builder.Append(rune.ToString());
            }
        }

        var cleaned = builder.ToString().Trim().TrimStart('.').TrimEnd('.', ' ');
        if (cleaned.Length > MaxLength)
        {
            cleaned = cleaned[..MaxLength];
            if (char.IsHighSurrogate(cleaned[^1]))
            {
                cleaned = cleaned[..^1];
            }
        }

        return cleaned.Length == 0 ? "file" : cleaned;
    }
}
