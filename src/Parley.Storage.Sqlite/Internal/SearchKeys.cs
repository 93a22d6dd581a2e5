using System.Text;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// The full-text index's conversation key (migration 27): one trigram per conversation, so FTS5 can restrict a search to
/// one conversation, or to a user's conversations, inside its own index walk (<c>{conv} : "key"</c>) instead of reading every
/// match of every other conversation to skip it. Three characters of Unicode's supplementary private-use plane 15
/// (U+F0000..U+FFFFD), taken from a 64-bit FNV-1a hash of the conversation id: about 2.8 × 10^14 keys, so two
/// conversations share one only by a rare accident, which costs nothing but a few index entries more to skip (the
/// queries still compare the conversation id). The trigram tokenizer makes a three-character value exactly one token,
/// and its case folding leaves these characters alone. Stable across versions: the index stores it.
/// </summary>
internal static class SearchKeys
{
    /// <summary>The name of the SQL function the database registers on its writer connection (the indexer and the migration use it).</summary>
    public const string SqlFunction = "parley_search_key";

    private const int PlaneStart = 0xF0000;
    private const int PlaneSize = 0xFFFE;

    public static string For(string conversationId)
    {
        ArgumentNullException.ThrowIfNull(conversationId);
        var hash = 14695981039346656037UL;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetMaxByteCount(conversationId.Length) <= buffer.Length
            ? buffer[..Encoding.UTF8.GetBytes(conversationId, buffer)]
            : Encoding.UTF8.GetBytes(conversationId);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        Span<char> key = stackalloc char[6];
        var length = 0;
        for (var i = 0; i < 3; i++)
        {
            var codePoint = PlaneStart + (int)((hash >> (16 * i)) & 0xFFFF) % PlaneSize;
            length += new Rune(codePoint).EncodeToUtf16(key[length..]);
        }

        return new string(key[..length]);
    }
}
