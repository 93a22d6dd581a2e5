namespace Parley.Gateway.Connections;

/// <summary>
/// How often a request failure of one exception type is written to the log in full (with its stack trace): the first
/// one, then at most one per <c>window</c>; the ones in between are only counted, and the next full entry says how many
/// were left out. An overloaded node whose every send times out would otherwise log a stack trace per request (the
/// stop-31 soak wrote 540 MB in 8 minutes), adding disk and CPU load to a server that is already behind. The failures
/// themselves are all counted in <c>parley_gateway_request_failures_total</c>.
/// </summary>
internal sealed class FailureLogBudget(TimeProvider time, TimeSpan window)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Type, (long Since, int Skipped)> _byType = [];

    /// <summary>
    /// True when a failure of <paramref name="type"/> is to be logged in full now; <paramref name="skipped"/> is then how
    /// many of that type were counted without an entry since the last full one. False: counted, not to be logged.
    /// </summary>
    public bool TryLog(Type type, out int skipped)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            if (_byType.TryGetValue(type, out var entry) && time.GetElapsedTime(entry.Since, now) < window)
            {
                _byType[type] = (entry.Since, entry.Skipped + 1);
                skipped = 0;
                return false;
            }

            skipped = entry.Skipped;
            _byType[type] = (now, 0);
            return true;
        }
    }
}
