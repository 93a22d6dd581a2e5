using System.Globalization;
using System.Text;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>Edits, reactions, revisions, threads and full-text search (ADR 0018): argument rules, then the grain or the store.</summary>
public sealed partial class MessagingService
{
    public const int MaxSearchQueryChars = 100;

    public const int MaxSearchLimit = 50;

    public Task<CoreResult<EditOutcome>> EditAsync(string userId, string conversationId, long seq, string editId, TextContent? text, string? originConnectionId)
    {
        if (!Ids.IsValidConversationId(conversationId) || seq <= 0)
        {
            return Refuse<EditOutcome>("conversation_id and seq are required.");
        }

        if (!Ids.IsValid(editId))
        {
            return Refuse<EditOutcome>("edit_id must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        var content = new Content { Text = text ?? new TextContent() };
        if (CheckContent(content) is { } invalid)
        {
            return Task.FromResult<CoreResult<EditOutcome>>(invalid);
        }

        return _conversations.Get(conversationId).EditAsync(new EditCommand(userId, seq, editId, content.ToByteArray(), originConnectionId)
        {
            // Off: an edit still removes the old text from an index written while search was on, and queues nothing.
            SearchText = options.Value.FullTextSearch ? content.Text.Text : string.Empty,
            MentionUserIds = [.. content.Text.MentionUserIds.Distinct(StringComparer.Ordinal)],
            MentionAll = content.Text.MentionAll,
        });
    }

    public Task<CoreResult<ReactOutcome>> ReactAsync(string userId, string conversationId, long seq, string emoji, bool remove, string? originConnectionId)
    {
        if (!Ids.IsValidConversationId(conversationId) || seq <= 0)
        {
            return Refuse<ReactOutcome>("conversation_id and seq are required.");
        }

        return _conversations.Get(conversationId).ReactAsync(new ReactCommand(userId, seq, emoji ?? string.Empty, remove, originConnectionId));
    }

    public Task<CoreResult<RevisionData[]>> GetRevisionsAsync(string userId, string conversationId, long seq) =>
        !Ids.IsValidConversationId(conversationId) || seq <= 0
            ? Refuse<RevisionData[]>("conversation_id and seq are required.")
            : _conversations.Get(conversationId).GetRevisionsAsync(userId, seq);

    public Task<CoreResult<HistoryPage>> GetThreadAsync(string userId, string conversationId, long rootSeq, long afterSeq, int limit) =>
        !Ids.IsValidConversationId(conversationId) || rootSeq <= 0
            ? Refuse<HistoryPage>("conversation_id and root_seq are required.")
            : _conversations.Get(conversationId).GetThreadAsync(userId, rootSeq, afterSeq, limit);

    /// <summary>
    /// Full-text search of what <paramref name="userId"/> may see (the store filters by membership periods and revocation
    /// in the query itself), newest first, with a snippet per hit and an opaque page token.
    /// </summary>
    public async Task<CoreResult<SearchPage>> SearchAsync(string userId, string? conversationId, string query, string? pageToken, int limit, CancellationToken cancellationToken = default)
    {
        if (!options.Value.FullTextSearch)
        {
            return CoreResult.Fail(CoreError.Unsupported, "Full-text search is turned off on this server.");
        }

        query = (query ?? string.Empty).Trim();
        var min = options.Value.SearchMinQueryChars;
        var length = new StringInfo(query).LengthInTextElements;
        if (length < min || query.Length > MaxSearchQueryChars)
        {
            return Invalid($"query must be {min}..{MaxSearchQueryChars} characters.");
        }

        if (!string.IsNullOrEmpty(conversationId) && !Ids.IsValidConversationId(conversationId))
        {
            return Invalid("conversation_id is invalid.");
        }

        SearchPosition? after = null;
        if (!string.IsNullOrEmpty(pageToken) && (after = ReadToken(pageToken)) is null)
        {
            return Invalid("page_token is invalid.");
        }

        limit = limit <= 0 ? 20 : Math.Min(limit, MaxSearchLimit);
        var scanLimit = options.Value.SearchScanLimit;
        var matches = await store.SearchAsync(userId, string.IsNullOrEmpty(conversationId) ? null : conversationId, query, after, limit + 1, scanLimit, cancellationToken).ConfigureAwait(false);
        string next;
        if (matches.Count > limit)
        {
            next = WriteToken(matches[limit - 1].Message);
        }
        else if (matches.ContinueBelow is { } below)
        {
            // The store read its most rows for this page (maybe finding nothing): the next page starts below where it
            // stopped, a time cut that names no message.
            next = WriteToken(below);
        }
        else if (!matches.ScanLimitReached)
        {
            next = string.Empty;
        }
        else if (matches.Count > 0)
        {
            // The store stopped at its scan limit: a short page, and the next one starts after its last hit (older hits may exist).
            next = WriteToken(matches[^1].Message);
        }
        else
        {
            // No hit among the newest scanLimit matches: going on would cost more than a page may; the token would have to
            // name a message the user may not see, so there is none.
            return Invalid($"query matches too many messages you cannot see (none among the {scanLimit} newest matches); add words or search one conversation.");
        }

        var hits = matches.Take(limit).Select(m => new SearchHitData(MessageData.From(m.Message), MessageChanges.Snippet(m.Text, query))).ToArray();
        return CoreResult.Success(new SearchPage(hits, next));
    }

    private static string WriteToken(StoredMessage m) => WriteToken(new SearchPosition(m.ServerTime, m.ConversationId, m.Seq));

    // time|seq|conversation; a time cut (SearchPosition.Before) has seq 0 and no conversation.
    private static string WriteToken(SearchPosition p) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{p.ServerTime}|{p.Seq}|{p.ConversationId}")));

    private static SearchPosition? ReadToken(string token)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|', 3);
            return parts.Length == 3
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var time)
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
                && (Ids.IsValidConversationId(parts[2]) || (parts[2].Length == 0 && seq == 0))
                ? new SearchPosition(time, parts[2], seq)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One search hit: the message as stored and the highlighted snippet.</summary>
public sealed record SearchHitData(MessageData Message, string Snippet);

/// <summary>A page of search hits, newest first; <see cref="NextPageToken"/> is empty on the last page.</summary>
public sealed record SearchPage(SearchHitData[] Hits, string NextPageToken);
