namespace Parley.Abstractions.Business;

/// <summary>Where a marketing campaign is in its life. Values are stored; never renumber.</summary>
public enum CampaignState
{
    /// <summary>Created; waits for its start time (or for a runner to take its lease).</summary>
    Scheduled = 0,

    /// <summary>A runner walks its audience.</summary>
    Running = 1,

    /// <summary>Cancelled by an operator; no new target is processed and its pending pushes are filtered.</summary>
    Cancelled = 2,

    /// <summary>Every audience member was processed.</summary>
    Done = 3,

    /// <summary>Its expiry passed before the audience was walked; the rest is not processed.</summary>
    Expired = 4,
}

/// <summary>What happened to one audience member of a campaign. Values are stored; never renumber.</summary>
public enum CampaignTargetState
{
    /// <summary>At least one push was journaled for the user (the journal sends it, at most once per device).</summary>
    Sent = 0,

    /// <summary>Nothing was journaled; <see cref="CampaignTarget.Reason"/> says why (opted_out, no_device, dnd, user_cap, quiet_hours, …).</summary>
    Skipped = 1,

    /// <summary>
    /// Pushes were journaled for the user, every one held until a later time (<see cref="CampaignTarget.Reason"/>:
    /// quiet_hours or send_time). The journal sends them then, unless the campaign expired or was cancelled meanwhile.
    /// </summary>
    Delayed = 2,
}

/// <summary>
/// A marketing campaign. <paramref name="Spec"/> is the request as validated (JSON: audience kind, templates, rate, deep
/// link), stored verbatim; <paramref name="Cursor"/> is the last audience key (user id) whose chunk was committed.
/// </summary>
/// <param name="StartAt">Unix ms; a runner takes it from then on.</param>
/// <param name="ExpiresAt">Unix ms; nothing is processed after it, and it is the pushes' TTL at the vendors.</param>
/// <param name="LeaseOwner">The runner (node) that holds the campaign until <paramref name="LeaseUntil"/>, or null.</param>
public sealed record CampaignRecord(
    string CampaignId,
    string Name,
    string Spec,
    CampaignState State,
    string? Cursor,
    long StartAt,
    long ExpiresAt,
    long CreatedAt,
    long UpdatedAt,
    long? FinishedAt,
    string? LeaseOwner,
    long LeaseUntil);

/// <summary>One audience member's outcome, written once (a re-run of a chunk leaves the first outcome).</summary>
/// <param name="TemplateId">The template the bandit chose for the user's first journaled push, or null.</param>
/// <param name="Pushes">Device pushes journaled for the user.</param>
/// <param name="At">Unix ms when the runner processed the user.</param>
public sealed record CampaignTarget(string UserId, CampaignTargetState State, string? Reason, string? TemplateId, int Pushes, long At);

/// <summary>Counts over a campaign's targets.</summary>
/// <param name="Sent">Users with pushes journaled: sent at once or <see cref="CampaignTargetState.Delayed"/>.</param>
/// <param name="Skipped">Skipped users by reason.</param>
/// <param name="SentByTemplate">Sent (and delayed) users by the template of their push.</param>
public sealed record CampaignTargetCounts(long Targeted, long Sent, long Pushes, IReadOnlyDictionary<string, long> Skipped, IReadOnlyDictionary<string, long> SentByTemplate)
{
    /// <summary>Of <see cref="Sent"/>, the users whose pushes were all held for later, by reason (quiet_hours, send_time).</summary>
    public IReadOnlyDictionary<string, long> Delayed { get; init; } = new SortedDictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Folds the stores' grouped rows (state, reason or '', template or '', users, pushes).</summary>
    public static CampaignTargetCounts From(IEnumerable<(CampaignTargetState State, string Reason, string Template, long Count, long Pushes)> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        long targeted = 0, sent = 0, pushes = 0;
        var skipped = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byTemplate = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var delayed = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            targeted += g.Count;
            pushes += g.Pushes;
            if (g.State is CampaignTargetState.Sent or CampaignTargetState.Delayed)
            {
                sent += g.Count;
                byTemplate[g.Template] = byTemplate.GetValueOrDefault(g.Template) + g.Count;
                if (g.State == CampaignTargetState.Delayed)
                {
                    delayed[g.Reason] = delayed.GetValueOrDefault(g.Reason) + g.Count;
                }
            }
            else
            {
                skipped[g.Reason] = skipped.GetValueOrDefault(g.Reason) + g.Count;
            }
        }

        return new CampaignTargetCounts(targeted, sent, pushes, skipped, byTemplate) { Delayed = delayed };
    }
}

/// <summary>
/// Durable marketing campaigns (tables <c>campaigns</c>, <c>campaign_audience</c>, <c>campaign_targets</c>): the campaign,
/// its stored audience list, a lease so that one runner per cluster walks it, and one row per processed user. Every
/// runner write is fenced by the lease and the Running state, so a runner that lost either writes nothing.
/// </summary>
public interface ICampaignStore
{
    /// <summary>Creates the campaign and its explicit audience (user ids, any order, duplicates ignored) in one transaction. False when the id exists.</summary>
    Task<bool> CreateAsync(CampaignRecord campaign, IReadOnlyCollection<string> audience, CancellationToken cancellationToken = default);

    Task<CampaignRecord?> GetAsync(string campaignId, CancellationToken cancellationToken = default);

    /// <summary>Campaigns ordered by id after <paramref name="afterId"/>, optionally in one state.</summary>
    Task<IReadOnlyList<CampaignRecord>> ListAsync(CampaignState? state, string? afterId, int limit, CancellationToken cancellationToken = default);

    /// <summary>The stored audience in user-id order (ordinal), after <paramref name="afterUserId"/>.</summary>
    Task<IReadOnlyList<string>> ReadAudienceAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Ids of Scheduled or Running campaigns whose start time is due and whose lease is free or expired at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<string>> ListRunnableAsync(long now, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes (or renews) the lease of a Scheduled or Running campaign for <paramref name="owner"/> until
    /// <paramref name="leaseUntil"/> when it is free, expired at <paramref name="now"/> or already the owner's, and marks it
    /// Running. Returns the campaign as held, or null (held by another runner, finished, not due).
    /// </summary>
    Task<CampaignRecord?> TryAcquireAsync(string campaignId, string owner, long now, long leaseUntil, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits one processed chunk in one transaction, only while <paramref name="owner"/> holds the lease and the campaign is
    /// Running: inserts the targets (a user already recorded keeps the first outcome), sets the cursor, renews the lease and,
    /// when <paramref name="finalState"/> is given, finishes the campaign. False (nothing written) otherwise.
    /// </summary>
    Task<bool> CommitChunkAsync(string campaignId, string owner, long now, long leaseUntil, IReadOnlyList<CampaignTarget> targets, string? cursor, CampaignState? finalState, CancellationToken cancellationToken = default);

    /// <summary>Scheduled or Running → Cancelled. False when it is unknown or finished already.</summary>
    Task<bool> CancelAsync(string campaignId, long now, CancellationToken cancellationToken = default);

    /// <summary>Gives the lease up (shutdown), so another runner takes the campaign at once.</summary>
    Task ReleaseAsync(string campaignId, string owner, CancellationToken cancellationToken = default);

    Task<CampaignTargetCounts> CountTargetsAsync(string campaignId, CancellationToken cancellationToken = default);

    /// <summary>Targets in user-id order after <paramref name="afterUserId"/>.</summary>
    Task<IReadOnlyList<CampaignTarget>> ListTargetsAsync(string campaignId, string? afterUserId, int limit, CancellationToken cancellationToken = default);
}
