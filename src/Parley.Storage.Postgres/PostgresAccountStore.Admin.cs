using Npgsql;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres;

/// <summary>Admin data beside the accounts: operator tokens, the audit log, user and group search and the disabled mark.</summary>
public sealed partial class PostgresAccountStore : IOperatorStore, IAuditStore, IAdminQueryStore
{
    private const string OperatorColumns = "token_id, name, scopes, secret_hash, created_by, created_at, expires_at, revoked_at";
    private const string AuditColumns = "id, at, actor, actor_name, action, target, remote, status, detail";

    /// <inheritdoc />
    public async Task SaveOperatorTokenAsync(OperatorTokenRecord token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await _database.ExecuteAsync(
            """
            INSERT INTO operator_tokens (token_id, name, scopes, secret_hash, created_by, created_at, expires_at, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (token_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at;
            """,
            cancellationToken,
            P(token.TokenId),
            P(token.Name),
            P(token.Scopes.ToArray()),
            P(token.SecretHash),
            P(token.CreatedBy),
            P(token.CreatedAt),
            P(token.ExpiresAt),
            Bigint(token.RevokedAt)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<OperatorTokenRecord?> GetOperatorTokenAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync("SELECT " + OperatorColumns + " FROM operator_tokens WHERE token_id = $1;", ReadOperator, cancellationToken, P(tokenId))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OperatorTokenRecord>> ListOperatorTokensAsync(CancellationToken cancellationToken = default) =>
        await _database.QueryAsync("SELECT " + OperatorColumns + " FROM operator_tokens ORDER BY created_at DESC, token_id;", ReadOperator, cancellationToken)
            .ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> RevokeOperatorTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE operator_tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL;", cancellationToken, P(tokenId), P(revokedAt))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var ids = await _database.QueryAsync(
            """
            INSERT INTO audit_log (at, actor, actor_name, action, target, remote, status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING id;
            """,
            r => r.GetInt64(0),
            cancellationToken,
            P(entry.At),
            P(entry.Actor),
            P(entry.ActorName),
            P(entry.Action),
            P(entry.Target),
            P(entry.Remote),
            P(entry.Status),
            P(entry.Detail)).ConfigureAwait(false);
        return ids[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await _database.QueryAsync(
            "SELECT " + AuditColumns + """
             FROM audit_log
            WHERE ($1::text IS NULL OR actor = $1 OR actor_name = $1)
              AND ($2::text IS NULL OR action = $2 OR action LIKE $3 ESCAPE '\')
              AND ($4::text IS NULL OR strpos(target, $4) > 0)
              AND ($5::bigint IS NULL OR at >= $5)
              AND ($6::bigint IS NULL OR at < $6)
              AND ($7::bigint IS NULL OR id < $7)
            ORDER BY id DESC
            LIMIT $8;
            """,
            r => new AuditEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt32(7), r.GetString(8)),
            cancellationToken,
            Text(query.Actor),
            Text(query.Action),
            Text(query.Action is null ? null : EscapeLike(query.Action) + ".%"),
            Text(query.Target),
            Bigint(query.Since),
            Bigint(query.Until),
            Bigint(query.BeforeId),
            P((long)Math.Clamp(query.Limit, 1, 1000))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserSummary>> SearchUsersAsync(string? query, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + UserColumns + """
            , disabled_at FROM users
            WHERE ($1::text IS NULL OR strpos(lower(user_id), $1) > 0 OR strpos(lower(nickname), $1) > 0)
              AND ($2::text IS NULL OR user_id > $2)
            ORDER BY user_id
            LIMIT $3;
            """,
            ReadSummary,
            cancellationToken,
            Text(string.IsNullOrWhiteSpace(query) ? null : query.Trim().ToLowerInvariant()),
            Text(afterUserId),
            P((long)Math.Clamp(limit, 1, 1000))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<UserPage> PageUsersAsync(string? userIdPart, string? nicknamePart, int offset, int limit, CancellationToken cancellationToken = default)
    {
        const string Where = """
            WHERE NOT EXISTS (SELECT 1 FROM notification_accounts n WHERE n.user_id = users.user_id)
              AND (($1::text IS NULL AND $2::text IS NULL) OR strpos(lower(user_id), $1) > 0 OR strpos(lower(nickname), $2) > 0)
            """;
        var id = Text(string.IsNullOrEmpty(userIdPart) ? null : userIdPart.ToLowerInvariant());
        var nick = Text(string.IsNullOrEmpty(nicknamePart) ? null : nicknamePart.ToLowerInvariant());
        var total = await _database.QueryAsync("SELECT COUNT(*) FROM users " + Where + ";", r => r.GetInt64(0), cancellationToken, id, nick).ConfigureAwait(false);
        var users = await _database.QueryAsync(
            "SELECT " + UserColumns + " FROM users " + Where + " ORDER BY user_id LIMIT $3 OFFSET $4;",
            ReadUser,
            cancellationToken,
            Text(string.IsNullOrEmpty(userIdPart) ? null : userIdPart.ToLowerInvariant()),
            Text(string.IsNullOrEmpty(nicknamePart) ? null : nicknamePart.ToLowerInvariant()),
            P((long)Math.Clamp(limit, 1, 1000)),
            P((long)Math.Max(0, offset))).ConfigureAwait(false);
        return new UserPage(total[0], users);
    }

    /// <inheritdoc />
    public async Task<UserSummary?> GetUserSummaryAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync("SELECT " + UserColumns + ", disabled_at FROM users WHERE user_id = $1;", ReadSummary, cancellationToken, P(userId))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<bool> SetUserDisabledAsync(string userId, long? disabledAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("UPDATE users SET disabled_at = $2 WHERE user_id = $1;", cancellationToken, P(userId), Bigint(disabledAt))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<CreatedCounts> CountCreatedAsync(CreatedKind kind, long start, long end, CancellationToken cancellationToken = default)
    {
        var table = kind == CreatedKind.Groups ? "groups" : "users";
        var totals = await _database.QueryAsync(
            $"SELECT COUNT(*), COUNT(*) FILTER (WHERE created_at < $1) FROM {table};",
            r => (Total: r.GetInt64(0), Before: r.GetInt64(1)),
            cancellationToken,
            P(start)).ConfigureAwait(false);
        var days = await _database.QueryAsync(
            $"SELECT to_char(to_timestamp(created_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COUNT(*) FROM {table} WHERE created_at >= $1 AND created_at < $2 GROUP BY 1;",
            r => (Day: r.GetString(0), Count: r.GetInt64(1)),
            cancellationToken,
            P(start),
            P(end)).ConfigureAwait(false);
        return new CreatedCounts(totals[0].Total, totals[0].Before, days.ToDictionary(d => d.Day, d => d.Count, StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TokenRecord>> ListUserTokensAsync(string userId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            "SELECT " + TokenColumns + " FROM tokens WHERE user_id = $1 ORDER BY issued_at DESC LIMIT $2;",
            ReadToken,
            cancellationToken,
            P(userId),
            P((long)Math.Clamp(limit, 1, 1000))).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupSummary>> SearchAllGroupsAsync(string? query, string? afterGroupId, int limit, CancellationToken cancellationToken = default) =>
        await _database.QueryAsync(
            """
            SELECT g.group_id, g.conversation_id, g.name, g.owner_id,
                   (SELECT COUNT(*) FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) m WHERE k.conversation_id = g.conversation_id AND m.active)::integer,
                   g.dismissed, g.created_at
            FROM groups g
            WHERE ($1::text IS NULL OR strpos(lower(g.group_id), $1) > 0 OR strpos(lower(g.name), $1) > 0)
              AND ($2::text IS NULL OR g.group_id > $2)
            ORDER BY g.group_id
            LIMIT $3;
            """,
            r => new GroupSummary(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetBoolean(5), r.GetInt64(6)),
            cancellationToken,
            Text(string.IsNullOrWhiteSpace(query) ? null : query.Trim().ToLowerInvariant()),
            Text(afterGroupId),
            P((long)Math.Clamp(limit, 1, 1000))).ConfigureAwait(false);

    private static UserSummary ReadSummary(NpgsqlDataReader r) => new(ReadUser(r), r.IsDBNull(6) ? null : r.GetInt64(6));

    private static OperatorTokenRecord ReadOperator(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetFieldValue<string[]>(2), r.GetFieldValue<byte[]>(3), r.GetString(4), r.GetInt64(5), r.GetInt64(6), r.IsDBNull(7) ? null : r.GetInt64(7));
}
