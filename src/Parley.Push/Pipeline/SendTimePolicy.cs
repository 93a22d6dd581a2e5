using System.Collections.Concurrent;
using Parley.Abstractions.Push;

namespace Parley.Push.Pipeline;

/// <summary>
/// When a content or marketing push may go: never inside the user's quiet hours (device time zone), and at the user's
/// learned best hour (the local hour with most clicks, once <see cref="PushOptions.SendTimeMinClicks"/> clicks are
/// known). IM and service pushes are never delayed. Learned hours are in memory (rebuilt from clicks after a restart).
/// </summary>
internal sealed class SendTimePolicy
{
    private readonly PushOptions _options;
    private readonly ConcurrentDictionary<string, int[]> _clickHours = new(StringComparer.Ordinal);

    public SendTimePolicy(PushOptions options) => _options = options;

    public static TimeZoneInfo ZoneOf(string timeZone)
    {
        if (!string.IsNullOrEmpty(timeZone) && TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var zone))
        {
            return zone;
        }

        return TimeZoneInfo.Utc;
    }

    /// <summary>Returns the earliest allowed send time (Unix ms) at or after <paramref name="now"/>, and why it moved.</summary>
    public long EarliestSend(PushCategory category, string userId, string timeZone, DateTimeOffset now, out string? reason)
    {
        reason = null;
        // IM and service pushes (an order update, a security notice) are never delayed: quiet hours and the learned send
        // time apply to followed content and marketing only.
        if (category is PushCategory.Im or PushCategory.Service)
        {
            return now.ToUnixTimeMilliseconds();
        }

        var zone = ZoneOf(timeZone);
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var candidate = local;

        if ((category is PushCategory.Marketing or PushCategory.FollowedContent) && LearnedHour(userId) is { } hour)
        {
            var at = new DateTimeOffset(local.Date.AddHours(hour), local.Offset);
            if (at < local)
            {
                at = at.AddDays(1);
            }

            // Within the current learned hour: send now.
            if (local.Hour != hour)
            {
                candidate = at;
                reason = "send_time";
            }
        }

        if (InQuietHours(TimeOnly.FromDateTime(candidate.DateTime)))
        {
            var end = new DateTimeOffset(candidate.Date.Add(_options.QuietHoursEnd.ToTimeSpan()), candidate.Offset);
            if (end <= candidate)
            {
                end = end.AddDays(1);
            }

            candidate = end;
            reason = "quiet_hours";
        }

        return candidate.ToUnixTimeMilliseconds();
    }

    public bool InQuietHours(TimeOnly t)
    {
        var start = _options.QuietHoursStart;
        var end = _options.QuietHoursEnd;
        if (start == end)
        {
            return false;
        }

        return start < end ? t >= start && t < end : t >= start || t < end;
    }

    public void RecordClick(string userId, string timeZone, DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, ZoneOf(timeZone));
        var hours = _clickHours.GetOrAdd(userId, _ => new int[24]);
        Interlocked.Increment(ref hours[local.Hour]);
    }

    public int? LearnedHour(string userId)
    {
        if (!_clickHours.TryGetValue(userId, out var hours))
        {
            return null;
        }

        var total = 0;
        var best = 0;
        for (var h = 0; h < 24; h++)
        {
            var c = Volatile.Read(ref hours[h]);
            total += c;
            if (c > hours[best])
            {
                best = h;
            }
        }

        return total >= _options.SendTimeMinClicks ? best : null;
    }
}
