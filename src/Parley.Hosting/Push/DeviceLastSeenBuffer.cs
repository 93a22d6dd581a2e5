using System.Collections.Concurrent;
using Parley.Abstractions.Push;

namespace Parley.Hosting.Push;

/// <summary>
/// Devices' last-seen times, coalesced in memory and written in one batch per flush instead of one store write per login
/// (issue 17: the per-login write went through the SQLite writer queue, between message commits). Repeated logins of a
/// device collapse into its latest time; the store only ever raises last seen. What is pending is at most one flush
/// interval old and is written on shutdown; a crash loses at most that interval of last-seen updates, which only feed
/// the stale-device rule (days) and the admin device list.
/// </summary>
internal sealed class DeviceLastSeenBuffer(IDeviceStore devices)
{
    private readonly ConcurrentDictionary<(string UserId, string DeviceId), long> _pending = new();

    public int PendingCount => _pending.Count;

    public void Touch(string userId, string deviceId, long lastSeenAt) =>
        _pending.AddOrUpdate((userId, deviceId), static (_, at) => at, static (_, old, at) => Math.Max(old, at), lastSeenAt);

    /// <summary>Writes what is pending in one batch; on failure the batch is put back for the next flush and rethrown.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var batch = new List<DeviceSeen>(_pending.Count);
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var at))
            {
                batch.Add(new DeviceSeen(key.UserId, key.DeviceId, at));
            }
        }

        try
        {
            await devices.TouchManyAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var s in batch)
            {
                Touch(s.UserId, s.DeviceId, s.LastSeenAt);
            }

            throw;
        }
    }
}
