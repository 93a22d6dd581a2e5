using Microsoft.Extensions.Options;

namespace Parley.Compat.OpenIM;

/// <summary>OpenIM compatibility settings, bound to <c>Parley:OpenIM</c>.</summary>
public sealed class OpenImOptions
{
    public const string Section = "Parley:OpenIM";

    /// <summary>Whether the OpenIM endpoints answer at all. Off by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The secret that <c>/auth/get_admin_token</c> checks (OpenIM's <c>share.yml: secret</c>) and that signs admin tokens:
    /// at least 32 characters, not a sample value. Required when enabled.
    /// </summary>
    public string Secret { get; set; } = string.Empty;

    /// <summary>The user ids that may obtain an admin token (OpenIM's <c>imAdminUser.userIDs</c>).</summary>
    public List<string> AdminUserIds { get; set; } = [];

    /// <summary>Path prefix of the REST endpoints; OpenIM serves them at the root of its API port.</summary>
    public string PathPrefix { get; set; } = string.Empty;

    /// <summary>When set, the REST endpoints answer only on this port (OpenIM's default is 10002); the host must listen on it.</summary>
    public int? ApiPort { get; set; }

    /// <summary>Lifetime of admin tokens.</summary>
    public TimeSpan AdminTokenLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Lifetime of user tokens (capped by <c>Parley:Tokens:MaxLifetime</c>).</summary>
    public TimeSpan UserTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    internal IReadOnlyList<string> EffectiveAdminUserIds => AdminUserIds.Count > 0 ? AdminUserIds : ["imAdmin"];
}

/// <summary>When enabled, the server refuses to start with an empty, short or sample OpenIM secret.</summary>
public sealed class OpenImOptionsValidator : IValidateOptions<OpenImOptions>
{
    public const int MinimumLength = 32;

    private static readonly string[] SampleFragments = ["change-me", "changeme", "change_me", "example", "sample", "secret", "password", "openim123", "parley"];

    public ValidateOptionsResult Validate(string? name, OpenImOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var secret = options.Secret ?? string.Empty;
        if (secret.Length == 0)
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:Secret is not set. Set it, e.g. export Parley__OpenIM__Secret=$(openssl rand -hex 32).");
        }

        if (secret.Length < MinimumLength)
        {
            return ValidateOptionsResult.Fail($"Parley:OpenIM:Secret must be at least {MinimumLength} characters.");
        }

        if (SampleFragments.Any(f => secret.Contains(f, StringComparison.OrdinalIgnoreCase)) || secret.Distinct().Count() < 8)
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:Secret looks like a sample value; generate a random one.");
        }

        if (options.AdminTokenLifetime <= TimeSpan.Zero || options.UserTokenLifetime <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM token lifetimes must be positive.");
        }

        if (options.ApiPort is { } port && (port <= 0 || port > 65535))
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:ApiPort must be a TCP port.");
        }

        return ValidateOptionsResult.Success;
    }
}
