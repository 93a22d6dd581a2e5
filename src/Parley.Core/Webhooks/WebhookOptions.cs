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

    /// <summary>The names of the hooks this server calls (OpenIM's callback commands).</summary>
    public static readonly IReadOnlyList<string> KnownHooks = [BeforeSendSingleMsg, BeforeSendGroupMsg, BeforeAddFriend];

    public const string BeforeSendSingleMsg = "beforeSendSingleMsg";
    public const string BeforeSendGroupMsg = "beforeSendGroupMsg";
    public const string BeforeAddFriend = "beforeAddFriend";

    /// <summary>The receiver's base URL; a hook is POSTed to <c>{Url}/{hookName}</c> as OpenIM does, unless it has its own URL.</summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 key every request is signed with (at least 32 characters; keep it secret).</summary>
    public string? Secret { get; set; }

    /// <summary>Per hook: whether it is called, its timeout and its failure policy.</summary>
    public Dictionary<string, HookOptions> Hooks { get; set; } = new(StringComparer.OrdinalIgnoreCase);

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
    /// What a failed call (timeout, refused connection, non-2xx status, unreadable answer) means for a before-hook:
    /// true (default, OpenIM's <c>failedContinue</c>) lets the request through; false refuses it with UNAVAILABLE.
    /// </summary>
    public bool FailOpen { get; set; } = true;
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

        if (options.Hooks.Values.Any(h => h.Enabled) && (options.Secret is null || options.Secret.Length < 32))
        {
            problems.Add("Parley:Webhooks:Secret must be set (at least 32 characters) when a hook is enabled: every request is signed with it.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
