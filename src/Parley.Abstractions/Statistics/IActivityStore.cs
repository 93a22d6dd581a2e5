namespace Parley.Abstractions.Statistics;

/// <summary>What a daily activity row counts. Values are stored; never renumber.</summary>
public enum ActivityKind
{
    /// <summary>User messages a user sent in 1:1 conversations (subject: the sender).</summary>
    DirectSender = 0,

    /// <summary>User messages a user sent in groups (subject: the sender).</summary>
    GroupSender = 1,

    /// <summary>User messages sent in a group (subject: the group id).</summary>
    Group = 2,
}

/// <param name="Day">UTC day, as days since 1970-01-01.</param>
public readonly record struct ActivityCount(int Day, ActivityKind Kind, string SubjectId, long Count);

/// <summary>A range's totals: messages, distinct subjects, one page of subjects by count, and messages per day.</summary>
public sealed record ActivityTotals(long Messages, long Subjects, IReadOnlyList<ActivityCount> Page, IReadOnlyDictionary<int, long> PerDay);

/// <summary>
/// Per-day message counts per sender and per group (OpenIM's <c>/statistics/user/active</c> and
/// <c>/statistics/group/active</c>). Counts are added in bulk (a node coalesces them in memory first).
/// </summary>
public interface IActivityStore
{
    /// <summary>Adds the counts (a row per day, kind and subject; an existing row is increased). One transaction.</summary>
    Task AddAsync(IReadOnlyCollection<ActivityCount> counts, CancellationToken cancellationToken = default);

    /// <summary>
    /// The counts of <paramref name="kinds"/> on days <paramref name="fromDay"/> (inclusive) to <paramref name="toDay"/>
    /// (exclusive): total messages, distinct subjects, the page of subjects ordered by their count (descending unless
    /// <paramref name="ascending"/>, then by id; the page's <see cref="ActivityCount.Day"/> is 0 and Kind the first kind),
    /// and messages per day.
    /// </summary>
    Task<ActivityTotals> QueryAsync(int fromDay, int toDay, IReadOnlyList<ActivityKind> kinds, bool ascending, int offset, int limit, CancellationToken cancellationToken = default);
}
