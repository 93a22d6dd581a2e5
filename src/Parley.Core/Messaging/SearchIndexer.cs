using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;

namespace Parley.Core.Messaging;

/// <summary>
/// Writes the full-text index after the commit (ADR 0019): takes the texts that commits queued, a batch at a time, in
/// batches back to back while full ones come, then every <see cref="MessagingOptions.SearchIndexInterval"/>. One write
/// per batch instead of one index update in every commit; a search indexes what is still queued itself, so this only
/// keeps that catch-up short. On every node of a cluster (the queue is in the shared database; rows are taken once).
/// When a batch finds the queue empty it runs one bounded step of the store's index upkeep
/// (<see cref="ISearchIndexQueue.MaintainIndexAsync"/>), back to back while steps find work and the store lets them run
/// (SQLite bounds the steps' share of its writer's time while other writes come: ADR 0019, stop 37).
/// </summary>
public sealed partial class SearchIndexer(ISearchIndexQueue queue, IOptions<MessagingOptions> options, TimeProvider time, ILogger<SearchIndexer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.FullTextSearch)
        {
            // Nothing is queued while search is off; what was queued before waits for it to be turned on again.
            return;
        }

        var batch = options.Value.SearchIndexBatch;
        var interval = options.Value.SearchIndexInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            int taken;
            try
            {
                taken = await queue.IndexPendingAsync(batch, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogIndexFailed(logger, ex);
                taken = 0;
            }

            if (taken < batch)
            {
                // Idle: one bounded step of the index's upkeep (SQLite: merging segments), then the queue again at once
                // while steps find work, so a step never holds texts queued meanwhile for longer than one step.
                bool maintained;
                try
                {
                    maintained = await queue.MaintainIndexAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    LogMaintainFailed(logger, ex);
                    maintained = false;
                }

                if (maintained)
                {
                    continue;
                }

                try
                {
                    await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Stops the loop, then indexes what is still queued (bounded by the host's shutdown time): a store that queues texts
    /// in memory (SQLite, ADR 0019's stop-36 amendment) would otherwise leave them to the next start's recovery pass.
    /// Commits that land after this (the commit pipeline stops later) are recovered at the next start as before.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (!options.Value.FullTextSearch)
        {
            return;
        }

        var batch = options.Value.SearchIndexBatch;
        try
        {
            while (await queue.IndexPendingAsync(batch, cancellationToken).ConfigureAwait(false) >= batch)
            {
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of shutdown time: the rest is recovered at the next start.
        }
        catch (Exception ex)
        {
            LogIndexFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 5701, Level = LogLevel.Warning, Message = "Queued search texts could not be indexed; they stay queued for the next attempt")]
    private static partial void LogIndexFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2230, Level = LogLevel.Warning, Message = "A step of the search index's upkeep failed; it is tried again after the next interval")]
    private static partial void LogMaintainFailed(ILogger logger, Exception exception);
}
