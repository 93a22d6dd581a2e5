namespace Parley.Abstractions.Social;

/// <summary>The state of a friend request (values match the protocol's FriendRequestState).</summary>
public enum FriendRequestState
{
    Pending = 0,
    Accepted = 1,
    Refused = 2,
}

/// <summary>One friend request; there is at most one per (from, to) and a new request overwrites a handled one.</summary>
/// <param name="CreatedAt">Unix milliseconds.</param>
/// <param name="HandledAt">Unix milliseconds; 0 while pending.</param>
/// <param name="Version">The relation version of the last change to this row (assigned by the store).</param>
public sealed record FriendRequestRecord(
    string FromUserId,
    string ToUserId,
    string Message,
    FriendRequestState State,
    long CreatedAt,
    long HandledAt,
    string HandleMessage,
    long Version = 0);

/// <summary>
/// One side of a friendship: <paramref name="UserId"/>'s row about <paramref name="FriendId"/>. A deleted friendship
/// keeps its rows as tombstones so a delta can report the deletion.
/// </summary>
/// <param name="Remark">Only <paramref name="UserId"/> sees it.</param>
/// <param name="CreatedAt">Unix milliseconds.</param>
public sealed record FriendRecord(string UserId, string FriendId, string Remark, long CreatedAt, bool Deleted, long Version = 0);

/// <summary><paramref name="UserId"/> blocks (or, as a tombstone, no longer blocks) <paramref name="BlockedUserId"/>.</summary>
public sealed record BlockRecord(string UserId, string BlockedUserId, bool Blocked, long Version = 0);

/// <summary>Everything stored between two users, <paramref name="First"/> being the ordinally smaller id.</summary>
public sealed record RelationPair(
    string First,
    string Second,
    FriendRecord? FirstFriendRow,
    FriendRecord? SecondFriendRow,
    FriendRequestRecord? FirstToSecondRequest,
    FriendRequestRecord? SecondToFirstRequest,
    bool FirstBlocksSecond,
    bool SecondBlocksFirst)
{
    /// <summary>Both friend rows exist and are live.</summary>
    public bool Friends => FirstFriendRow is { Deleted: false } && SecondFriendRow is { Deleted: false };

    public static RelationPair Empty(string first, string second) => new(first, second, null, null, null, null, false, false);
}

/// <summary>What a direct message needs of a <see cref="RelationPair"/>: the blocks both ways and the friendship.</summary>
public readonly record struct RelationFlags(bool FirstBlocksSecond, bool SecondBlocksFirst, bool Friends);

/// <summary>
/// Rows written together under one new relation version (their <c>Version</c> fields are ignored). Friend rows and
/// blocks are upserts: a deletion is a tombstone row.
/// </summary>
public sealed class RelationWrite
{
    public List<FriendRecord> Friends { get; } = [];

    public List<FriendRequestRecord> Requests { get; } = [];

    public List<BlockRecord> Blocks { get; } = [];

    public bool IsEmpty => Friends.Count == 0 && Requests.Count == 0 && Blocks.Count == 0;
}

/// <summary>What changed for one user since a version, read from one snapshot.</summary>
/// <param name="Version">The relation version the snapshot reflects; the client continues from it.</param>
/// <param name="FullReset">True when the answer is the whole state (version 0, older than the purge horizon or unknown).</param>
/// <param name="Friends">Live friend rows (upserts).</param>
/// <param name="DeletedFriendIds">Friends removed since the version (never in a full reset).</param>
/// <param name="Requests">Incoming and outgoing requests changed since the version (all of them in a full reset).</param>
/// <param name="BlockedUserIds">Users this user blocks (changed since, or all of them in a full reset).</param>
/// <param name="UnblockedUserIds">Users this user unblocked since the version (never in a full reset).</param>
public sealed record RelationChanges(
    long Version,
    bool FullReset,
    IReadOnlyList<FriendRecord> Friends,
    IReadOnlyList<string> DeletedFriendIds,
    IReadOnlyList<FriendRequestRecord> Requests,
    IReadOnlyList<string> BlockedUserIds,
    IReadOnlyList<string> UnblockedUserIds);
