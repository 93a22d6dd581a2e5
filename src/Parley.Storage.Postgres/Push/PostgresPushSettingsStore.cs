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
            "SELECT do_not_disturb, privacy FROM push_settings WHERE user_id = $1;",
            r => new PushSettings(r.GetBoolean(0), (PushPrivacySetting)r.GetInt32(1)),
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
}
