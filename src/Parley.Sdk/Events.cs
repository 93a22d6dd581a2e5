using Parley.Protocol.V1;

namespace Parley.Sdk;

/// <summary>The life-cycle state of a <see cref="ParleyClient"/>'s connection.</summary>
public enum ConnectionState
{
    /// <summary>Not connected: before <see cref="ParleyClient.ConnectAsync"/>, after a terminal close, a kick or disposal.</summary>
    Disconnected,

    /// <summary>The first session is being opened.</summary>
    Connecting,

    /// <summary>The session is established and the initial sync has completed; live events flow.</summary>
    Connected,

    /// <summary>The session was lost; the client is waiting out a backoff delay or re-opening the session.</summary>
    Reconnecting,
}

/// <summary>A <see cref="ConnectionState"/> change.</summary>
public sealed class ConnectionStateChangedEventArgs : EventArgs
{
    internal ConnectionStateChangedEventArgs(ConnectionState state, ConnectionState previous, int? closeCode, string? reason, Exception? error, TimeSpan? retryDelay)
    {
        State = state;
        PreviousState = previous;
        CloseCode = closeCode;
        Reason = reason;
        Error = error;
        RetryDelay = retryDelay;
    }

    /// <summary>The new state.</summary>
    public ConnectionState State { get; }

    /// <summary>The state before the change.</summary>
    public ConnectionState PreviousState { get; }

    /// <summary>The WebSocket close code that ended the previous session, when there was one.</summary>
    public int? CloseCode { get; }

    /// <summary>Why the session ended (close description, kick reason, error message), when known.</summary>
    public string? Reason { get; }

    /// <summary>The exception that ended the session, when there was one.</summary>
    public Exception? Error { get; }

    /// <summary>For <see cref="ConnectionState.Reconnecting"/>: the backoff delay before the next attempt.</summary>
    public TimeSpan? RetryDelay { get; }
}

/// <summary>A message was received (live or during sync).</summary>
public sealed class MessageReceivedEventArgs : EventArgs
{
    internal MessageReceivedEventArgs(Message message, bool fromSync)
    {
        Message = message;
        FromSync = fromSync;
    }

    /// <summary>The message. Messages of a conversation are raised once each, in ascending seq order.</summary>
    public Message Message { get; }

    /// <summary>True when the message came from the resume sync (or a gap pull) rather than live delivery.</summary>
    public bool FromSync { get; }
}

/// <summary>A message was revoked: raised after the <see cref="ParleyClient.MessageReceived"/> of the revoke notification.</summary>
public sealed class MessageRevokedEventArgs : EventArgs
{
    internal MessageRevokedEventArgs(Message notification, RevokeContent revoke)
    {
        Notification = notification;
        ConversationId = notification.ConversationId;
        Seq = revoke.Seq;
        ServerMsgId = revoke.ServerMsgId;
        RevokedBy = revoke.RevokedBy;
    }

    /// <summary>The conversation of the revoked message.</summary>
    public string ConversationId { get; }

    /// <summary>The seq of the revoked message.</summary>
    public ulong Seq { get; }

    /// <summary>The server id of the revoked message.</summary>
    public string ServerMsgId { get; }

    /// <summary>The user who revoked it.</summary>
    public string RevokedBy { get; }

    /// <summary>The system message carrying the revoke.</summary>
    public Message Notification { get; }
}

/// <summary>A member (or this user on another device) read up to a seq.</summary>
public sealed class ReceiptReceivedEventArgs : EventArgs
{
    internal ReceiptReceivedEventArgs(ReceiptEvent receipt) => Receipt = receipt;

    /// <summary>The receipt.</summary>
    public ReceiptEvent Receipt { get; }
}

/// <summary>A member started or stopped typing.</summary>
public sealed class TypingReceivedEventArgs : EventArgs
{
    internal TypingReceivedEventArgs(TypingEvent typing) => Typing = typing;

    /// <summary>The typing notification.</summary>
    public TypingEvent Typing { get; }
}

/// <summary>The server ended this session; the client does not reconnect.</summary>
public sealed class KickedEventArgs : EventArgs
{
    internal KickedEventArgs(KickReason reason, string detail)
    {
        Reason = reason;
        Detail = detail;
    }

    /// <summary>Why the session was ended.</summary>
    public KickReason Reason { get; }

    /// <summary>Human-readable detail from the server.</summary>
    public string Detail { get; }
}

/// <summary>The resume sync of a session finished (all batches and gap pulls were raised).</summary>
public sealed class SyncCompletedEventArgs : EventArgs
{
    internal SyncCompletedEventArgs(ulong cursor, uint conversationCount, ulong messageCount, IReadOnlyList<Conversation> conversations, bool fullResync = false)
    {
        Cursor = cursor;
        ConversationCount = conversationCount;
        MessageCount = messageCount;
        Conversations = conversations;
        FullResync = fullResync;
    }

