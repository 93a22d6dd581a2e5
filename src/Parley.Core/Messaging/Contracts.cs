using Orleans.Concurrency;
using Parley.Abstractions.Messaging;

namespace Parley.Core.Messaging;

/// <summary>
/// The single writer of one conversation (key: conversation id): authorises, deduplicates, allocates seqs,
/// submits to the group commit, keeps the hot tail and fans out after commit.
/// </summary>
[Alias("parley.conversation")]
public interface IConversationGrain : IGrainWithStringKey
{
    /// <remarks>A ValueTask: Orleans hands a Task-returning method's result over through one more Task per call (issue 17).</remarks>
    [Alias("send")]
    ValueTask<CoreResult<MessageAck>> SendAsync(SendCommand command);

    /// <summary>
    /// The same send as <see cref="SendAsync"/> as a one-way call (ADR 0022): no Orleans response; the outcome (ack,
    /// duplicate, refusal or error) is handed to <see cref="Delivery.IDeliveryHub.Answer"/> with the command's <see cref="SendCommand.Route"/>,
    /// exactly once, after the durable commit for an ack. A call that never runs (its activation failed, its node died) is
    /// answered by the gateway's timeout (Unavailable, never an ack).
    /// </summary>
    /// <param name="command">The send, its <see cref="SendCommand.Route"/> naming where the answer goes (a command without
    /// one is dropped: only the gateway makes this call, always with a route).</param>
    [OneWay]
    [Alias("submit-routed")]
    ValueTask SubmitAsync(SendCommand command);

    [Alias("revoke")]
    Task<CoreResult<MessageAck>> RevokeAsync(RevokeCommand command);

    [Alias("mark-read")]
    Task<CoreResult<ReadState>> MarkReadAsync(string userId, long seq, string? originConnectionId);

    [Alias("history")]
    Task<CoreResult<HistoryPage>> GetHistoryAsync(string userId, long fromSeq, ReadDirection direction, int limit);

    /// <summary>
    /// Creates the group with its members, and with <see cref="CreateGroupCommand.AdminIds"/> as admins, in one commit.
    /// </summary>
    [Alias("create-group")]
    Task<CoreResult<MessageAck>> CreateGroupAsync(CreateGroupCommand command);

    [Alias("typing")]
    Task<CoreResult> TypingAsync(string userId, bool typing, string? originConnectionId);

    [Alias("settings")]
    Task<CoreResult> UpdateSettingsAsync(string userId, bool? pinned, bool? muted, bool? mentionsOnly, string? originConnectionId);

    /// <summary>
    /// For a direct conversation: the relation of its two users (first = the ordinally smaller user id) changed.
    /// Sends allocated after this call returns obey it.
    /// </summary>
    [Alias("set-relation")]
    Task SetRelationAsync(Social.DirectRelation relation);

    /// <summary>A group management operation; authorised against the operator's current role.</summary>
    [Alias("group")]
    Task<CoreResult<GroupOutcome>> GroupAsync(GroupCommand command);

    /// <summary>Active members, owner first, then admins, then by join time. Members only.</summary>
    [Alias("members")]
    Task<CoreResult<MemberPage>> ListMembersAsync(string userId, int offset, int limit);

    /// <summary>Pending join requests and invitations. Owners and admins only.</summary>
    [Alias("group-requests")]
    Task<CoreResult<GroupRequestsPage>> ListGroupRequestsAsync(string userId);

    /// <summary>True when the user is an active member (used to authorise member-list sync).</summary>
    [Alias("is-member")]
    Task<bool> IsMemberAsync(string userId);

    /// <summary>Replaces the text of one of the caller's messages (ADR 0018).</summary>
    [Alias("edit")]
    Task<CoreResult<EditOutcome>> EditAsync(EditCommand command);

    /// <summary>Adds or removes the caller's reaction on a message.</summary>
    [Alias("react")]
    Task<CoreResult<ReactOutcome>> ReactAsync(ReactCommand command);

    /// <summary>The revisions of a message, the current one last.</summary>
    [Alias("revisions")]
    Task<CoreResult<RevisionData[]>> GetRevisionsAsync(string userId, long seq);

