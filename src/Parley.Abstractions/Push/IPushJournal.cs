namespace Parley.Abstractions.Push;

/// <summary>Where a push is in its life. Terminal states are Filtered, Coalesced, Accepted, DeadLettered, Unknown.</summary>
public enum PushState
{
    /// <summary>Accepted by the pipeline and journaled; waiting in a lane or for its not-before time.</summary>
    Pending = 0,

    /// <summary>A request to the vendor is being written. On restart such a push has an unknown outcome.</summary>
    Sending = 1,

    /// <summary>The vendor accepted it.</summary>
    Accepted = 2,

    /// <summary>Dropped by a stage; <see cref="PushRecord.Reason"/> says why.</summary>
    Filtered = 3,

    /// <summary>Folded into a digest push (<see cref="PushRecord.DigestPushId"/>).</summary>
    Coalesced = 4,

    /// <summary>Retries exhausted or a permanent failure; an admin can replay it.</summary>
    DeadLettered = 5,

    /// <summary>The vendor rejected the token.</summary>
    InvalidToken = 6,
}

/// <summary>
/// The journal row of one push to one device (or of a filtered device-push, for the funnel and trace query).
/// <see cref="Payload"/> is the composed notification (JSON) and is stored, like tokens, only in the journal — never logged.
/// </summary>
/// <param name="PushId">Stable id: the same on every retry and after a restart; sent to the vendor and in the payload.</param>
/// <param name="NotBefore">Unix ms before which it must not be sent (quiet hours, coalesce window, retry backoff).</param>
/// <param name="Reason">Drop/dead-letter/result reason, a short stable code.</param>
public sealed record PushRecord(
    string PushId,
    string MessageId,
    string TraceId,
    string UserId,
    string DeviceId,
    PushVendor Vendor,
    PushCategory Category,
    PushState State,
    string Payload,
    long CreatedAt,
    long NotBefore,
    int Attempts,
    string? Reason,
    string? DigestPushId,
    long? SentAt,
    long? ArrivedAt,
    long? ClickedAt)
{
    /// <summary>
    /// The pipeline instance that owns the row while it is Pending or Sending (ADR 0014: a node name and an incarnation
    /// id); only the owner may claim it for sending, and another instance adopts it once the owner's lease lapsed.
    /// </summary>
    public string Owner { get; init; } = "";

    /// <summary>
    /// The object <see cref="Payload"/> was serialised from, kept with the row in memory so that the dispatch need not parse
    /// the text back (issue 17, stop 46). Never journaled, serialised, printed or compared: a row read from a store has
    /// none, and a reader uses it only while <see cref="ComposedPayload.Json"/> is this row's payload string itself.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public ComposedPayload Composed { get; init; }
}

/// <summary>
/// <see cref="PushRecord.Composed"/>: a payload's text and the object it was serialised from. Outside the row's value:
/// any two are equal (a row with one equals the same row read from its store), and its text is empty.
/// </summary>
public readonly struct ComposedPayload : IEquatable<ComposedPayload>
{
    public ComposedPayload(string json, object value)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(value);
        Json = json;
        Value = value;
    }

    /// <summary>The payload string the value was serialised to; null when there is none.</summary>
    public string? Json { get; }

    /// <summary>The composed object.</summary>
    public object? Value { get; }

    /// <summary>The value when <paramref name="payload"/> is the very string it was serialised to, else null.</summary>
    public T? For<T>(string payload)
        where T : class =>
        Json is not null && ReferenceEquals(Json, payload) ? Value as T : null;

    public bool Equals(ComposedPayload other) => true;

    public override bool Equals(object? obj) => obj is ComposedPayload;

    public override int GetHashCode() => 0;

    public override string ToString() => "";

    public static bool operator ==(ComposedPayload left, ComposedPayload right) => true;

    public static bool operator !=(ComposedPayload left, ComposedPayload right) => false;
}

