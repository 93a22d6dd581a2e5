using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;

namespace Parley.Core.Delivery;

/// <summary>
/// A domain event the core hands to live connections through <see cref="IDeliveryHub"/>. The core never builds a wire
/// frame: each wire protocol of the gateway encodes an event at most once and caches the encoded form here, so a
/// fan-out to many connections of one protocol writes the same bytes to each.
/// </summary>
public abstract class DeliveryEvent
{
    /// <summary>How many wire protocols may cache an encoding on one event (native v1, OpenIM, and room for one more).</summary>
    public const int MaxProtocols = 4;

    private static readonly object None = new();
    private object?[]? _encoded;

    /// <summary>
    /// The encoding of this event for the protocol in <paramref name="slot"/>, computed by <paramref name="encode"/> the
    /// first time it is asked for (null when the protocol has no frame for this event). Safe to call from several threads:
    /// at worst two racing callers both encode and one result is kept.
    /// </summary>
    public T? GetOrEncode<T>(int slot, Func<DeliveryEvent, T?> encode)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(encode);
        return GetOrEncode<T, Func<DeliveryEvent, T?>>(slot, encode, static (e, f) => f(e));
    }

    /// <summary>
    /// As <see cref="GetOrEncode{T}"/>, with the encoder's state passed in, so that a caller
    /// on the fan-out path can pass a static lambda: a method group of an instance (<c>protocol.Encode</c>) allocates a
    /// delegate on every call, that is once per recipient connection of every event (issue 17).
    /// </summary>
    public T? GetOrEncode<T, TState>(int slot, TState state, Func<DeliveryEvent, TState, T?> encode)
        where T : class
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, MaxProtocols);
        var cache = Volatile.Read(ref _encoded) ?? Interlocked.CompareExchange(ref _encoded, new object?[MaxProtocols], null) ?? _encoded;
        var cached = Volatile.Read(ref cache[slot]);
        if (cached is null)
        {
            cached = (object?)encode(this, state) ?? None;
            cached = Interlocked.CompareExchange(ref cache[slot], cached, null) ?? cached;
        }

        return ReferenceEquals(cached, None) ? null : (T)cached;
    }
}

/// <summary>
/// A message (text, custom, group notice or revoke marker) was committed with its seq. <see cref="Message"/> is the stored
/// record; its content bytes are those the store holds, never re-parsed by the core.
/// </summary>
public class MessageCommitted(StoredMessage message, GroupRecord? group = null) : DeliveryEvent
{
    public StoredMessage Message { get; } = message;

    /// <summary>
    /// For a group conversation: the group as it is after this commit (a snapshot taken in the grain turn), so protocols
    /// whose notices carry the whole group (OpenIM) need no read.
    /// </summary>
    public GroupRecord? Group { get; } = group;

    /// <summary>
    /// For a reply: the message it replies to as it was when the reply committed (latest revision, revoked flag), so
    /// protocols that show the quoted message inside the reply (OpenIM's QuoteElem) encode it alike on every node, with
    /// no read and no per-node cache that an edit or revoke on another node would leave stale.
    /// </summary>
    public StoredMessage? ReplyTo { get; init; }
}

/// <summary>
/// A revoke marker was committed: its own seq in the conversation, and the message it revokes (tombstoned in the same
/// commit). Carries the target's client message id so protocols that name messages by it need no lookup.
/// </summary>
public sealed class MessageRevoked(StoredMessage marker, long targetSeq, string targetClientMsgId, string revokedBy) : MessageCommitted(marker, null)
{
    public long TargetSeq { get; } = targetSeq;

    public string TargetClientMsgId { get; } = targetClientMsgId;

    public string RevokedBy { get; } = revokedBy;
}

/// <summary>
/// A group notice that changed members was committed (created, joined, invited, approved, kicked, quit, owner transferred,
/// role, mute or nickname changed). <see cref="Members"/> are the rows the commit wrote for the members it changed, as of
/// the grain turn that made the change (a removed member's row has <see cref="MemberChange.Active"/> false), so protocols
/// whose notices describe members in full (OpenIM's GroupMemberFullInfo) need no read.
/// </summary>
public sealed class MembersChanged(StoredMessage notice, GroupRecord? group, IReadOnlyList<MemberChange> members) : MessageCommitted(notice, group)
{
    public IReadOnlyList<MemberChange> Members { get; } = members;
}

/// <summary>
/// A join or leave of a super group committed without a notice message (its <see cref="GroupRecord.MemberNotices"/> is
/// not <see cref="MemberNoticeMode.Messages"/>; ADR 0017). Published through <see cref="IDeliveryHub.PublishToGroup"/>, so
/// it moves the node rosters in version order like a notice would; it reaches the node's roster of the group when
/// <see cref="Audience"/> is null, otherwise only those users (the changed users and the group's owner and admins).
/// </summary>
public sealed class MembershipChanged(
    string conversationId,
    GroupRecord group,
    byte[] notice,
    IReadOnlyList<MemberChange> members,
    IReadOnlyList<string>? audience,
    long maxSeq,
    long time,
    long version) : DeliveryEvent
{
    public string ConversationId { get; } = conversationId;

    /// <summary>The group after the change (a snapshot taken in the grain turn; its member count included).</summary>
    public GroupRecord Group { get; } = group;

    /// <summary>The serialized <c>Content</c> (members added or removed) the notice message would have carried.</summary>
    public byte[] Notice { get; } = notice;

    /// <summary>The member rows the commit wrote (a removed member's row has <see cref="MemberChange.Active"/> false).</summary>
    public IReadOnlyList<MemberChange> Members { get; } = members;

    /// <summary>Null: the group's online members on each node; otherwise exactly these users' connections.</summary>
    public IReadOnlyList<string>? Audience { get; } = audience;

    /// <summary>The group's max seq at the change: joiners see from the next one, the removed nothing after it.</summary>
    public long MaxSeq { get; } = maxSeq;

    /// <summary>Unix milliseconds.</summary>
    public long Time { get; } = time;

    public long Version { get; } = version;
}

