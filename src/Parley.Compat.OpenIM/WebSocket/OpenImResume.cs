using System.Collections.Concurrent;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// Where each (user, platform)'s last OpenIM connection stopped, so the next connection of that platform gets what it
/// missed pushed as 2001 in seq order (<see cref="OpenImSession"/>.OpenAsync). SDK 0.0.14 cannot fill the gap itself:
/// after a reconnect it asks 1006 and then throws while building its 1002 request, so without this an app showed a hole
/// after every network blip. The position is the feed version up to which the connection was sent everything (the
/// highest version its send loop wrote, or the version when it opened). Kept in memory on this node for
/// <see cref="Window"/>; a logout or a kick forgets it (the next login is a fresh one, and the SDK syncs itself).
/// </summary>
internal sealed class OpenImResume(TimeProvider time)
{
    /// <summary>How long a dropped connection's position is kept for its reconnect.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    /// <summary>At most this many messages are replayed per conversation (older ones are read through history).</summary>
    public const int MaxMessagesPerConversation = 200;

    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<(string UserId, int PlatformId), (long Version, long At)> _entries = new();

    public void Save(string userId, int platformId, long version)
    {
        if (_entries.Count >= MaxEntries)
        {
            var horizon = Now - (long)Window.TotalMilliseconds;
            foreach (var (key, value) in _entries)
            {
                if (value.At < horizon)
                {
                    _entries.TryRemove(key, out _);
                }
            }

            if (_entries.Count >= MaxEntries)
            {
                // Still full of fresh entries: losing some only means those reconnects are not replayed.
                _entries.Clear();
            }
        }

        _entries[(userId, platformId)] = (version, Now);
    }

    public void Forget(string userId, int platformId) => _entries.TryRemove((userId, platformId), out _);

    /// <summary>The position saved for this platform within the window (and forgets it), or null.</summary>
    public long? Take(string userId, int platformId) =>
        _entries.TryRemove((userId, platformId), out var entry) && entry.At >= Now - (long)Window.TotalMilliseconds ? entry.Version : null;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
