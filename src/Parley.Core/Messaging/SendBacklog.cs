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
/// <para>
/// And a bound in time (ADR 0035): a one-way send's admission is stamped in a ring of <see cref="BucketMs"/>-ms buckets
/// (<see cref="TryEnter(out long)"/>, released by <see cref="Exit(long)"/>), and while at least <see cref="AgeTolerance"/>
/// of the sends admitted within <see cref="MessagingOptions.AckTimeout"/> are older than
/// <see cref="MessagingOptions.MaxOutstandingSendAge"/>, every new send is refused <see cref="Busy"/> too (scope "age"): a
/// starved node (a CPU or disk stall) then holds seconds of work, not its whole count bound for tens of seconds. The decision
/// is taken again at most once per bucket (the first admission in it sums the ring), so an admission costs one
/// compare-and-swap more. Sends older than the timeout were answered by it and do not count (a lost one-way message never
/// holds the node's admission), nor do request/response sends (a before-send hook's own latency is not the node's backlog).
/// </para>
/// <para>
/// With the bound in time, the count bound is derived from the drain rate (ADR 0035, stop 48): once a second (at an
/// admission) the sends answered in the last second, smoothed, times <see cref="MessagingOptions.MaxOutstandingSendAge"/>,
/// within <see cref="MessagingOptions.MinOutstandingSends"/> and <see cref="MessagingOptions.MaxOutstandingSends"/>. By
/// Little's law a node holding at most its drain rate × the age bound answers a newly admitted send within about the age
/// bound, so the acks' latency tracks the bound instead of the fixed count's drain time (stop 47: 20,000 sends were
/// 5.3 s of a 2×-overloaded core's work, ack p99 7.2 s). A node that keeps up drains what it is offered and holds far less
/// than this; the floor covers a burst after a quiet second (whose drain rate says nothing of the node's capacity), and
/// after more than 5 s without an admission the bound is the ceiling again until the next second's sample.
/// </para>
/// </summary>
public sealed partial class SendBacklog
{
    /// <summary>The refusal's message (the edges recognise a busy refusal by it to add the retry-after).</summary>
    public const string BusyMessage = "The server is busy: nothing was done; retry after the retry-after.";

    private static readonly KeyValuePair<string, object?> NodeScope = new("scope", "node");
    private static readonly KeyValuePair<string, object?> ConnectionScope = new("scope", "connection");
    private static readonly KeyValuePair<string, object?> AgeScope = new("scope", "age");

    /// <summary>The width of the admission-time buckets (ms): the time bound's resolution.</summary>
    public const int BucketMs = 50;

    /// <summary>How many sends must be older than the age bound before it refuses (a few lost or stuck ones never do).</summary>
    public const int AgeTolerance = 16;

    private const long Untimed = -1;

    private readonly int _limit;
    private readonly int _floor;
    private int _countLimit; // the count bound in effect: _limit, or derived from the drain rate (ADR 0035)
    private long _answered; // sends answered since the start (the drain rate's numerator)
    private long _rateAt; // TickCount64 of the drain rate's last sample (0: none yet)
    private long _rateAnswered;
    private double _drainRate; // sends answered per second, smoothed
    private int _rateMeasured; // 0: no sample since the start or the last quiet gap (the bound is the ceiling)
    private const long QuietGapMs = 5_000;
    private readonly int _retryAfterMs;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<SendBacklog> _logger;
    private int _outstanding;
    private long _refused;
    private long _refusedLogged;
    private long _nextLog;

    // The time bound (ADR 0035): per bucket of admission time, its bucket number (high 32 bits) and the one-way sends
    // admitted in it and not yet answered (low 32 bits); a slot is taken over by a later bucket's first admission.
    private readonly long[] _ring;
    private readonly int _ringMask;
    private readonly long _ageBuckets; // 0: no time bound
    private readonly long _windowBuckets;
    private long _decidedBucket = long.MinValue;
    private volatile bool _tooOld;
    private int _old;

