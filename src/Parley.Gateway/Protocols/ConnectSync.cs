using Parley.Abstractions.Messaging;
using Parley.Core.Business;

namespace Parley.Gateway.Protocols;

/// <summary>
/// The connect-time sync's <c>SyncBatch</c> frames (native protocol): what changed for a user since a cursor, in batches of
/// about <c>batchBytes</c>. From the store's rows when it can hand them over (<see cref="ISyncRowSource"/>, SQLite:
/// <see cref="SyncRowEncoder"/>), otherwise from its <see cref="StoredMessage"/>s (<see cref="SyncBatchEncoder"/>); the frames
/// are the same bytes either way.
/// </summary>
internal static class ConnectSync
{
    /// <summary>
    /// Writes the frames through <paramref name="write"/> (which takes each buffer, rented from <see cref="SyncBuffers.Pool"/>, and
    /// its length, and returns the buffer there); returns the version the sync is consistent with, its conversations and its messages.
    /// </summary>
    public static Task<SyncTotals> WriteAsync(
        IMessageStore store, string userId, long cursor, int perConversation, int batchBytes, NotificationAccountIds? accounts, Func<byte[], int, ValueTask<bool>> write) =>
        store is ISyncRowSource rows
            ? WriteFromRowsAsync(rows, userId, cursor, perConversation, batchBytes, accounts, write)
            : WriteFromMessagesAsync(store, userId, cursor, perConversation, batchBytes, accounts, write);

    /// <summary>The frames from the store's rows, each message encoded as its row is read.</summary>
    public static async Task<SyncTotals> WriteFromRowsAsync(
        ISyncRowSource store, string userId, long cursor, int perConversation, int batchBytes, NotificationAccountIds? accounts, Func<byte[], int, ValueTask<bool>> write)
    {
        using var batch = new SyncRowEncoder(userId);
        var snapshot = await store.GetChangesAsync(userId, cursor, perConversation, batch).ConfigureAwait(false);
        batch.Complete(snapshot.Changes.Count);
        return await WriteBatchesAsync(batch, snapshot, userId, batchBytes, accounts, write).ConfigureAwait(false);
    }

    /// <summary>The frames from the <see cref="StoredMessage"/>s the store returns (PostgreSQL).</summary>
    public static async Task<SyncTotals> WriteFromMessagesAsync(
        IMessageStore store, string userId, long cursor, int perConversation, int batchBytes, NotificationAccountIds? accounts, Func<byte[], int, ValueTask<bool>> write)
    {
        var snapshot = await store.GetChangesAsync(userId, cursor, perConversation).ConfigureAwait(false);
        return await WriteBatchesAsync(new SyncBatchEncoder(), snapshot, userId, batchBytes, accounts, write).ConfigureAwait(false);
    }

    // Both paths: each change's head into the batch, a frame whenever the batch reaches batchBytes, then the rest.
    private static async Task<SyncTotals> WriteBatchesAsync(
        ISyncBatch batch, SyncSnapshot snapshot, string userId, int batchBytes, NotificationAccountIds? accounts, Func<byte[], int, ValueTask<bool>> write)
    {
        ulong messages = 0;
        for (var i = 0; i < snapshot.Changes.Count; i++)
        {
            var change = snapshot.Changes[i];
            messages += (ulong)batch.Add(SyncConversationHead.For(change, userId, accounts), i, change, userId);
            if (batch.Size >= batchBytes)
            {
                var (buffer, length) = batch.Encode();
                await write(buffer, length).ConfigureAwait(false);
            }
        }

        if (batch.Count > 0)
        {
            var (buffer, length) = batch.Encode();
            await write(buffer, length).ConfigureAwait(false);
        }

        return new SyncTotals(snapshot.Version, snapshot.Changes.Count, messages);
    }
}

/// <summary>A connect-time sync's batch of <c>SyncBatch</c> frames (<see cref="SyncRowEncoder"/>, <see cref="SyncBatchEncoder"/>).</summary>
internal interface ISyncBatch
{
    /// <summary>The conversations added since the last <see cref="Encode"/>.</summary>
    int Count { get; }

    /// <summary>The added conversations' encoded size.</summary>
    int Size { get; }

    /// <summary>Adds <paramref name="change"/> (at <paramref name="index"/> of its snapshot) with <paramref name="head"/>; returns the messages it carries.</summary>
    int Add(SyncConversationHead head, int index, ConversationChange change, string viewer);

    /// <summary>The frame of what was added (a buffer of <see cref="SyncBuffers.Pool"/>, and its length); starts a new batch.</summary>
    (byte[] Buffer, int Length) Encode();
}

/// <summary>What a connect-time sync sent: the version it is consistent with, its conversations and messages.</summary>
internal readonly record struct SyncTotals(long Version, int Conversations, ulong Messages);
