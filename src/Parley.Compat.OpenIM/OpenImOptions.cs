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

    /// <summary>
    /// The port of the REST endpoints (OpenIM's <c>apiAddr</c>, default 10002 as OpenIM's); the server listens on it
    /// beside its own URLs and the endpoints answer only there. 0: no port of their own, they answer on every port.
    /// </summary>
    public int? ApiPort { get; set; } = DefaultApiPort;

    /// <summary>
    /// The port of the WebSocket edge (OpenIM's <c>wsAddr</c>, default 10001 as OpenIM's), which accepts the upgrade on
    /// any path there. 0: no port of its own; the edge is then at <see cref="WebSocketPath"/> on every port.
    /// </summary>
    public int? WsPort { get; set; } = DefaultWsPort;

    /// <summary>
    /// The public address of the REST API as clients reach it, e.g. <c>https://im.example.com:10002</c> (OpenIM's
    /// <c>object.apiURL</c>): media URLs in OpenIM messages are <c>{ObjectUrl}/object/{objectId}</c>. Unset: the server's own
    /// listening address on <see cref="ApiPort"/> (fine on one machine, wrong behind a proxy or for remote clients).
    /// </summary>
    public string ObjectUrl { get; set; } = string.Empty;

    /// <summary>The WebSocket edge's path when <see cref="WsPort"/> is 0.</summary>
    public string WebSocketPath { get; set; } = "/openim/ws";

    public const int DefaultApiPort = 10002;
    public const int DefaultWsPort = 10001;

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

        if (options.ApiPort is { } port && (port < 0 || port > 65535))
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:ApiPort must be a TCP port (0: on every port).");
        }

        if (options.WsPort is { } wsPort && (wsPort < 0 || wsPort > 65535))
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:WsPort must be a TCP port (0: at WebSocketPath on every port).");
        }

        if (options.WsPort is > 0 && options.WsPort == options.ApiPort)
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:WsPort and ApiPort must differ.");
        }

        if (options.ObjectUrl.Length > 0
            && (!Uri.TryCreate(options.ObjectUrl, UriKind.Absolute, out var objectUrl) || objectUrl.Scheme is not ("http" or "https") || objectUrl.Query.Length > 0))
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:ObjectUrl must be an absolute http(s) URL without a query, e.g. https://im.example.com:10002.");
        }

        if (options.WsPort is null or 0 && !options.WebSocketPath.StartsWith('/'))
        {
            return ValidateOptionsResult.Fail("Parley:OpenIM:WebSocketPath must start with '/'.");
        }

        return ValidateOptionsResult.Success;
    }
}
