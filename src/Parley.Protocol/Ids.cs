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
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@' or ':'))
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
}
