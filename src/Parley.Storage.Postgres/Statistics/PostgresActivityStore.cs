using Parley.Abstractions.Statistics;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Statistics;

/// <summary><see cref="IActivityStore"/> on PostgreSQL (table <c>daily_activity</c>), shared by every node of a cluster.</summary>
public sealed class PostgresActivityStore(PostgresDatabase database) : IActivityStore
{
    public async Task AddAsync(IReadOnlyCollection<ActivityCount> counts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0)
        {
            return;
        }

        // One statement; rows in a fixed order so two nodes adding at once never deadlock.
        var rows = counts.OrderBy(c => c.Day).ThenBy(c => (int)c.Kind).ThenBy(c => c.SubjectId, StringComparer.Ordinal).ToArray();
        await database.ExecuteAsync(
            """
            INSERT INTO daily_activity (day, kind, subject_id, count)
            SELECT * FROM unnest($1::integer[], $2::integer[], $3::text[], $4::bigint[])
            ON CONFLICT (day, kind, subject_id) DO UPDATE SET count = daily_activity.count + excluded.count;
            """,
            cancellationToken,
            P(rows.Select(c => c.Day).ToArray()),
            P(rows.Select(c => (int)c.Kind).ToArray()),
            P(rows.Select(c => c.SubjectId).ToArray()),
            P(rows.Select(c => c.Count).ToArray())).ConfigureAwait(false);
    }

    public async Task<ActivityTotals> QueryAsync(int fromDay, int toDay, IReadOnlyList<ActivityKind> kinds, bool ascending, int offset, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        var kindArray = kinds.Select(k => (int)k).ToArray();
        const string Where = "day >= $1 AND day < $2 AND kind = ANY($3)";
        var totals = await database.QueryAsync($"SELECT COALESCE(SUM(count), 0)::bigint, COUNT(DISTINCT subject_id) FROM daily_activity WHERE {Where};", r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken, P(fromDay), P(toDay), P(kindArray)).ConfigureAwait(false);
        var order = ascending ? "ASC" : "DESC";
        var page = await database.QueryAsync(
            $"SELECT subject_id, SUM(count)::bigint AS total FROM daily_activity WHERE {Where} GROUP BY subject_id ORDER BY total {order}, subject_id LIMIT $4 OFFSET $5;",
            r => new ActivityCount(0, kinds[0], r.GetString(0), r.GetInt64(1)),
            cancellationToken,
            P(fromDay),
            P(toDay),
            P(kindArray),
            P(limit),
            P(offset)).ConfigureAwait(false);
        var days = await database.QueryAsync($"SELECT day, SUM(count)::bigint FROM daily_activity WHERE {Where} GROUP BY day;", r => (Day: r.GetInt32(0), Count: r.GetInt64(1)), cancellationToken, P(fromDay), P(toDay), P(kindArray)).ConfigureAwait(false);
        return new ActivityTotals(totals[0].Item1, totals[0].Item2, page, days.ToDictionary(d => d.Day, d => d.Count));
    }
}
