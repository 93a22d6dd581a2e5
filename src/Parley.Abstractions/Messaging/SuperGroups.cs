namespace Parley.Abstractions.Messaging;

/// <summary>The read-diffusion groups a user is an active member of, as of one snapshot (ADR 0017).</summary>
/// <param name="Version">The highest feed version committed in the snapshot the list was read from.</param>
public sealed record SuperGroupMemberships(long Version, IReadOnlyList<string> ConversationIds);

/// <summary>One member of a large group with the closed visibility periods of earlier memberships.</summary>
public sealed record MemberWithPeriods(MemberRecord Member, IReadOnlyList<MemberPeriod> Periods);

/// <summary>A page of a group's members (keyset paging by user id).</summary>
/// <param name="Total">Active members matching the filter (without the keyset).</param>
public sealed record MemberSearchPage(IReadOnlyList<MemberRecord> Members, int Total, string? NextAfter);

/// <summary>A member query: active members, optionally filtered by id/nickname text and minimum role.</summary>
/// <param name="Query">Case-insensitive: user id prefix or nickname substring; empty = all.</param>
/// <param name="MinRole">Only members at or above this role (Admin lists owner and admins).</param>
/// <param name="After">Keyset: members whose user id sorts after this one.</param>
public sealed record MemberQuery(string Query, MemberRole MinRole, string After, int Limit)
{
    /// <summary>Matching members to skip after the keyset (offset paging of older edges; O(offset)).</summary>
    public int Offset { get; init; }
}

/// <summary>
/// A member of a super group that a digest round may push (ADR 0017, docs/push.md §8): has a push device and unread
/// messages in the group. <see cref="UnreadTotal"/> is the badge (unread over the user's unmuted conversations).
/// </summary>
public sealed record DigestRecipient(string UserId, long Unread, long UnreadTotal, bool Muted, bool MentionsOnly, bool DoNotDisturb, int Privacy);

/// <summary>One page of a digest round: the recipients among the members scanned, and where the next page starts.</summary>
/// <param name="NextAfter">The last member scanned (the next page's keyset), or null after the last page.</param>
public sealed record DigestPage(IReadOnlyList<DigestRecipient> Recipients, string? NextAfter);

/// <summary>
/// Member queries that never load a whole roster: what read-diffusion groups of up to a million members need
/// (ADR 0017). Implemented by the message stores.
/// </summary>
public interface ISuperGroupStore
{
    /// <summary>The read-diffusion groups <paramref name="userId"/> is an active member of (this node's roster, on connect).</summary>
    Task<SuperGroupMemberships> GetSuperGroupMembershipsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The rows (active or former) of the named users, with their closed periods; users never in the group are absent.</summary>
    Task<IReadOnlyList<MemberWithPeriods>> GetMembersByIdsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default);

    /// <summary>Active members matching <paramref name="query"/>, ordered by user id.</summary>
    Task<MemberSearchPage> SearchMembersAsync(string conversationId, MemberQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of a digest round in one statement: the next <paramref name="limit"/> active members after
    /// <paramref name="after"/> (by user id), of whom those with a push device and unread messages in the group are
    /// returned with their unread counts, the group's mute and mentions-only, do-not-disturb and privacy.
    /// </summary>
    Task<DigestPage> GetDigestPageAsync(string conversationId, string after, int limit, CancellationToken cancellationToken = default);
}

/// <summary>
/// Compaction of super groups whose members a store packs beside a row delta (ADR 0021; PostgreSQL's store only): what
/// the background service that runs bulk jobs calls, between an import's chunks and when idle. A store without packed
/// members does not implement it.
/// </summary>
public interface ISuperGroupCompaction
{
    /// <summary>
    /// Compacts the group when its delta reached the store's bound (1,000 rows and 5 % of its members by default), in
    /// short transactions; returns the rows moved (0 below the bound, or while another compaction of the group runs).
    /// </summary>
    Task<int> CompactSuperGroupIfDueAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> super groups whose delta reached the bound, by conversation id.</summary>
    Task<IReadOnlyList<string>> GetSuperGroupsDueForCompactionAsync(int limit, CancellationToken cancellationToken = default);
}
