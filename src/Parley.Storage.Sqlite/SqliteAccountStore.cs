using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Accounts;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>
/// <see cref="IAccountStore"/>: a view over the file's <see cref="SqliteDatabase"/>. Reads use pooled connections;
/// writes are single statements queued on the owner's writer.
/// </summary>
public sealed partial class SqliteAccountStore : IAccountStore
{
    private const string UserColumns = "user_id, nickname, avatar_url, ex, created_at, updated_at";
    private const string TokenColumns = "token_id, user_id, device_id, platform, issued_at, expires_at, revoked_at";
    private const string TokenByIdSql = "SELECT " + TokenColumns + " FROM tokens WHERE token_id = $id;";
    private const string UserByIdSql = "SELECT " + UserColumns + " FROM users WHERE user_id = $id;";
    private static readonly string[] UserByIdParameters = ["$id"];
    private static readonly string[] TokenByIdParameters = ["$id"];

    private readonly SqliteDatabase _database;

    public SqliteAccountStore(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<bool> CreateUserAsync(UserRecord user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var rows = await ExecuteAsync(
            """
            INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at)
            VALUES ($id, $nickname, $avatar, $ex, $created, $updated)
            ON CONFLICT (user_id) DO NOTHING;
            """,
            p =>
            {
                p.AddWithValue("$id", user.UserId);
                p.AddWithValue("$nickname", user.Nickname);
                p.AddWithValue("$avatar", user.AvatarUrl);
                p.AddWithValue("$ex", user.Ex);
                p.AddWithValue("$created", user.CreatedAt);
                p.AddWithValue("$updated", user.UpdatedAt);
            },
            cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<bool> UpdateUserAsync(string userId, string? nickname, string? avatarUrl, string? ex, long updatedAt, CancellationToken cancellationToken = default)
    {
        var rows = await ExecuteAsync(
            """
            UPDATE users SET nickname = COALESCE($nickname, nickname), avatar_url = COALESCE($avatar, avatar_url),
                             ex = COALESCE($ex, ex), updated_at = $updated
            WHERE user_id = $id;
            """,
            p =>
            {
                p.AddWithValue("$id", userId);
                p.AddWithValue("$nickname", (object?)nickname ?? DBNull.Value);
                p.AddWithValue("$avatar", (object?)avatarUrl ?? DBNull.Value);
                p.AddWithValue("$ex", (object?)ex ?? DBNull.Value);
                p.AddWithValue("$updated", updatedAt);
            },
            cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<UserRecord?> GetUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        // Prepared once per pooled connection (issue 17): a new 1:1 conversation reads its peer on activation.
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, UserByIdSql, UserByIdParameters);
            try
            {
                statement.Bind(0, userId);
                return statement.Read()
                    ? new UserRecord(statement.GetString(0), statement.GetString(1), statement.GetString(2), statement.GetString(3), statement.GetInt64(4), statement.GetInt64(5))
                    : null;
            }
            finally
            {
                statement.Reset();
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return [];
        }

        // One parameter whatever the count: the ids travel as a JSON array.
        return await QueryAsync(
            "SELECT " + UserColumns + " FROM users WHERE user_id IN (SELECT value FROM json_each($ids)) ORDER BY user_id;",
            p => p.AddWithValue("$ids", JsonSerializer.Serialize(userIds.ToArray(), SqliteJsonContext.Default.StringArray)),
            ReadUser,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SaveTokenAsync(TokenRecord token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await ExecuteAsync(
            """
            INSERT INTO tokens (token_id, user_id, device_id, platform, issued_at, expires_at, revoked_at)
            VALUES ($id, $user, $device, $platform, $issued, $expires, $revoked)
            ON CONFLICT (token_id) DO UPDATE SET
                user_id = excluded.user_id, device_id = excluded.device_id, platform = excluded.platform,
                issued_at = excluded.issued_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at;
            """,
            p =>
            {
                p.AddWithValue("$id", token.TokenId);
                p.AddWithValue("$user", token.UserId);
                p.AddWithValue("$device", token.DeviceId);
                p.AddWithValue("$platform", token.Platform);
                p.AddWithValue("$issued", token.IssuedAt);
                p.AddWithValue("$expires", token.ExpiresAt);
                p.AddWithValue("$revoked", (object?)token.RevokedAt ?? DBNull.Value);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<TokenRecord?> GetTokenAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        // On every connect (issue 17): a statement prepared once per pooled connection.
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, TokenByIdSql, TokenByIdParameters);
            try
            {
                statement.Bind(0, tokenId);
                return statement.Read()
                    ? new TokenRecord(statement.GetString(0), statement.GetString(1), statement.GetString(2), statement.GetInt32(3), statement.GetInt64(4), statement.GetInt64(5), statement.IsDBNull(6) ? null : statement.GetInt64(6))
                    : null;
            }
            finally
            {
                statement.Reset();
            }
        }
    }

    /// <inheritdoc />
    public async Task<bool> RevokeTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default)
    {
        var rows = await ExecuteAsync(
            "UPDATE tokens SET revoked_at = $at WHERE token_id = $id AND revoked_at IS NULL;",
            p =>
            {
                p.AddWithValue("$id", tokenId);
                p.AddWithValue("$at", revokedAt);
            },
            cancellationToken).ConfigureAwait(false);
        return rows == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RevokeUserTokensAsync(string userId, string? deviceId, long revokedAt, CancellationToken cancellationToken = default)
    {
        return await WriteQueryAsync(
            """
            UPDATE tokens SET revoked_at = $at
            WHERE user_id = $user AND revoked_at IS NULL AND ($device IS NULL OR device_id = $device)
            RETURNING token_id;
            """,
            p =>
            {
                p.AddWithValue("$user", userId);
                p.AddWithValue("$device", (object?)deviceId ?? DBNull.Value);
                p.AddWithValue("$at", revokedAt);
            },
            r => r.GetString(0),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<int> DeleteExpiredTokensAsync(long now, CancellationToken cancellationToken = default) =>
        ExecuteAsync("DELETE FROM tokens WHERE expires_at < $now;", p => p.AddWithValue("$now", now), cancellationToken);

    private static UserRecord ReadUser(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5));

    private static TokenRecord ReadToken(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.IsDBNull(6) ? null : r.GetInt64(6));

    private Task<int> ExecuteAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken) =>
        _database.ExecuteAsync(sql, bind, cancellationToken);

    // A statement that writes and returns rows (RETURNING): on the writer queue, like every write.
    private Task<List<T>> WriteQueryAsync<T>(string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, ct) => ReadAllAsync(connection, sql, bind, read, ct), cancellationToken);

    private async Task<List<T>> QueryAsync<T>(string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadAllAsync(connection, sql, bind, read, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<List<T>> ReadAllAsync<T>(SqliteConnection connection, string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command.Parameters);
        var results = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            results.Add(read(reader));
        }

        return results;
    }
}
