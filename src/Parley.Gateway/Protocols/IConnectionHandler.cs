using Parley.Core.Limits;

namespace Parley.Gateway.Protocols;

/// <summary>
/// The decoding half of a wire protocol for one connection: turns received frames into requests and answers them by
/// calling the core. The <see cref="Connections.ConnectionHost"/> owns the socket, the loop and every limit; the handler
/// never reads the socket and never counts.
/// </summary>
/// <typeparam name="TRequest">The protocol's decoded request.</typeparam>
internal interface IConnectionHandler<TRequest>
    where TRequest : class
{
    /// <summary>Largest frame this protocol accepts; larger ones close the connection with 1009.</summary>
    int MaxFrameBytes { get; }

    /// <summary>
    /// Runs once the connection is registered and its send loop started: the protocol's welcome and connect-time sync.
    /// Returns the feed version the sync is consistent with (live events up to it are dropped), 0 for none.
    /// </summary>
    Task<long> OpenAsync();

    /// <summary>Classifies one received frame. The span is only valid during the call.</summary>
    Decoded<TRequest> Decode(ReadOnlySpan<byte> frame, bool text);

    /// <summary>Answers one request on the connection's outbox. Exceptions are bugs: the host logs them and calls <see cref="FailedAsync"/>.</summary>
    /// <param name="request">The decoded request.</param>
    /// <param name="receivedAt">When its frame was read whole (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; a send's first hop).</param>
    ValueTask<RequestOutcome> HandleAsync(TRequest request, long receivedAt);

    /// <summary>What the request costs against the per-user and per-connection rate limits; null when it is not limited.</summary>
    RateLimitAction? Cost(TRequest request);

    /// <summary>
    /// Answers a request refused by a rate limit (or a typing request over the connection's typing window); it is not
    /// forwarded. <paramref name="retryAfter"/> is when the next attempt can succeed.
    /// </summary>
    Task RateLimitedAsync(TRequest request, TimeSpan retryAfter);

    /// <summary>Answers a request whose handling threw.</summary>
    Task FailedAsync(TRequest request);

    /// <summary>The last frame before the close for too many malformed frames.</summary>
    WireFrame? TooManyMalformed(string? error);

    /// <summary>A short name of the request for logs (never its content).</summary>
    string Describe(TRequest request);
}

/// <summary>What the host does with a received frame.</summary>
internal enum DecodeKind
{
    /// <summary>Dispatch <see cref="Decoded{TRequest}.Request"/> (within the in-flight limit).</summary>
    Request,

    /// <summary>A typing request: dispatched while the connection's typing window allows, else rate limited.</summary>
    Typing,

    /// <summary>Write <see cref="Decoded{TRequest}.Reply"/> at once (a pong, a refusal that needs no core call).</summary>
    Reply,

    /// <summary>Nothing to do (a pong from the client).</summary>
    Ignore,

    /// <summary>Counts against the malformed-frame budget; <see cref="Decoded{TRequest}.Reply"/> answers it.</summary>
    Malformed,

    /// <summary>Ends the connection with 4009 (optionally after <see cref="Decoded{TRequest}.Reply"/>).</summary>
    Violation,
}

/// <summary>A decoded frame.</summary>
internal readonly record struct Decoded<TRequest>(DecodeKind Kind, TRequest? Request, WireFrame? Reply, string? Error)
    where TRequest : class
{
    public static Decoded<TRequest> Dispatch(TRequest request) => new(DecodeKind.Request, request, null, null);

    public static Decoded<TRequest> Typing(TRequest request) => new(DecodeKind.Typing, request, null, null);

    public static Decoded<TRequest> Answer(WireFrame reply) => new(DecodeKind.Reply, null, reply, null);

    public static Decoded<TRequest> Ignore() => new(DecodeKind.Ignore, null, null, null);

    public static Decoded<TRequest> Malformed(WireFrame reply, string error) => new(DecodeKind.Malformed, null, reply, error);

    public static Decoded<TRequest> Violation(string reason, WireFrame? lastFrame = null) => new(DecodeKind.Violation, null, lastFrame, reason);
}

/// <summary>What the host does after a request: keep reading, or close the connection (a logout).</summary>
internal enum RequestOutcome
{
    Continue,
    Close,
}
