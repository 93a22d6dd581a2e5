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

    /// <summary>Maximum length of a conversation id.</summary>
    public const int MaxConversationIdLength = 2 * MaxLength + 4;

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

    /// <summary>The conversation id of the 1:1 conversation between two users (order-independent).</summary>
    public static string DirectConversationId(string userA, string userB) =>
        string.CompareOrdinal(userA, userB) <= 0 ? $"si_{userA}_{userB}" : $"si_{userB}_{userA}";

    /// <summary>The conversation id of a group.</summary>
    public static string GroupConversationId(string groupId) => $"sg_{groupId}";

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@' or ':';
}
