namespace Parley.Abstractions.Messaging;

/// <summary>A member's role in a group. Values are stored; never renumber.</summary>
public enum MemberRole
{
    Member = 0,
    Admin = 1,
    Owner = 2,
}

/// <summary>Who may join a group. Values are stored; never renumber.</summary>
public enum GroupJoinPolicy
{
    Free = 0,
    Approval = 1,
    InviteOnly = 2,
}

/// <summary>
/// How a group distributes its messages. Values are stored; never renumber. See ADR 0017: a super group (and a channel)
/// writes nothing per member when a message commits (read diffusion); members learn of new messages from the group's head.
/// </summary>
public enum GroupKind
{
    /// <summary>Write diffusion of the index: every message raises each member's feed version (ADR 0001).</summary>
    Normal = 0,

    /// <summary>Read diffusion: up to <c>Parley:Messaging:MaxSuperGroupMembers</c> members, nothing written per member per message.</summary>
    Super = 1,

    /// <summary>A super group where only the owner and admins post.</summary>
    Channel = 2,
}

/// <summary>
/// How a super group tells of joins and leaves (ADR 0017). Values are stored; never renumber. Only read-diffusion groups
/// take a mode other than <see cref="Messages"/>: a million-member group must not write a notice message per change.
/// </summary>
public enum MemberNoticeMode
{
    /// <summary>A typed notice message in the conversation for every join, invitation, approval, kick and quit.</summary>
    Messages = 0,

    /// <summary>
    /// A membership-only commit (no message, no seq: nothing in history or unread) and a live membership event to the
    /// group's online members and the changed users.
    /// </summary>
    Events = 1,

    /// <summary>As <see cref="Events"/>, but the event reaches only the changed users and the group's owner and admins.</summary>
    AdminEvents = 2,
}

/// <summary>A group's shared record (its conversation is <c>sg_{GroupId}</c>).</summary>
/// <param name="Version">Feed version of the last change to the group's info.</param>
public sealed record GroupRecord(
    string GroupId,
    string ConversationId,
    string Name,
    string AvatarUrl,
    string Introduction,
    string Announcement,
    string Ex,
    string OwnerId,
    GroupJoinPolicy JoinPolicy,
    bool HistoryVisibleToNewMembers,
    bool MuteAll,
    bool Searchable,
    bool Dismissed,
    long CreatedAt,
    long UpdatedAt,
    int MemberCount,
    long Version)
{
    /// <summary>Normal (write diffusion) or a read-diffusion kind; a group only ever moves from Normal to Super.</summary>
    public GroupKind Kind { get; init; }

    /// <summary>True for the read-diffusion kinds (<see cref="GroupKind.Super"/>, <see cref="GroupKind.Channel"/>).</summary>
    public bool ReadDiffusion => Kind != GroupKind.Normal;

    /// <summary>How joins and leaves are told (a read-diffusion group only; a normal group always writes notices).</summary>
    public MemberNoticeMode MemberNotices { get; init; }
}

/// <summary>
/// A membership row's group fields as one commit writes them (insert or update). Leaving closes the member's visible period at
/// <see cref="VisibleTo"/>; rejoining opens a new one at <see cref="VisibleFrom"/>; periods before stay readable.
/// </summary>
/// <param name="Active">False once the member left or was removed.</param>
/// <param name="VisibleFrom">First seq of the member's current (or last) period.</param>
/// <param name="VisibleTo">When leaving: the last seq the member may see (the removal notice); otherwise 0.</param>
/// <param name="Version">Also the member's new feed version and info version.</param>
public sealed record MemberChange(
    string ConversationId,
    string UserId,
    MemberRole Role,
    string Nickname,
    long MutedUntil,
    long JoinedAt,
    string InviterId,
    bool Active,
    long VisibleFrom,
    long VisibleTo,
    long Version)
{
    /// <summary>The member's read cursor becomes at least this (a newcomer has read everything before joining).</summary>
    public long ReadSeqFloor { get; init; }
}

/// <summary>A join request or an invitation waiting for approval. Values of <see cref="Kind"/>/<see cref="State"/> are stored.</summary>
public sealed record GroupRequestRecord(
    string GroupId,
    string UserId,
    string InviterId,
    int Kind,
    string Message,
    int State,
    long CreatedAt,
    long HandledAt,
    string HandlerId);

/// <summary>A closed visibility period of a former (or returning) member: seqs From..To inclusive.</summary>
public sealed record MemberPeriod(string UserId, long From, long To);

/// <summary>A group's members changed since a version.</summary>
public sealed record MembersDeltaData(long Version, IReadOnlyList<MemberRecord> Upserts, IReadOnlyList<string> Removed);

/// <summary>One user's groups changed since a version.</summary>
public sealed record GroupsDeltaData(long Version, IReadOnlyList<GroupRecord> Upserts, IReadOnlyList<string> Left);

/// <summary>Group queries of the message store.</summary>
public interface IGroupStore
{
    Task<GroupRecord?> GetGroupAsync(string groupId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<GroupRecord>> GetGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken cancellationToken = default);

    /// <summary>Searchable, live groups whose id equals or whose name contains <paramref name="query"/> (case-insensitive).</summary>
    Task<IReadOnlyList<GroupRecord>> SearchGroupsAsync(string query, int limit, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<MemberPeriod>> GetMemberPeriodsAsync(string conversationId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<GroupRequestRecord>> GetPendingGroupRequestsAsync(string groupId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The join requests and invitations that would admit <paramref name="userId"/> (the applicant, or the invitee), in
    /// every state: a handled one keeps its row until the user is named again. Pending first, then newest first; at most
    /// <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<GroupRequestRecord>> GetUserGroupRequestsAsync(string userId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Members whose group fields changed after <paramref name="sinceVersion"/> (0 = every active member).</summary>
    Task<MembersDeltaData> GetMembersDeltaAsync(string conversationId, long sinceVersion, CancellationToken cancellationToken = default);

    /// <summary>Groups of <paramref name="userId"/> whose info or the user's membership changed after <paramref name="sinceVersion"/>.</summary>
    Task<GroupsDeltaData> GetGroupsDeltaAsync(string userId, long sinceVersion, CancellationToken cancellationToken = default);
}
