using Parley.Abstractions.Accounts;

namespace Parley.Abstractions.Social;

/// <summary>
/// Friends, friend requests, blocks and the per-user social settings. Thread-safe. Every write takes the next value
/// of one global relation version and stamps it on each row it touches, so one user's changes since a version are
/// the rows of that user above it. Writes between the same two users must be serialised by the caller (the
/// friendship grain does).
/// </summary>
public interface IRelationStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Everything between two users; <paramref name="first"/> must be the ordinally smaller id.</summary>
    Task<RelationPair> GetPairAsync(string first, string second, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether each user blocks the other and whether they are friends (both rows live), as <see cref="GetPairAsync"/>
    /// tells them; <paramref name="first"/> must be the ordinally smaller id. Every activation of a 1:1 conversation
    /// reads it (issue 17: nearly every message of a random-pairs load opens one). This default reads the whole pair; a
    /// provider answers it with one statement where it can.
    /// </summary>
    async Task<RelationFlags> GetPairFlagsAsync(string first, string second, CancellationToken cancellationToken = default)
    {
        var pair = await GetPairAsync(first, second, cancellationToken).ConfigureAwait(false);
        return new RelationFlags(pair.FirstBlocksSecond, pair.SecondBlocksFirst, pair.Friends);
    }

    /// <summary>
    /// <see cref="GetPairFlagsAsync"/>'s flags and whether <paramref name="userId"/> has an account (a <c>users</c> row, as
    /// <see cref="Accounts.IAccountStore.GetUserAsync"/> finds it), in one read; null when the provider has no such read (this
    /// default), and the caller reads the account itself. The first message of every new 1:1 conversation asks both: two reads,
    /// each opening a pooled connection, were about 0.5 KB and one statement's work of every such message (issue 17, stop 45).
    /// <paramref name="first"/> must be the ordinally smaller id.
    /// </summary>
    ValueTask<(RelationFlags Flags, bool UserExists)?> GetPairFlagsAndUserAsync(string first, string second, string userId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<(RelationFlags Flags, bool UserExists)?>(null);

    /// <summary>Writes the rows atomically under a new version and returns it (the current version when the write is empty).</summary>
    Task<long> ApplyAsync(RelationWrite write, CancellationToken cancellationToken = default);

    /// <summary>The latest relation version.</summary>
    Task<long> GetVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// What changed for <paramref name="userId"/> since <paramref name="sinceVersion"/>, or the whole state when it is 0,
    /// below the purge horizon or above the latest version.
    /// </summary>
    Task<RelationChanges> GetChangesAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default);

    /// <summary>Requests sent to (<paramref name="incoming"/>) or by the user, newest first, every state.</summary>
    Task<IReadOnlyList<FriendRequestRecord>> ListRequestsAsync(string userId, bool incoming, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes friend and block tombstones at or below <paramref name="version"/> and raises the purge horizon to it:
    /// clients behind the horizon get a full reset. Returns how many rows were deleted.
    /// </summary>
    Task<int> PurgeTombstonesAsync(long version, CancellationToken cancellationToken = default);

    /// <summary>
    /// The user with id <paramref name="query"/> (whatever their setting), then users whose nickname contains it
    /// (case-insensitive, ASCII folding) and who are searchable; at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<UserRecord>> SearchUsersAsync(string query, int limit, CancellationToken cancellationToken = default);

    /// <summary>Whether the user can be found by nickname (true unless they turned it off).</summary>
    Task<bool> GetSearchableAsync(string userId, CancellationToken cancellationToken = default);

    Task SetSearchableAsync(string userId, bool searchable, long updatedAt, CancellationToken cancellationToken = default);
}
