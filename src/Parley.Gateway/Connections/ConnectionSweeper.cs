using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Gateway.Connections;

/// <summary>Once a second: closes idle connections (4010) and kicks connections whose token expired (4002).</summary>
internal sealed class ConnectionSweeper(ConnectionRegistry registry, IOptions<GatewayOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Sweep();
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    internal void Sweep()
    {
        var idleMs = (long)options.Value.IdleTimeout.TotalMilliseconds;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var connection in registry.All())
        {
            if (connection.ExpiresAt <= now)
            {
                registry.Kick(connection, KickReason.TokenExpired);
            }
            else if (connection.MillisecondsSinceLastFrame > idleMs)
            {
                connection.Close(CloseCodes.IdleTimeout, "idle timeout");
            }
        }
    }
}