    /// <summary>The replies to a message the caller may see, ascending, after <paramref name="afterSeq"/>.</summary>
    [Alias("thread")]
    Task<CoreResult<HistoryPage>> GetThreadAsync(string userId, long rootSeq, long afterSeq, int limit);

    /// <summary>
    /// Erasure of a user's data (operator action): every listed seq that <paramref name="userId"/> sent as user content
    /// and that is not a tombstone yet becomes one, exactly as a revoke (a revoke marker per message, so every member's
    /// client drops the content), whatever the revoke window and whether the user is still a member. Idempotent.
    /// </summary>
    /// <returns>The number of messages tombstoned by this call.</returns>
    [Alias("erase-sender")]
    Task<CoreResult<int>> EraseSenderContentAsync(string userId, long[] seqs);

    /// <summary>
    /// Admin bulk membership of a super group (one chunk of a job): adds (or removes) the named users in one commit with
    /// one summary notice. Users already in (or out) are skipped; returns how many changed.
    /// </summary>
    [Alias("bulk-members")]
    Task<CoreResult<int>> BulkMembersAsync(string operatorId, string[] userIds, bool remove);

    /// <summary>
    /// Who a Join, Invite or accepting RespondRequest would admit at once if it ran now (empty: it would be refused or
    /// wait for approval). Read-only; used to run the join hook before the command (ADR 0012).
    /// </summary>
    [Alias("plan-admission")]
    Task<string[]> PlanAdmissionAsync(GroupCommand command);
}

/// <summary>
/// Where a one-way send's answer goes (ADR 0022): the node that holds the sender's connection and the ticket of the send in
/// that node's table of sends awaiting their answer (<c>SendAnswers</c>, which knows the connection and the request id).
/// Built by the gateway from the session, never from the request.
/// </summary>
[GenerateSerializer, Immutable, Alias("parley.ack-route")]
public readonly record struct AckRoute([property: Id(0)] string NodeId, [property: Id(1)] long Ticket);

/// <param name="PeerUserId">For a send addressed to a user: that user (the direct conversation is created on first send).</param>
/// <param name="ContentKind">The protocol Content case number.</param>
/// <param name="Content">The serialized protocol Content.</param>
[GenerateSerializer, Immutable, Alias("parley.send-command")]
public sealed record SendCommand(
    string SenderId,
    string ClientMsgId,
    string? PeerUserId,
    int ContentKind,
    byte[] Content,
    string? OriginConnectionId)
{
    /// <summary>The text for the search index (empty = none), taken from the parsed content by the caller.</summary>
    [Id(6)]
    public string SearchText { get; init; } = string.Empty;

    /// <summary>The seq of the message this one replies to (0 = none) and its server message id when the client gave it.</summary>
    [Id(7)]
    public long ReplyToSeq { get; init; }

    [Id(8)]
    public string ReplyToServerMsgId { get; init; } = string.Empty;

    [Id(9)]
    public string[] MentionUserIds { get; init; } = [];

    [Id(10)]
    public bool MentionAll { get; init; }

    /// <summary>
    /// The gateway's per-hop stamps of this send (issue 17), stamped by the grain and the commit pipeline. Not serialized: the
    /// command is immutable, so a call to a grain in this process passes this very object, and a call to another node
    /// arrives without it (then nothing is stamped).
    /// </summary>
    [field: NonSerialized]
    public Parley.Core.Telemetry.SendTimes? Times { get; init; }

    /// <summary>
    /// Where a one-way send's answer goes (ADR 0022, <see cref="IConversationGrain.SubmitAsync"/>), built by the gateway from
    /// the session, never from the request; null for the request/response call. In the command rather than a second
    /// argument of the call: Orleans boxed a struct argument twice per call while it scanned the arguments for cancellation
    /// tokens (0.08 KB per message, issue 17).
    /// </summary>
    [Id(11)]
    public AckRoute? Route { get; init; }

    /// <summary>
    /// A text send read from its frame (ADR 0027): the search text is <see cref="Content"/>'s UTF-8 bytes from here, for
    /// <see cref="SearchTextLength"/> bytes, instead of a <see cref="SearchText"/> string (0 length = none).
    /// </summary>
    [Id(12)]
    public int SearchTextStart { get; init; }

    [Id(13)]
    public int SearchTextLength { get; init; }
}

