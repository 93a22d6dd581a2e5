using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Push;

/// <summary>
/// <see cref="IDeviceStore"/>: a view over the file's <see cref="SqliteDatabase"/>; writes go through its writer queue. Tokens are stored AES-GCM encrypted with a key from options (see
/// <see cref="DeviceTokenCipher"/>); an invalidated token is erased, not just flagged.
/// </summary>
public sealed class SqliteDeviceStore : IDeviceStore
{
    private const string Columns = "user_id, device_id, platform, vendor, token_cipher, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at, token_invalid_at";

    private readonly SqliteDatabase _database;
    private readonly DeviceTokenCipher _cipher;

    /// <param name="database">The file's owner (the server's one <see cref="SqliteDatabase"/>).</param>
    /// <param name="tokenKey">32 random bytes; keep them outside the database (configuration secret, key file).</param>
    public SqliteDeviceStore(SqliteDatabase database, ReadOnlySpan<byte> tokenKey)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _cipher = new DeviceTokenCipher(tokenKey);
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    public async Task UpsertAsync(PushDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        var hash = _cipher.Hash(device.Token);
        var cipher = _cipher.Encrypt(device.Token, device.UserId, device.DeviceId);
        await _database.WriteAsync((connection, ct) => UpsertOnWriterAsync(connection, device, hash, cipher, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> UpsertOnWriterAsync(SqliteConnection connection, PushDevice device, byte[] hash, byte[] cipher, CancellationToken cancellationToken)
    {
        {
            using (var steal = connection.CreateCommand())
            {
                steal.CommandText = "DELETE FROM push_devices WHERE token_hash = $hash AND NOT (user_id = $user AND device_id = $device);";
                steal.Parameters.AddWithValue("$hash", hash);
                steal.Parameters.AddWithValue("$user", device.UserId);
                steal.Parameters.AddWithValue("$device", device.DeviceId);
                await steal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var upsert = connection.CreateCommand())
            {
                upsert.CommandText = """
                    INSERT INTO push_devices (user_id, device_id, platform, vendor, token_cipher, token_hash, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at, token_invalid_at)
                    VALUES ($user, $device, $platform, $vendor, $cipher, $hash, $app, $env, $enabled, $locale, $tz, $seen, $registered, NULL)
                    ON CONFLICT (user_id, device_id) DO UPDATE SET
                        platform = excluded.platform, vendor = excluded.vendor, app_id = excluded.app_id, environment = excluded.environment,
                        notif_enabled = excluded.notif_enabled, locale = excluded.locale, time_zone = excluded.time_zone, last_seen_at = excluded.last_seen_at,
                        registered_at = CASE WHEN push_devices.token_hash = excluded.token_hash THEN push_devices.registered_at ELSE excluded.registered_at END,
                        token_cipher = excluded.token_cipher, token_hash = excluded.token_hash, token_invalid_at = NULL;
                    """;
                upsert.Parameters.AddWithValue("$user", device.UserId);
                upsert.Parameters.AddWithValue("$device", device.DeviceId);
                upsert.Parameters.AddWithValue("$platform", device.Platform);
                upsert.Parameters.AddWithValue("$vendor", (int)device.Vendor);
                upsert.Parameters.AddWithValue("$cipher", cipher);
                upsert.Parameters.AddWithValue("$hash", hash);
                upsert.Parameters.AddWithValue("$app", device.AppId);
                upsert.Parameters.AddWithValue("$env", (int)device.Environment);
                upsert.Parameters.AddWithValue("$enabled", device.NotificationsEnabled ? 1 : 0);
                upsert.Parameters.AddWithValue("$locale", device.Locale);
                upsert.Parameters.AddWithValue("$tz", device.TimeZone);
                upsert.Parameters.AddWithValue("$seen", device.LastSeenAt);
                upsert.Parameters.AddWithValue("$registered", device.RegisteredAt);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return true;
    }

    public async Task<bool> RemoveAsync(string userId, string deviceId, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM push_devices WHERE user_id = $user AND device_id = $device;", userId, deviceId, null, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<PushDevice?> GetAsync(string userId, string deviceId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM push_devices WHERE user_id = $user AND device_id = $device;";
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$device", deviceId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
        }
    }

    /// <remarks>
    /// One pooled read connection and one prepared statement stepped per user (issue 17, stop 40): the push pipeline reads
    /// every recipient's devices at submit and a batch's devices before sending, and a command with one parameter per
    /// user (chunks of 500) was parsed and planned on every call and allocated a parameter and a binder per user. A user's
    /// devices come in device id order, the users in the order given (first occurrence).
    /// </remarks>
    public async Task<IReadOnlyList<PushDevice>> ListAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var result = new List<PushDevice>(userIds.Count);
        if (userIds.Count == 0)
        {
            return result;
        }

        var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var statement = _database.Prepared(connection, ListSql, UserParameter);
            var seen = userIds is ISet<string> ? null : new HashSet<string>(userIds.Count, StringComparer.Ordinal);
            foreach (var userId in userIds)
            {
                if (seen is not null && !seen.Add(userId))
                {
                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    statement.Bind(0, userId);
                    while (statement.Read())
                    {
                        result.Add(Read(statement));
                    }
                }
                finally
                {
                    statement.Reset();
                }
            }
        }

        return result;
    }

    private const string ListSql = $"SELECT {Columns} FROM push_devices WHERE user_id = $user ORDER BY device_id;";
    private static readonly string[] UserParameter = ["$user"];

    public async Task<bool> TouchAsync(string userId, string deviceId, long lastSeenAt, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE push_devices SET last_seen_at = MAX(last_seen_at, $v) WHERE user_id = $user AND device_id = $device;", userId, deviceId, lastSeenAt, cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>One writer call (one transaction) with a prepared statement for the whole batch.</summary>
    public Task TouchManyAsync(IReadOnlyCollection<DeviceSeen> seen, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seen);
        return seen.Count == 0 ? Task.CompletedTask : _database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE push_devices SET last_seen_at = MAX(last_seen_at, $v) WHERE user_id = $user AND device_id = $device;";
            var user = command.Parameters.Add("$user", SqliteType.Text);
            var device = command.Parameters.Add("$device", SqliteType.Text);
            var value = command.Parameters.Add("$v", SqliteType.Integer);
            command.Prepare();
            foreach (var s in seen)
            {
                user.Value = s.UserId;
                device.Value = s.DeviceId;
                value.Value = s.LastSeenAt;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
    }

    public async Task<bool> SetNotificationsEnabledAsync(string userId, string deviceId, bool enabled, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE push_devices SET notif_enabled = $v WHERE user_id = $user AND device_id = $device;", userId, deviceId, enabled ? 1 : 0, cancellationToken).ConfigureAwait(false) == 1;

    public Task<bool> InvalidateTokenAsync(string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken = default) =>
        _database.WriteAsync((connection, ct) => InvalidateOnWriterAsync(connection, userId, deviceId, rejectedToken, invalidAt, cancellationToken), cancellationToken);

    private async Task<bool> InvalidateOnWriterAsync(SqliteConnection connection, string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken)
    {
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE push_devices SET token_cipher = NULL, token_hash = NULL, token_invalid_at = $at
                WHERE user_id = $user AND device_id = $device AND token_hash = $hash;
                """;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$device", deviceId);
            command.Parameters.AddWithValue("$hash", _cipher.Hash(rejectedToken));
            command.Parameters.AddWithValue("$at", invalidAt);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
    }

    private PushDevice Read(SqliteDataReader r) => Read(new DataReaderRow(r));

    private PushDevice Read<TRow>(TRow r)
        where TRow : ISqliteRow
    {
        var userId = r.GetString(0);
        var deviceId = r.GetString(1);
        var token = "";
        if (!r.IsDBNull(4))
        {
            try
            {
                token = _cipher.Decrypt(r.GetBlob(4), userId, deviceId);
            }
            catch (CryptographicException)
            {
                // Wrong key or tampered row: the device is unreachable, which the resolve stage reports as no_token.
                token = "";
            }
        }

        return new PushDevice(
            userId, deviceId, r.GetString(2), (PushVendor)r.GetInt32(3), token, r.GetString(5), (PushEnvironment)r.GetInt32(6),
            r.GetInt64(7) != 0, r.GetString(8), r.GetString(9), r.GetInt64(10), r.GetInt64(11), r.IsDBNull(12) ? null : r.GetInt64(12));
    }

    private Task<int> ExecuteAsync(string sql, string userId, string deviceId, object? value, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, ct) => ExecuteOnWriterAsync(connection, sql, userId, deviceId, value, cancellationToken), cancellationToken);

    private static async Task<int> ExecuteOnWriterAsync(SqliteConnection connection, string sql, string userId, string deviceId, object? value, CancellationToken cancellationToken)
    {
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$user", userId);
            command.Parameters.AddWithValue("$device", deviceId);
            if (value is not null)
            {
                command.Parameters.AddWithValue("$v", value);
            }

            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
