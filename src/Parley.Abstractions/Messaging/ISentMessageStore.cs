namespace Parley.Abstractions.Messaging;

/// <summary>
/// Messages by their sender, for the per-user data export and erasure (rare operator actions). There is no index on the
/// sender (it would cost every send a second B-tree insert), so a read scans the message table once.
/// </summary>
public interface ISentMessageStore
{
    /// <summary>Every message <paramref name="senderId"/> sent, in any conversation, ordered by conversation and seq.</summary>
    IAsyncEnumerable<StoredMessage> ReadSentMessagesAsync(string senderId, CancellationToken cancellationToken = default);
}
