using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Push;

/// <summary>
/// <see cref="IDeviceStore"/> on SQLite. Tokens are stored AES-GCM encrypted with a key from options (see
/// <see cref="DeviceTokenCipher"/>); an invalidated token is erased, not just flagged.
/// </summary>
public sealed class SqliteDeviceStore : IDeviceStore
{
    private const string Columns = "user_id, device_id, platform, vendor, token_cipher, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at, token_invalid_at";

    private readonly SqliteDatabase _database;
    private readonly DeviceTokenCipher _cipher;

    /// <param name="tokenKey">32 random bytes; keep them outside the database (configuration secret, key file).</param>
    public SqliteDeviceStore(SqliteStoreOptions options, ReadOnlySpan<byte> tokenKey, ILogger<SqliteDeviceStore>? logger = null)
    {
        _database = new SqliteDatabase(options, logger ?? (ILogger)NullLogger.Instance);
        _cipher = new DeviceTokenCipher(tokenKey);
    }

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        SqliteDatabase.EnsureDirectory(_database.FilePath);
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await _database.InitializeAsync(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task UpsertAsync(PushDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        var hash = _cipher.Hash(device.Token);
        var cipher = _cipher.Encrypt(device.Token, device.UserId, device.DeviceId);
        await PushWriteGate.RunAsync(_database.FilePath, () => UpsertLockedAsync(device, hash, cipher, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> UpsertLockedAsync(PushDevice device, byte[] hash, byte[] cipher, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var transaction = connection.BeginTransaction();
            using (var steal = connection.CreateCommand())
            {
                steal.Transaction = transaction;
                steal.CommandText = "DELETE FROM push_devices WHERE token_hash = $hash AND NOT (user_id = $user AND device_id = $device);";
                steal.Parameters.AddWithValue("$hash", hash);
                steal.Parameters.AddWithValue("$user", device.UserId);
                steal.Parameters.AddWithValue("$device", device.DeviceId);
                await steal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
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

            transaction.Commit();
        }

        return true;
    }

    public async Task<bool> RemoveAsync(string userId, string deviceId, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM push_devices WHERE user_id = $user AND device_id = $device;", userId, deviceId, null, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<PushDevice?> GetAsync(string userId, string deviceId, CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
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

    public async Task<IReadOnlyList<PushDevice>> ListAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var result = new List<PushDevice>();
        if (userIds.Count == 0)
        {
            return result;
        }

        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            foreach (var chunk in userIds.Distinct(StringComparer.Ordinal).Chunk(500))
            {
                using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$u" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText = $"SELECT {Columns} FROM push_devices WHERE user_id IN ({string.Join(',', names)}) ORDER BY user_id, device_id;";
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    result.Add(Read(reader));
                }
            }
        }

        return result;
    }

    public async Task<bool> TouchAsync(string userId, string deviceId, long lastSeenAt, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE push_devices SET last_seen_at = MAX(last_seen_at, $v) WHERE user_id = $user AND device_id = $device;", userId, deviceId, lastSeenAt, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetNotificationsEnabledAsync(string userId, string deviceId, bool enabled, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE push_devices SET notif_enabled = $v WHERE user_id = $user AND device_id = $device;", userId, deviceId, enabled ? 1 : 0, cancellationToken).ConfigureAwait(false) == 1;

    public Task<bool> InvalidateTokenAsync(string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken = default) =>
        PushWriteGate.RunAsync(_database.FilePath, () => InvalidateLockedAsync(userId, deviceId, rejectedToken, invalidAt, cancellationToken), cancellationToken);

    private async Task<bool> InvalidateLockedAsync(string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
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

    private PushDevice Read(SqliteDataReader r)
    {
        var userId = r.GetString(0);
        var deviceId = r.GetString(1);
        var token = "";
        if (!r.IsDBNull(4))
        {
            try
            {
                token = _cipher.Decrypt((byte[])r.GetValue(4), userId, deviceId);
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
        PushWriteGate.RunAsync(_database.FilePath, () => ExecuteLockedAsync(sql, userId, deviceId, value, cancellationToken), cancellationToken);

    private async Task<int> ExecuteLockedAsync(string sql, string userId, string deviceId, object? value, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenPooledAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
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
