using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Parley.Push.Pipeline;

/// <summary>Hosted service: recovers the journal, runs the send loops (<see cref="PushOptions.Workers"/> in batches of <see cref="PushOptions.DispatchBatch"/>) and the hourly journal purge.</summary>
internal sealed class PushDispatcher(PushPipeline pipeline, IOptions<PushOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await pipeline.RecoverAsync(stoppingToken).ConfigureAwait(false);
        // The workers in send loops of at most DispatchBatch pushes each; together they never have more than Workers
        // requests in flight (37 workers, batch 16: loops of 13, 12 and 12).
        var total = options.Value.Workers;
        var loops = (total + options.Value.DispatchBatch - 1) / options.Value.DispatchBatch;
        var workers = new Task[loops + 1];
        for (var i = 0; i < loops; i++)
        {
            var batch = (total / loops) + (i < total % loops ? 1 : 0);
            workers[i] = Task.Run(() => pipeline.RunWorkerAsync(batch, stoppingToken), stoppingToken);
        }

        workers[^1] = PurgeLoopAsync(stoppingToken);
        await Task.WhenAll([.. workers, LeaseLoopAsync(stoppingToken)]).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // What this node still owns is adopted by another node at once rather than after the lease.
            await pipeline.ReleaseLeaseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The lease then lapses by itself.
        }
    }

    // ADR 0014: the lease is renewed and dead owners' rows adopted every LeaseRenewInterval.
    private async Task LeaseLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LeaseRenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await pipeline.RenewAndAdoptAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PurgeLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await pipeline.PurgeJournalAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
