using Parley.Abstractions.Push;

namespace Parley.Push;

/// <summary>How a recipient wants notifications of this conversation.</summary>
public enum ConversationNotifyMode
{
    All = 0,

    /// <summary>Push only when the recipient is mentioned (or @all).</summary>
    MentionsOnly = 1,

    /// <summary>Never push (the message is still delivered and counted as unread).</summary>
    Muted = 2,
}

/// <summary>What a notification may reveal on a lock screen.</summary>
public enum PushPrivacyMode
{
    /// <summary>Sender name as title, message preview as body.</summary>
    Full = 0,

    /// <summary>Sender name as title, a generic body ("New message").</summary>
    SenderOnly = 1,

    /// <summary>Generic title and body; the app fetches the content after opening.</summary>
    Generic = 2,
}

/// <summary>
/// One recipient of a <see cref="PushRequest"/>, filled by the messaging core after live delivery: the device ids that
/// received the message on a foreground connection (those are not pushed; a backgrounded app counts as offline), the
/// user's unread total (the badge) and the user's settings for this conversation.
/// </summary>
public sealed record PushRecipient(string UserId, int UnreadTotal)
{
    /// <summary>Devices that got the message over a foreground connection: never pushed.</summary>
    public IReadOnlySet<string> ForegroundDeviceIds { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The message mentions this user (or everyone).</summary>
    public bool Mentioned { get; init; }

    public ConversationNotifyMode Mode { get; init; } = ConversationNotifyMode.All;

    /// <summary>Global do-not-disturb: nothing is pushed to the user.</summary>
    public bool DoNotDisturb { get; init; }

    public PushPrivacyMode Privacy { get; init; } = PushPrivacyMode.Full;
}

/// <summary>A marketing template (one bandit arm): the pipeline picks one per recipient and learns from clicks.</summary>
public sealed record PushTemplate(string TemplateId, string Title, string Body);

/// <summary>
/// One committed message (or service/marketing notification) to push to a set of recipients. <see cref="Category"/> is
/// derived by the server from the message type, never taken from a client. Submitting the same message id again is
/// idempotent per device (push ids are derived from message, user and device).
/// </summary>
/// <param name="MessageId">Server message id (or campaign/notification id for non-IM pushes).</param>
/// <param name="ConversationId">Conversation (collapse key and coalescing scope).</param>
/// <param name="SenderId">Author; never pushed to their own devices.</param>
/// <param name="SenderName">Display name used as the title in Full and SenderOnly privacy modes.</param>
/// <param name="Preview">Body text for Full privacy mode (already shortened and sanitised by the caller).</param>
public sealed record PushRequest(
    string MessageId,
    string ConversationId,
    string SenderId,
    string SenderName,
    PushCategory Category,
    string Preview,
    IReadOnlyList<PushRecipient> Recipients)
{
    /// <summary>W3C trace id (32 hex) of the message; generated from the message id when absent.</summary>
    public string? TraceId { get; init; }

    /// <summary>
    /// The W3C traceparent journaled with the pushes (their vendor call's and reports' parent); when absent, the span current
    /// at submit. A caller that submits several requests together sets each request's own.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>Marketing only: the templates the bandit chooses among (keyed by <see cref="CampaignId"/>).</summary>
    public IReadOnlyList<PushTemplate> Templates { get; init; } = [];

    /// <summary>Marketing only: bandit scope. Defaults to the message id.</summary>
    public string? CampaignId { get; init; }

    /// <summary>Unix ms after which the pushes are not sent; their vendor time to live ends then too. Null: the vendor defaults.</summary>
    public long? ExpiresAt { get; init; }

    /// <summary>
    /// Marketing only: a stricter per-user daily cap for this request (a campaign's): a recipient who already had this many
    /// marketing pushes today is skipped <c>user_cap</c>. The server's <see cref="PushOptions.MarketingDailyCapPerUser"/> applies as well.
    /// </summary>
    public int? MarketingDailyCap { get; init; }
}

/// <summary>What <see cref="PushPipeline.SubmitAsync"/> did: device-pushes planned, filtered (by reason) and journaled.</summary>
public sealed record PushSubmitResult(int Planned, IReadOnlyDictionary<string, int> Filtered, IReadOnlyList<string> AcceptedPushIds, IReadOnlyList<string> CoalescedPushIds)
{
    /// <summary>Every device-push the request planned, with its state and reason (pending, filtered, coalesced), journaled now or before.</summary>
    public IReadOnlyList<PushRecord> Rows { get; init; } = [];
}

/// <summary>The composed notification, as journaled and handed to vendor adapters.</summary>
/// <param name="Badge">The recipient's unread total.</param>
/// <param name="CollapseKey">Per conversation: a newer push replaces the older one on the device.</param>
/// <param name="DigestCount">0 for a single message; N for a digest of N coalesced messages.</param>
public sealed record PushNotification(
    string PushId,
    string MessageId,
    string TraceId,
    string UserId,
    string ConversationId,
    PushCategory Category,
    string Title,
    string Body,
    int Badge,
    string CollapseKey,
    int DigestCount,
    string? TemplateId,
    string? CampaignId)
{
    /// <summary>W3C traceparent of the span that composed this push; the vendor call and reports continue its trace.</summary>
    public string? TraceParent { get; init; }

    /// <summary>Unix ms after which the push is worthless: not sent after it, and its time to live at the vendor ends then.</summary>
    public long? ExpiresAt { get; init; }

    /// <summary>Set by the dispatcher just before the vendor call: seconds left until <see cref="ExpiresAt"/> (never journaled).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long? TtlSeconds { get; init; }
}
