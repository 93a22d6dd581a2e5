using Parley.Abstractions.Messaging;

namespace Parley.Grains.Messaging;

/// <summary>
/// The single writer of one conversation (key: conversation id): authorises, deduplicates, allocates seqs,
/// submits to the group commit, keeps the hot tail and fans out after commit.
/// </summary>
[Alias("parley.conversation")]
public interface IConversationGrain : IGrainWithStringKey
{
    [Alias("send")]
    Task<SendResult> SendAsync(SendCommand command);

    [Alias("revoke")]
    Task<SendResult> RevokeAsync(RevokeCommand command);

    [Alias("mark-read")]
    Task<MarkReadOutcome> MarkReadAsync(string userId, long seq, string? originConnectionId);

    [Alias("history")]
    Task<HistoryPage> GetHistoryAsync(string userId, long fromSeq, ReadDirection direction, int limit);

    [Alias("create-group")]
    Task<SendResult> CreateGroupAsync(CreateGroupCommand command);

    [Alias("typing")]
    Task<int> TypingAsync(string userId, bool typing, string? originConnectionId);

    [Alias("settings")]
    Task<int> UpdateSettingsAsync(string userId, bool? pinned, bool? muted, string? originConnectionId);

    /// <summary>
    /// For a direct conversation: the relation of its two users (first = the ordinally smaller user id) changed.
    /// Sends allocated after this call returns obey it.
    /// </summary>
    [Alias("set-relation")]
    Task SetRelationAsync(Social.DirectRelation relation);
}

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
    string? OriginConnectionId);

[GenerateSerializer, Immutable, Alias("parley.revoke-command")]
public sealed record RevokeCommand(string UserId, long Seq, string ClientMsgId, string? OriginConnectionId);

[GenerateSerializer, Immutable, Alias("parley.create-group-command")]
public sealed record CreateGroupCommand(string GroupId, string Name, string CreatorId, string[] MemberIds, string? OriginConnectionId);

/// <param name="Error">A protocol ErrorCode value; 0 on success.</param>
[GenerateSerializer, Immutable, Alias("parley.send-result")]
public sealed record SendResult(
    int Error,
    string? ErrorMessage,
    string ConversationId,
    long Seq,
    string ServerMsgId,
    long ServerTime,
    bool Duplicate,
    long Version)
{
    public static SendResult Fail(int error, string message, string conversationId) =>
        new(error, message, conversationId, 0, string.Empty, 0, false, 0);
}

[GenerateSerializer, Immutable, Alias("parley.mark-read-outcome")]
public sealed record MarkReadOutcome(int Error, long ReadSeq, long Unread);

[GenerateSerializer, Immutable, Alias("parley.history-page")]
public sealed record HistoryPage(int Error, MessageData[] Messages, bool HasMore, long MaxSeq);

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
    public static MessageData From(StoredMessage m) =>
        new(m.ConversationId, m.Seq, m.ServerMsgId, m.SenderId, m.ClientMsgId, m.ServerTime, m.ContentKind, m.Content, m.Revoked, m.Version);

    public StoredMessage ToStored() =>
        new(ConversationId, Seq, ServerMsgId, SenderId, ClientMsgId, ServerTime, ContentKind, Content, Revoked, Version);
}
