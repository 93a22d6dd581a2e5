using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Parley.Push.Pipeline;

/// <summary>Hosted service: recovers the journal, runs <see cref="PushOptions.Workers"/> send workers and the hourly journal purge.</summary>
internal sealed class PushDispatcher(PushPipeline pipeline, IOptions<PushOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await pipeline.RecoverAsync(stoppingToken).ConfigureAwait(false);
        var workers = new Task[options.Value.Workers + 1];
        for (var i = 0; i < options.Value.Workers; i++)
        {
            workers[i] = Task.Run(() => pipeline.RunWorkerAsync(stoppingToken), stoppingToken);
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
