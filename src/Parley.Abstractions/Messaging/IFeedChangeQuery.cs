namespace Parley.Abstractions.Messaging;

/// <summary>
/// A cluster's store (ADR 0016): tells which users' sync feeds changed at or above a version. A node uses it when a gap
/// in the live events it received stays open (the node that committed those versions died before forwarding them):
/// the connections of exactly these users must resync from their cursors; nobody else can have missed anything.
/// </summary>
public interface IFeedChangeQuery
{
    /// <summary>
    /// The users among <paramref name="userIds"/> whose sync from a cursor below <paramref name="version"/> would bring
    /// something committed at a version &gt;= <paramref name="version"/>: a feed change of their own (a conversation
    /// advanced, a read cursor or setting changed), a change to a message of a conversation they are an active member of
    /// (an edit, a reaction: the conversation's change version, ADR 0018) or a message of a read-diffusion super group
    /// they are an active member of (its head version, ADR 0017): the same conditions as the sync's. Reads the asked
    /// users' membership rows (an index range each); a node asks only when it closes a gap, which is rare.
    /// </summary>
    Task<IReadOnlyList<string>> UsersChangedSinceAsync(IReadOnlyCollection<string> userIds, long version, CancellationToken cancellationToken = default);
}
