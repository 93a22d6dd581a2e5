using System.Security.Cryptography;
using Npgsql;
using Parley.Abstractions.Push;
using static Parley.Storage.Postgres.Internal.PostgresRows;

namespace Parley.Storage.Postgres.Push;

/// <summary>
/// <see cref="IDeviceStore"/> on PostgreSQL. Tokens are stored AES-GCM encrypted (<see cref="DeviceTokenCipher"/>) and
/// found by an HMAC; an invalidated token is erased, not just flagged. A token registered by another device moves:
/// the old row goes in the same batch (one transaction) as the upsert.
/// </summary>
public sealed class PostgresDeviceStore : IDeviceStore
{
    private const string Columns = "user_id, device_id, platform, vendor, token_cipher, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at, token_invalid_at";

    private readonly PostgresDatabase _database;
    private readonly DeviceTokenCipher _cipher;

    /// <param name="database">The owner.</param>
    /// <param name="tokenKey">32 random bytes; keep them outside the database (configuration secret, key file).</param>
    public PostgresDeviceStore(PostgresDatabase database, ReadOnlySpan<byte> tokenKey)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _cipher = new DeviceTokenCipher(tokenKey);
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task UpsertAsync(PushDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        var hash = _cipher.Hash(device.Token);
        var cipher = _cipher.Encrypt(device.Token, device.UserId, device.DeviceId);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(BatchCommand(
                "DELETE FROM push_devices WHERE token_hash = $1 AND NOT (user_id = $2 AND device_id = $3);", P(hash), P(device.UserId), P(device.DeviceId)));
            batch.BatchCommands.Add(BatchCommand(
                """
                INSERT INTO push_devices (user_id, device_id, platform, vendor, token_cipher, token_hash, app_id, environment, notif_enabled, locale, time_zone, last_seen_at, registered_at, token_invalid_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)
                ON CONFLICT (user_id, device_id) DO UPDATE SET
                    platform = EXCLUDED.platform, vendor = EXCLUDED.vendor, app_id = EXCLUDED.app_id, environment = EXCLUDED.environment,
                    notif_enabled = EXCLUDED.notif_enabled, locale = EXCLUDED.locale, time_zone = EXCLUDED.time_zone, last_seen_at = EXCLUDED.last_seen_at,
                    registered_at = CASE WHEN push_devices.token_hash = EXCLUDED.token_hash THEN push_devices.registered_at ELSE EXCLUDED.registered_at END,
                    token_cipher = EXCLUDED.token_cipher, token_hash = EXCLUDED.token_hash, token_invalid_at = NULL;
                """,
                P(device.UserId), P(device.DeviceId), P(device.Platform), P((int)device.Vendor), P(cipher), P(hash), P(device.AppId),
                P((int)device.Environment), P(device.NotificationsEnabled), P(device.Locale), P(device.TimeZone), P(device.LastSeenAt), P(device.RegisteredAt)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string userId, string deviceId, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync("DELETE FROM push_devices WHERE user_id = $1 AND device_id = $2;", cancellationToken, P(userId), P(deviceId)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<PushDevice?> GetAsync(string userId, string deviceId, CancellationToken cancellationToken = default)
    {
        var rows = await _database.QueryAsync($"SELECT {Columns} FROM push_devices WHERE user_id = $1 AND device_id = $2;", Read, cancellationToken, P(userId), P(deviceId))
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PushDevice>> ListAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            return [];
        }

        return await _database.QueryAsync(
            $"SELECT {Columns} FROM push_devices WHERE user_id = ANY($1) ORDER BY user_id, device_id;",
            Read,
            cancellationToken,
            P(userIds.Distinct(StringComparer.Ordinal).ToArray())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> TouchAsync(string userId, string deviceId, long lastSeenAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE push_devices SET last_seen_at = GREATEST(last_seen_at, $3) WHERE user_id = $1 AND device_id = $2;", cancellationToken, P(userId), P(deviceId), P(lastSeenAt))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<bool> SetNotificationsEnabledAsync(string userId, string deviceId, bool enabled, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            "UPDATE push_devices SET notif_enabled = $3 WHERE user_id = $1 AND device_id = $2;", cancellationToken, P(userId), P(deviceId), P(enabled))
            .ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<bool> InvalidateTokenAsync(string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken = default) =>
        await _database.ExecuteAsync(
            """
            UPDATE push_devices SET token_cipher = NULL, token_hash = NULL, token_invalid_at = $4
            WHERE user_id = $1 AND device_id = $2 AND token_hash = $3;
            """,
            cancellationToken,
            P(userId),
            P(deviceId),
            P(_cipher.Hash(rejectedToken)),
            P(invalidAt)).ConfigureAwait(false) == 1;

    private PushDevice Read(NpgsqlDataReader r)
    {
        var userId = r.GetString(0);
        var deviceId = r.GetString(1);
        var token = "";
        if (!r.IsDBNull(4))
        {
            try
            {
                token = _cipher.Decrypt(r.GetFieldValue<byte[]>(4), userId, deviceId);
            }
            catch (CryptographicException)
            {
                // Wrong key or tampered row: the device is unreachable, which the resolve stage reports as no_token.
                token = "";
            }
        }

        return new PushDevice(
            userId, deviceId, r.GetString(2), (PushVendor)r.GetInt32(3), token, r.GetString(5), (PushEnvironment)r.GetInt32(6),
            r.GetBoolean(7), r.GetString(8), r.GetString(9), r.GetInt64(10), r.GetInt64(11), r.IsDBNull(12) ? null : r.GetInt64(12));
    }
}
