using Npgsql;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Business;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Business;

/// <summary>Notification accounts on PostgreSQL (table <c>notification_accounts</c>, migration 8, joined with <c>users</c>).</summary>
public sealed class PostgresNotificationAccountStore(PostgresDatabase database) : INotificationAccountStore
{
    private const string Select = """
        SELECT n.user_id, u.nickname, u.avatar_url, n.level, n.created_at, u.updated_at
        FROM notification_accounts n JOIN users u ON u.user_id = n.user_id
        """;

    private const string Where = """
         WHERE ($1::text IS NULL OR n.user_id ILIKE $1 ESCAPE '\' OR u.nickname ILIKE $1 ESCAPE '\')
           AND ($2::integer IS NULL OR n.level = $2)
        """;

    private readonly PostgresDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public async Task<bool> CreateAsync(UserRecord user, int level, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);

        // One statement: the mark is written only with the user row it created.
        return await _database.ExecuteAsync(
            """
            WITH created AS (
                INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (user_id) DO NOTHING RETURNING user_id)
            INSERT INTO notification_accounts (user_id, level, created_at) SELECT user_id, $7, $5 FROM created;
            """,
            cancellationToken,
            P(user.UserId),
            P(user.Nickname),
            P(user.AvatarUrl),
            P(user.Ex),
            P(user.CreatedAt),
            P(user.UpdatedAt),
            P(level)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<NotificationAccount?> GetAsync(string userId, CancellationToken cancellationToken = default) =>
        (await GetManyAsync([userId], cancellationToken).ConfigureAwait(false)) is [var account] ? account : null;

    /// <inheritdoc />
    public async Task<IReadOnlyList<NotificationAccount>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        return userIds.Count == 0
            ? []
            : await _database.QueryAsync(Select + " WHERE n.user_id = ANY($1);", Read, cancellationToken, P(userIds.ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<NotificationAccountPage> SearchAsync(string? keyword, int? level, int offset, int limit, CancellationToken cancellationToken = default)
    {
        NpgsqlParameter[] Bind() =>
        [
            Text(string.IsNullOrEmpty(keyword) ? null : "%" + EscapeLike(keyword) + "%"),
            new() { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = level is { } l ? l : DBNull.Value },
        ];

        var page = await _database.QueryAsync(
            Select + Where + " ORDER BY n.user_id COLLATE \"C\" LIMIT $3 OFFSET $4;",
            Read,
            cancellationToken,
            [.. Bind(), P(Math.Max(0, limit)), P(Math.Max(0, offset))]).ConfigureAwait(false);
        var total = await _database.QueryAsync(
            "SELECT COUNT(*) FROM notification_accounts n JOIN users u ON u.user_id = n.user_id" + Where + ";",
            r => r.GetInt64(0),
            cancellationToken,
            Bind()).ConfigureAwait(false);
        return new NotificationAccountPage(total[0], page);
    }

    private static NotificationAccount Read(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5));
}
