using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using Parley.Abstractions.Directory;
using Parley.Abstractions.Push;
using Parley.Core;
using Parley.Push;

namespace Parley.Hosting.Business;

/// <summary>
/// Who a campaign goes to: exactly one of an explicit user list, a directory department (with its sub-departments), the
/// users with given tags, or every user.
/// </summary>
/// <param name="All">Every enabled user who is not a notification account, walked in user-id order while the campaign runs.</param>
/// <param name="Tags">Users tagged (<c>PUT /admin/v1/users/{id}/tags</c>) with any of these, or with all of them when <paramref name="Match"/> is <c>all</c>; expanded when the campaign is created.</param>
/// <param name="Match"><c>any</c> (the default) or <c>all</c>; only with <paramref name="Tags"/>.</param>
public sealed record CampaignAudienceRequest(IReadOnlyList<string>? UserIds, string? DepartmentId, bool? All, IReadOnlyList<string>? Tags = null, string? Match = null);

/// <summary>One marketing template (an arm of the bandit).</summary>
public sealed record CampaignTemplateRequest(string? TemplateId, string? Title, string? Body);

/// <param name="CampaignId">Optional; generated when absent. A repeat with the same id is refused (409), so a retried create makes no second campaign.</param>
/// <param name="StartAt">Unix ms; now when absent.</param>
/// <param name="ExpiresAt">Unix ms; required. Nothing is processed after it and it is the pushes' time to live at the vendors.</param>
/// <param name="RatePerSecond">Users processed per second (the throttle).</param>
/// <param name="DailyCapPerUser">A stricter per-user daily cap for this campaign: users who already had this many marketing pushes today (UTC) are skipped <c>user_cap</c>; the server's cap applies too.</param>
public sealed record CampaignCreateRequest(
    string? CampaignId,
    string? Name,
    CampaignAudienceRequest? Audience,
    IReadOnlyList<CampaignTemplateRequest>? Templates,
    long? StartAt,
    long? ExpiresAt,
    int? RatePerSecond,
    int? DailyCapPerUser = null);

/// <summary>The validated campaign as stored in <see cref="CampaignRecord.Spec"/>.</summary>
/// <param name="AudienceKind"><c>users</c> (the stored list, also for a department or tags, expanded at creation) or <c>all</c>.</param>
/// <param name="Tags">The audience's tags, when it was selected by tag; <paramref name="TagMatch"/> <c>any</c> or <c>all</c>.</param>
public sealed record CampaignSpec(string AudienceKind, string? DepartmentId, long AudienceSize, IReadOnlyList<PushTemplate> Templates, int RatePerSecond, IReadOnlyList<string>? Tags = null, string? TagMatch = null, int? DailyCapPerUser = null)
{
    public const string Users = "users";
    public const string AllUsers = "all";
}

/// <summary>A campaign as the API shows it.</summary>
public sealed record CampaignView(
    string CampaignId,
    string Name,
    string State,
    string Audience,
    string? DepartmentId,
    IReadOnlyList<string>? Tags,
    string? TagMatch,
    long? AudienceSize,
    IReadOnlyList<PushTemplate> Templates,
    int RatePerSecond,
    int? DailyCapPerUser,
    long StartAt,
    long ExpiresAt,
    long CreatedAt,
    long? FinishedAt,
    string? Cursor,
    string? Runner);

/// <summary>
/// Progress: users processed (targeted = sent + skipped), skipped by reason, device pushes journaled. <paramref name="Delayed"/>
/// are the sent users whose pushes were all held for later (by reason: quiet_hours, send_time); the journal sends them when
/// due, or filters them <c>expired</c>/<c>cancelled</c> (see <see cref="CampaignDelivery"/>).
/// </summary>
public sealed record CampaignProgress(long Targeted, long Sent, long Skipped, IReadOnlyDictionary<string, long> SkippedByReason, long Pushes, long Delayed, IReadOnlyDictionary<string, long> DelayedByReason);

/// <summary>What became of the journaled pushes (from the push journal, within its retention).</summary>
/// <param name="Pending">Journaled, not sent yet (lanes, quiet hours, learned send time, retries).</param>
/// <param name="Failed">Dead-lettered or refused by the vendor, by reason.</param>
/// <param name="Filtered">Dropped by the dispatcher after journaling (cancelled, expired, vendor quota …), by reason.</param>
public sealed record CampaignDelivery(long Pending, long Accepted, IReadOnlyDictionary<string, long> Failed, IReadOnlyDictionary<string, long> Filtered, long Arrived, long Clicked)
{
    /// <summary>Of <see cref="Pending"/>, those held for later, by reason (quiet_hours, send_time, a retry's reason).</summary>
    public IReadOnlyDictionary<string, long> PendingByReason { get; init; } = new SortedDictionary<string, long>(StringComparer.Ordinal);
}

