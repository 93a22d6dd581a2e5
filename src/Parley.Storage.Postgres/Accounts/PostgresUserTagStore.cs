using Parley.Abstractions.Accounts;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Accounts;

/// <summary>User tags on PostgreSQL (table <c>user_tags</c>, migration 22): the same shape and order as SQLite's.</summary>
public sealed class PostgresUserTagStore(PostgresDatabase database) : IUserTagStore
{
    private readonly PostgresDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public async Task SetAsync(string userId, IReadOnlyCollection<string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(tags);

        // One statement, so the replacement is atomic. Both parts see the same snapshot, so the delete keeps the tags that
        // stay (an insert of a row deleted in the same statement would conflict with it and be skipped).
        await _database.ExecuteAsync(
            """
            WITH gone AS (DELETE FROM user_tags WHERE user_id = $1 AND NOT (tag = ANY($2::text[])))
            INSERT INTO user_tags (tag, user_id) SELECT DISTINCT t, $1 FROM unnest($2::text[]) AS t
            ON CONFLICT DO NOTHING;
            """,
            cancellationToken,
            P(userId),
            P(tags.ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> GetAsync(string userId, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync("SELECT tag FROM user_tags WHERE user_id = $1 ORDER BY tag;", r => r.GetString(0), cancellationToken, P(userId)).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListUsersAsync(IReadOnlyCollection<string> tags, bool matchAll, string? afterUserId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var distinct = tags.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0 || limit <= 0)
        {
            return [];
        }

        // (tag, user_id) is the key, so a user counts once per tag: "all" is a count of the tags matched.
        return matchAll
            ? await _database.QueryAsync(
                "SELECT user_id FROM user_tags WHERE tag = ANY($1) AND user_id > $2 GROUP BY user_id HAVING count(*) = $3 ORDER BY user_id LIMIT $4;",
                r => r.GetString(0),
                cancellationToken,
                P(distinct),
                P(afterUserId ?? string.Empty),
                P((long)distinct.Length),
                P(limit)).ConfigureAwait(false)
            : await _database.QueryAsync(
                "SELECT DISTINCT user_id FROM user_tags WHERE tag = ANY($1) AND user_id > $2 ORDER BY user_id LIMIT $3;",
                r => r.GetString(0),
                cancellationToken,
                P(distinct),
                P(afterUserId ?? string.Empty),
                P(limit)).ConfigureAwait(false);
    }
}
