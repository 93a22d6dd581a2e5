using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite.Sessions;

/// <summary><see cref="IResumePositionStore"/> on the file's <see cref="SqliteDatabase"/> (table <c>resume_positions</c>).</summary>
public sealed class SqliteResumePositionStore(SqliteDatabase database) : IResumePositionStore
{
    public Task SaveAsync(string userId, string deviceId, long version, long openedVersion, long savedAt, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO resume_positions (user_id, device_id, version, opened_version, saved_at) VALUES ($user, $device, $version, $opened, $at)
                    ON CONFLICT (user_id, device_id) DO UPDATE SET version = excluded.version, opened_version = excluded.opened_version, saved_at = excluded.saved_at
                    WHERE excluded.opened_version >= resume_positions.opened_version;
                    """;
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$device", deviceId);
                command.Parameters.AddWithValue("$version", version);
                command.Parameters.AddWithValue("$opened", openedVersion);
                command.Parameters.AddWithValue("$at", savedAt);
                return command.ExecuteNonQuery();
            },
            cancellationToken);

    public async Task<long?> TakeAsync(string userId, string deviceId, long notBefore, CancellationToken cancellationToken = default)
    {
        // Most logins find nothing: a read first, so they queue no write.
        var found = await database.QueryAsync(
            "SELECT 1 FROM resume_positions WHERE user_id = $user AND device_id = $device;",
            c =>
            {
                c.Parameters.AddWithValue("$user", userId);
                c.Parameters.AddWithValue("$device", deviceId);
            },
            r => r.GetInt32(0),
            cancellationToken).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return null;
        }

        return await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM resume_positions WHERE user_id = $user AND device_id = $device RETURNING version, saved_at;";
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$device", deviceId);
                using var reader = command.ExecuteReader();
                return reader.Read() && reader.GetInt64(1) >= notBefore ? reader.GetInt64(0) : (long?)null;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public Task ForgetAsync(string userId, string deviceId, long openedVersion, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM resume_positions WHERE user_id = $user AND device_id = $device AND opened_version <= $opened;";
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$device", deviceId);
                command.Parameters.AddWithValue("$opened", openedVersion);
                return command.ExecuteNonQuery();
            },
            cancellationToken);

    public Task<int> PurgeAsync(long before, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM resume_positions WHERE saved_at < $before;";
                command.Parameters.AddWithValue("$before", before);
                return command.ExecuteNonQuery();
            },
            cancellationToken);
}
