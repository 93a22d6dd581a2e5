namespace Parley.Core.Delivery;

/// <summary>
/// What each peer node of a cluster last said it has forwarded (ADR 0016, progress marks): "every version I committed
/// up to N is ahead of this mark in my stream to you". A node sends one to every peer once a second on its ordered
/// stream, so a receiver that holds a gap in its live versions can tell a version that is late (a live peer whose stream
/// is still flowing has not forwarded past the gap yet: the version may be in that stream) from one that is lost (every
/// peer has forwarded past it, or the peers that have not are dead or silent).
/// Thread-safe.
/// </summary>
public sealed class PeerProgress
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Mark> _marks = new(StringComparer.Ordinal);

    private readonly record struct Mark(string Silo, long Through, long AtMs);

    /// <summary>The number of peers heard from (diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _marks.Count;
            }
        }
    }

    /// <summary>
    /// Node <paramref name="nodeId"/> (on silo <paramref name="silo"/>) has forwarded every version it committed up to
    /// <paramref name="through"/>; heard at <paramref name="nowMs"/>. Marks only rise.
    /// </summary>
    public void Report(string nodeId, string silo, long through, long nowMs)
    {
        lock (_lock)
        {
            _marks[nodeId] = new Mark(silo, _marks.TryGetValue(nodeId, out var known) ? Math.Max(known.Through, through) : through, nowMs);
        }
    }

    /// <summary>Forgets the nodes on silos <paramref name="isDead"/> says are dead.</summary>
    public void Forget(Func<string, bool> isDead)
    {
        lock (_lock)
        {
            foreach (var id in _marks.Where(m => isDead(m.Value.Silo)).Select(m => m.Key).ToList())
            {
                _marks.Remove(id);
            }
        }
    }

    /// <summary>
    /// True when a peer may still forward a version up to <paramref name="version"/>: it has not said it forwarded
    /// that far, its silo is live (<paramref name="isLive"/>), and its last mark came within <paramref name="silenceMs"/>
    /// (its stream is flowing, however late). A peer never heard from is not counted (it has never forwarded anything
    /// here, so the gap is not its stream's lateness).
    /// </summary>
    public bool MayStillForward(long version, long nowMs, long silenceMs, Func<string, bool> isLive)
    {
        lock (_lock)
        {
            foreach (var mark in _marks.Values)
            {
                if (mark.Through < version && nowMs - mark.AtMs <= silenceMs && isLive(mark.Silo))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
