using System.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace Parley.TestClock;

/// <summary>The system clock plus a fixed offset.</summary>
internal sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
{
    public TimeSpan Offset { get; } = offset;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

/// <summary>Subscribes to the hosting listener and, on "HostBuilding", adds the clock to the host's services.</summary>
internal sealed class HostingListeners(OffsetTimeProvider clock) : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private int _applied;

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == "Microsoft.Extensions.Hosting")
        {
            value.Subscribe(this);
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key == "HostBuilding" && value.Value is IHostBuilder builder)
        {
            builder.ConfigureServices((_, services) => ClockServices.UseClock(services, clock));
            if (Interlocked.Exchange(ref _applied, 1) == 0)
            {
                Console.Error.WriteLine($"Parley.TestClock: the server's clock is shifted by {clock.Offset} (now {clock.GetUtcNow():O}).");
            }
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }
}
