using System.Globalization;

namespace Parley.LoadTest;

/// <summary>
/// The server's total allocated bytes, read from its Prometheus page (the runtime meter's
/// <c>dotnet.gc.heap.total_allocated</c>): a step's difference divided by its operations is the allocation per login or
/// per message, a per-operation measure that a loaded machine disturbs far less than throughput. 0 for the relay; NaN
/// when the read failed or timed out, so a step's figure becomes NaN instead of a wrong number. (It was 0 on failure, and
/// the page took more than the old 5 s timeout on a machine at load 50: a step with one failed read reported the server's
/// whole allocation since its start as one window's, or a negative figure, 2026-12-05.)
/// </summary>
internal static class ServerAllocations
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <param name="target">The server.</param>
    /// <param name="savePage">When set, the page read is also written to this file (--window-metrics).</param>
    public static async Task<double> ReadAsync(TargetProcess target, string? savePage = null)
    {
        if (target.Name != "parley")
        {
            return 0;
        }

        try
        {
            var page = await Http.GetStringAsync(new Uri(target.BaseUrl, "metrics")).ConfigureAwait(false);
            if (savePage is not null)
            {
                await File.WriteAllTextAsync(savePage, page).ConfigureAwait(false);
            }

            foreach (var line in page.AsSpan().EnumerateLines())
            {
                if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes", StringComparison.Ordinal) && line.IndexOf(' ') is var space and > 0)
                {
                    var value = line[(space + 1)..];
                    var end = value.IndexOf(' ');
                    return double.Parse(end > 0 ? value[..end] : value, NumberStyles.Float, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException)
        {
        }

        return double.NaN;
    }

    /// <summary>The server's whole /metrics page, or empty for the relay or when the read failed or timed out.</summary>
    public static async Task<string> ReadPageAsync(TargetProcess target)
    {
        if (target.Name != "parley")
        {
            return string.Empty;
        }

        try
        {
            return await Http.GetStringAsync(new Uri(target.BaseUrl, "metrics")).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException)
        {
        }

        return string.Empty;
    }
}
