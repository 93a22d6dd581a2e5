using System.Net.WebSockets;
using Parley.Protocol.V1;

namespace Parley.Sdk;

/// <summary>Settings of a <see cref="ParleyClient"/>. Validated when the client is created.</summary>
public sealed class ParleyClientOptions
{
    /// <summary>The server's WebSocket endpoint, e.g. <c>wss://chat.example.com/ws</c>.</summary>
    public required Uri ServerUri { get; init; }

    /// <summary>
    /// Other endpoints of the same cluster (any node accepts any client), e.g. <c>wss://chat-2.example.com/ws</c>. The
    /// first connection goes to <see cref="ServerUri"/>; every reconnect (after a drop, or a failed attempt) goes to the
    /// next endpoint in turn, after the usual jittered back-off, and resumes from the local cursor. Default: none.
    /// </summary>
    public IReadOnlyList<Uri> AlternateServerUris { get; init; } = [];

    /// <summary>The token issued by the admin API for this user and device. Sent only in Hello, never in the URL.</summary>
    public required string Token { get; init; }

    /// <summary>Stable id of this device or installation (1..64 chars); must match the token's device.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The platform reported in Hello. Default <see cref="Platform.Unspecified"/>.</summary>
    public Platform Platform { get; init; } = Platform.Unspecified;

    /// <summary>Free-form client identification sent in Hello. Default <c>parley-dotnet/{assembly version}</c>.</summary>
    public string ClientVersion { get; init; } = "parley-dotnet/" + typeof(ParleyClientOptions).Assembly.GetName().Version;

    /// <summary>Where the resume cursor and per-conversation max seqs live. Default: a new <see cref="InMemoryParleyClientState"/>.</summary>
    public IParleyClientState LocalState { get; init; } = new InMemoryParleyClientState();

    /// <summary>
    /// How long a request waits for its result (and for a connection to be ready). Default 10 s. A request answered
    /// <c>RATE_LIMITED</c> is asked again after the server's retry-after while that fits in this time; otherwise the
    /// <see cref="ParleyException"/> (with <see cref="ParleyException.RetryAfter"/>) is thrown.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a send keeps being retried (across reconnects) before it fails with <see cref="TimeoutException"/>. Default 60 s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Timeout of the WebSocket connect plus the Hello exchange. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Ping interval. The shorter of this and the server's <c>HelloOk.heartbeat_interval_ms</c> is used; when no frame at all
    /// arrives for twice that interval the connection is considered dead and is re-established. Default 20 s.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Re-establish the session after a non-terminal disconnect. Default true.</summary>
    public bool AutoReconnect { get; init; } = true;

    /// <summary>Upper bound of the first reconnect delay (full jitter: the delay is uniform in [0, bound]). Default 200 ms.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the exponentially growing reconnect delay bound. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Clock used for timeouts, heartbeats and backoff. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The server's HTTP base for media uploads and downloads, e.g. <c>https://chat.example.com</c>. Default: derived from
    /// <see cref="ServerUri"/> (<c>ws</c> → <c>http</c>, <c>wss</c> → <c>https</c>, same host and port, no path).
    /// </summary>
    public Uri? HttpBaseUri { get; init; }

    /// <summary>Optional handler for the media HTTP client (proxy, certificates, or a test's fault injector).</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>How many times one part or download range is retried after a network failure before giving up. Default 5.</summary>
    public int MediaRetries { get; init; } = 5;

    /// <summary>Optional hook to adjust each <see cref="ClientWebSocket"/> (proxy, certificates, headers) before it connects.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(ServerUri);
        if (ServerUri.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException("ServerUri must be a ws:// or wss:// URI.", nameof(ServerUri));
        }

        ArgumentNullException.ThrowIfNull(AlternateServerUris);
        foreach (var uri in AlternateServerUris)
        {
            if (uri is null || uri.Scheme is not ("ws" or "wss"))
            {
                throw new ArgumentException("Every AlternateServerUris entry must be a ws:// or wss:// URI.", nameof(AlternateServerUris));
            }
        }

        ArgumentException.ThrowIfNullOrEmpty(Token);
        ArgumentException.ThrowIfNullOrEmpty(DeviceId);
        ArgumentNullException.ThrowIfNull(LocalState);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ThrowIfNotPositive(RequestTimeout, nameof(RequestTimeout));
        ThrowIfNotPositive(SendTimeout, nameof(SendTimeout));
        ThrowIfNotPositive(ConnectTimeout, nameof(ConnectTimeout));
        ThrowIfNotPositive(HeartbeatInterval, nameof(HeartbeatInterval));
        ThrowIfNotPositive(ReconnectInitialDelay, nameof(ReconnectInitialDelay));
        if (ReconnectMaxDelay < ReconnectInitialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectMaxDelay), "ReconnectMaxDelay must be >= ReconnectInitialDelay.");
        }
    }

    private static void ThrowIfNotPositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
