using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Business;
using Parley.Abstractions.Directory;
using Parley.Abstractions.Push;
using Parley.Core;
using Parley.Push;

namespace Parley.Hosting.Business;

/// <summary>Who a campaign goes to: exactly one of an explicit user list, a directory department (with its sub-departments) or every user.</summary>
/// <param name="All">Every enabled user who is not a notification account, walked in user-id order while the campaign runs.</param>
public sealed record CampaignAudienceRequest(IReadOnlyList<string>? UserIds, string? DepartmentId, bool? All);

/// <summary>One marketing template (an arm of the bandit).</summary>
public sealed record CampaignTemplateRequest(string? TemplateId, string? Title, string? Body);

/// <param name="CampaignId">Optional; generated when absent. A repeat with the same id is refused (409), so a retried create makes no second campaign.</param>
/// <param name="StartAt">Unix ms; now when absent.</param>
/// <param name="ExpiresAt">Unix ms; required. Nothing is processed after it and it is the pushes' time to live at the vendors.</param>
/// <param name="RatePerSecond">Users processed per second (the throttle).</param>
public sealed record CampaignCreateRequest(
    string? CampaignId,
    string? Name,
    CampaignAudienceRequest? Audience,
    IReadOnlyList<CampaignTemplateRequest>? Templates,
    long? StartAt,
    long? ExpiresAt,
    int? RatePerSecond);

/// <summary>The validated campaign as stored in <see cref="CampaignRecord.Spec"/>.</summary>
/// <param name="AudienceKind"><c>users</c> (the stored list, also for a department, expanded at creation) or <c>all</c>.</param>
public sealed record CampaignSpec(string AudienceKind, string? DepartmentId, long AudienceSize, IReadOnlyList<PushTemplate> Templates, int RatePerSecond)
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
    long? AudienceSize,
    IReadOnlyList<PushTemplate> Templates,
    int RatePerSecond,
    long StartAt,
    long ExpiresAt,
    long CreatedAt,
    long? FinishedAt,
    string? Cursor,
    string? Runner);

/// <summary>Progress: users processed (targeted = sent + skipped), skipped by reason, device pushes journaled.</summary>
public sealed record CampaignProgress(long Targeted, long Sent, long Skipped, IReadOnlyDictionary<string, long> SkippedByReason, long Pushes);

/// <summary>What became of the journaled pushes (from the push journal, within its retention).</summary>
/// <param name="Pending">Journaled, not sent yet (lanes, quiet hours, learned send time, retries).</param>
/// <param name="Failed">Dead-lettered or refused by the vendor, by reason.</param>
/// <param name="Filtered">Dropped by the dispatcher after journaling (cancelled, expired, vendor quota …), by reason.</param>
public sealed record CampaignDelivery(long Pending, long Accepted, IReadOnlyDictionary<string, long> Failed, IReadOnlyDictionary<string, long> Filtered, long Arrived, long Clicked);

/// <param name="Users">Sent users whose push carried this template.</param>
/// <param name="BanditSends">The bandit's count of choices (every node's, in a cluster) and <paramref name="BanditClicks"/> its rewards.</param>
public sealed record CampaignTemplateReport(string TemplateId, long Users, long Accepted, long Arrived, long Clicked, long BanditSends, long BanditClicks);

public sealed record CampaignReport(CampaignView Campaign, CampaignProgress Progress, CampaignDelivery Delivery, IReadOnlyList<CampaignTemplateReport> Templates);

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
    PushPipeline pipeline,
    IOptions<CampaignOptions> options,
    TimeProvider time)
{
    public const int MaxTemplates = 8;
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

        var spec = new CampaignSpec(kind, audience.DepartmentId, members.Count, templates, request.RatePerSecond ?? o.DefaultRatePerSecond);
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
        long pending = 0, accepted = 0, arrived = 0, clicked = 0;
        foreach (var row in rows)
        {
            arrived += row.Arrived;
            clicked += row.Clicked;
            switch (row.State)
            {
                case PushState.Pending or PushState.Sending:
                    pending += row.Count;
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
            new CampaignProgress(targets.Targeted, targets.Sent, targets.Targeted - targets.Sent, targets.Skipped, targets.Pushes),
            new CampaignDelivery(pending, accepted, failed, filtered, arrived, clicked),
            templates);
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

    internal static CampaignSpec Spec(CampaignRecord campaign) =>
        JsonSerializer.Deserialize(campaign.Spec, CampaignJsonContext.Default.CampaignSpec) ?? throw new InvalidDataException($"Campaign {campaign.CampaignId} has no spec.");

    internal static CampaignView View(CampaignRecord c)
    {
        var spec = Spec(c);
        return new CampaignView(
            c.CampaignId, c.Name, c.State.ToString().ToLowerInvariant(), spec.AudienceKind == CampaignSpec.AllUsers ? "all" : spec.DepartmentId is null ? "users" : "department",
            spec.DepartmentId, spec.AudienceKind == CampaignSpec.AllUsers ? null : spec.AudienceSize, spec.Templates, spec.RatePerSecond,
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
        var kinds = a is null ? 0 : (a.UserIds is not null ? 1 : 0) + (a.DepartmentId is not null ? 1 : 0) + (a.All == true ? 1 : 0);
        if (kinds != 1)
        {
            return "audience needs exactly one of userIds, departmentId or all: true.";
        }

        if (a!.UserIds is { } ids && (ids.Count == 0 || ids.Any(u => !Parley.Protocol.Ids.IsValid(u))))
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

        return r.RatePerSecond is { } rate && (rate < 1 || rate > o.MaxRatePerSecond) ? $"ratePerSecond must be 1..{o.MaxRatePerSecond}." : null;
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
