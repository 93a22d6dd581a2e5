using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Parley.Gateway.Connections;

/// <summary>
/// Graceful shutdown of the gateway (SIGTERM): before any service stops, every connection stops taking requests, answers
/// those in progress (their commits finish and are acked) and is closed with 1012, so clients reconnect at once,
/// elsewhere when a load balancer has another node. The web host, the silo (grain deactivation), the push bridge and the
/// commit pipeline then stop in that order.
/// </summary>
internal sealed partial class GatewayDrain(
    ConnectionRegistry registry,
    IOptions<ShutdownOptions> options,
    ILogger<GatewayDrain> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var connections = registry.Count;
        LogDraining(logger, connections);
        var drained = registry.DrainAllAsync();
        try
        {
            await drained.WaitAsync(options.Value.DrainTimeout, cancellationToken).ConfigureAwait(false);
            LogDrained(logger, connections);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            LogDrainTimedOut(logger, registry.Count);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Shutting down: draining {Connections} connections (close 1012, clients reconnect)")]
    private static partial void LogDraining(ILogger logger, int connections);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "Drained {Connections} connections")]
    private static partial void LogDrained(ILogger logger, int connections);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Drain timed out with {Connections} connections left; they are aborted")]
    private static partial void LogDrainTimedOut(ILogger logger, int connections);
}
