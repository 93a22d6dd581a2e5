using Parley.Abstractions.Push;

namespace Parley.Storage.Sqlite.Push;

/// <summary>Per-user push settings a view over the file's <see cref="SqliteDatabase"/> (table <c>push_settings</c>, migration 6).</summary>
public sealed class SqlitePushSettingsStore(SqliteDatabase database) : IPushSettingsStore
{
    private readonly SqliteDatabase _database = database ?? throw new ArgumentNullException(nameof(database));

    /// <inheritdoc />
    public async Task<PushSettings> GetAsync(string userId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT do_not_disturb, privacy, marketing_opt_out FROM push_settings WHERE user_id = $user;";
            command.Parameters.AddWithValue("$user", userId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? Read(reader)
                : PushSettings.Default;
        }
    }

    /// <inheritdoc />
    public async Task SetAsync(string userId, bool? doNotDisturb, PushPrivacySetting? privacy, long updatedAt, CancellationToken cancellationToken = default)
    {
        await _database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO push_settings (user_id, do_not_disturb, privacy, updated_at)
                VALUES ($user, COALESCE($dnd, 0), COALESCE($privacy, 0), $at)
                ON CONFLICT (user_id) DO UPDATE SET do_not_disturb = COALESCE($dnd, do_not_disturb),
                    privacy = COALESCE($privacy, privacy), updated_at = $at;
                """;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$dnd", doNotDisturb is { } d ? (d ? 1 : 0) : DBNull.Value);
            command.Parameters.AddWithValue("$privacy", privacy is { } p ? (int)p : DBNull.Value);
            command.Parameters.AddWithValue("$at", updatedAt);
            return command.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task SetMarketingOptOutAsync(string userId, bool optOut, long updatedAt, CancellationToken cancellationToken = default) =>
        _database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO push_settings (user_id, do_not_disturb, privacy, updated_at, marketing_opt_out) VALUES ($user, 0, 0, $at, $opt)
                ON CONFLICT (user_id) DO UPDATE SET marketing_opt_out = $opt, updated_at = $at;
                """;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$opt", optOut ? 1 : 0);
            command.Parameters.AddWithValue("$at", updatedAt);
            return command.ExecuteNonQuery();
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, PushSettings>> GetManyAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return new Dictionary<string, PushSettings>(StringComparer.Ordinal);
        }

        var rows = await _database.QueryAsync(
            "SELECT do_not_disturb, privacy, marketing_opt_out, user_id FROM push_settings WHERE user_id IN (SELECT value FROM json_each($ids));",
            c => c.Parameters.AddWithValue("$ids", System.Text.Json.JsonSerializer.Serialize(userIds.ToArray(), Internal.SqliteJsonContext.Default.StringArray)),
            r => (User: r.GetString(3), Settings: Read(r)),
            cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(r => r.User, r => r.Settings, StringComparer.Ordinal);
    }

    private static PushSettings Read(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetInt64(0) != 0, (PushPrivacySetting)r.GetInt32(1)) { MarketingOptOut = r.GetInt64(2) != 0 };
}