/// <param name="Users">Sent users whose push carried this template.</param>
/// <param name="BanditSends">The bandit's count of choices (every node's, in a cluster) and <paramref name="BanditClicks"/> its rewards.</param>
public sealed record CampaignTemplateReport(string TemplateId, long Users, long Accepted, long Arrived, long Clicked, long BanditSends, long BanditClicks);

/// <param name="BanditChoice">The template the bandit would choose now when it exploits (the best estimate of click rate,
/// (clicks + 1) / (sends + 2), first template on a tie); it still explores the others with probability epsilon.</param>
public sealed record CampaignReport(CampaignView Campaign, CampaignProgress Progress, CampaignDelivery Delivery, IReadOnlyList<CampaignTemplateReport> Templates, string? BanditChoice);

public sealed record CampaignPage(IReadOnlyList<CampaignView> Campaigns, string? Next);

/// <summary>
/// Marketing campaigns (ADR 0015 §4): validation and creation (the audience stored with the campaign in one transaction),
/// cancel (the runner is fenced off; pushes still pending in the journal are filtered <c>cancelled</c>), and the report
/// counted from the targets and the push journal. <see cref="CampaignRunner"/> walks the audience.
/// </summary>
public sealed class CampaignService(
    ICampaignStore store,
    IPushJournal journal,
    IDirectoryStore directory,
    IUserTagStore userTags,
    PushPipeline pipeline,
    IOptions<CampaignOptions> options,
    TimeProvider time)
{
    public const int MaxTemplates = 8;
    public const int MaxAudienceTags = 20;
    private const int MaxTitle = 128;
    private const int MaxBody = 1024;

    /// <summary>The journal's message id of a campaign's pushes: its push ids derive from it, the user and the device.</summary>
    public static string PushMessageId(string campaignId) => "campaign:" + campaignId;

    public async Task<CoreResult<CampaignView>> CreateAsync(CampaignCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var o = options.Value;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var id = request.CampaignId ?? "cmp_" + now.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        var startAt = request.StartAt ?? now;
        if (Problem(request, id, startAt, now, o) is { } problem)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, problem);
        }

        var templates = request.Templates!.Select(t => new PushTemplate(t.TemplateId!, t.Title!, t.Body!)).ToList();
        var audience = request.Audience!;
        IReadOnlyCollection<string> members = [];
        string kind = CampaignSpec.Users;
        if (audience.All == true)
        {
            kind = CampaignSpec.AllUsers;
        }
        else if (audience.Tags is { } tags)
        {
            members = await TaggedUsersAsync(tags, audience.Match == "all", o.MaxAudience + 1, cancellationToken).ConfigureAwait(false);
            if (members.Count == 0)
            {
                return CoreResult.Fail(CoreError.NotFound, "No user has " + (audience.Match == "all" ? "all of" : "any of") + " these tags.");
            }
        }
        else if (audience.DepartmentId is { } department)
        {
            members = await DepartmentMembersAsync(department, cancellationToken).ConfigureAwait(false);
            if (members.Count == 0)
            {
                return CoreResult.Fail(CoreError.NotFound, $"Department {department} has no members (or does not exist).");
            }
        }
        else
        {
            members = audience.UserIds!.Distinct(StringComparer.Ordinal).ToList();
        }

        if (members.Count > o.MaxAudience)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"The audience has {members.Count} users; at most {o.MaxAudience}.");
        }

        var spec = new CampaignSpec(
            kind,
            audience.DepartmentId,
            members.Count,
            templates,
            request.RatePerSecond ?? o.DefaultRatePerSecond,
            audience.Tags?.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
            audience.Tags is null ? null : audience.Match ?? "any",
            request.DailyCapPerUser);
        var record = new CampaignRecord(id, request.Name!, JsonSerializer.Serialize(spec, CampaignJsonContext.Default.CampaignSpec), CampaignState.Scheduled, null, startAt, request.ExpiresAt!.Value, now, now, null, null, 0);
        return await store.CreateAsync(record, members, cancellationToken).ConfigureAwait(false)
            ? CoreResult.Success(View(record))
            : CoreResult.Fail(CoreError.AlreadyExists, $"A campaign {id} exists already.");
    }

    public async Task<CampaignReport?> GetReportAsync(string campaignId, CancellationToken cancellationToken = default)
    {
        if (await store.GetAsync(campaignId, cancellationToken).ConfigureAwait(false) is not { } campaign)
        {
            return null;
        }

        var targets = await store.CountTargetsAsync(campaignId, cancellationToken).ConfigureAwait(false);
        var rows = await journal.CountByMessageAsync(PushMessageId(campaignId), cancellationToken).ConfigureAwait(false);
        var failed = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var filtered = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var held = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long pending = 0, accepted = 0, arrived = 0, clicked = 0;
        foreach (var row in rows)
        {
            arrived += row.Arrived;
            clicked += row.Clicked;
            switch (row.State)
            {
                case PushState.Pending or PushState.Sending:
                    pending += row.Count;
                    if (row.State == PushState.Pending && row.Reason is { } heldFor)
                    {
                        held[heldFor] = held.GetValueOrDefault(heldFor) + row.Count;
                    }

                    break;
                case PushState.Accepted:
                    accepted += row.Count;
                    break;
                case PushState.DeadLettered or PushState.InvalidToken:
                    var reason = row.State == PushState.InvalidToken ? "invalid_token" : row.Reason ?? "dead_letter";
                    failed[reason] = failed.GetValueOrDefault(reason) + row.Count;
                    break;
                case PushState.Filtered when row.TemplateId is not null: // journaled, then dropped (rows filtered at submit are skipped users)
                    filtered[row.Reason ?? "filtered"] = filtered.GetValueOrDefault(row.Reason ?? "filtered") + row.Count;
                    break;
            }
        }

        var spec = Spec(campaign);
        var bandit = await pipeline.TemplateStatsAsync(campaignId, cancellationToken).ConfigureAwait(false);
        var templates = spec.Templates.Select(t =>
        {
            var mine = rows.Where(r => r.TemplateId == t.TemplateId).ToList();
            var (sends, clicks) = bandit.GetValueOrDefault(t.TemplateId);
            return new CampaignTemplateReport(
                t.TemplateId,
                targets.SentByTemplate.GetValueOrDefault(t.TemplateId),
                mine.Where(r => r.State == PushState.Accepted).Sum(r => r.Count),
                mine.Sum(r => r.Arrived),
                mine.Sum(r => r.Clicked),
                sends,
                clicks);
        }).ToList();
        return new CampaignReport(
            View(campaign),
            new CampaignProgress(targets.Targeted, targets.Sent, targets.Targeted - targets.Sent, targets.Skipped, targets.Pushes, targets.Delayed.Values.Sum(), targets.Delayed),
            new CampaignDelivery(pending, accepted, failed, filtered, arrived, clicked) { PendingByReason = held },
            templates,
            BanditChoice(spec.Templates, bandit));
    }

    public async Task<CampaignPage> ListAsync(CampaignState? state, string? after, int limit, CancellationToken cancellationToken = default)
    {
        var page = await store.ListAsync(state, after, limit + 1, cancellationToken).ConfigureAwait(false);
        var shown = page.Take(limit).Select(View).ToList();
        return new CampaignPage(shown, page.Count > limit ? shown[^1].CampaignId : null);
    }

    /// <summary>Cancels a scheduled or running campaign and filters its pushes still pending in the journal. False: unknown or finished.</summary>
    public async Task<bool> CancelAsync(string campaignId, CancellationToken cancellationToken = default)
    {
        if (!await store.CancelAsync(campaignId, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        // A runner committing a chunk right now is fenced off by the state and filters its own rows when it sees that.
        await journal.FilterPendingAsync(PushMessageId(campaignId), "cancelled", cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The bandit's exploit choice, with the pipeline bandit's estimate (an arm never chosen scores 0.5).</summary>
    private static string? BanditChoice(IReadOnlyList<PushTemplate> templates, IReadOnlyDictionary<string, (long Sends, long Clicks)> stats)
    {
        string? choice = null;
        var best = double.MinValue;
        foreach (var t in templates)
        {
            var score = stats.TryGetValue(t.TemplateId, out var arm) ? (arm.Clicks + 1.0) / (arm.Sends + 2.0) : 0.5;
            if (score > best)
            {
                (best, choice) = (score, t.TemplateId);
            }
        }

        return choice;
    }

    internal static CampaignSpec Spec(CampaignRecord campaign) =>
        JsonSerializer.Deserialize(campaign.Spec, CampaignJsonContext.Default.CampaignSpec) ?? throw new InvalidDataException($"Campaign {campaign.CampaignId} has no spec.");

    internal static CampaignView View(CampaignRecord c)
    {
        var spec = Spec(c);
        return new CampaignView(
            c.CampaignId, c.Name, c.State.ToString().ToLowerInvariant(), spec.AudienceKind == CampaignSpec.AllUsers ? "all" : spec.Tags is not null ? "tags" : spec.DepartmentId is null ? "users" : "department",
            spec.DepartmentId, spec.Tags, spec.TagMatch, spec.AudienceKind == CampaignSpec.AllUsers ? null : spec.AudienceSize, spec.Templates, spec.RatePerSecond, spec.DailyCapPerUser,
            c.StartAt, c.ExpiresAt, c.CreatedAt, c.FinishedAt, c.Cursor, c.State == CampaignState.Running ? c.LeaseOwner : null);
    }

    private static string? Problem(CampaignCreateRequest r, string id, long startAt, long now, CampaignOptions o)
    {
        if (id.Length is < 1 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return "campaignId must be 1..64 characters of letters, digits, '_' and '-'.";
        }

        if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > MaxTitle)
        {
            return $"name must be 1..{MaxTitle} characters.";
        }

        var a = r.Audience;
        var kinds = a is null ? 0 : (a.UserIds is not null ? 1 : 0) + (a.DepartmentId is not null ? 1 : 0) + (a.All == true ? 1 : 0) + (a.Tags is not null ? 1 : 0);
        if (kinds != 1)
        {
            return "audience needs exactly one of userIds, departmentId, tags or all: true.";
        }

        if (a!.Tags is { } tags && (tags.Count is 0 or > MaxAudienceTags || !tags.All(IUserTagStore.IsValid)))
        {
            return $"audience.tags must list 1..{MaxAudienceTags} tags of 1..{IUserTagStore.MaxLength} ASCII letters, digits, '_', '-', '.' and ':'.";
        }

        if (a.Match is not null && (a.Tags is null || a.Match is not ("any" or "all")))
        {
            return "audience.match is any or all, and only with audience.tags.";
        }

        if (a.UserIds is { } ids && (ids.Count == 0 || ids.Any(u => !Parley.Protocol.Ids.IsValid(u))))
        {
            return "audience.userIds must list at least one valid user id.";
        }

        if (r.Templates is not { Count: > 0 and <= MaxTemplates } templates)
        {
            return $"templates must list 1..{MaxTemplates} templates.";
        }

        foreach (var t in templates)
        {
            if (t?.TemplateId is not { Length: > 0 and <= 64 } tid || !tid.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
                || string.IsNullOrWhiteSpace(t.Title) || t.Title.Length > MaxTitle || string.IsNullOrWhiteSpace(t.Body) || t.Body.Length > MaxBody)
            {
                return $"each template needs templateId (1..64 of letters, digits, '_', '-', '.'), title (1..{MaxTitle}) and body (1..{MaxBody}).";
            }
        }

        if (templates.Select(t => t.TemplateId).Distinct(StringComparer.Ordinal).Count() != templates.Count)
        {
            return "template ids must be distinct.";
        }

        if (r.ExpiresAt is not { } expires || expires <= now || expires <= startAt || expires - startAt > (long)o.MaxLifetime.TotalMilliseconds)
        {
            return $"expiresAt (unix ms) is required, in the future, after startAt and at most {o.MaxLifetime.TotalDays:0.#} days after it.";
        }

        if (startAt < now - 60_000)
        {
            return "startAt must not be in the past.";
        }

        if (r.DailyCapPerUser is < 1 or > 1000)
        {
            return "dailyCapPerUser must be 1..1000.";
        }

        return r.RatePerSecond is { } rate && (rate < 1 || rate > o.MaxRatePerSecond) ? $"ratePerSecond must be 1..{o.MaxRatePerSecond}." : null;
    }

    /// <summary>The users with any (or all) of the tags, at most <paramref name="max"/>, paged through the tag store in user-id order.</summary>
    private async Task<IReadOnlyCollection<string>> TaggedUsersAsync(IReadOnlyList<string> tags, bool matchAll, int max, CancellationToken cancellationToken)
    {
        const int Page = 5_000;
        var users = new List<string>();
        string? after = null;
        while (users.Count < max)
        {
            var want = Math.Min(Page, max - users.Count);
            var page = await userTags.ListUsersAsync(tags, matchAll, after, want, cancellationToken).ConfigureAwait(false);
            users.AddRange(page);
            if (page.Count < want)
            {
                break;
            }

            after = page[^1];
        }

        return users;
    }

    /// <summary>The department's members and its sub-departments' (live rows of the directory store).</summary>
    private async Task<IReadOnlyCollection<string>> DepartmentMembersAsync(string departmentId, CancellationToken cancellationToken)
    {
        var all = await directory.GetChangesAsync(0, cancellationToken).ConfigureAwait(false);
        var children = all.Departments.ToLookup(d => d.ParentId, StringComparer.Ordinal);
        var departments = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        if (all.Departments.Any(d => d.DepartmentId == departmentId))
        {
            queue.Enqueue(departmentId);
        }

        while (queue.TryDequeue(out var next))
        {
            if (departments.Add(next))
            {
                foreach (var child in children[next])
                {
                    queue.Enqueue(child.DepartmentId);
                }
            }
        }

        return all.Members.Where(m => departments.Contains(m.DepartmentId)).Select(m => m.UserId).ToHashSet(StringComparer.Ordinal);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CampaignSpec))]
internal sealed partial class CampaignJsonContext : JsonSerializerContext;
