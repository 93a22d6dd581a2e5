namespace Parley.Abstractions.Messaging;

/// <summary>
/// A cluster's store (ADR 0016): tells which users' sync feeds changed at or above a version. A node uses it when a gap
/// in the live events it received stays open (the node that committed those versions died before forwarding them):
/// the connections of exactly these users must resync from their cursors; nobody else can have missed anything.
/// </summary>
public interface IFeedChangeQuery
{
    /// <summary>
    /// The users among <paramref name="userIds"/> with a feed change (a conversation advanced, a read cursor or setting
    /// changed) at a version &gt;= <paramref name="version"/>. Proportional to the users asked about (an index range each).
    /// </summary>
    Task<IReadOnlyList<string>> UsersChangedSinceAsync(IReadOnlyCollection<string> userIds, long version, CancellationToken cancellationToken = default);
}
