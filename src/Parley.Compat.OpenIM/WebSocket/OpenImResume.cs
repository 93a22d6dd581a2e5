using Parley.Abstractions.Messaging;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// Where each (user, platform)'s last OpenIM connection stopped, so the next connection of that platform gets what it
/// missed pushed as 2001 in seq order (<see cref="OpenImSession"/>.OpenAsync). SDK 0.0.14 cannot fill the gap itself:
/// after a reconnect it asks 1006 and then throws while building its 1002 request, so without this an app showed a hole
/// after every network blip. The position is the feed version up to which the connection was sent everything (the
/// highest version its send loop wrote, or the version when it opened). It is kept in the store
/// (<see cref="IResumePositionStore"/>, table <c>resume_positions</c>) for <see cref="Window"/>: durable across a restart
/// of the server and shared by the nodes of a cluster, so the reconnect may land anywhere. A logout, a kick or a close
/// frame forgets it (the next login is a fresh one, and the SDK syncs itself).
/// </summary>
internal sealed class OpenImResume(IResumePositionStore store, TimeProvider time)
{
    /// <summary>How long a dropped connection's position is kept for its reconnect.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    /// <summary>At most this many messages are replayed per conversation (older ones are read through history).</summary>
    public const int MaxMessagesPerConversation = 200;

    private static readonly TimeSpan PurgeEvery = TimeSpan.FromMinutes(1);

    private long _lastPurge;

    /// <summary>Remembers the position of a connection that opened at <paramref name="openedVersion"/> and was sent everything up to <paramref name="version"/>.</summary>
    public async Task SaveAsync(string userId, int platformId, long version, long openedVersion)
    {
        var now = Now;
        await store.SaveAsync(userId, OpenImPlatforms.DeviceId(platformId), version, openedVersion, now).ConfigureAwait(false);
        var last = Interlocked.Read(ref _lastPurge);
        if (now - last >= (long)PurgeEvery.TotalMilliseconds && Interlocked.CompareExchange(ref _lastPurge, now, last) == last)
        {
            // Positions nobody came back for: one indexed delete a minute per node.
            await store.PurgeAsync(now - (long)Window.TotalMilliseconds).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets the platform's position, unless a later connection of the platform saved it.</summary>
    public Task ForgetAsync(string userId, int platformId, long openedVersion) =>
        store.ForgetAsync(userId, OpenImPlatforms.DeviceId(platformId), openedVersion);

    /// <summary>The position saved for this platform within the window (and forgets it), or null.</summary>
    public Task<long?> TakeAsync(string userId, int platformId) =>
        store.TakeAsync(userId, OpenImPlatforms.DeviceId(platformId), Now - (long)Window.TotalMilliseconds);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
}
