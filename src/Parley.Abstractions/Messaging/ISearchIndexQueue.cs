namespace Parley.Abstractions.Messaging;

/// <summary>
/// The full-text index is written after the commit, not in it (ADR 0019): a message's commit queues its search text in
/// a durable table of the same transaction (so a crash loses no entry), and the indexer moves queued texts into the
/// index in batches, oldest first. A store's search indexes everything queued before it answers, so a search sees every
/// message committed before it started; an edit or revoke of a still queued message removes the queued text in its
/// own commit (an edit indexes the new text at once), so a stale text is never indexed after it. (SQLite with the core's
/// <see cref="ISearchTextExtractor"/>, ADR 0019's stop-36 amendment: the queue is in memory and a durable mark of what is
/// indexed lets a restart index the rest from stored content; a queued text whose message was edited or revoked since is
/// skipped by the indexer.)
/// </summary>
public interface ISearchIndexQueue
{
    /// <summary>
    /// Indexes up to <paramref name="maxRows"/> queued texts, oldest first, and returns how many it took from the queue
    /// (fewer than <paramref name="maxRows"/> only when it emptied the queue; a recovery after a restart may take more).
    /// </summary>
    Task<int> IndexPendingAsync(int maxRows, CancellationToken cancellationToken = default);

    /// <summary>
    /// One bounded step of index upkeep, run by the indexer when it found the queue empty (SQLite: merging FTS5 segments,
    /// ADR 0018's stop 33 amendment). True when the step did work and another may be due; false when there is nothing to
    /// do now (or the store was busy). A store without such upkeep keeps this default.
    /// </summary>
    Task<bool> MaintainIndexAsync(CancellationToken cancellationToken = default) => Task.FromResult(false);
}
