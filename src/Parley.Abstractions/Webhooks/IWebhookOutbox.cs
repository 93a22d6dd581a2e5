namespace Parley.Abstractions.Webhooks;

/// <summary>Where an after-hook event is in its life. Values are stored; never renumber.</summary>
public enum WebhookEventState
{
    /// <summary>Waiting for its next attempt (or being attempted by the node holding its lease).</summary>
    Pending = 0,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered = 1,

    /// <summary>Given up after the attempt or age limit; an operator can replay it.</summary>
    DeadLettered = 2,
}

/// <summary>
/// One after-hook event in the durable outbox. <see cref="Payload"/> is the JSON body POSTed to the receiver, the same
/// bytes on every attempt; <see cref="EventId"/> is sent as <c>X-Parley-Event-Id</c> on every attempt, so a receiver
/// that deduplicates by it processes the event once although the wire may carry it more than once.
/// </summary>
/// <param name="CreatedAt">Unix milliseconds when the event happened (its age limit counts from here).</param>
/// <param name="NextAttemptAt">Unix milliseconds before which it is not attempted (the back-off).</param>
/// <param name="Attempts">Attempts made so far.</param>
/// <param name="LastError">The last failed attempt's reason (<c>timeout</c>, <c>unreachable</c>, <c>status_503</c>, …).</param>
/// <param name="FinishedAt">Unix milliseconds of delivery or dead-lettering.</param>
public sealed record WebhookEvent(
    string EventId,
    string Hook,
    string Payload,
    long CreatedAt,
    long NextAttemptAt,
    int Attempts,
    WebhookEventState State,
    string? LastError,
    long? FinishedAt)
{
    /// <summary>A new pending event, due at once.</summary>
    public static WebhookEvent New(string eventId, string hook, string payload, long now) =>
        new(eventId, hook, payload, now, now, 0, WebhookEventState.Pending, null, null);
}

/// <summary>How many events wait and how many are dead-lettered.</summary>
public readonly record struct WebhookOutboxCounts(long Pending, long DeadLettered);

/// <summary>
/// The durable outbox of after-hook events (ADR 0012). Events of a commit are written by the message store in the
/// commit's own transaction (<see cref="Messaging.CommitBatch.WebhookEvents"/>); others through
/// <see cref="EnqueueAsync"/>. Several nodes may deliver from one outbox (a cluster on one PostgreSQL): an event is
/// attempted only by the node holding its lease (<see cref="ClaimAsync"/>), and every state change is conditional on
/// that lease, so two nodes never both deliver it while a lease is valid. Thread-safe.
/// </summary>
public interface IWebhookOutbox
{
    /// <summary>Stores new events in one transaction; an event id that exists is ignored. Durable when it returns.</summary>
    Task EnqueueAsync(IReadOnlyList<WebhookEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="limit"/> pending events that are due (<c>NextAttemptAt &lt;= now</c>) and not leased
    /// by anyone (or whose lease ended) to <paramref name="owner"/> until <paramref name="leaseUntil"/>, oldest due first.
    /// Two concurrent callers never get the same event.
    /// </summary>
    Task<IReadOnlyList<WebhookEvent>> ClaimAsync(string owner, long now, long leaseUntil, int limit, CancellationToken cancellationToken = default);

    /// <summary>Marks a leased event delivered. False when <paramref name="owner"/> no longer holds its lease.</summary>
    Task<bool> MarkDeliveredAsync(string eventId, string owner, int attempts, long at, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt and releases the lease until <paramref name="nextAttemptAt"/>. False when the lease is lost.</summary>
    Task<bool> RescheduleAsync(string eventId, string owner, int attempts, long nextAttemptAt, string error, CancellationToken cancellationToken = default);

    /// <summary>Gives a leased event up (dead letter). False when the lease is lost.</summary>
    Task<bool> DeadLetterAsync(string eventId, string owner, int attempts, long at, string error, CancellationToken cancellationToken = default);

    /// <summary>Releases every lease (a single node's outbox at start: the previous process is gone).</summary>
    Task<int> ReleaseAllLeasesAsync(CancellationToken cancellationToken = default);

    /// <summary>Dead-lettered events, newest first, optionally of one hook.</summary>
    Task<IReadOnlyList<WebhookEvent>> ListDeadLettersAsync(string? hook, int limit, CancellationToken cancellationToken = default);

    Task<WebhookEvent?> GetAsync(string eventId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes dead-lettered events pending again, due at <paramref name="now"/> with no attempts counted and the same
    /// event id: the given ids, or every dead letter (of <paramref name="hook"/> when given) when ids is null. Returns
    /// how many were requeued.
    /// </summary>
    Task<int> ReplayAsync(IReadOnlyCollection<string>? eventIds, string? hook, long now, CancellationToken cancellationToken = default);

    Task<WebhookOutboxCounts> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes delivered events finished before <paramref name="before"/> (Unix ms). Returns the count.</summary>
    Task<int> PurgeDeliveredAsync(long before, CancellationToken cancellationToken = default);

    /// <summary>
    /// User erasure: deletes every event (pending, delivered or dead-lettered) whose body names <paramref name="userId"/>
    /// in a user field (<see cref="WebhookPayloads.NamesUser"/>), so nothing about the user is sent or kept. Returns the count.
    /// </summary>
    Task<int> PurgeUserAsync(string userId, CancellationToken cancellationToken = default);
}

/// <summary>Reading the user fields of an after-hook body (for erasure).</summary>
public static class WebhookPayloads
{
    private static readonly HashSet<string> UserFields = new(StringComparer.Ordinal)
    {
        "sendID", "recvID", "userID", "fromUserID", "toUserID", "ownerUserID", "friendUserID", "creatorUserID", "operatorUserID",
        "inviterUserID", "oldOwnerUserID", "newOwnerUserID", "ownerID", "memberUserIDs", "userIDs", "kickedUserIDs",
    };

    /// <summary>The text a body holding <paramref name="userId"/> as a JSON string must contain (a cheap pre-filter for stores).</summary>
    public static string Needle(string userId) => System.Text.Json.JsonSerializer.Serialize(userId);

    /// <summary>True when a user field of the JSON object <paramref name="payload"/> is, or lists, <paramref name="userId"/>.</summary>
    public static bool NamesUser(string payload, string userId)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!UserFields.Contains(property.Name))
                {
                    continue;
                }

                var value = property.Value;
                if (value.ValueKind == System.Text.Json.JsonValueKind.String && value.ValueEquals(userId))
                {
                    return true;
                }

                if (value.ValueKind == System.Text.Json.JsonValueKind.Array
                    && value.EnumerateArray().Any(e => e.ValueKind == System.Text.Json.JsonValueKind.String && e.ValueEquals(userId)))
                {
                    return true;
                }
            }

            return false;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
