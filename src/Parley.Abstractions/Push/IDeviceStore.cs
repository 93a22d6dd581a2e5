namespace Parley.Abstractions.Push;

/// <summary>The device registry: (user, device) → vendor token and delivery settings. Thread-safe.</summary>
public interface IDeviceStore
{
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Registers or replaces a device. A token registered again under another (user, device) is removed from the old row,
    /// so a phone that switches accounts stops receiving the old account's pushes.
    /// </summary>
    Task UpsertAsync(PushDevice device, CancellationToken cancellationToken = default);

    /// <summary>Removes a device (logout, uninstall). Returns false when it did not exist.</summary>
    Task<bool> RemoveAsync(string userId, string deviceId, CancellationToken cancellationToken = default);

    Task<PushDevice?> GetAsync(string userId, string deviceId, CancellationToken cancellationToken = default);

    /// <summary>All devices of the given users, including those with invalid tokens (callers filter).</summary>
    Task<IReadOnlyList<PushDevice>> ListAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default);

    /// <summary>Updates last seen (app start, arrival ack). Returns false when the device does not exist.</summary>
    Task<bool> TouchAsync(string userId, string deviceId, long lastSeenAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raises last seen of many devices at once (never lowers it; unknown devices are skipped). The server coalesces
    /// logins in memory and writes them with this in one transaction instead of one write per login.
    /// </summary>
    async Task TouchManyAsync(IReadOnlyCollection<DeviceSeen> seen, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seen);
        foreach (var s in seen)
        {
            await TouchAsync(s.UserId, s.DeviceId, s.LastSeenAt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Updates the app-reported notifications-enabled flag.</summary>
    Task<bool> SetNotificationsEnabledAsync(string userId, string deviceId, bool enabled, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks the token invalid and drops it from storage, but only when the stored token is still the one the vendor
    /// rejected (a fresh token registered meanwhile survives). Returns true when a token was invalidated.
    /// </summary>
    Task<bool> InvalidateTokenAsync(string userId, string deviceId, string rejectedToken, long invalidAt, CancellationToken cancellationToken = default);
}

/// <summary>One device's last-seen time (Unix milliseconds) for <see cref="IDeviceStore.TouchManyAsync"/>.</summary>
public readonly record struct DeviceSeen(string UserId, string DeviceId, long LastSeenAt);
