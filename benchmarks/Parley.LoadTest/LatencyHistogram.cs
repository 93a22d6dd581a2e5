using System.Numerics;

namespace Parley.LoadTest;

/// <summary>
/// Log-linear histogram of microsecond values (HdrHistogram-like): exact below 1,024 µs, then 512 sub-buckets per
/// power of two (≤ 0.2 % error). Recording is lock-free so receive loops on any thread can record.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 1024;
    private const int SubBuckets = 512;
    private const int Octaves = 30;
    private readonly long[] _counts = new long[Linear + (Octaves * SubBuckets)];
    private long _count;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        long seen;
        while ((seen = Volatile.Read(ref _max)) < micros && Interlocked.CompareExchange(ref _max, micros, seen) != seen)
        {
        }
    }

    /// <summary>The value at percentile <paramref name="p"/> (0..100), in microseconds (bucket upper bound); 0 when empty.</summary>
    public long Percentile(double p)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var target = Math.Max(1, (long)Math.Ceiling(p / 100.0 * total));
        long cumulative = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            cumulative += Volatile.Read(ref _counts[i]);
            if (cumulative >= target)
            {
                return Math.Min(UpperValue(i), Max);
            }
        }

        return Max;
    }

    public long Max => Volatile.Read(ref _max);

    /// <summary>Adds every value recorded in <paramref name="other"/> (for percentiles over several steps).</summary>
    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            var c = Volatile.Read(ref other._counts[i]);
            if (c != 0)
            {
                Interlocked.Add(ref _counts[i], c);
            }
        }

        Interlocked.Add(ref _count, other.Count);
        long seen;
        while ((seen = Volatile.Read(ref _max)) < other.Max && Interlocked.CompareExchange(ref _max, other.Max, seen) != seen)
        {
        }
    }

    private int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var log = 63 - BitOperations.LeadingZeroCount((ulong)v);
        var shift = log - 9;
        var sub = (int)(v >> shift) - SubBuckets;
        return Math.Min(Linear + ((shift - 1) * SubBuckets) + sub, _counts.Length - 1);
    }

    private static long UpperValue(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var shift = ((index - Linear) / SubBuckets) + 1;
        var sub = ((index - Linear) % SubBuckets) + SubBuckets;
        return ((long)(sub + 1) << shift) - 1;
    }
}
