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
        await Task.WhenAll(workers).ConfigureAwait(false);
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
