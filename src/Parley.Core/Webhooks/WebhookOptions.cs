using Microsoft.Extensions.Options;

namespace Parley.Core.Webhooks;

/// <summary>
/// <c>Parley:Webhooks</c>: the HTTP callbacks a deployment's own server gets at OpenIM's hook points. A hook is called
/// only when it is listed under <see cref="Hooks"/> with <c>Enabled: true</c>; with none enabled the send path pays
/// one null check. See docs/webhooks.md.
/// </summary>
public sealed class WebhookOptions
{
    public const string Section = "Parley:Webhooks";

    /// <summary>The before-hooks (synchronous: allow, modify or refuse) this server calls (OpenIM's callback commands).</summary>
    public static readonly IReadOnlyList<string> BeforeHooks = [BeforeSendSingleMsg, BeforeSendGroupMsg, BeforeAddFriend, BeforeCreateGroup, BeforeMemberJoinGroup];

    /// <summary>The after-hooks (notifications, delivered at least once from the durable outbox) this server sends.</summary>
    public static readonly IReadOnlyList<string> AfterHooks =
    [
        AfterSendSingleMsg, AfterSendGroupMsg, AfterCreateGroup, AfterUserOnline, AfterUserOffline, AfterAddFriendAgree, AfterDeleteFriend,
        AfterJoinGroup, AfterQuitGroup, AfterKickGroupMember, AfterSetGroupInfo, AfterDismissGroup, AfterTransferGroupOwner, AfterRevokeMsg,
        AfterSingleMsgRead, AfterGroupMsgRead,
    ];

    /// <summary>The after-hooks made from a commit's group notices and revoke markers.</summary>
    public static readonly IReadOnlyList<string> NoticeAfterHooks =
        [AfterJoinGroup, AfterQuitGroup, AfterKickGroupMember, AfterSetGroupInfo, AfterDismissGroup, AfterTransferGroupOwner, AfterRevokeMsg];

    /// <summary>The names of the hooks this server calls (OpenIM's callback commands).</summary>
    public static readonly IReadOnlyList<string> KnownHooks = [.. BeforeHooks, .. AfterHooks];

    public const string BeforeSendSingleMsg = "beforeSendSingleMsg";
    public const string BeforeSendGroupMsg = "beforeSendGroupMsg";
    public const string BeforeAddFriend = "beforeAddFriend";
    public const string BeforeCreateGroup = "beforeCreateGroup";
    public const string BeforeMemberJoinGroup = "beforeMemberJoinGroup";
    public const string AfterSendSingleMsg = "afterSendSingleMsg";
    public const string AfterSendGroupMsg = "afterSendGroupMsg";
    public const string AfterCreateGroup = "afterCreateGroup";
    public const string AfterUserOnline = "afterUserOnline";
    public const string AfterUserOffline = "afterUserOffline";
    public const string AfterAddFriendAgree = "afterAddFriendAgree";
    public const string AfterDeleteFriend = "afterDeleteFriend";
    public const string AfterJoinGroup = "afterJoinGroup";
    public const string AfterQuitGroup = "afterQuitGroup";
    public const string AfterKickGroupMember = "afterKickGroupMember";
    public const string AfterSetGroupInfo = "afterSetGroupInfo";
    public const string AfterDismissGroup = "afterDismissGroup";
    public const string AfterTransferGroupOwner = "afterTransferGroupOwner";
    public const string AfterRevokeMsg = "afterRevokeMsg";
    public const string AfterSingleMsgRead = "afterSingleMsgRead";
    public const string AfterGroupMsgRead = "afterGroupMsgRead";

    /// <summary>The receiver's base URL; a hook is POSTed to <c>{Url}/{hookName}</c> as OpenIM does, unless it has its own URL.</summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 key every request is signed with (at least 32 characters; keep it secret).</summary>
    public string? Secret { get; set; }

    /// <summary>Per hook: whether it is called, its timeout and its failure policy.</summary>
    public Dictionary<string, HookOptions> Hooks { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How after-hook events are delivered from the durable outbox (retries, dead letters, concurrency).</summary>
    public WebhookDeliveryOptions Delivery { get; set; } = new();

    /// <summary>True when at least one after-hook is enabled (then the outbox dispatcher runs).</summary>
    public bool AnyAfterHookEnabled => AfterHooks.Any(h => Enabled(h) is not null);

    /// <summary>The options of an enabled hook, or null.</summary>
    public HookOptions? Enabled(string hook) => Hooks.TryGetValue(hook, out var options) && options.Enabled ? options : null;

    /// <summary>The URL a hook is POSTed to.</summary>
    public Uri UrlOf(string hook, HookOptions options) =>
        new(options.Url is { Length: > 0 } own ? own : Url!.TrimEnd('/') + "/" + hook, UriKind.Absolute);
}

/// <summary>One hook's settings.</summary>
public sealed class HookOptions
{
    public bool Enabled { get; set; }

