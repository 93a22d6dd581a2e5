namespace Parley.Sdk.Internal;

/// <summary>Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^attempt)].</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max)
    {
        var exponent = Math.Min(attempt, 30);
        var bound = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, exponent));
#pragma warning disable CA5394 // Jitter does not need a cryptographic generator.
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * bound);
#pragma warning restore CA5394
    }
}
