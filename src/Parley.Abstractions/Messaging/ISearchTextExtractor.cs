namespace Parley.Abstractions.Messaging;

/// <summary>
/// The searchable text of a stored message's content, by the core's rule (ADR 0018: a text, a file's name, a location's
/// name and address), or null when the content has none or full-text search is off. A store that keeps a message's
/// search text only in memory until it is indexed (SQLite, ADR 0019's stop-36 amendment) reads it back from the stored
/// content when it recovers what a stopped process had not indexed yet.
/// </summary>
public interface ISearchTextExtractor
{
    /// <summary>The search text of <paramref name="content"/> (of kind <paramref name="contentKind"/>), or null.</summary>
    string? SearchText(int contentKind, byte[] content);
}