/// <summary>A member's read cursor of a conversation moved forward from <see cref="PreviousReadSeq"/> to <see cref="ReadSeq"/>.</summary>
public sealed class ReceiptChanged(string conversationId, string userId, long readSeq, long previousReadSeq, long version) : DeliveryEvent
{
    public string ConversationId { get; } = conversationId;

    public string UserId { get; } = userId;

    public long ReadSeq { get; } = readSeq;

    public long PreviousReadSeq { get; } = previousReadSeq;

    public long Version { get; } = version;
}

/// <summary>A member started or stopped typing (not stored, not versioned).</summary>
public sealed class TypingChanged(string conversationId, string userId, bool typing) : DeliveryEvent
{
    public string ConversationId { get; } = conversationId;

    public string UserId { get; } = userId;

    public bool Typing { get; } = typing;
}

/// <summary>A user's own settings of a conversation (pin, mute, mentions only) changed; addressed to that user only.</summary>
public sealed class SettingsChanged(string userId, ConversationView view, long version) : DeliveryEvent
{
    public string UserId { get; } = userId;

    /// <summary>The conversation as the user sees it after the change (a snapshot taken in the grain turn).</summary>
    public ConversationView View { get; } = view;

    public long Version { get; } = version;
}

/// <summary>The user's relations (friends, requests, blocks) changed; clients pull the delta from <see cref="Version"/>.</summary>
public sealed class RelationsChanged(long version) : DeliveryEvent
{
    public long Version { get; } = version;
}

/// <summary>
/// A user's profile (nickname, avatar, ex) changed, through any edge or the admin API; addressed to that user's own
/// connections (ephemeral, so in a cluster it reaches the user's connections on every node). <see cref="OperationId"/> is
/// the changing request's, when an edge has one (OpenIM's session that made the change recognises its own).
/// </summary>
public sealed class ProfileChanged(string userId, string? operationId) : DeliveryEvent
{
    public string UserId { get; } = userId;

    public string? OperationId { get; } = operationId;
}

/// <summary>
/// A notice only one wire protocol shows, built by that protocol's edge for one user: OpenIM's notification pushes that
/// its REST API raises with no stored message (a join request to a group's owner and admins, the answer to the
/// applicant). Published ephemeral to <see cref="UserId"/>, so in a cluster it reaches that user's connections on every
/// node. <see cref="Payload"/> is the edge's own encoding (for OpenIM, the <c>PushMessages</c> of a 2001 push), opaque to
/// the core and the cluster; the protocol named <see cref="Protocol"/> frames it, the others show nothing.
/// </summary>
public sealed class EdgeNotice(string protocol, string userId, byte[] payload, string operationId) : DeliveryEvent
{
    /// <summary>The wire protocol that shows it (<c>IWireProtocol.Name</c>, e.g. "openim").</summary>
    public string Protocol { get; } = protocol;

    public string UserId { get; } = userId;

    public byte[] Payload { get; } = payload;

    /// <summary>The frame's operation id (the REST call's when the edge has one, so the calling session recognises its own change).</summary>
    public string OperationId { get; } = operationId;
}

/// <summary>
/// A notification account was created (on any node): every node adds it to its <see cref="Business.NotificationAccountIds"/>
/// at once, so its 1:1s are notification conversations everywhere from its first message. Travels to the other nodes
/// as a to-all event; no wire protocol shows it.
/// </summary>
public sealed class NotificationAccountAdded(string userId) : DeliveryEvent
{
    public string UserId { get; } = userId;
}

/// <summary>
/// Told every event delivered to all of a node's connections (<see cref="IDeliveryHub.PublishToAll"/>), this node's and
/// those another node of the cluster forwarded, so node-wide state can follow them. Called on the publishing thread: must not block.
/// </summary>
public interface INodeBroadcastObserver
{
    void OnBroadcast(DeliveryEvent @event);
}

/// <summary>The organisation directory changed; clients pull the delta from <see cref="Version"/>.</summary>
public sealed class DirectoryChanged(long version) : DeliveryEvent
{
    public long Version { get; } = version;
}

/// <summary>A session is ended by the server (displaced by another login, forced logout, token revoked or expired).</summary>
public sealed class SessionKicked(KickReason reason) : DeliveryEvent
{
    public KickReason Reason { get; } = reason;
}

/// <summary>
/// A message was edited (ADR 0018): <see cref="Message"/> is the row after the edit (same seq, the new content, the change's
/// version), <see cref="EditCount"/> and <see cref="EditedAt"/> its edit state.
/// </summary>
public sealed class MessageEdited(StoredMessage message, int editCount, long editedAt, string editedBy) : DeliveryEvent
{
    public StoredMessage Message { get; } = message;

    public int EditCount { get; } = editCount;

    /// <summary>Unix milliseconds.</summary>
    public long EditedAt { get; } = editedAt;

    public string EditedBy { get; } = editedBy;
}

/// <summary>A member added or removed a reaction on message <see cref="Seq"/>; <see cref="Count"/> is that emoji's count after it.</summary>
public sealed class ReactionChanged(string conversationId, long seq, string emoji, string userId, bool added, int count, long version) : DeliveryEvent
{
    public string ConversationId { get; } = conversationId;

    public long Seq { get; } = seq;

    public string Emoji { get; } = emoji;

    public string UserId { get; } = userId;

    public bool Added { get; } = added;

    public int Count { get; } = count;

    public long Version { get; } = version;
}
