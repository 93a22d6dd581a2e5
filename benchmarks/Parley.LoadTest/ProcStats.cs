using System.Globalization;

namespace Parley.LoadTest;

/// <summary>Reads CPU time and resident memory of a process from /proc (Linux only).</summary>
internal static class ProcStats
{
    // USER_HZ is 100 on every mainstream Linux configuration.
    private const double TicksPerSecond = 100.0;

    /// <summary>User + system CPU seconds consumed so far, or NaN when the process is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // rest[0] is field 3 (state); utime is field 14, stime field 15.
            var utime = long.Parse(rest[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(rest[12], CultureInfo.InvariantCulture);
            return (utime + stime) / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>Resident set size in bytes (VmRSS), or 0 when the process is gone.</summary>
    public static long RssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}

/// <summary>Samples one process's CPU and RSS over a measurement window.</summary>
internal sealed class ProcWindow : IAsyncDisposable
{
    private readonly int _pid;
    private readonly double _cpuStart;
    private readonly long _wallStart;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _rssPeak;
    private long _rssSum;
    private long _rssSamples;

    private ProcWindow(int pid)
    {
        _pid = pid;
        _cpuStart = ProcStats.CpuSeconds(pid);
        _wallStart = System.Diagnostics.Stopwatch.GetTimestamp();
        _sampler = SampleAsync();
    }

    public static ProcWindow Start(int pid) => new(pid);

    private async Task SampleAsync()
    {
        // Bounded: stops with the window, at most one sample per 250 ms.
        while (!_stop.IsCancellationRequested)
        {
            var rss = ProcStats.RssBytes(_pid);
            _rssPeak = Math.Max(_rssPeak, rss);
            _rssSum += rss;
            _rssSamples++;
            try
            {
                await Task.Delay(250, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Ends the window: CPU as a percentage of one core, CPU seconds, peak and mean RSS.</summary>
    public async Task<ProcUsage> StopAsync()
    {
        var cpu = ProcStats.CpuSeconds(_pid) - _cpuStart;
        var wall = System.Diagnostics.Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sampler.ConfigureAwait(false);
        var rss = ProcStats.RssBytes(_pid);
        _rssPeak = Math.Max(_rssPeak, rss);
        return new ProcUsage(cpu / wall * 100.0, cpu, _rssPeak, _rssSamples == 0 ? rss : _rssSum / _rssSamples);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sampler.ConfigureAwait(false);
        _stop.Dispose();
    }
}

internal readonly record struct ProcUsage(double CpuPercent, double CpuSeconds, long RssPeakBytes, long RssMeanBytes);
