using Parley.Abstractions.Accounts;

namespace Parley.Storage.Sqlite.Accounts;

/// <summary>User tags: a view over the file's <see cref="SqliteDatabase"/> (table <c>user_tags</c>, migration 25).</summary>
public sealed class SqliteUserTagStore(SqliteDatabase database) : IUserTagStore
{
    private readonly SqliteDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public Task SetAsync(string userId, IReadOnlyCollection<string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(tags);
        var json = Json(tags);
        return _database.WriteAsync(connection =>
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM user_tags WHERE user_id = $user;";
            delete.Parameters.AddWithValue("$user", userId);
            delete.ExecuteNonQuery();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT OR IGNORE INTO user_tags (tag, user_id) SELECT DISTINCT value, $user FROM json_each($tags);";
            insert.Parameters.AddWithValue("$user", userId);
            insert.Parameters.AddWithValue("$tags", json);
            return insert.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetAsync(string userId, CancellationToken cancellationToken = default) =>
        _database.QueryAsync(
            "SELECT tag FROM user_tags WHERE user_id = $user ORDER BY tag;",
            c => c.Parameters.AddWithValue("$user", userId),
            r => r.GetString(0),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListUsersAsync(IReadOnlyCollection<string> tags, bool matchAll, string? afterUserId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var distinct = tags.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0 || limit <= 0)
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        // (tag, user_id) is the key, so a user counts once per tag: "all" is a count of the tags matched.
        var sql = matchAll
            ? "SELECT user_id FROM user_tags WHERE tag IN (SELECT value FROM json_each($tags)) AND user_id > $after GROUP BY user_id HAVING COUNT(*) = $n ORDER BY user_id LIMIT $limit;"
            : "SELECT DISTINCT user_id FROM user_tags WHERE tag IN (SELECT value FROM json_each($tags)) AND user_id > $after ORDER BY user_id LIMIT $limit;";
        return _database.QueryAsync(
            sql,
            c =>
            {
                c.Parameters.AddWithValue("$tags", Json(distinct));
                c.Parameters.AddWithValue("$after", afterUserId ?? string.Empty);
                c.Parameters.AddWithValue("$n", distinct.Length);
                c.Parameters.AddWithValue("$limit", limit);
            },
            r => r.GetString(0),
            cancellationToken);
    }

    private static string Json(IReadOnlyCollection<string> tags) =>
        System.Text.Json.JsonSerializer.Serialize(tags.ToArray(), Internal.SqliteJsonContext.Default.StringArray);
}
