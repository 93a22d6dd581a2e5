using Npgsql;
using Parley.Abstractions.Accounts;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>
/// <see cref="IAccountStore"/> on PostgreSQL: a view over the <see cref="PostgresDatabase"/>. Every write is one
/// statement (its own transaction); uniqueness of user and token ids is the primary keys'.
/// </summary>
public sealed partial class PostgresAccountStore : IAccountStore
{
    private const string UserColumns = "user_id, nickname, avatar_url, ex, created_at, updated_at";
    private const string TokenColumns = "token_id, user_id, device_id, platform, issued_at, expires_at, revoked_at";

    private readonly PostgresDatabase _database;

    public PostgresAccountStore(PostgresDatabase database)
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
        return await _database.ExecuteAsync(
            """
            INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (user_id) DO NOTHING;
            """,
            cancellationToken,
            P(user.UserId),
            P(user.Nickname),
            P(user.AvatarUrl),
            P(user.Ex),
            P(user.CreatedAt),
            P(user.UpdatedAt)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<bool> UpdateUserAsync(string userId, string? nickname, string? avatarUrl, string? ex, long updatedAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            """
            UPDATE users SET nickname = COALESCE($2, nickname), avatar_url = COALESCE($3, avatar_url), ex = COALESCE($4, ex), updated_at = $5
            WHERE user_id = $1;
            """,
            cancellationToken,
            P(userId),
            Text(nickname),
            Text(avatarUrl),
            Text(ex),
            P(updatedAt)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<UserRecord?> GetUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        var users = await _database.QueryAsync("SELECT " + UserColumns + " FROM users WHERE user_id = $1;", ReadUser, cancellationToken, P(userId)).ConfigureAwait(false);
        return users.Count == 0 ? null : users[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return [];
        }

        // One array parameter whatever the count.
        return await _database.QueryAsync("SELECT " + UserColumns + " FROM users WHERE user_id = ANY($1) ORDER BY user_id;", ReadUser, cancellationToken, P(userIds.ToArray()))
            .ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SaveTokenAsync(TokenRecord token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await _database.ExecuteAsync(
            """
            INSERT INTO tokens (token_id, user_id, device_id, platform, issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (token_id) DO UPDATE SET user_id = EXCLUDED.user_id, device_id = EXCLUDED.device_id, platform = EXCLUDED.platform,
                issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, revoked_at = EXCLUDED.revoked_at;
            """,
            cancellationToken,
            P(token.TokenId),
            P(token.UserId),
            P(token.DeviceId),
            P(token.Platform),
            P(token.IssuedAt),
            P(token.ExpiresAt),
            Bigint(token.RevokedAt)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<TokenRecord?> GetTokenAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        var tokens = await _database.QueryAsync("SELECT " + TokenColumns + " FROM tokens WHERE token_id = $1;", ReadToken, cancellationToken, P(tokenId)).ConfigureAwait(false);
        return tokens.Count == 0 ? null : tokens[0];
    }

    /// <inheritdoc />
    public async Task<bool> RevokeTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("UPDATE tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL;", cancellationToken, P(tokenId), P(revokedAt))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RevokeUserTokensAsync(string userId, string? deviceId, long revokedAt, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            """
            UPDATE tokens SET revoked_at = $3
            WHERE user_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR device_id = $2)
            RETURNING token_id;
            """,
            r => r.GetString(0),
            cancellationToken,
            P(userId),
            Text(deviceId),
            P(revokedAt)).ConfigureAwait(false);

    /// <inheritdoc />
    public Task<int> DeleteExpiredTokensAsync(long now, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync("DELETE FROM tokens WHERE expires_at < $1;", cancellationToken, P(now));

    private static UserRecord ReadUser(NpgsqlDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetInt64(5));

    private static TokenRecord ReadToken(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.IsDBNull(6) ? null : r.GetInt64(6));
}