[GenerateSerializer, Immutable, Alias("parley.edit-command")]
public sealed record EditCommand(string UserId, long Seq, string EditId, byte[] Content, string? OriginConnectionId)
{
    [Id(5)]
    public string SearchText { get; init; } = string.Empty;

    [Id(6)]
    public string[] MentionUserIds { get; init; } = [];

    [Id(7)]
    public bool MentionAll { get; init; }
}

[GenerateSerializer, Immutable, Alias("parley.edit-outcome")]
public sealed record EditOutcome(long Seq, int EditCount, long EditedTime, long Version, bool Duplicate);

[GenerateSerializer, Immutable, Alias("parley.react-command")]
public sealed record ReactCommand(string UserId, long Seq, string Emoji, bool Remove, string? OriginConnectionId);

[GenerateSerializer, Immutable, Alias("parley.react-outcome")]
public sealed record ReactOutcome(long Seq, string Emoji, int Count, long Version);

[GenerateSerializer, Immutable, Alias("parley.revision-data")]
public sealed record RevisionData(int Revision, byte[] Content, long Time);

[GenerateSerializer, Immutable, Alias("parley.revoke-command")]
public sealed record RevokeCommand(string UserId, long Seq, string ClientMsgId, string? OriginConnectionId);

[GenerateSerializer, Immutable, Alias("parley.create-group-command")]
public sealed record CreateGroupCommand(string GroupId, string Name, string CreatorId, string[] MemberIds, string? OriginConnectionId)
{
    [Id(5)]
    public string AvatarUrl { get; init; } = string.Empty;

    [Id(6)]
    public string Introduction { get; init; } = string.Empty;

    [Id(7)]
    public string Announcement { get; init; } = string.Empty;

    [Id(8)]
    public string Ex { get; init; } = "{}";

    [Id(9)]
    public GroupJoinPolicy JoinPolicy { get; init; }

    [Id(10)]
    public bool HistoryVisibleToNewMembers { get; init; }

    /// <summary>Members (named in <see cref="MemberIds"/> or not) who start as admins; the creator is the owner.</summary>
    [Id(11)]
    public string[] AdminIds { get; init; } = [];

    /// <summary>Normal, or a read-diffusion kind (ADR 0017).</summary>
    [Id(12)]
    public GroupKind Kind { get; init; }

    /// <summary>What the join hook set for the first members (nickname, admin role, mute); never the creator's role.</summary>
    [Id(13)]
    public MemberOverride[] MemberOverrides { get; init; } = [];
}

public enum GroupOperation
{
    UpdateInfo,
    Join,
    Invite,
    RespondRequest,
    Kick,
    Quit,
    Dismiss,
    TransferOwner,
    SetRole,
    Mute,
    SetNickname,

    /// <summary>Owner (or the admin API acting as the owner): the group becomes a super group (read diffusion), for good.</summary>
    Promote,
}

/// <summary>Changes to a group's info; null = unchanged.</summary>
[GenerateSerializer, Immutable, Alias("parley.group-settings-patch")]
public sealed record GroupSettingsPatch(
    string? Name,
    string? AvatarUrl,
    string? Introduction,
    string? Announcement,
    string? Ex,
    GroupJoinPolicy? JoinPolicy,
    bool? HistoryVisibleToNewMembers,
    bool? MuteAll,
    bool? Searchable)
{
    /// <summary>How a super group tells of joins and leaves (ADR 0017); refused for a normal group.</summary>
    [Id(9)]
    public MemberNoticeMode? MemberNotices { get; init; }
}

/// <summary>One group management operation by <see cref="OperatorId"/> (identity from the connection).</summary>
[GenerateSerializer, Immutable, Alias("parley.group-command")]
public sealed record GroupCommand(GroupOperation Operation, string OperatorId, string? OriginConnectionId)
{
    [Id(3)]
    public string[] UserIds { get; init; } = [];

    [Id(4)]
    public string Message { get; init; } = string.Empty;

    [Id(5)]
    public bool Accept { get; init; }

    [Id(6)]
    public MemberRole Role { get; init; }

    [Id(7)]
    public long Seconds { get; init; }

    [Id(8)]
    public string Nickname { get; init; } = string.Empty;

