using System.Diagnostics;
using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// <c>search-server … --merge PAGES</c> (issue 18, stop 33): the FTS5 index of the built store merged by the store's
/// background step (<see cref="ISearchIndexQueue.MaintainIndexAsync"/> with <see cref="SqliteStoreOptions.SearchMergePages"/>
/// = PAGES), step after step until it finds nothing to do, as the server's indexer runs it when idle: the segments and
/// leaf pages before and after, the steps, and each step's wall time (p50, p99, max; under load on a shared machine).
/// </summary>
public static partial class SearchServerBench
{
    private static async Task MergeAsync(string file, int pages)
    {
        var options = new SqliteStoreOptions { DataSource = file, SearchMergePages = pages };
        var database = new SqliteDatabase(options);
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                var before = await store.ReadSearchIndexShapeAsync();
                var times = new List<double>();
                var clock = Stopwatch.StartNew();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                while (true)
                {
                    var step = Stopwatch.StartNew();
                    var worked = await ((ISearchIndexQueue)store).MaintainIndexAsync();
                    times.Add(step.Elapsed.TotalMilliseconds);
                    if (!worked)
                    {
                        break;
                    }
                }

                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                var after = await store.ReadSearchIndexShapeAsync();
                times.Sort();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"merge: {before.Segments} segments, {before.LeafPages:N0} leaf pages -> {after.Segments} segments, {after.LeafPages:N0} leaf pages; {times.Count - 1:N0} steps of at most {pages} pages in {clock.Elapsed.TotalSeconds:F1} s wall, {cpuMs / 1000:F1} s CPU; step ms p50 {Pct(times, 0.5):F1} p99 {Pct(times, 0.99):F1} max {times[^1]:F1}; load average {SearchLatency.LoadAverage()}"));
            }
        }

        static double Pct(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
    }
}