    public SendBacklog(IOptions<MessagingOptions> options, ParleyMetrics metrics, ILogger<SendBacklog> logger)
    {
        _limit = options.Value.MaxOutstandingSends;
        _floor = Math.Min(Math.Max(1, options.Value.MinOutstandingSends), _limit);
        _countLimit = _limit;
        var maxAge = options.Value.MaxOutstandingSendAge;
        _ageBuckets = maxAge > TimeSpan.Zero ? Math.Max(1, (long)Math.Ceiling(maxAge.TotalMilliseconds / BucketMs)) : 0;
        _windowBuckets = Math.Max(_ageBuckets, (long)Math.Ceiling(options.Value.AckTimeout.TotalMilliseconds / BucketMs));
        _ring = new long[_ageBuckets > 0 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(_windowBuckets + 2)) : 1];
        _ringMask = _ring.Length - 1;
        _retryAfterMs = (int)Math.Clamp(options.Value.BusyRetryAfter.TotalMilliseconds, 1, int.MaxValue);
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveOutstandingSends(() => Volatile.Read(ref _outstanding), () => Volatile.Read(ref _countLimit));
    }

    /// <summary>Send work admitted and not yet answered by its grain, on this node.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>The node-wide bound's ceiling, <see cref="MessagingOptions.MaxOutstandingSends"/> (0: none).</summary>
    public int Limit => _limit;

    /// <summary>
    /// The count bound in effect: <see cref="Limit"/>, or with the age bound the drain rate × the age bound within
    /// <see cref="MessagingOptions.MinOutstandingSends"/> .. <see cref="Limit"/> (0: none).
    /// </summary>
    public int CurrentLimit => Volatile.Read(ref _countLimit);

    /// <summary>Sends answered per second, smoothed over the last seconds (0 without the age bound).</summary>
    public double DrainRate => Volatile.Read(ref _drainRate);

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

    /// <summary>The age bound (0: none).</summary>
    public TimeSpan MaxAge => TimeSpan.FromMilliseconds(_ageBuckets * BucketMs);

    /// <summary>
    /// One-way sends admitted within the timeout and older than the age bound, as of the last decision (tests, diagnostics;
    /// refreshed by an admission at most once per bucket, or by <see cref="RefreshAge"/>).
    /// </summary>
    public int OldSends => Volatile.Read(ref _old);

    /// <summary>Admits one send's work, or refuses it (counted, false) when the node is at its bound or its age bound.</summary>
    public bool TryEnter()
    {
        if (_ageBuckets > 0 && TooOld(Environment.TickCount64 / BucketMs))
        {
            Refuse(AgeScope);
            return false;
        }

        return TryEnterCount();
    }

    /// <summary>
    /// <see cref="TryEnter()"/> for a one-way send, whose admission time counts toward the age bound until
    /// <see cref="Exit(long)"/> with <paramref name="stamp"/>.
    /// </summary>
    public bool TryEnter(out long stamp)
    {
        stamp = Untimed;
        if (_ageBuckets == 0)
        {
            return TryEnterCount();
        }

        var bucket = Environment.TickCount64 / BucketMs;
        if (TooOld(bucket))
        {
            Refuse(AgeScope);
            return false;
        }

        if (!TryEnterCount())
        {
            return false;
        }

        ref var slot = ref _ring[bucket & _ringMask];
        while (true)
        {
            var value = Volatile.Read(ref slot);
            var epoch = (uint)(value >> 32);
            long next;
            if (epoch == (uint)bucket)
            {
                next = value + 1;
            }
            else if ((int)((uint)bucket - epoch) > 0)
            {
                next = ((long)(uint)bucket << 32) | 1; // the slot's earlier bucket is past the window: taken over
            }
            else
            {
                return true; // this thread was preempted past a whole ring: counted, not timed
            }

            if (Interlocked.CompareExchange(ref slot, next, value) == value)
            {
                stamp = bucket;
                return true;
            }
        }
    }

    /// <summary>The grain answered a one-way send admitted by <see cref="TryEnter(out long)"/> (exactly once per admission).</summary>
    public void Exit(long stamp)
    {
        if (stamp != Untimed)
        {
            ref var slot = ref _ring[stamp & _ringMask];
            while (true)
            {
                var value = Volatile.Read(ref slot);
                if ((uint)(value >> 32) != (uint)stamp || (uint)value == 0)
                {
                    break; // the slot was taken over by a later bucket: this send no longer counted for the age
                }

                if (Interlocked.CompareExchange(ref slot, value - 1, value) == value)
                {
                    break;
                }
            }
        }

        Exit();
    }

    /// <summary>Takes the age bound's decision again now (tests; admissions do it once per bucket).</summary>
    public bool RefreshAge()
    {
        if (_ageBuckets == 0)
        {
            return false;
        }

        var bucket = Environment.TickCount64 / BucketMs;
        Decide(bucket);
        return _tooOld;
    }

    private bool TooOld(long bucket)
    {
        if (Volatile.Read(ref _decidedBucket) != bucket)
        {
            Decide(bucket);
        }

        return _tooOld;
    }

    // Sums the one-way sends admitted within the timeout's window and before the age bound; the first admission of a
    // bucket does it (the others use its decision).
    private void Decide(long bucket)
    {
        var decided = Volatile.Read(ref _decidedBucket);
        if (decided == bucket || Interlocked.CompareExchange(ref _decidedBucket, bucket, decided) != decided)
        {
            return;
        }

        SampleDrain(bucket * BucketMs);
        var old = 0L;
        for (var b = bucket - _windowBuckets; b <= bucket - _ageBuckets; b++)
        {
            var value = Volatile.Read(ref _ring[b & _ringMask]);
            if ((uint)(value >> 32) == (uint)b)
            {
                old += (uint)value;
            }
        }

        Volatile.Write(ref _old, (int)Math.Min(old, int.MaxValue));
        _tooOld = old >= AgeTolerance;
    }

    // Once a second (the first decision of a bucket a second after the last sample; one thread at a time, Decide's CAS):
    // the sends answered since, per second, smoothed over about two seconds, times the age bound, within floor .. ceiling;
    // after more than 5 s without an admission, the ceiling again until the next sample.
    private void SampleDrain(long nowMs)
    {
        if (_limit <= 0)
        {
            return;
        }

        var answered = Interlocked.Read(ref _answered);
        if (_rateAt == 0)
        {
            (_rateAt, _rateAnswered) = (nowMs, answered);
            return;
        }

        var elapsed = nowMs - _rateAt;
        if (elapsed < 1_000)
        {
            return;
        }

        var rate = (answered - _rateAnswered) * 1_000.0 / elapsed;
        var first = _rateMeasured == 0;
        (_rateAt, _rateAnswered) = (nowMs, answered);
        if (elapsed > QuietGapMs)
        {
            // No admission for seconds: a quiet node, whose drain says nothing of its capacity. Unknown again: the ceiling
            // until the next second's sample (a benchmark's next step, a node's morning, are not refused at the floor).
            _rateMeasured = 0;
            Volatile.Write(ref _drainRate, 0);
            Volatile.Write(ref _countLimit, _limit);
            return;
        }

        _rateMeasured = 1;
        var smoothed = first ? rate : (_drainRate + rate) / 2;
        Volatile.Write(ref _drainRate, smoothed);
        var derived = smoothed * _ageBuckets * BucketMs / 1_000.0;
        Volatile.Write(ref _countLimit, (int)Math.Clamp(derived, _floor, _limit));
    }

    private bool TryEnterCount()
    {
        var now = Interlocked.Increment(ref _outstanding);
        var limit = Volatile.Read(ref _countLimit);
        if (limit > 0 && now > limit)
        {
            Interlocked.Decrement(ref _outstanding);
            Refuse(NodeScope);
            return false;
        }

        return true;
    }

    /// <summary>Counts a refusal by a connection's own bound (the caller did not enter).</summary>
    public void RefuseForConnection() => Refuse(ConnectionScope);

    /// <summary>The grain answered a send admitted by <see cref="TryEnter()"/> (exactly once per admission).</summary>
    public void Exit()
    {
        Interlocked.Decrement(ref _outstanding);
        if (_ageBuckets > 0)
        {
            Interlocked.Increment(ref _answered);
        }
    }

    private void Refuse(KeyValuePair<string, object?> scope)
    {
        var refused = Interlocked.Increment(ref _refused);
        _metrics.SendsBusy.Add(1, scope);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextLog);
        if (now >= next && Interlocked.CompareExchange(ref _nextLog, now + 10_000, next) == next)
        {
            var since = refused - Interlocked.Exchange(ref _refusedLogged, refused);
            if (ReferenceEquals(scope.Value, AgeScope.Value))
            {
                LogBusyAge(_logger, since, OldSends, MaxAge.TotalSeconds, Outstanding);
            }
            else
            {
                LogBusy(_logger, since, Outstanding, CurrentLimit);
            }
        }
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Sends refused as busy (ADR 0031): {Refused} since the last such warning; outstanding send work {Outstanding}, bound {Limit}")]
    private static partial void LogBusy(ILogger logger, long refused, int outstanding, int limit);

    [LoggerMessage(EventId = 2310, Level = LogLevel.Warning, Message = "Sends refused as busy (ADR 0035): {Refused} since the last such warning; {Old} outstanding sends older than the age bound of {MaxAgeSeconds} s; outstanding send work {Outstanding}")]
    private static partial void LogBusyAge(ILogger logger, long refused, int old, double maxAgeSeconds, int outstanding);
}
