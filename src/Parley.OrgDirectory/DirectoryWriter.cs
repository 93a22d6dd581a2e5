using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Directory;
using Parley.Core.Delivery;
using Parley.Protocol.V1;

namespace Parley.OrgDirectory;

/// <summary>
/// The one way into the directory store for writes: applies a batch, then tells every live connection the new
/// version (one event per committed batch, however many rows it wrote) and purges tombstones past the retention.
/// </summary>
public sealed class DirectoryWriter : IDisposable
{
    private readonly IDirectoryStore _store;
    private readonly IDeliveryHub _hub;
    private readonly DirectoryOptions _options;
    private readonly ILogger<DirectoryWriter> _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private long _purgedTo = -1;

    public DirectoryWriter(IDirectoryStore store, IDeliveryHub hub, IOptions<DirectoryOptions> options, ILogger<DirectoryWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _hub = hub;
        _options = options.Value;
        _logger = logger;
    }

    public async Task<DirectoryApplyResult> ApplyAsync(IReadOnlyList<DirectoryChange> changes, bool atomic = false, CancellationToken cancellationToken = default)
    {
        // Serialised so events leave in version order.
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await _store.ApplyAsync(changes, atomic, cancellationToken).ConfigureAwait(false);
            if (result.RowsWritten == 0)
            {
                return result;
            }

            DirectoryLog.DirectoryChanged(_logger, result.RowsWritten, result.Version);
            _hub.PublishToAll(new DirectoryChanged(result.Version));

            var horizon = result.Version - _options.TombstoneRetentionVersions;
            if (horizon > 0 && horizon > _purgedTo)
            {
                var purged = await _store.PurgeTombstonesAsync(horizon, CancellationToken.None).ConfigureAwait(false);
                _purgedTo = horizon;
                if (purged > 0)
                {
                    DirectoryLog.TombstonesPurged(_logger, horizon, purged);
                }
            }

            return result;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}
