namespace Parley.Abstractions.Directory;

/// <summary>
/// The organisation directory: a tree of departments and their members, versioned directory-wide. Every written row
/// is stamped with the next directory version, so "what changed after v" is the rows with a version above v;
/// deletes stay as tombstones until purged. Thread-safe.
/// </summary>
public interface IDirectoryStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="changes"/> in order in one transaction, each validated against the state left by the
    /// ones before it. A refused change writes nothing; the others still apply, unless <paramref name="atomic"/> is
    /// true, in which case one refusal rolls back the whole batch (the rest report <see cref="DirectoryError.NotApplied"/>).
    /// </summary>
    Task<DirectoryApplyResult> ApplyAsync(IReadOnlyList<DirectoryChange> changes, bool atomic, CancellationToken cancellationToken = default);

    /// <summary>
    /// Everything (when <paramref name="sinceVersion"/> is 0, below the purge horizon, or above the current version) or
    /// the rows changed after <paramref name="sinceVersion"/>, read from one snapshot.
    /// </summary>
    Task<DirectoryChanges> GetChangesAsync(long sinceVersion, CancellationToken cancellationToken = default);

    Task<DirectoryState> GetStateAsync(CancellationToken cancellationToken = default);

    /// <summary>True when the user is a member of at least one department.</summary>
    Task<bool> IsMemberAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes tombstones with a version at or below <paramref name="horizon"/> and raises the purge horizon to it
    /// (never lowers it). Returns how many tombstones were deleted.
    /// </summary>
    Task<int> PurgeTombstonesAsync(long horizon, CancellationToken cancellationToken = default);
}
