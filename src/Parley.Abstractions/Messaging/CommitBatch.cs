namespace Parley.Abstractions.Messaging;

/// <summary>A conversation created in a commit, with its initial members.</summary>
public sealed record NewConversation(
    string ConversationId,
    ConversationKind Kind,
    string? GroupId,
    string Name,
    string CreatorId,
    long CreatedAt,
    IReadOnlyList<string> Members,
    long Version)
{
    /// <summary>
    /// The version of the commit that creates the conversation. Settable for the commit alone: it is known only when the
    /// pipeline's writer adds the creation to a batch, which sets it on the record the conversation made in its turn (a
    /// <c>with</c> copy there was one more record per message that opens a 1:1 conversation; issue 17).
    /// </summary>
    public long Version { get; set; } = Version;
}

/// <summary>Turns message <see cref="Seq"/> into a tombstone: content removed, revoked flag set.</summary>
public sealed record Revocation(string ConversationId, long Seq);

/// <summary>
/// Rewrites an existing message row (an edit, a reaction, a reply's effect on its root; ADR 0018): its annotations, its
/// content when <see cref="Content"/> is set, its search text when <see cref="SearchText"/> is set; raises the row's version
/// and the conversation's change version to <see cref="Version"/> (nothing per member), and stores
/// <see cref="Previous"/> as a revision.
/// </summary>
public sealed record MessageUpdate(string ConversationId, long Seq, byte[] Annotations, long Version)
{
    public byte[]? Content { get; init; }

    public string? SearchText { get; init; }

    public MessageRevision? Previous { get; init; }
}

/// <summary>Moves a member's read cursor forward (never backwards) and bumps the member's feed version.</summary>
public sealed record ReadCursorUpdate(string ConversationId, string UserId, long ReadSeq, long Version);

/// <summary>Changes a member's per-conversation settings (null = unchanged) and bumps the member's feed version.</summary>
public sealed record MemberSettingsUpdate(string ConversationId, string UserId, bool? Pinned, bool? Muted, long Version)
{
    /// <summary>Offline pushes only for messages that mention the member (null = unchanged).</summary>
    public bool? MentionsOnly { get; init; }
}

/// <summary>
/// Everything one group commit writes, applied in one transaction (all or nothing), in this order:
/// conversations, groups, member changes, group requests, messages, message updates, revocations, read cursors, settings, webhook events.
/// Feed versions only ever rise (a row keeps the larger of its version and the new one).
/// </summary>
/// <remarks>
/// Applying a message also: raises the conversation's max seq and last-activity time, raises its head version, raises (unless the conversation is in <see cref="ReadDiffusion"/>) every active member's feed
/// version to the message's version, moves the sender's read cursor to the message's seq, writes its search text to the
/// full-text index and raises the mentioned members' mention seq (or, for mention-all, the conversation's).
/// A revocation also removes the message from the full-text index.
/// A member change upserts the membership row (keeping read cursor, pin and mute), raises its feed and info versions, moves
/// its read cursor to at least <c>VisibleFrom - 1</c>, records the closed period when the member leaves, and recounts the
/// conversation's active members. A group upsert writes the whole group row, renames the conversation, and raises the info
/// version of every member row of the group so each member's group list syncs.
/// </remarks>
public sealed class CommitBatch
{
    public List<NewConversation> Conversations { get; } = [];

    public List<StoredMessage> Messages { get; } = [];

    public List<Revocation> Revocations { get; } = [];

    public List<MessageUpdate> MessageUpdates { get; } = [];

    public List<ReadCursorUpdate> ReadCursors { get; } = [];

    public List<MemberSettingsUpdate> Settings { get; } = [];

    public List<GroupRecord> Groups { get; } = [];

    public List<MemberChange> MemberChanges { get; } = [];

    public List<GroupRequestRecord> GroupRequests { get; } = [];

    /// <summary>
    /// Join and leave notices of super groups whose member notices are events (ADR 0017): not stored (no seq, no message
    /// row; their member rows are in <see cref="MemberChanges"/>), carried only so the commit's after-hooks see them.
    /// </summary>
    public List<StoredMessage> MembershipNotices { get; } = [];

    /// <summary>
    /// Conversations of this batch that are read-diffusion groups (ADR 0017): their messages raise the conversation's
    /// head version instead of every member's feed version.
    /// </summary>
    public HashSet<string> ReadDiffusion { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// After-hook events of this commit's changes (afterSendSingleMsg, …), inserted into the webhook outbox in the same
    /// transaction: a committed message has its event and a rolled-back one has none (ADR 0012).
    /// </summary>
    public List<Webhooks.WebhookEvent> WebhookEvents { get; } = [];

    public bool IsEmpty =>
        Conversations.Count == 0 && Messages.Count == 0 && Revocations.Count == 0 && MessageUpdates.Count == 0 && ReadCursors.Count == 0 && Settings.Count == 0
        && Groups.Count == 0 && MemberChanges.Count == 0 && GroupRequests.Count == 0 && WebhookEvents.Count == 0;

    public void Clear()
    {
        Conversations.Clear();
        Messages.Clear();
        Revocations.Clear();
        MessageUpdates.Clear();
        ReadCursors.Clear();
        Settings.Clear();
        Groups.Clear();
        MemberChanges.Clear();
        GroupRequests.Clear();
        MembershipNotices.Clear();
        ReadDiffusion.Clear();
        WebhookEvents.Clear();
    }
}
