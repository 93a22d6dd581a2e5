namespace Parley.Abstractions.Messaging;

/// <summary>Kind of a conversation. Values are stored; never renumber.</summary>
public enum ConversationKind
{
    Direct = 1,
    Group = 2,
}

/// <summary>
/// One message row. <see cref="Content"/> is the opaque serialized content (the protocol's Content message);
/// stores never interpret it. <see cref="ContentKind"/> is the content's case number, for filtering.
/// </summary>
/// <param name="ServerTime">Unix milliseconds.</param>
/// <param name="Version">Global feed version of the commit that stored it (monotonic, unique per commit item).</param>
public sealed record StoredMessage(
    string ConversationId,
    long Seq,
    string ServerMsgId,
    string SenderId,
    string ClientMsgId,
    long ServerTime,
    int ContentKind,
    byte[] Content,
    bool Revoked,
    long Version)
{
    /// <summary>
    /// Global feed version of the commit that stored it. Settable for the commit alone: a new message's version is known only
    /// when the pipeline's writer adds it to a batch, which sets it on the row the conversation made in its turn (a
    /// <c>with</c> copy of the whole row there was one more row per message, 0.19 KB of every 1:1 send; issue 17).
    /// </summary>
    public long Version { get; set; } = Version;

    /// <summary>
    /// The message's changes (edits, reactions, reply count) as opaque bytes the core writes and reads (the protocol's
    /// MessageAnnotations); null when the message never changed. Stored next to the content (ADR 0018).
    /// </summary>
    public byte[]? Annotations { get; init; }

    /// <summary>The seq of the message this one replies to (0 = none); stored for the thread view.</summary>
    public long ReplyToSeq { get; init; }

    /// <summary>
    /// Written only: the text the full-text index holds for this message (null or empty = not indexed). The commit's alone:
    /// the conversation clears it once the row is committed, so the copy its hot tail keeps does not hold the text too.
    /// </summary>
    public string? SearchText { get; set; }

    /// <summary>
    /// Written only (ADR 0027): when <see cref="SearchTextLength"/> is above 0 and <see cref="SearchText"/> is null or empty,
    /// the text the full-text index holds is <see cref="Content"/>'s UTF-8 bytes from here (a text send read from its frame:
    /// no string of the text is made). Cleared with <see cref="SearchText"/>.
    /// </summary>
    public int SearchTextStart { get; set; }

    /// <summary>Written only: the length in bytes of the UTF-8 search text at <see cref="SearchTextStart"/> (0 = none).</summary>
    public int SearchTextLength { get; set; }

    /// <summary>Whether the message has a text for the full-text index (<see cref="SearchText"/> or its UTF-8 bytes).</summary>
    public bool HasSearchText => !string.IsNullOrEmpty(SearchText) || SearchTextLength > 0;

    /// <summary>The search text's UTF-8 bytes in <see cref="Content"/> (empty when it is <see cref="SearchText"/> or none).</summary>
    public ReadOnlySpan<byte> SearchTextUtf8() => SearchTextLength > 0 ? Content.AsSpan(SearchTextStart, SearchTextLength) : default;

    /// <summary>The search text as a string (decoded from <see cref="Content"/> when it is held as bytes), or null when none.</summary>
    public string? SearchTextString() =>
        !string.IsNullOrEmpty(SearchText) ? SearchText
        : SearchTextLength > 0 ? System.Text.Encoding.UTF8.GetString(Content, SearchTextStart, SearchTextLength)
        : null;

    /// <summary>Written only: members this message mentions by id (the store raises their mention seq).</summary>
    public IReadOnlyList<string>? MentionedUserIds { get; init; }

    /// <summary>Written only: the message mentions everyone (the store raises the conversation's mention-all seq).</summary>
    public bool MentionAll { get; init; }
}

/// <summary>A conversation's shared record.</summary>
/// <param name="CreatedAt">Unix milliseconds.</param>
public sealed record ConversationRecord(
    string ConversationId,
    ConversationKind Kind,
    string? GroupId,
    string Name,
    string CreatorId,
    long CreatedAt,
    long MaxSeq);

/// <summary>
/// What a conversation's activation reads (<see cref="IMessageStore.LoadConversationAsync"/>): its row and, for a direct
/// (1:1) conversation, its members and its newest messages (ascending by seq); for any other kind only the row
/// (<see cref="Members"/> and <see cref="Newest"/> null: the caller reads what that kind needs).
/// </summary>
public sealed record ConversationLoad(ConversationRecord Record, IReadOnlyList<MemberRecord>? Members, IReadOnlyList<StoredMessage>? Newest);

