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
            command.CommandText = "SELECT do_not_disturb, privacy FROM push_settings WHERE user_id = $user;";
            command.Parameters.AddWithValue("$user", userId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? new PushSettings(reader.GetInt64(0) != 0, (PushPrivacySetting)reader.GetInt32(1))
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
}
