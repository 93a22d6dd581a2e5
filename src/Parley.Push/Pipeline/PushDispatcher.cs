using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Parley.Push.Pipeline;

/// <summary>Hosted service: recovers the journal, then runs <see cref="PushOptions.Workers"/> send workers.</summary>
internal sealed class PushDispatcher(PushPipeline pipeline, IOptions<PushOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await pipeline.RecoverAsync(stoppingToken).ConfigureAwait(false);
        var workers = new Task[options.Value.Workers];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => pipeline.RunWorkerAsync(stoppingToken), stoppingToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
    }
}
