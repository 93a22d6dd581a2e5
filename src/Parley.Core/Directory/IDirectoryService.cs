using Parley.Protocol.V1;

namespace Parley.Core.Directory;

/// <summary>
/// The organisation directory as clients see it. Optional: injected as <see cref="Optional{T}"/>; while it is absent the gateway
/// answers UNSUPPORTED.
/// </summary>
public interface IDirectoryService
{
    /// <summary>What changed since <paramref name="version"/> (0 = everything), or a full reset when the version is too old.</summary>
    Task<DirectoryDelta> SyncAsync(string userId, ulong version, CancellationToken cancellationToken = default);
}