/// <summary>One claim of <see cref="IPushJournal.ClaimManyAsync"/>: the row and the attempt number it is claimed for.</summary>
public readonly record struct PushClaim(string PushId, int Attempts);

/// <summary>One state change of <see cref="IPushJournal.UpdateStatesAsync"/>; the fields of <see cref="IPushJournal.UpdateStateAsync"/>.</summary>
public readonly record struct PushStateChange(string PushId, PushState State, int Attempts, long NotBefore, string? Reason, long? SentAt);

/// <summary>One group of <see cref="IPushJournal.CountByMessageAsync"/>.</summary>
public sealed record PushJournalCount(PushState State, string? Reason, string? TemplateId, long Count, long Arrived, long Clicked);

/// <summary>
/// Durable journal of pushes: a push accepted by the pipeline is here before the caller's call returns, so a crash
/// loses none, and the Sending state lets a restart tell "maybe sent" from "not sent". Thread-safe.
/// </summary>
public interface IPushJournal
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts new rows in one transaction; rows whose push id exists are ignored (idempotent resubmit). Returns the inserted ones.</summary>
    Task<IReadOnlyList<PushRecord>> AppendAsync(IReadOnlyList<PushRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Replaces payload/not-before of a Pending row (a digest absorbing one more message). False when not Pending.</summary>
    Task<bool> UpdatePendingAsync(string pushId, string payload, long notBefore, CancellationToken cancellationToken = default);

    /// <summary>Sets the state (and attempts, not-before, reason, sent-at). Durable when it returns.</summary>
    Task UpdateStateAsync(string pushId, PushState state, int attempts, long notBefore, string? reason, long? sentAt, CancellationToken cancellationToken = default);

    Task<PushRecord?> GetAsync(string pushId, CancellationToken cancellationToken = default);

    /// <summary>Rows in the given state, oldest first.</summary>
    Task<IReadOnlyList<PushRecord>> ListByStateAsync(PushState state, int limit, CancellationToken cancellationToken = default);

    /// <summary>Every row of a message, including filtered ones and digests that absorbed it.</summary>
    Task<IReadOnlyList<PushRecord>> ListByMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Records arrival/click once (first report wins). Returns the row, or null for an unknown push id.</summary>
    Task<PushRecord?> MarkArrivedAsync(string pushId, long at, CancellationToken cancellationToken = default);

    Task<PushRecord?> MarkClickedAsync(string pushId, long at, CancellationToken cancellationToken = default);

    /// <summary>Marks every Pending row of a message Filtered with <paramref name="reason"/> (a cancelled campaign). Returns the count.</summary>
    Task<int> FilterPendingAsync(string messageId, string reason, CancellationToken cancellationToken = default);

    /// <summary>A message's rows counted by state, reason and the payload's template id, with how many arrived and were clicked.</summary>
    Task<IReadOnlyList<PushJournalCount>> CountByMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Deletes finished rows (every state but Pending, Sending and DeadLettered) created before <paramref name="before"/> (Unix ms). Returns the count.</summary>
    Task<int> PurgeFinishedAsync(long before, CancellationToken cancellationToken = default);

    /// <summary>
    /// The fenced claim (ADR 0014): moves the row from Pending to Sending with <paramref name="attempts"/> only if it is
    /// Pending and owned by <paramref name="owner"/>, in one conditional statement. False: another instance owns it
    /// (it adopted the row after this instance's lease lapsed) or it moved on; the caller must not send it.
    /// </summary>
    Task<bool> ClaimAsync(string pushId, string owner, int attempts, CancellationToken cancellationToken = default);

    /// <summary>Creates or renews <paramref name="owner"/>'s lease until <paramref name="expiresAt"/> (Unix ms).</summary>
    Task RenewLeaseAsync(string owner, long expiresAt, CancellationToken cancellationToken = default);

    /// <summary>Ends <paramref name="owner"/>'s lease (a graceful stop): its rows may be adopted at once.</summary>
    Task ReleaseLeaseAsync(string owner, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adopts up to <paramref name="limit"/> Pending and Sending rows whose owner holds no lease live at
    /// <paramref name="now"/>, or whose owner starts with <paramref name="previousPrefix"/> (this node's earlier
    /// incarnations; null for none): sets their owner to <paramref name="owner"/> and returns them, each row to exactly
    /// one adopter however many run at once.
    /// </summary>
    Task<IReadOnlyList<PushRecord>> AdoptAsync(string owner, string? previousPrefix, long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The rows of <paramref name="pushIds"/> that exist, in any order (the dispatch reads a batch of due pushes at once,
    /// issue 17). The default reads them one at a time; stores override it with one query.
    /// </summary>
    async Task<IReadOnlyList<PushRecord>> GetManyAsync(IReadOnlyList<string> pushIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pushIds);
        var rows = new List<PushRecord>(pushIds.Count);
        foreach (var id in pushIds)
        {
            if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is { } row)
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    /// <summary>
    /// The current rows of pushes the caller holds copies of (the dispatch re-reads a batch of due pushes before claiming
    /// them, issue 17), in any order; a push without a row is left out. A store may hand back a copy itself when its row is
    /// unchanged and reuse a copy's strings that are unchanged (the values are the row's either way); the default reads
    /// them by id.
    /// </summary>
    Task<IReadOnlyList<PushRecord>> ReadCurrentAsync(IReadOnlyList<PushRecord> copies, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(copies);
        var ids = new string[copies.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = copies[i].PushId;
        }

        return GetManyAsync(ids, cancellationToken);
    }

    /// <summary>
    /// <see cref="ClaimAsync"/> for a batch, durable when it returns: one result per claim, in order (true: this owner may
    /// send it). The default claims one at a time; stores override it with one transaction.
    /// </summary>
    async Task<IReadOnlyList<bool>> ClaimManyAsync(IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var claimed = new bool[claims.Count];
        for (var i = 0; i < claims.Count; i++)
        {
            claimed[i] = await ClaimAsync(claims[i].PushId, owner, claims[i].Attempts, cancellationToken).ConfigureAwait(false);
        }

        return claimed;
    }

    /// <summary>
    /// <see cref="UpdateStateAsync"/> for a batch (a batch's results), durable when it returns. The default writes them one
    /// at a time; stores override it with one transaction.
    /// </summary>
    async Task UpdateStatesAsync(IReadOnlyList<PushStateChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var c in changes)
        {
            await UpdateStateAsync(c.PushId, c.State, c.Attempts, c.NotBefore, c.Reason, c.SentAt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <see cref="UpdateStatesAsync"/> then <see cref="ClaimManyAsync"/>, durable when it returns (issue 17: a send loop
    /// writes the results of the batch it sent with the claims of its next batch). The changes are durable no later than
    /// the claims, so a crash never finds a loop's next batch claimed while its previous batch's results are lost: at
    /// most one batch per send loop is claimed and unsettled. The default runs the two in order; stores override it with
    /// one transaction (one fsync instead of two).
    /// </summary>
    async Task<IReadOnlyList<bool>> UpdateStatesAndClaimManyAsync(IReadOnlyList<PushStateChange> changes, IReadOnlyList<PushClaim> claims, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(claims);
        if (changes.Count > 0)
        {
            await UpdateStatesAsync(changes, cancellationToken).ConfigureAwait(false);
        }

        return claims.Count > 0 ? await ClaimManyAsync(claims, owner, cancellationToken).ConfigureAwait(false) : [];
    }

    /// <summary>A dead letter back to Pending (attempts 0, reason "replay"), owned by <paramref name="owner"/>. False when it is not dead-lettered.</summary>
    Task<bool> ReplayAsync(string pushId, string owner, long notBefore, CancellationToken cancellationToken = default);
}
