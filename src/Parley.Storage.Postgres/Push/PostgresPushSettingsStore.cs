using Parley.Abstractions.Push;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Push;

/// <summary>Per-user push settings on PostgreSQL (table <c>push_settings</c>, migration 5).</summary>
public sealed class PostgresPushSettingsStore(PostgresDatabase database) : IPushSettingsStore
{
    private readonly PostgresDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public async Task<PushSettings> GetAsync(string userId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync(
            "SELECT do_not_disturb, privacy, marketing_opt_out FROM push_settings WHERE user_id = $1;",
            Read,
            cancellationToken,
            P(userId)).ConfigureAwait(false);
        return rows.Count == 0 ? PushSettings.Default : rows[0];
    }

    /// <inheritdoc />
    public Task SetAsync(string userId, bool? doNotDisturb, PushPrivacySetting? privacy, long updatedAt, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            """
            INSERT INTO push_settings (user_id, do_not_disturb, privacy, updated_at) VALUES ($1, COALESCE($2, false), COALESCE($3, 0), $4)
            ON CONFLICT (user_id) DO UPDATE SET do_not_disturb = COALESCE($2, push_settings.do_not_disturb),
                privacy = COALESCE($3, push_settings.privacy), updated_at = $4;
            """,
            cancellationToken,
            P(userId),
            Bool(doNotDisturb),
            new Npgsql.NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = privacy is { } p ? (int)p : DBNull.Value },
            P(updatedAt));

    /// <inheritdoc />
    public Task SetMarketingOptOutAsync(string userId, bool optOut, long updatedAt, CancellationToken cancellationToken = default) =>
        _database.ExecuteAsync(
            """
            INSERT INTO push_settings (user_id, do_not_disturb, privacy, updated_at, marketing_opt_out) VALUES ($1, false, 0, $3, $2)
            ON CONFLICT (user_id) DO UPDATE SET marketing_opt_out = $2, updated_at = $3;
            """,
            cancellationToken,
            P(userId),
            P(optOut),
            P(updatedAt));

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, PushSettings>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return new Dictionary<string, PushSettings>(StringComparer.Ordinal);
        }

        var rows = await _database.QueryAsync(
            "SELECT do_not_disturb, privacy, marketing_opt_out, user_id FROM push_settings WHERE user_id = ANY($1);",
            r => (User: r.GetString(3), Settings: Read(r)),
            cancellationToken,
            P(userIds.ToArray())).ConfigureAwait(false);
        return rows.ToDictionary(r => r.User, r => r.Settings, StringComparer.Ordinal);
    }

    private static PushSettings Read(Npgsql.NpgsqlDataReader r) =>
        new(r.GetBoolean(0), (PushPrivacySetting)r.GetInt32(1)) { MarketingOptOut = r.GetBoolean(2) };
}
