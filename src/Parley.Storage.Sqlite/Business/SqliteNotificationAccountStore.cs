using Microsoft.Data.Sqlite;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;

namespace Parley.Storage.Sqlite.Business;

/// <summary>Notification accounts: a view over the file's <see cref="SqliteDatabase"/> (table <c>notification_accounts</c>, migration 11, joined with <c>users</c>).</summary>
public sealed class SqliteNotificationAccountStore(SqliteDatabase database) : INotificationAccountStore
{
    private const string Select = """
        SELECT n.user_id, u.nickname, u.avatar_url, n.level, n.created_at, u.updated_at
        FROM notification_accounts n JOIN users u ON u.user_id = n.user_id
        """;

    private readonly SqliteDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public Task<bool> CreateAsync(UserRecord user, int level, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return _database.WriteAsync(connection =>
        {
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ($id, $nick, $face, $ex, $at, $updated)
                ON CONFLICT (user_id) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$id", user.UserId);
            insert.Parameters.AddWithValue("$nick", user.Nickname);
            insert.Parameters.AddWithValue("$face", user.AvatarUrl);
            insert.Parameters.AddWithValue("$ex", user.Ex);
            insert.Parameters.AddWithValue("$at", user.CreatedAt);
            insert.Parameters.AddWithValue("$updated", user.UpdatedAt);
            if (insert.ExecuteNonQuery() != 1)
            {
                return false;
            }

            using var mark = connection.CreateCommand();
            mark.CommandText = "INSERT INTO notification_accounts (user_id, level, created_at) VALUES ($id, $level, $at);";
            mark.Parameters.AddWithValue("$id", user.UserId);
            mark.Parameters.AddWithValue("$level", level);
            mark.Parameters.AddWithValue("$at", user.CreatedAt);
            mark.ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<NotificationAccount?> GetAsync(string userId, CancellationToken cancellationToken = default) =>
        (await GetManyAsync([userId], cancellationToken).ConfigureAwait(false)) is [var account] ? account : null;

    /// <inheritdoc />
    public async Task<IReadOnlyList<NotificationAccount>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return [];
        }

        return await QueryAsync(
            Select + " WHERE n.user_id IN (SELECT value FROM json_each($ids));",
            c => c.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(userIds.ToArray(), Internal.SqliteJsonContext.Default.StringArray)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<NotificationAccountPage> SearchAsync(string? keyword, int? level, int offset, int limit, CancellationToken cancellationToken = default)
    {
        const string Where = """
             WHERE ($kw IS NULL OR n.user_id LIKE $kw ESCAPE '\' OR u.nickname LIKE $kw ESCAPE '\')
               AND ($level IS NULL OR n.level = $level)
            """;
        void Bind(SqliteCommand c)
        {
            c.Parameters.AddWithValue("$kw", string.IsNullOrEmpty(keyword) ? DBNull.Value : "%" + EscapeLike(keyword) + "%");
            c.Parameters.AddWithValue("$level", level is { } l ? l : DBNull.Value);
            c.Parameters.AddWithValue("$offset", Math.Max(0, offset));
            c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
        }

        var page = await QueryAsync(Select + Where + " ORDER BY n.user_id LIMIT $limit OFFSET $offset;", Bind, cancellationToken).ConfigureAwait(false);
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM notification_accounts n JOIN users u ON u.user_id = n.user_id" + Where + ";";
            Bind(count);
            var total = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return new NotificationAccountPage(total, page);
        }
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private Task<IReadOnlyList<NotificationAccount>> QueryAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken) =>
        _database.QueryAsync(sql, bind, r => new NotificationAccount(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5)), cancellationToken);
}
