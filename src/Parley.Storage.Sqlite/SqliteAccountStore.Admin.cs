using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Admin;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>Admin data in the accounts' file: operator tokens, the audit log, user search and the disabled mark.</summary>
public sealed partial class SqliteAccountStore : IOperatorStore, IAuditStore, IAdminQueryStore
{
    private const string OperatorColumns = "token_id, name, scopes, secret_hash, created_by, created_at, expires_at, revoked_at";
    private const string AuditColumns = "id, at, actor, actor_name, action, target, remote, status, detail";

    /// <inheritdoc />
    public async Task SaveOperatorTokenAsync(OperatorTokenRecord token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await ExecuteAsync(
            """
            INSERT INTO operator_tokens (token_id, name, scopes, secret_hash, created_by, created_at, expires_at, revoked_at)
            VALUES ($id, $name, $scopes, $hash, $by, $created, $expires, $revoked)
            ON CONFLICT (token_id) DO UPDATE SET revoked_at = excluded.revoked_at;
            """,
            p =>
            {
                p.AddWithValue("$id", token.TokenId);
                p.AddWithValue("$name", token.Name);
                p.AddWithValue("$scopes", JsonSerializer.Serialize(token.Scopes.ToArray(), SqliteJsonContext.Default.StringArray));
                p.AddWithValue("$hash", token.SecretHash);
                p.AddWithValue("$by", token.CreatedBy);
                p.AddWithValue("$created", token.CreatedAt);
                p.AddWithValue("$expires", token.ExpiresAt);
                p.AddWithValue("$revoked", (object?)token.RevokedAt ?? DBNull.Value);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<OperatorTokenRecord?> GetOperatorTokenAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync("SELECT " + OperatorColumns + " FROM operator_tokens WHERE token_id = $id;", p => p.AddWithValue("$id", tokenId), ReadOperator, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OperatorTokenRecord>> ListOperatorTokensAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT " + OperatorColumns + " FROM operator_tokens ORDER BY created_at DESC, token_id;", _ => { }, ReadOperator, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<bool> RevokeOperatorTokenAsync(string tokenId, long revokedAt, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE operator_tokens SET revoked_at = $at WHERE token_id = $id AND revoked_at IS NULL;",
            p =>
            {
                p.AddWithValue("$id", tokenId);
                p.AddWithValue("$at", revokedAt);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var ids = await WriteQueryAsync(
            """
            INSERT INTO audit_log (at, actor, actor_name, action, target, remote, status, detail)
            VALUES ($at, $actor, $name, $action, $target, $remote, $status, $detail)
            RETURNING id;
            """,
            p =>
            {
                p.AddWithValue("$at", entry.At);
                p.AddWithValue("$actor", entry.Actor);
                p.AddWithValue("$name", entry.ActorName);
                p.AddWithValue("$action", entry.Action);
                p.AddWithValue("$target", entry.Target);
                p.AddWithValue("$remote", entry.Remote);
                p.AddWithValue("$status", entry.Status);
                p.AddWithValue("$detail", entry.Detail);
            },
            r => r.GetInt64(0),
            cancellationToken).ConfigureAwait(false);
        return ids[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await QueryAsync(
            "SELECT " + AuditColumns + """
             FROM audit_log
            WHERE ($actor IS NULL OR actor = $actor OR actor_name = $actor)
              AND ($action IS NULL OR action = $action OR action LIKE $actionPrefix ESCAPE '\')
              AND ($target IS NULL OR instr(target, $target) > 0)
              AND ($since IS NULL OR at >= $since)
              AND ($until IS NULL OR at < $until)
              AND ($before IS NULL OR id < $before)
            ORDER BY id DESC
            LIMIT $limit;
            """,
            p =>
            {
                p.AddWithValue("$actor", (object?)query.Actor ?? DBNull.Value);
                p.AddWithValue("$action", (object?)query.Action ?? DBNull.Value);
                p.AddWithValue("$actionPrefix", query.Action is null ? DBNull.Value : EscapeLike(query.Action) + ".%");
                p.AddWithValue("$target", (object?)query.Target ?? DBNull.Value);
                p.AddWithValue("$since", (object?)query.Since ?? DBNull.Value);
                p.AddWithValue("$until", (object?)query.Until ?? DBNull.Value);
                p.AddWithValue("$before", (object?)query.BeforeId ?? DBNull.Value);
                p.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 1000));
            },
            r => new AuditEntry(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt32(7), r.GetString(8)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserSummary>> SearchUsersAsync(string? query, string? afterUserId, int limit, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            "SELECT " + UserColumns + """
            , disabled_at FROM users
            WHERE ($q IS NULL OR instr(lower(user_id), $q) > 0 OR instr(lower(nickname), $q) > 0)
              AND ($after IS NULL OR user_id > $after)
            ORDER BY user_id
            LIMIT $limit;
            """,
            p =>
            {
                p.AddWithValue("$q", string.IsNullOrWhiteSpace(query) ? DBNull.Value : query.Trim().ToLowerInvariant());
                p.AddWithValue("$after", (object?)afterUserId ?? DBNull.Value);
                p.AddWithValue("$limit", Math.Clamp(limit, 1, 1000));
            },
            ReadSummary,
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<UserPage> PageUsersAsync(string? userIdPart, string? nicknamePart, int offset, int limit, CancellationToken cancellationToken = default)
    {
        const string Where = """
            WHERE NOT EXISTS (SELECT 1 FROM notification_accounts n WHERE n.user_id = users.user_id)
              AND (($id IS NULL AND $nick IS NULL) OR ($id IS NOT NULL AND instr(lower(user_id), $id) > 0) OR ($nick IS NOT NULL AND instr(lower(nickname), $nick) > 0))
            """;
        void Bind(SqliteParameterCollection p)
        {
            p.AddWithValue("$id", string.IsNullOrEmpty(userIdPart) ? DBNull.Value : userIdPart.ToLowerInvariant());
            p.AddWithValue("$nick", string.IsNullOrEmpty(nicknamePart) ? DBNull.Value : nicknamePart.ToLowerInvariant());
            p.AddWithValue("$limit", Math.Clamp(limit, 1, 1000));
            p.AddWithValue("$offset", Math.Max(0, offset));
        }

        var total = await QueryAsync("SELECT COUNT(*) FROM users " + Where + ";", Bind, r => r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        var users = await QueryAsync("SELECT " + UserColumns + " FROM users " + Where + " ORDER BY user_id LIMIT $limit OFFSET $offset;", Bind, ReadUser, cancellationToken).ConfigureAwait(false);
        return new UserPage(total[0], users);
    }

    /// <inheritdoc />
    public async Task<UserSummary?> GetUserSummaryAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync("SELECT " + UserColumns + ", disabled_at FROM users WHERE user_id = $id;", p => p.AddWithValue("$id", userId), ReadSummary, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<bool> SetUserDisabledAsync(string userId, long? disabledAt, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE users SET disabled_at = $at WHERE user_id = $id;",
            p =>
            {
                p.AddWithValue("$id", userId);
                p.AddWithValue("$at", (object?)disabledAt ?? DBNull.Value);
            },
            cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<CreatedCounts> CountCreatedAsync(CreatedKind kind, long start, long end, CancellationToken cancellationToken = default)
    {
        var table = kind == CreatedKind.Groups ? "groups" : "users";
        var totals = await QueryAsync(
            $"SELECT COUNT(*), COUNT(*) FILTER (WHERE created_at < $start) FROM {table};",
            p => p.AddWithValue("$start", start),
            r => (Total: r.GetInt64(0), Before: r.GetInt64(1)),
            cancellationToken).ConfigureAwait(false);
        var days = await QueryAsync(
            $"SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch'), COUNT(*) FROM {table} WHERE created_at >= $start AND created_at < $end GROUP BY 1;",
            p =>
            {
                p.AddWithValue("$start", start);
                p.AddWithValue("$end", end);
            },
            r => (Day: r.GetString(0), Count: r.GetInt64(1)),
            cancellationToken).ConfigureAwait(false);
        return new CreatedCounts(totals[0].Total, totals[0].Before, days.ToDictionary(d => d.Day, d => d.Count, StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TokenRecord>> ListUserTokensAsync(string userId, int limit, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            "SELECT " + TokenColumns + " FROM tokens WHERE user_id = $user ORDER BY issued_at DESC LIMIT $limit;",
            p =>
            {
                p.AddWithValue("$user", userId);
                p.AddWithValue("$limit", Math.Clamp(limit, 1, 1000));
            },
            ReadToken,
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupSummary>> SearchAllGroupsAsync(string? query, string? afterGroupId, int limit, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            """
            SELECT g.group_id, g.conversation_id, g.name, g.owner_id,
                   (SELECT COUNT(*) FROM conversations k JOIN members m ON m.conv_key = k.conv_key WHERE k.conversation_id = g.conversation_id AND m.active = 1),
                   g.dismissed, g.created_at
            FROM groups g
            WHERE ($q IS NULL OR instr(lower(g.group_id), $q) > 0 OR instr(lower(g.name), $q) > 0)
              AND ($after IS NULL OR g.group_id > $after)
            ORDER BY g.group_id
            LIMIT $limit;
            """,
            p =>
            {
                p.AddWithValue("$q", string.IsNullOrWhiteSpace(query) ? DBNull.Value : query.Trim().ToLowerInvariant());
                p.AddWithValue("$after", (object?)afterGroupId ?? DBNull.Value);
                p.AddWithValue("$limit", Math.Clamp(limit, 1, 1000));
            },
            r => new GroupSummary(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt64(5) != 0, r.GetInt64(6)),
            cancellationToken).ConfigureAwait(false);

    private static UserSummary ReadSummary(SqliteDataReader r) => new(ReadUser(r), r.IsDBNull(6) ? null : r.GetInt64(6));

    private static OperatorTokenRecord ReadOperator(SqliteDataReader r) =>
        new(
            r.GetString(0),
            r.GetString(1),
            JsonSerializer.Deserialize(r.GetString(2), SqliteJsonContext.Default.StringArray) ?? [],
            (byte[])r.GetValue(3),
            r.GetString(4),
            r.GetInt64(5),
            r.GetInt64(6),
            r.IsDBNull(7) ? null : r.GetInt64(7));

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
