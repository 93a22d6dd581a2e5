namespace Parley.Abstractions.Messaging;

/// <summary>
/// Where a device's last connection stopped being sent events (a feed version), kept for the device's next connection so
/// that an edge whose clients cannot fill a gap themselves (OpenIM's SDK 0.0.14) replays what the connection missed. Stored
/// durably and shared by every node of a cluster: the reconnect may land on another node, or after a restart. One row per
/// (user, device); a row is written by a connection that ended without a goodbye and taken (read and deleted at once) by
/// the next connection, so two connections never both replay one position.
/// </summary>
public interface IResumePositionStore
{
    /// <summary>
    /// Saves <paramref name="version"/> for the device, unless a row written by a later connection is there (one whose
    /// <paramref name="openedVersion"/>, the feed version when it opened, is higher): a connection that ended late on a node
    /// that noticed the drop late must not overwrite its successor's position.
    /// </summary>
    Task SaveAsync(string userId, string deviceId, long version, long openedVersion, long savedAt, CancellationToken cancellationToken = default);

    /// <summary>Removes and returns the device's position when it was saved at or after <paramref name="notBefore"/> (unix ms); null otherwise.</summary>
    Task<long?> TakeAsync(string userId, string deviceId, long notBefore, CancellationToken cancellationToken = default);

    /// <summary>Removes the device's position unless a later connection wrote it (see <see cref="SaveAsync"/>).</summary>
    Task ForgetAsync(string userId, string deviceId, long openedVersion, CancellationToken cancellationToken = default);

    /// <summary>Removes the positions saved before <paramref name="before"/> (unix ms); returns how many.</summary>
    Task<int> PurgeAsync(long before, CancellationToken cancellationToken = default);
}