/// <summary>One member's state in a conversation (group fields keep their defaults in direct conversations).</summary>
public sealed record MemberRecord(
    string UserId,
    long ReadSeq,
    bool Pinned,
    bool Muted,
    long FeedVersion)
{
    public MemberRole Role { get; init; }

    public string Nickname { get; init; } = string.Empty;

    /// <summary>Unix milliseconds; 0 = not muted.</summary>
    public long MutedUntil { get; init; }

    public long JoinedAt { get; init; }

    public string InviterId { get; init; } = string.Empty;

    /// <summary>False once the member left or was removed.</summary>
    public bool Active { get; init; } = true;

    /// <summary>First seq of the member's current period.</summary>
    public long VisibleFrom { get; init; } = 1;

    public long InfoVersion { get; init; }
}

/// <summary>A conversation as one user sees it (conversation list, sync).</summary>
/// <param name="PeerUserId">For direct conversations, the other member; otherwise null.</param>
/// <param name="PeerReadSeq">For direct conversations, the other member's read cursor; otherwise 0.</param>
/// <param name="UpdatedAt">Unix milliseconds of the last message (or creation).</param>
public sealed record ConversationView(
    string ConversationId,
    ConversationKind Kind,
    string? GroupId,
    string Name,
    string? PeerUserId,
    long MaxSeq,
    long ReadSeq,
    bool Pinned,
    bool Muted,
    StoredMessage? LastMessage,
    long PeerReadSeq,
    int MemberCount,
    long UpdatedAt)
{
    /// <summary>Messages after the read cursor.</summary>
    public long Unread => Math.Max(0, MaxSeq - ReadSeq);

    /// <summary>Offline pushes only for messages that mention this member.</summary>
    public bool MentionsOnly { get; init; }

    /// <summary>The newest message that mentions this member (by id or mention-all), when above the read cursor; 0 = none.</summary>
    public long MentionSeq { get; init; }
}

/// <summary>What changed in one conversation since a feed version.</summary>
/// <param name="Messages">Messages with a version above the cursor, ascending by seq, at most the requested number (the newest).</param>
/// <param name="Truncated">True when more messages above the cursor exist than were returned.</param>
public sealed record ConversationChange(
    ConversationView Conversation,
    IReadOnlyList<StoredMessage> Messages,
    bool Truncated);

/// <summary>The answer to a sync: the changes, consistent as of <see cref="Version"/>.</summary>
/// <param name="Version">The highest feed version committed in the snapshot the changes were read from.</param>
public sealed record SyncSnapshot(long Version, IReadOnlyList<ConversationChange> Changes);

/// <summary>Reading direction for history.</summary>
public enum ReadDirection
{
    /// <summary>Seqs at or below the starting seq, newest first in selection, returned ascending.</summary>
    Backward = 0,

    /// <summary>Seqs at or above the starting seq, ascending.</summary>
    Forward = 1,
}

/// <summary>One hit of a full-text search: the message (current revision) and the indexed text it matched.</summary>
public sealed record SearchMatch(StoredMessage Message, string Text);

/// <summary>
/// A page of search matches. <see cref="ScanLimitReached"/>: the store looked at its most index matches after the page's
/// cursor (<c>maxScanned</c>) before it found a full page, so older matches may exist although fewer came back; the next
/// page starts after the last match returned, or below <see cref="ContinueBelow"/> when the store gives one.
/// </summary>
public sealed class SearchMatchCollection(IList<SearchMatch> matches, bool scanLimitReached, SearchPosition? continueBelow = null) : System.Collections.ObjectModel.ReadOnlyCollection<SearchMatch>(matches)
{
    public bool ScanLimitReached { get; } = scanLimitReached;

    /// <summary>
    /// Set when the store stopped after reading its most rows for a page (PostgreSQL: a word with many matches, few of them
    /// among the newest rows, or a user in many conversations; SQLite: a search of the user's conversations that walked its
    /// allowance of index rows): the page (maybe empty) holds every match above this
    /// position, and the next page starts below it. A cut (<see cref="SearchPosition.IsTimeCut"/>), so it names no
    /// message the user may not see.
    /// </summary>
    public SearchPosition? ContinueBelow { get; } = continueBelow;
}

/// <summary>
/// Where a search page starts: after this (server time, conversation, seq), newest first; null = from the newest. An
/// empty <see cref="ConversationId"/> with seq 0 is a cut: the page starts below <see cref="ServerTime"/> in the store's
/// index order, which for PostgreSQL is the server time (what was sent before it) and for SQLite the index position
/// (search_id, commit order). A cut comes from the store's own <see cref="SearchMatchCollection.ContinueBelow"/>.
/// </summary>
public sealed record SearchPosition(long ServerTime, string ConversationId, long Seq)
{
    /// <summary>A position that names no message: everything before <paramref name="serverTime"/>.</summary>
    public static SearchPosition Before(long serverTime) => new(serverTime, string.Empty, 0);

    /// <summary>True for a position made by <see cref="Before"/>.</summary>
    public bool IsTimeCut => ConversationId.Length == 0 && Seq == 0;
}

/// <summary>An earlier content of an edited message (revision 0 = the original).</summary>
/// <param name="Time">Unix milliseconds the revision was written.</param>
public sealed record MessageRevision(string ConversationId, long Seq, int Revision, byte[] Content, long Time);
