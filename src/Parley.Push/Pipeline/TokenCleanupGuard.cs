using Parley.Abstractions.Push;

namespace Parley.Push.Pipeline;

/// <summary>
/// Decides when an allow-listed "invalid token" answer may delete a token. A misconfigured app (wrong bundle id, wrong
/// project, revoked key) makes every token look invalid; deleting them all would unregister every user. So candidates
/// per (vendor, app) are held until an accepted push from the same (vendor, app) proves the credentials work; a run of
/// <see cref="PushOptions.InvalidTokenAlarmThreshold"/> invalid answers without one raises a config alarm, drops the
/// candidates and ignores further invalid answers until an accepted push ends the alarm (nothing deleted).
/// </summary>
internal sealed class TokenCleanupGuard
{
    private readonly int _threshold;
    private readonly Dictionary<(PushVendor, string App), List<Candidate>> _candidates = [];
    private readonly HashSet<(PushVendor, string App)> _alarmed = [];
    private readonly Lock _lock = new();

    public TokenCleanupGuard(PushOptions options) => _threshold = options.InvalidTokenAlarmThreshold;

    public sealed record Candidate(string UserId, string DeviceId, string Token, string Reason);

    /// <summary>Adds a candidate; returns true when this completes a run that must raise a config alarm.</summary>
    public bool AddCandidate(PushVendor vendor, string app, Candidate candidate)
    {
        lock (_lock)
        {
            // While alarmed, invalid answers are presumed to be the misconfiguration, not dead tokens.
            if (_alarmed.Contains((vendor, app)))
            {
                return false;
            }

            if (!_candidates.TryGetValue((vendor, app), out var list))
            {
                _candidates[(vendor, app)] = list = [];
            }

            list.Add(candidate);
            if (list.Count >= _threshold)
            {
                _candidates.Remove((vendor, app));
                _alarmed.Add((vendor, app));
                return true;
            }

            return false;
        }
    }

    /// <summary>An accepted push proves the app's credentials: returns the held candidates, now safe to delete.</summary>
    public IReadOnlyList<Candidate> Confirm(PushVendor vendor, string app)
    {
        lock (_lock)
        {
            if (_alarmed.Remove((vendor, app)))
            {
                return [];
            }

            if (_candidates.Remove((vendor, app), out var list))
            {
                return list;
            }

            return [];
        }
    }
}