    /// <summary>
    /// True when the server refused the local cursor as ahead of its feed (its data was restored or replaced): the
    /// client dropped its local sync state and this sync started from cursor 0. The application should drop what it
    /// cached from before (messages, conversations) and rebuild from this sync.
    /// </summary>
    public bool FullResync { get; }

    /// <summary>The new resume cursor.</summary>
    public ulong Cursor { get; }

    /// <summary>Conversations the server synced (its count).</summary>
    public uint ConversationCount { get; }

    /// <summary>Messages the server synced (its count; gap pulls are not included).</summary>
    public ulong MessageCount { get; }

    /// <summary>The summaries of the synced conversations, in arrival order.</summary>
    public IReadOnlyList<Conversation> Conversations { get; }
}

/// <summary>This user's settings or read cursor of a conversation changed on another device.</summary>
public sealed class ConversationUpdatedEventArgs : EventArgs
{
    internal ConversationUpdatedEventArgs(Conversation conversation) => Conversation = conversation;

    /// <summary>The updated conversation.</summary>
    public Conversation Conversation { get; }
}

/// <summary>The server's acknowledgement of a sent message: it is durably committed.</summary>
/// <param name="ConversationId">The conversation the message went to.</param>
/// <param name="Seq">The message's seq in that conversation.</param>
/// <param name="ServerMsgId">The server-assigned message id.</param>
/// <param name="ServerTime">The server's commit time.</param>
/// <param name="Duplicate">True when a retry hit an already-stored message (the original ack is returned).</param>
/// <param name="ClientMsgId">The client message id the send used.</param>
public sealed record SendReceipt(string ConversationId, ulong Seq, string ServerMsgId, DateTimeOffset ServerTime, bool Duplicate, string ClientMsgId);

/// <summary>The organisation directory changed; pull the delta with <see cref="ParleyClient.SyncDirectoryAsync"/>.</summary>
public sealed class DirectoryChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    /// <param name="version">The directory's version after the change.</param>
    public DirectoryChangedEventArgs(ulong version) => Version = version;

    /// <summary>The directory's version after the change.</summary>
    public ulong Version { get; }
}

/// <summary>A message was edited: <see cref="Edit"/> carries the new content, the edit count and time.</summary>
public sealed class MessageEditedEventArgs : EventArgs
{
    internal MessageEditedEventArgs(MessageEditedEvent edit) => Edit = edit;

    /// <summary>The edit (conversation, seq, new content, edit count, edit time, editor).</summary>
    public MessageEditedEvent Edit { get; }
}

/// <summary>A reaction was added or removed.</summary>
public sealed class ReactionChangedEventArgs : EventArgs
{
    internal ReactionChangedEventArgs(ReactionEvent reaction, bool mine)
    {
        Reaction = reaction;
        Mine = mine;
    }

    /// <summary>Who reacted with which emoji on which message, whether it was added, and the emoji's count after it.</summary>
    public ReactionEvent Reaction { get; }

    /// <summary>This user made the change (on this or another device): update "reacted by me".</summary>
    public bool Mine { get; }
}

/// <summary>
/// A join or leave of a super group whose member notices are events (<see cref="GroupInfo.MemberNotices"/>): there is
/// no notice message in the conversation for it.
/// </summary>
public sealed class GroupMembershipChangedEventArgs : EventArgs
{
    internal GroupMembershipChangedEventArgs(GroupMembershipEvent membership, string? userId)
    {
        Membership = membership;
        var subjects = membership.ChangeCase == GroupMembershipEvent.ChangeOneofCase.Removed ? membership.Removed.UserIds : membership.Added.UserIds;
        AboutMe = userId is not null && subjects.Contains(userId);
    }

    /// <summary>The group, who was added or removed (as a notice would have said it), the member count and the group's max seq.</summary>
    public GroupMembershipEvent Membership { get; }

    /// <summary>True when the membership of this client's user changed (it joined, or it was removed or quit).</summary>
    public bool AboutMe { get; }

    /// <summary>True for an addition, false for a removal.</summary>
    public bool Added => Membership.ChangeCase == GroupMembershipEvent.ChangeOneofCase.Added;
}

/// <summary>A message already received came again in a sync because it changed: replace the stored copy.</summary>
public sealed class MessageUpdatedEventArgs : EventArgs
{
    internal MessageUpdatedEventArgs(Message message) => Message = message;

    /// <summary>The message as it is now (latest revision, reactions as this user sees them, reply count).</summary>
    public Message Message { get; }
}