    /// <summary>A URL for this hook only (otherwise <c>{Parley:Webhooks:Url}/{hookName}</c>).</summary>
    public string? Url { get; set; }

    /// <summary>How long the request waits for the receiver's answer (connect included), in milliseconds.</summary>
    public int TimeoutMs { get; set; } = 1000;

    /// <summary>
    /// What a failed call (timeout, refused connection, non-2xx status, unreadable answer) means for a before-hook
    /// (after-hooks ignore it: a failed delivery is retried):
    /// true (default, OpenIM's <c>failedContinue</c>) lets the request through; false refuses it with UNAVAILABLE.
    /// </summary>
    public bool FailOpen { get; set; } = true;
}

/// <summary><c>Parley:Webhooks:Delivery</c>: the after-hook outbox's retries and limits.</summary>
public sealed class WebhookDeliveryOptions
{
    /// <summary>Attempts before an event is dead-lettered (the first attempt included).</summary>
    public int MaxAttempts { get; set; } = 12;

    /// <summary>An event still undelivered this long after it happened is dead-lettered at its next failure, in minutes.</summary>
    public int MaxAgeMinutes { get; set; } = 24 * 60;

    /// <summary>The back-off before the second attempt; it doubles per attempt up to <see cref="MaxBackoffMs"/>, with jitter (50..100 %).</summary>
    public int InitialBackoffMs { get; set; } = 1000;

    /// <summary>The longest back-off between two attempts.</summary>
    public int MaxBackoffMs { get; set; } = 5 * 60 * 1000;

    /// <summary>Requests in flight at once to one endpoint (scheme, host and port), per node.</summary>
    public int MaxConcurrencyPerEndpoint { get; set; } = 4;

    /// <summary>Events a node holds (leased) at once.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>How often the outbox is checked for due events when nothing new was committed on this node, in milliseconds.</summary>
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>
    /// How long a node's claim on an event lasts, in seconds; another node takes over an event whose lease ended (its
    /// node died). Longer than the longest hook timeout.
    /// </summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>Delivered events are deleted this long after delivery, in hours (dead letters stay until replayed).</summary>
    public int RetentionHours { get; set; } = 24;
}

internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var problems = new List<string>();
        foreach (var (hook, settings) in options.Hooks)
        {
            if (!WebhookOptions.KnownHooks.Contains(hook, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"Parley:Webhooks:Hooks:{hook} is not a hook this server calls (known: {string.Join(", ", WebhookOptions.KnownHooks)}).");
                continue;
            }

            if (!settings.Enabled)
            {
                continue;
            }

            var url = settings.Url is { Length: > 0 } own ? own : options.Url;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                problems.Add($"Parley:Webhooks:Hooks:{hook} is enabled but neither it nor Parley:Webhooks:Url is an absolute http(s) URL.");
            }

            if (settings.TimeoutMs is < 10 or > 30_000)
            {
                problems.Add($"Parley:Webhooks:Hooks:{hook}:TimeoutMs must be 10..30000.");
            }
        }

        var d = options.Delivery;
        if (d.MaxAttempts is < 1 or > 100)
        {
            problems.Add("Parley:Webhooks:Delivery:MaxAttempts must be 1..100.");
        }

        if (d.MaxAgeMinutes is < 1 or > 30 * 24 * 60)
        {
            problems.Add("Parley:Webhooks:Delivery:MaxAgeMinutes must be 1..43200 (30 days).");
        }

        if (d.InitialBackoffMs is < 10 or > 3_600_000 || d.MaxBackoffMs < d.InitialBackoffMs || d.MaxBackoffMs > 86_400_000)
        {
            problems.Add("Parley:Webhooks:Delivery:InitialBackoffMs must be 10..3600000 and MaxBackoffMs at least that and at most 86400000.");
        }

        if (d.MaxConcurrencyPerEndpoint is < 1 or > 256 || d.BatchSize is < 1 or > 1000)
        {
            problems.Add("Parley:Webhooks:Delivery:MaxConcurrencyPerEndpoint must be 1..256 and BatchSize 1..1000.");
        }

        if (d.PollIntervalMs is < 10 or > 60_000 || d.RetentionHours is < 1 or > 24 * 365)
        {
            problems.Add("Parley:Webhooks:Delivery:PollIntervalMs must be 10..60000 and RetentionHours 1..8760.");
        }

        var longestTimeout = options.Hooks.Values.Where(h => h.Enabled).Select(h => h.TimeoutMs).DefaultIfEmpty(0).Max();
        if (d.LeaseSeconds is < 2 or > 3600 || d.LeaseSeconds * 1000 <= longestTimeout)
        {
            problems.Add("Parley:Webhooks:Delivery:LeaseSeconds must be 2..3600 and longer than every enabled hook's TimeoutMs.");
        }

        if (options.Hooks.Values.Any(h => h.Enabled) && (options.Secret is null || options.Secret.Length < 32))
        {
            problems.Add("Parley:Webhooks:Secret must be set (at least 32 characters) when a hook is enabled: every request is signed with it.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
