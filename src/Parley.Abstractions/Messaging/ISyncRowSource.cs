namespace Parley.Abstractions.Messaging;

/// <summary>
/// A store that can hand the connect-time sync's messages to a sink as it reads them, without building a
/// <see cref="StoredMessage"/>, its id strings or a copy of its content per row (issue 17: a fresh device syncs hundreds of
/// messages per login). Optional: a caller falls back to <see cref="IMessageStore.GetChangesAsync"/> when the store does
/// not implement it.
/// </summary>
public interface ISyncRowSource
{
    /// <summary>
    /// What <see cref="IMessageStore.GetChangesAsync"/> returns, with the same conversations, order, snapshot and
    /// authorisation, except that the messages go to <paramref name="sink"/> while the rows are read and every
    /// <see cref="ConversationChange.Messages"/> is empty. Per changed conversation the sink gets its newest
    /// <paramref name="maxMessagesPerConversation"/> + 1 visible messages above the cursor (fewer when there are fewer), in
    /// no particular order; when it got more than <paramref name="maxMessagesPerConversation"/> the change is
    /// <see cref="ConversationChange.Truncated"/> and the oldest of them (the lowest seq) is not part of the sync: it only
    /// tells that there is more. The sink is called on the reading thread and must not call the store.
    /// </summary>
    Task<SyncSnapshot> GetChangesAsync(string userId, long sinceVersion, int maxMessagesPerConversation, ISyncRowSink sink, CancellationToken cancellationToken = default);
}

/// <summary>Receives a sync's message rows as the store reads them (<see cref="ISyncRowSource"/>).</summary>
public interface ISyncRowSink
{
    /// <summary>
    /// A message of the change at <paramref name="conversation"/> (its index in the returned <see cref="SyncSnapshot.Changes"/>).
    /// The row's spans are valid only during the call.
    /// </summary>
    void Add(int conversation, in SyncRow row);
}

/// <summary>
/// One stored message as the store's row holds it: the fields of <see cref="StoredMessage"/> that a sync's frame carries (not
/// its content kind or reply seq), the strings as their UTF-8 bytes. Valid only during <see cref="ISyncRowSink.Add"/>.
/// </summary>
public readonly ref struct SyncRow
{
    /// <summary>UTF-8.</summary>
    public ReadOnlySpan<byte> ConversationId { get; init; }

    public long Seq { get; init; }

    /// <summary>UTF-8.</summary>
    public ReadOnlySpan<byte> ServerMsgId { get; init; }

    /// <summary>UTF-8.</summary>
    public ReadOnlySpan<byte> SenderId { get; init; }

    /// <summary>UTF-8.</summary>
    public ReadOnlySpan<byte> ClientMsgId { get; init; }

    /// <summary>Unix milliseconds.</summary>
    public long ServerTime { get; init; }

    /// <summary>The serialized content (empty when none).</summary>
    public ReadOnlySpan<byte> Content { get; init; }

    public bool Revoked { get; init; }

    public long Version { get; init; }

    /// <summary>The message's changes (<see cref="StoredMessage.Annotations"/>); empty when it never changed.</summary>
    public ReadOnlySpan<byte> Annotations { get; init; }
}
