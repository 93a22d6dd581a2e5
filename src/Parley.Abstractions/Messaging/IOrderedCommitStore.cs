namespace Parley.Abstractions.Messaging;

/// <summary>
/// A store shared by several writers (the nodes of a cluster) that hands out feed versions inside the commit, under one
/// order lock: a commit's versions are reserved when it begins and the next commit of any writer can only reserve its
/// versions after this one committed or rolled back. Version order is therefore commit order across all writers, and a
/// reader's snapshot that sees version V sees every version below V (ADR 0016). Used by the group-commit pipeline
/// instead of its node-local counter when the node is part of a cluster.
/// </summary>
public interface IOrderedCommitStore
{
    /// <summary>
    /// Opens a transaction, takes the order lock and reserves <paramref name="count"/> consecutive versions, the first
    /// being <see cref="IOrderedCommit.FirstVersion"/>. Disposing the result without committing rolls back and frees the
    /// versions (they are handed out again: no gaps).
    /// </summary>
    Task<IOrderedCommit> BeginAsync(int count, CancellationToken cancellationToken = default);
}

/// <summary>One open ordered commit; see <see cref="IOrderedCommitStore"/>.</summary>
public interface IOrderedCommit : IAsyncDisposable
{
    /// <summary>The first reserved version.</summary>
    long FirstVersion { get; }

    /// <summary>Applies the batch (whose versions lie in the reserved range) and commits, releasing the order lock.</summary>
    /// <exception cref="StoreConflictException">As <see cref="IMessageStore.CommitAsync"/>.</exception>
    Task CommitAsync(CommitBatch batch, CancellationToken cancellationToken = default);
}
