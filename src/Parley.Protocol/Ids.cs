namespace Parley.Protocol;

/// <summary>Validation rules for identifiers shared by server and clients.</summary>
public static class Ids
{
    /// <summary>Maximum length of user, device, group, conversation and client message ids.</summary>
    public const int MaxLength = 64;

    /// <summary>
    /// True for a valid user, device, group or client message id: 1..64 characters of ASCII letters, digits and <c>-._@:</c>.
    /// Conversation ids are <c>si_{a}_{b}</c> for 1:1 and <c>sg_{groupId}</c> for groups and may be longer.
    /// </summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!IsIdChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Maximum length of a conversation id (a 1:1 id of two 64-character user ids that escape every character).</summary>
    public const int MaxConversationIdLength = 4 * MaxLength + 4;

    /// <summary>True for a syntactically valid conversation id: <c>si_</c> or <c>sg_</c> followed by id characters.</summary>
    public static bool IsValidConversationId(string? id)
    {
        if (id is null || id.Length <= 3 || id.Length > MaxConversationIdLength || !(id.StartsWith("si_", StringComparison.Ordinal) || id.StartsWith("sg_", StringComparison.Ordinal)))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!IsIdChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The conversation id of the 1:1 conversation between two users (order-independent):
    /// <c>si_{escape(min)}_{escape(max)}</c>, where escape writes <c>:</c> as <c>::</c> and <c>_</c> as <c>:_</c>. The one
    /// unescaped <c>_</c> after the prefix separates the users, so no two pairs share an id (unescaped, the pairs
    /// (<c>x</c>, <c>y_z</c>) and (<c>x_y</c>, <c>z</c>) would both be <c>si_x_y_z</c>). For user ids without <c>_</c> and
    /// <c>:</c> the id is OpenIM's <c>si_{min}_{max}</c>. See ADR 0010.
    /// </summary>
    public static string DirectConversationId(string userA, string userB) =>
        string.CompareOrdinal(userA, userB) <= 0 ? $"si_{Escape(userA)}_{Escape(userB)}" : $"si_{Escape(userB)}_{Escape(userA)}";

    /// <summary>
    /// Whether <paramref name="conversationId"/> is <see cref="DirectConversationId"/> of the two users, without building that
    /// id when neither user id needs escaping (the check of every message that opens a 1:1: its string was 0.08 KB of each,
    /// issue 17, stop 45).
    /// </summary>
    public static bool IsDirectConversationIdOf(string conversationId, string userA, string userB)
    {
        ArgumentNullException.ThrowIfNull(conversationId);
        ArgumentNullException.ThrowIfNull(userA);
        ArgumentNullException.ThrowIfNull(userB);
        if (userA.AsSpan().IndexOfAny(':', '_') >= 0 || userB.AsSpan().IndexOfAny(':', '_') >= 0)
        {
            return DirectConversationId(userA, userB) == conversationId;
        }

        var (first, second) = string.CompareOrdinal(userA, userB) <= 0 ? (userA, userB) : (userB, userA);
        var id = conversationId.AsSpan();
        return id.Length == 3 + first.Length + 1 + second.Length
            && id.StartsWith("si_", StringComparison.Ordinal)
            && id.Slice(3, first.Length).SequenceEqual(first)
            && id[3 + first.Length] == '_'
            && id[(4 + first.Length)..].SequenceEqual(second);
    }

    /// <summary>The two users of a 1:1 conversation id (in id order), or false for any other id.</summary>
    public static bool TryParseDirectConversationId(string? conversationId, out string userA, out string userB)
    {
        userA = userB = string.Empty;
        if (conversationId is null || !conversationId.StartsWith("si_", StringComparison.Ordinal) || conversationId.Length > MaxConversationIdLength)
        {
            return false;
        }

        var first = new System.Text.StringBuilder();
        var second = new System.Text.StringBuilder();
        var current = first;
        for (var i = 3; i < conversationId.Length; i++)
        {
            var c = conversationId[i];
            if (c == ':')
            {
                if (++i == conversationId.Length || conversationId[i] is not (':' or '_'))
                {
                    return false;
                }

                current.Append(conversationId[i]);
            }
            else if (c == '_')
            {
                if (current == second)
                {
                    return false;
                }

                current = second;
            }
            else
            {
                current.Append(c);
            }
        }

        if (current != second)
        {
            return false;
        }

        userA = first.ToString();
        userB = second.ToString();
        return IsValid(userA) && IsValid(userB) && string.CompareOrdinal(userA, userB) <= 0;
    }

    /// <summary>The user of a 1:1 conversation other than <paramref name="userId"/>, or null when it is not one of its two users.</summary>
    public static string? DirectPeer(string conversationId, string userId) =>
        !TryParseDirectConversationId(conversationId, out var a, out var b) ? null
        : a == userId ? b
        : b == userId ? a
        : null;

    private static string Escape(string userId) =>
        userId.Contains(':', StringComparison.Ordinal) || userId.Contains('_', StringComparison.Ordinal)
            ? userId.Replace(":", "::", StringComparison.Ordinal).Replace("_", ":_", StringComparison.Ordinal)
            : userId;

    /// <summary>The conversation id of a group.</summary>
    public static string GroupConversationId(string groupId) => $"sg_{groupId}";

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@' or ':';
}
