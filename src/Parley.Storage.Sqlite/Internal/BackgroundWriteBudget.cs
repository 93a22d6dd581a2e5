namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// How much of the writer's time background upkeep (the full-text index's merge steps, ADR 0019's stop 37 amendment)
/// may take while the server writes other things: a token bucket in <see cref="System.Diagnostics.Stopwatch"/> ticks.
/// The balance grows by <c>share</c> of the wall time that passes, up to <c>cap</c>; a step may start while it is
/// positive and is charged afterwards for the time it held the writer (its transaction and commit), so the balance may
/// go below zero by one step and over any stretch of time the steps hold the writer for at most <c>share</c> of it plus
/// the cap. While the writer is idle (no other write finished for <c>idleAfter</c>) steps are free and not charged:
/// nothing waits for the writer then, and every step still yields to writes that come (the writer runs a background
/// write only alone and only when nothing else is queued).
/// <para>
/// Optionally a second bound in units of work (stop 39: the merge's leaf pages), earned by the work that makes upkeep
/// necessary (rows indexed) and spent by the steps: while other writes come a step also needs the work it may do in the
/// balance, which holds at most <c>workCap</c> and starts full. Without it a time share is a fixed tax on the wall clock
/// whatever the load: at 300 messages a second the 1 % share was a tenth of the CPU of a message (ADR 0019, stop 39).
/// </para>
/// Used by the writer's caller only (one background loop), not thread-safe.
/// </summary>
internal sealed class BackgroundWriteBudget
{
    private readonly double _share;
    private readonly long _capTicks;
    private readonly long _idleTicks;
    private readonly double _workCap;
    private double _balance;
    private double _work;
    private long _accruedAt;

    /// <param name="share">Share of wall time, 0 &lt; share ≤ 1; 1 means no bound.</param>
    /// <param name="capTicks">Most time the balance may hold (the largest burst after a quiet stretch).</param>
    /// <param name="idleTicks">Time without another write after which the writer counts as idle.</param>
    /// <param name="now">The current timestamp: the balance starts full.</param>
    /// <param name="workCap">Most work the work balance may hold (it starts full); 0: no bound by work.</param>
    public BackgroundWriteBudget(double share, long capTicks, long idleTicks, long now, double workCap = 0)
    {
        if (!(share > 0 && share <= 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(share), share, "The share must be above 0 and at most 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(capTicks);
        ArgumentOutOfRangeException.ThrowIfNegative(idleTicks);
        if (!(workCap >= 0 && double.IsFinite(workCap)))
        {
            throw new ArgumentOutOfRangeException(nameof(workCap), workCap, "The work cap must be finite and not negative.");
        }

        _workCap = workCap;
        _work = workCap;
        _share = share;
        _capTicks = capTicks;
        _idleTicks = idleTicks;
        _balance = capTicks;
        _accruedAt = now;
    }

    /// <summary>The balance in ticks (negative while a step's time is being paid back).</summary>
    public double Balance => _balance;

    /// <summary>The work balance (0 without a bound by work).</summary>
    public double Work => _work;

    /// <summary>Adds work that steps may do (up to the cap); nothing without a bound by work.</summary>
    public void Earn(double work)
    {
        if (_workCap > 0 && work > 0)
        {
            _work = Math.Min(_workCap, _work + work);
        }
    }

    /// <summary>
    /// Whether a step that may do <paramref name="work"/> may start at <paramref name="now"/>, the last other write having
    /// finished at <paramref name="lastOtherWrite"/>.
    /// </summary>
    public bool MayRun(long now, long lastOtherWrite, double work = 0)
    {
        Accrue(now);
        if (IsIdle(now, lastOtherWrite))
        {
            return true;
        }

        return (_share >= 1.0 || _balance > 0) && (_workCap <= 0 || _work >= work);
    }

    /// <summary>
    /// Charges a step that held the writer for <paramref name="heldTicks"/> and did (at most) <paramref name="work"/>,
    /// unless the writer was idle.
    /// </summary>
    public void Charge(long heldTicks, long now, long lastOtherWrite, double work = 0)
    {
        Accrue(now);
        if (IsIdle(now, lastOtherWrite))
        {
            return;
        }

        if (_share < 1.0)
        {
            _balance -= Math.Max(0, heldTicks);
        }

        if (_workCap > 0)
        {
            _work = Math.Max(0, _work - Math.Max(0, work));
        }
    }

    /// <summary>Whether the writer counts as idle at <paramref name="now"/> (no other write since <c>idleAfter</c>).</summary>
    public bool IsIdle(long now, long lastOtherWrite) => now - lastOtherWrite >= _idleTicks;

    private void Accrue(long now)
    {
        if (now > _accruedAt)
        {
            _balance = Math.Min(_capTicks, _balance + ((now - _accruedAt) * _share));
        }

        _accruedAt = Math.Max(_accruedAt, now);
    }
}
