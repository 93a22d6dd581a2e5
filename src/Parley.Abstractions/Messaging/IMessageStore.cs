namespace Parley.Abstractions.Messaging;

/// <summary>
/// Durable store of conversations, members and messages. One instance per node; thread-safe.
/// <see cref="CommitAsync"/> is called by one writer at a time (the group-commit pipeline); reads run concurrently.
/// </summary>
public interface IMessageStore
{
    /// <summary>Creates or migrates the schema and verifies durability settings. Throws when the store cannot guarantee what its options promise.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Applies a batch in one transaction. On any failure nothing is applied and the exception propagates.</summary>
    /// <exception cref="StoreConflictException">A (conversation, seq) or (conversation, sender, client message id) already exists, or a conversation already exists.</exception>
    Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default);

    /// <summary>The highest feed version ever committed (0 for an empty store).</summary>
    Task<long> GetMaxVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A cursor a client may resume from now: every change at or below it is in the rows a sync reads. The highest committed
    /// version, unless the store writes some rows derived from a commit later (SQLite, ADR 0028), where it is the version
    /// through which those are written.
    /// </summary>
    Task<long> GetSyncVersionAsync(CancellationToken cancellationToken = default) => GetMaxVersionAsync(cancellationToken);

    Task<ConversationRecord?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A conversation's activation reads (issue 17, stop 47): the conversation's row, or null when it does not exist; for a
    /// direct (1:1) conversation also its members (as <see cref="GetMembersAsync"/>) and its newest
    /// <paramref name="newest"/> messages (as <see cref="ReadMessagesAsync"/> backward from the newest). A store may read
    /// them in one snapshot (SQLite: one read transaction, the conversation's key looked up once); by default the three
    /// reads, one after the other.
    /// </summary>
    async Task<ConversationLoad?> LoadConversationAsync(string conversationId, int newest, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(newest);
        if (await GetConversationAsync(conversationId, cancellationToken).ConfigureAwait(false) is not { } record)
        {
            return null;
        }

        if (record.Kind != ConversationKind.Direct)
        {
            return new ConversationLoad(record, null, null);
        }

        var members = await GetMembersAsync(conversationId, cancellationToken).ConfigureAwait(false);
        var messages = await ReadMessagesAsync(conversationId, 0, ReadDirection.Backward, newest, cancellationToken).ConfigureAwait(false);
        return new ConversationLoad(record, members, messages);
    }

    Task<StoredMessage?> GetMessageAsync(string conversationId, long seq, CancellationToken cancellationToken = default);

    Task<StoredMessage?> FindByClientMsgIdAsync(string conversationId, string senderId, string clientMsgId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="limit"/> messages starting at <paramref name="fromSeq"/> (inclusive) in <paramref name="direction"/>.
    /// Backward with <paramref name="fromSeq"/> 0 starts at the newest. The result is always ascending by seq.
    /// </summary>
    Task<IReadOnlyList<StoredMessage>> ReadMessagesAsync(string conversationId, long fromSeq, ReadDirection direction, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Conversations of <paramref name="userId"/> whose member feed version is above <paramref name="sinceVersion"/>, ordered by that
    /// version, each with its messages whose version is above <paramref name="sinceVersion"/> (the newest
    /// <paramref name="maxMessagesPerConversation"/>), all read in one consistent snapshot. The cost is proportional to what changed.
    /// </summary>
    Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, CancellationToken cancellationToken = default);

    /// <summary>The replies to <paramref name="rootSeq"/> (messages whose reply-to seq is it) with a seq above <paramref name="afterSeq"/>, ascending, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredMessage>> ReadThreadAsync(string conversationId, long rootSeq, long afterSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>The earlier contents of an edited message, ascending by revision (empty when never edited).</summary>
    Task<IReadOnlyList<MessageRevision>> GetRevisionsAsync(string conversationId, long seq, CancellationToken cancellationToken = default);

    /// <summary>
    /// Full-text search of the messages <paramref name="userId"/> may see: conversations they are or were a member of, seqs
    /// inside their membership periods, not revoked; in <paramref name="conversationId"/> only when given. <paramref name="query"/>
    /// matches any substring case-insensitively (at least three characters). Newest first in the store's index order (SQLite:
    /// commit order; PostgreSQL: server time, conversation, seq), starting after <paramref name="after"/>, at most
    /// <paramref name="limit"/>. The store looks at no more than <paramref name="maxScanned"/> index matches after
    /// <paramref name="after"/> (the ones the user may not see count too), which bounds the cost of a very common word;
    /// <see cref="SearchMatchCollection.ScanLimitReached"/> says it stopped there with fewer than <paramref name="limit"/>.
    /// </summary>
    Task<SearchMatchCollection> SearchAsync(string userId, string? conversationId, string query, SearchPosition? after, int limit, int maxScanned = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>One user's conversations: pinned first, then by last activity, newest first.</summary>
    Task<(IReadOnlyList<ConversationView> Page, int Total)> ListConversationsAsync(string userId, int offset, int limit, CancellationToken cancellationToken = default);

    /// <summary>The user's unread messages over every conversation they are an active member of and have not muted (the push badge).</summary>
    Task<long> GetUnreadTotalAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>One conversation as <paramref name="userId"/> sees it, or null if the user is not a member.</summary>
    Task<ConversationView?> GetConversationViewAsync(string userId, string conversationId, CancellationToken cancellationToken = default);
}

/// <summary>A uniqueness rule enforced by the database was violated.</summary>
public sealed class StoreConflictException : Exception
{
    public StoreConflictException()
    {
    }

    public StoreConflictException(string message)
        : base(message)
    {
    }

    public StoreConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
