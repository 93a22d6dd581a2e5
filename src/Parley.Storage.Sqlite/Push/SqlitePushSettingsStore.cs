using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Push;

/// <summary>Per-user push settings in the server's SQLite file (table <c>push_settings</c>, migration 6).</summary>
public sealed class SqlitePushSettingsStore(SqliteStoreOptions options, ILogger<SqlitePushSettingsStore>? logger = null) : IPushSettingsStore
{
    private readonly SqliteDatabase _database = new(options, logger ?? (ILogger)NullLogger.Instance);

    /// <inheritdoc />
    public async Task<PushSettings> GetAsync(string userId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
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
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
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
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
