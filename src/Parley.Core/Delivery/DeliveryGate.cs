namespace Parley.Core.Delivery;

/// <summary>
/// A cluster node's release gate for versioned live events (ADR 0016). Feed versions are global and committed in order,
/// but their events reach a node from several nodes (this one's dispatch loop and one ordered stream per peer), so they
/// can arrive out of version order. The gate hands them to the node's connections strictly in version order: an event
/// whose lower versions have not all been handed out yet is held until they have. So every connection receives its
/// events in version order (a client's resume cursor, the highest version it processed, is exact; a conversation's seqs
/// arrive ascending), whichever node committed them and whichever order they came in.
/// <para>
/// Every version must be released exactly once by whoever learns of it (with its hand-out, or with none for a version
/// that carries no event). A gap that stays open (its node died before forwarding it, or a forward was dropped) is
/// reported by <see cref="OverdueGap(long, long)"/>; the caller makes every connection that might have missed it resync from the
/// store, then calls <see cref="Skip"/>, which releases what was held above it.
/// </para>
/// Thread-safe; hand-outs run under the gate's lock, in version order, and must not block.
/// </summary>
public sealed class DeliveryGate
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, Action?> _held = [];
    private long _through;
    private long _movedAt;
    private long _tailTarget; // the store's committed version when a lag behind it was first seen (0: none)
    private long _tailSince;

    /// <param name="through">Every version up to this one needs no live delivery (e.g. the store's version at start).</param>
    /// <param name="nowMs">A monotonic clock in milliseconds (gap ages).</param>
    public DeliveryGate(long through, long nowMs)
    {
        _through = through;
        _movedAt = nowMs;
    }

    /// <summary>Every version up to this one has been handed out (or skipped).</summary>
    public long Through
    {
        get
        {
            lock (_lock)
            {
                return _through;
            }
        }
    }

    /// <summary>How many versions are held above a gap.</summary>
    public int Held
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>
    /// The resume cursor an answer about <paramref name="version"/> (a send's ack, which travels outside the gate) may
    /// give its client: the version when every lower one has been handed out, else the highest that has.
    /// </summary>
    public long CursorFor(long version)
    {
        lock (_lock)
        {
            return version <= _through + 1 ? version : _through;
        }
    }

    /// <summary>
    /// Releases <paramref name="version"/>: runs <paramref name="handOut"/> (null: the version has no event here) now if
    /// every lower version was released, else holds it until they are. A version at or below <see cref="Through"/>
    /// (late, after a skip) is handed out at once. Releasing a held version again adds nothing.
    /// </summary>
    public void Release(long version, Action? handOut, long nowMs)
    {
        lock (_lock)
        {
            if (version <= _through)
            {
                handOut?.Invoke();
                return;
            }

            if (version > _through + 1)
            {
                if (_held.Count == 0)
                {
                    _movedAt = nowMs; // a gap opens now
                }

                _held[version] = _held.TryGetValue(version, out var existing) ? existing + handOut : handOut;

                return;
            }

            handOut?.Invoke();
            _through = version;
            Drain(nowMs);
        }
    }

    /// <summary>
    /// The open gap [From, To] (versions below a held one, never released) once the gate has not moved for
    /// <paramref name="timeoutMs"/>; null when there is none or it is younger.
    /// </summary>
    public (long From, long To)? OverdueGap(long nowMs, long timeoutMs) => OverdueGap(nowMs, timeoutMs, timeoutMs, null);

    /// <summary>
    /// As <see cref="OverdueGap(long, long)"/>, but a gap that may still fill is waited for longer: while
    /// <paramref name="mayStillArrive"/> says a version up to the gap's end may still be on its way (a live peer has not
    /// yet forwarded past it, see <see cref="PeerProgress"/>), the gap is overdue only once the gate has not moved for
    /// <paramref name="maxWaitMs"/>. Late is not lost: an overloaded peer's forwards can take longer than the timeout, and
    /// closing such a gap would resync every connection whose user changed since (ADR 0016).
    /// </summary>
    public (long From, long To)? OverdueGap(long nowMs, long timeoutMs, long maxWaitMs, Func<long, bool>? mayStillArrive)
    {
        (long From, long To) gap;
        long stuck;
        lock (_lock)
        {
            stuck = nowMs - _movedAt;
            if (_held.Count == 0 || stuck < timeoutMs)
            {
                return null;
            }

            gap = (_through + 1, _held.Keys.First() - 1);
        }

        // Outside the lock: the question reads other state (what the peers reported, membership).
        return stuck < maxWaitMs && mayStillArrive?.Invoke(gap.To) == true ? null : gap;
    }

    /// <summary>
    /// The tail gap (ADR 0016): versions the store has committed that never reached this gate while it holds nothing,
    /// so no later version arrives to reveal them (the node that committed a burst's last versions died before
    /// forwarding them, or their forward was dropped). <paramref name="committed"/> is the store's committed high-water
    /// mark, read just before <paramref name="nowMs"/>. The first time the gate is seen behind it, that mark and the time
    /// are remembered; once <paramref name="timeoutMs"/> has passed and the gate is still below the remembered mark (and
    /// holds nothing: an ordinary gap is <see cref="OverdueGap(long, long)"/>'s), returns [Through + 1, mark]: every version in it
    /// was committed at least the timeout ago and not released here. Null otherwise. The caller resyncs and
    /// <see cref="Skip"/>s it exactly as an ordinary gap.
    /// </summary>
    public (long From, long To)? OverdueTail(long committed, long nowMs, long timeoutMs) => OverdueTail(committed, nowMs, timeoutMs, timeoutMs, null);

    /// <summary>
    /// As <see cref="OverdueTail(long, long, long)"/>, but while <paramref name="mayStillArrive"/> says a version up to the
    /// tail's end may still be on its way, the tail is overdue only <paramref name="maxWaitMs"/> after it was first seen
    /// (see <see cref="OverdueGap(long, long, long, Func{long, bool})"/>).
    /// </summary>
    public (long From, long To)? OverdueTail(long committed, long nowMs, long timeoutMs, long maxWaitMs, Func<long, bool>? mayStillArrive)
    {
        (long From, long To) tail;
        long waited;
        lock (_lock)
        {
            if (committed <= _through)
            {
                _tailTarget = 0;
                return null;
            }

            if (_tailTarget <= _through)
            {
                // Caught up with the last mark (or none yet): the lag behind this one starts now.
                _tailTarget = committed;
                _tailSince = nowMs;
                return null;
            }

            waited = nowMs - _tailSince;
            if (_held.Count > 0 || waited < timeoutMs)
            {
                return null;
            }

            tail = (_through + 1, _tailTarget);
        }

        return waited < maxWaitMs && mayStillArrive?.Invoke(tail.To) == true ? null : tail;
    }

    /// <summary>
    /// Gives up on every version up to <paramref name="through"/> that was not released (the caller made the connections
    /// that might have missed them resync) and hands out what was held above them, in order.
    /// </summary>
    public void Skip(long through, long nowMs)
    {
        lock (_lock)
        {
            if (through <= _through)
            {
                return;
            }

            while (_held.Count > 0 && _held.Keys.First() is var first && first <= through)
            {
                var handOut = _held[first];
                _held.Remove(first);
                handOut?.Invoke();
            }

            _through = through;
            Drain(nowMs);
        }
    }

    private void Drain(long nowMs)
    {
        while (_held.Count > 0 && _held.Keys.First() is var next && next == _through + 1)
        {
            var handOut = _held[next];
            _held.Remove(next);
            handOut?.Invoke();
            _through = next;
        }

        _movedAt = nowMs;
    }
}
