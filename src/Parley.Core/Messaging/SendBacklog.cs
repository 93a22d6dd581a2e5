using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Core.Messaging;

/// <summary>
/// This node's bound on outstanding send work (ADR 0031): every send counts from its admission until the grain's answer
/// (a one-way send: the grain's answer reaches the gateway's table, not the table's timeout; a request/response send: the
/// call's result). Past <see cref="MessagingOptions.MaxOutstandingSends"/> a new send is refused at once, before any work,
/// with <see cref="Busy"/> (Unavailable with a retry-after: the SDK waits and re-sends under the same client message id,
/// which the grain deduplicates), so a node that is behind holds at most the bound's work in memory, never an unbounded
/// backlog. Nothing is logged per send: one warning per 10 s at most while sends are refused.
/// </summary>
public sealed partial class SendBacklog
{
    /// <summary>The refusal's message (the edges recognise a busy refusal by it to add the retry-after).</summary>
    public const string BusyMessage = "The server is busy: nothing was done; retry after the retry-after.";

    private static readonly KeyValuePair<string, object?> NodeScope = new("scope", "node");
    private static readonly KeyValuePair<string, object?> ConnectionScope = new("scope", "connection");

    private readonly int _limit;
    private readonly int _retryAfterMs;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<SendBacklog> _logger;
    private int _outstanding;
    private long _refused;
    private long _refusedLogged;
    private long _nextLog;

    public SendBacklog(IOptions<MessagingOptions> options, ParleyMetrics metrics, ILogger<SendBacklog> logger)
    {
        _limit = options.Value.MaxOutstandingSends;
        _retryAfterMs = (int)Math.Clamp(options.Value.BusyRetryAfter.TotalMilliseconds, 1, int.MaxValue);
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveOutstandingSends(() => Volatile.Read(ref _outstanding));
    }

    /// <summary>Send work admitted and not yet answered by its grain, on this node.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>The node-wide bound (0: none).</summary>
    public int Limit => _limit;

    /// <summary>Sends refused as busy since the start (tests, diagnostics).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The refusal of a send past the bound: Unavailable ("retry"); nothing was done.</summary>
    public static CoreFailure Busy => new(CoreError.Unavailable, BusyMessage);

    /// <summary>Whether <paramref name="failure"/> is <see cref="Busy"/> (its wire answer carries <see cref="RetryAfterMs"/>).</summary>
    public static bool IsBusy(CoreFailure failure) => failure.Error == CoreError.Unavailable && ReferenceEquals(failure.Message, BusyMessage);

    /// <summary>
    /// The retry-after of a busy refusal: <see cref="MessagingOptions.BusyRetryAfter"/> with ±50 % jitter, so refused
    /// clients do not come back in one wave.
    /// </summary>
    public uint RetryAfterMs() => (uint)Math.Max(1, Random.Shared.Next(_retryAfterMs / 2, _retryAfterMs + (_retryAfterMs / 2) + 1));

    /// <summary>Admits one send's work, or refuses it (counted, false) when the node is at its bound.</summary>
    public bool TryEnter()
    {
        var now = Interlocked.Increment(ref _outstanding);
        if (_limit > 0 && now > _limit)
        {
            Interlocked.Decrement(ref _outstanding);
            Refuse(NodeScope);
            return false;
        }

        return true;
    }

    /// <summary>Counts a refusal by a connection's own bound (the caller did not enter).</summary>
    public void RefuseForConnection() => Refuse(ConnectionScope);

    /// <summary>The grain answered a send admitted by <see cref="TryEnter"/> (exactly once per admission).</summary>
    public void Exit() => Interlocked.Decrement(ref _outstanding);

    private void Refuse(KeyValuePair<string, object?> scope)
    {
        var refused = Interlocked.Increment(ref _refused);
        _metrics.SendsBusy.Add(1, scope);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextLog);
        if (now >= next && Interlocked.CompareExchange(ref _nextLog, now + 10_000, next) == next)
        {
            var since = refused - Interlocked.Exchange(ref _refusedLogged, refused);
            LogBusy(_logger, since, Outstanding, _limit);
        }
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Sends refused as busy (ADR 0031): {Refused} since the last such warning; outstanding send work {Outstanding}, bound {Limit}")]
    private static partial void LogBusy(ILogger logger, long refused, int outstanding, int limit);
}