    [Id(9)]
    public GroupSettingsPatch? Settings { get; init; }

    /// <summary>
    /// Set when the <c>beforeMemberJoinGroup</c> hook checked this admission (ADR 0012): the users it allowed. The grain
    /// admits nobody directly who is not listed (the group changed between the check and the turn: CONFLICT, retry).
    /// </summary>
    [Id(10)]
    public string[]? CheckedUserIds { get; init; }

    /// <summary>What the join hook set for the newcomers (nickname, role, mute), applied as they are admitted.</summary>
    [Id(11)]
    public MemberOverride[] MemberOverrides { get; init; } = [];
}

/// <summary>A join hook's change to a newcomer's membership; null = as usual. Role is Member or Admin, never Owner.</summary>
[GenerateSerializer, Immutable, Alias("parley.member-override")]
public sealed record MemberOverride(string UserId, string? Nickname, MemberRole? Role, long? MutedUntil);

/// <summary>What a group operation did beyond succeeding: who joined at once and whose admission waits for approval.</summary>
[GenerateSerializer, Immutable, Alias("parley.group-outcome")]
public sealed record GroupOutcome
{
    public static readonly GroupOutcome None = new();

    [Id(0)]
    public bool Joined { get; init; }

    [Id(1)]
    public string[] Added { get; init; } = [];

    [Id(2)]
    public string[] Pending { get; init; } = [];
}

[GenerateSerializer, Immutable, Alias("parley.member-data")]
public sealed record MemberData(string UserId, MemberRole Role, string Nickname, long MutedUntil, long JoinedAt, string InviterId);

[GenerateSerializer, Immutable, Alias("parley.member-page")]
public sealed record MemberPage(MemberData[] Members, int Total);

[GenerateSerializer, Immutable, Alias("parley.group-request-data")]
public sealed record GroupRequestData(string UserId, string InviterId, int Kind, string Message, int State, long CreatedAt, string HandlerId, long HandledAt = 0);

[GenerateSerializer, Immutable, Alias("parley.group-requests-page")]
public sealed record GroupRequestsPage(GroupRequestData[] Requests);

/// <summary>A durable message (or a duplicate of one): what the sender's ack carries.</summary>
/// <remarks>
/// A value, so that the result of a send (<c>CoreResult&lt;MessageAck&gt;</c>) is one object with the ack's fields inside it:
/// the ack and the result around it were two, 64 + 40 B of every message (issue 17, stop 47).
/// </remarks>
[GenerateSerializer, Immutable, Alias("parley.message-ack")]
public readonly record struct MessageAck(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] long Seq,
    [property: Id(2)] string ServerMsgId,
    [property: Id(3)] long ServerTime,
    [property: Id(4)] bool Duplicate,
    [property: Id(5)] long Version);

[GenerateSerializer, Immutable, Alias("parley.read-state")]
public sealed record ReadState(long ReadSeq, long Unread);

[GenerateSerializer, Immutable, Alias("parley.history-page")]
public sealed record HistoryPage(MessageData[] Messages, bool HasMore, long MaxSeq);

/// <summary>A stored message crossing a grain boundary (mirror of <see cref="StoredMessage"/>).</summary>
[GenerateSerializer, Immutable, Alias("parley.message-data")]
public sealed record MessageData(
    string ConversationId,
    long Seq,
    string ServerMsgId,
    string SenderId,
    string ClientMsgId,
    long ServerTime,
    int ContentKind,
    byte[] Content,
    bool Revoked,
    long Version)
{
    [Id(10)]
    public byte[]? Annotations { get; init; }

    [Id(11)]
    public long ReplyToSeq { get; init; }

    public static MessageData From(StoredMessage m) =>
        new(m.ConversationId, m.Seq, m.ServerMsgId, m.SenderId, m.ClientMsgId, m.ServerTime, m.ContentKind, m.Content, m.Revoked, m.Version)
        {
            Annotations = m.Annotations,
            ReplyToSeq = m.ReplyToSeq,
        };

    public StoredMessage ToStored() =>
        new(ConversationId, Seq, ServerMsgId, SenderId, ClientMsgId, ServerTime, ContentKind, Content, Revoked, Version)
        {
            Annotations = Annotations,
            ReplyToSeq = ReplyToSeq,
        };
}
