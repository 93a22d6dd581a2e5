using System.Diagnostics;
using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// Issue 18's two search figures, as console modes of this project (BenchmarkDotNet reports no p99, and would rebuild a
/// 10M-message corpus per case):
/// <list type="bullet">
/// <item><c>search-latency [--messages 1000000] [--dir /tmp/parley-search-corpus] [--queries 300]</c>: latency percentiles
/// of one user's search across all their conversations (first page of 20, newest first, <see cref="SqliteMessageStore.SearchAsync"/>)
/// for a word that hits 0, 10 and 10,000 messages, over a <see cref="SearchCorpus"/> built once in the folder and kept
/// for the next run. The three words run interleaved, one of each per round, so the machine's load falls on all alike.</item>
/// <item><c>commit-cost [--messages 4000] [--rounds 3] [--batches 1,4,16] [--queues memory|table|table,memory]</c>: what a
/// 1:1 message's commit pays for search: commits of text messages with their search text against the same messages
/// without one, each on a fresh durable file, the variants interleaved per round (the first rotating); the indexer's own
/// cost (run every 500 messages, as <c>SearchIndexBatch</c>) is measured apart. <c>memory</c>: the store with a
/// search-text rule keeps queued texts in memory (the server since stop 36, ADR 0019's amendment); <c>table</c>: the
/// store without one queues them in <c>search_pending</c> in the commit (the server before stop 36). WAL pages per commit
/// are SQLite's count of pages the commits wrote (a count, not a timing). Stop 45: <c>--index-batch N</c> runs the indexer
/// every N messages with batches of N (default 500), <c>--automerge N</c> sets FTS5's automerge option on the index first
/// (default: FTS5's own, 4).</item>
/// </list>
/// Run pinned to one core: <c>taskset -c 1 dotnet benchmarks/Parley.Benchmarks/bin/Release/net10.0/Parley.Benchmarks.dll search-latency</c>.
/// </summary>
public static class SearchLatency
{
    private const string CommitText = "m 00000000 load test text payload with some words in it, about a hundred bytes long for the search index.";

    public static async Task<int> RunAsync(string mode, string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        int Int(string name, int fallback) => o.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# Parley.Benchmarks {mode} {string.Join(' ', args)}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cpu(s) available to this process, {Environment.OSVersion}, .NET {Environment.Version}, load average {LoadAverage()}"));
        switch (mode)
        {
            case "search-latency":
                await SearchAsync(Int("messages", 1_000_000), o.TryGetValue("dir", out var dir) ? dir : Path.Combine(Path.GetTempPath(), "parley-search-corpus"), Int("queries", 300));
                break;
            case "commit-cost":
                await CommitCostAsync(
                    Int("messages", 4000),
                    Int("rounds", 3),
                    [.. (o.TryGetValue("batches", out var b) ? b : "1,4,16").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
                    [.. (o.TryGetValue("queues", out var q) ? q : "memory").Split(',').Select(s => s == "table" ? Queue.Table : Queue.Memory)],
                    Int("index-batch", 500),
                    Int("automerge", 0));
                break;
            default:
                Console.Error.WriteLine("modes: search-latency, commit-cost");
                return 2;
        }

        Console.WriteLine($"# done, load average {LoadAverage()}");
        return 0;
    }

    private static async Task SearchAsync(int messages, string dir, int queries)
    {
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"search-{messages}.db"));
        var (database, store, built) = await SearchCorpus.OpenAsync(file, messages, Console.Out);
        await using (database)
        await using (store)
        {
            var size = new DirectoryInfo(dir).GetFiles(Path.GetFileName(file) + "*").Where(f => !f.Name.Contains(".complete-", StringComparison.Ordinal)).Sum(f => f.Length);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# corpus {file}: {messages:N0} messages, {size / 1e6:F0} MB on disk, {(built is { } t ? $"built in {t.TotalSeconds:F0} s" : "reused")}, load average {LoadAverage()}"));
            string[] words = [SearchCorpus.None, SearchCorpus.Ten, SearchCorpus.Many];
            var samples = words.ToDictionary(w => w, _ => new List<double>(queries), StringComparer.Ordinal);
            var hits = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var round = -5; round < queries; round++)
            {
                foreach (var word in words)
                {
                    var start = Stopwatch.GetTimestamp();
                    var page = await store.SearchAsync(SearchCorpus.Reader, null, word, null, 20);
                    var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    hits[word] = page.Count;
                    if (round >= 0)
                    {
                        samples[word].Add(us);
                    }
                }
            }

            // CPU per query, less sensitive to the machine's load than wall time: each word in a block of its own (the
            // process's CPU clock ticks in 10 ms steps, so per-query deltas would round away).
            var cpuPerQuery = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var word in words)
            {
                var block = Math.Max(20, queries / (word == SearchCorpus.Many ? 10 : 1));
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (var q = 0; q < block; q++)
                {
                    await store.SearchAsync(SearchCorpus.Reader, null, word, null, 20);
                }

                cpuPerQuery[word] = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / block;
            }

            Console.WriteLine($"{"word",-8} {"matches",8} {"page",5} {"queries",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"mean ms",8} {"cpu ms/query",13}");
            var matches = new Dictionary<string, int>(StringComparer.Ordinal) { [SearchCorpus.None] = 0, [SearchCorpus.Ten] = 10, [SearchCorpus.Many] = 10_000 };
            foreach (var word in words)
            {
                var s = samples[word].Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{word,-8} {matches[word],8} {hits[word],5} {s.Length,8} {Percentile(s, 0.50) / 1000,8:F2} {Percentile(s, 0.99) / 1000,8:F2} {s[^1] / 1000,8:F2} {s.Average() / 1000,8:F2} {cpuPerQuery[word],13:F2}"));
            }
        }
    }

    // The variants of a commit-cost round: no search text; the text queued in search_pending in the commit (the store
    // without the core's search-text rule, as before stop 36); the text kept in memory for the indexer (the store with
    // the rule, as the server builds it since stop 36).
    private enum Queue
    {
        None,
        Table,
        Memory,
    }

    // commit-cost's --index-batch (the indexer's batch, SearchIndexBatch; default 500) and --automerge (FTS5's automerge
    // option set on the index before the run; 0: FTS5's default, 4), stop 45: what the merges inside the indexer's
    // statements cost the indexer.
    private static int _indexBatch = 500;
    private static int _automerge;

    private static async Task CommitCostAsync(int messages, int rounds, int[] batches, Queue[] queues, int indexBatch, int automerge)
    {
        _indexBatch = indexBatch;
        _automerge = automerge;
        // Discarded: the first runs of a process pay for JIT tiering (background compiles count as process CPU).
        foreach (var queue in new[] { Queue.None }.Concat(queues))
        {
            await CommitRunAsync(messages, 4, queue);
        }

        var results = new List<(int Batch, Queue Queue, CommitRun Run)>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var batch in batches)
            {
                // Rotate which variant goes first, so a trend in the machine's load does not favour one.
                Queue[] variants = [Queue.None, .. queues];
                var order = variants.Skip((round - 1) % variants.Length).Concat(variants.Take((round - 1) % variants.Length));
                foreach (var queue in order)
                {
                    var run = await CommitRunAsync(messages, batch, queue);
                    results.Add((batch, queue, run));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"r{round} batch {batch,2} {Label(queue),-22}: commit cpu {run.CommitCpuUs,6:F1} us/msg, wall per commit p50 {run.WallP50Us,7:F0} us p99 {run.WallP99Us,7:F0} us, alloc {run.AllocPerMsg,5:F0} B/msg, indexer cpu {run.IndexerCpuUs,5:F1} us/msg, wal pages/commit {run.PagesPerCommit,5:F2}, indexer pages/msg {run.IndexerPagesPerMessage,5:F3}, load {LoadAverage()}"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"medians of {rounds} rounds, {messages} messages each (after 1,000 of warm-up); +x % against 'without' of the same batch size:");
        Console.WriteLine($"{"batch",5} {"variant",-22} {"commit cpu",10} {"+commit",8} {"indexer",8} {"+total",7} {"wall p50",9} {"+wall",7} {"pages/commit",12} {"indexer pages/msg",18} {"alloc/msg",9}");
        foreach (var batch in batches)
        {
            CommitRun Median(Queue queue)
            {
                var runs = results.Where(r => r.Batch == batch && r.Queue == queue).Select(r => r.Run).ToList();
                double M(Func<CommitRun, double> f) => Percentile([.. runs.Select(f).Order()], 0.5);
                return new CommitRun(M(r => r.CommitCpuUs), M(r => r.WallP50Us), M(r => r.WallP99Us), M(r => r.AllocPerMsg), M(r => r.IndexerCpuUs))
                {
                    PagesPerCommit = M(r => r.PagesPerCommit),
                    IndexerPagesPerMessage = M(r => r.IndexerPagesPerMessage),
                };
            }

            var without = Median(Queue.None);
            foreach (var queue in new[] { Queue.None }.Concat(queues))
            {
                var with = Median(queue);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{batch,5} {Label(queue),-22} {with.CommitCpuUs,7:F1} us {Pct(with.CommitCpuUs, without.CommitCpuUs),8} {with.IndexerCpuUs,5:F1} us {Pct(with.CommitCpuUs + with.IndexerCpuUs, without.CommitCpuUs),7} {with.WallP50Us,6:F0} us {Pct(with.WallP50Us, without.WallP50Us),7} {with.PagesPerCommit,12:F2} {with.IndexerPagesPerMessage,18:F3} {with.AllocPerMsg,9:F0}"));
            }
        }
    }

    private static string Label(Queue queue) => queue switch
    {
        Queue.None => "without search text",
        Queue.Table => "with, queued in table",
        _ => "with, queued in memory",
    };

    /// <summary>The benchmark's contents are opaque bytes: a restart's recovery (not exercised here) would find no text in them.</summary>
    private sealed class NoSearchText : ISearchTextExtractor
    {
        public string? SearchText(int contentKind, byte[] content) => null;
    }

    private static async Task<CommitRun> CommitRunAsync(int messages, int batchSize, Queue queue)
    {
        var dir = Directory.CreateTempSubdirectory("parley-commit-cost-");
        try
        {
            var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(dir.FullName, "messages.db") });
            var store = new SqliteMessageStore(database, searchText: queue == Queue.Memory ? new NoSearchText() : null);
            var search = queue != Queue.None;
            await using (database)
            await using (store)
            {
                await store.InitializeAsync();
                if (_automerge > 0)
                {
                    await using var raw = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir.FullName, "messages.db")};Pooling=false");
                    await raw.OpenAsync();
                    using var set = raw.CreateCommand();
                    set.CommandText = string.Create(CultureInfo.InvariantCulture, $"INSERT INTO message_search (message_search, rank) VALUES ('automerge', {_automerge});");
                    await set.ExecuteNonQueryAsync();
                }

                const string Conversation = "si_user-000042_user-000123";
                long version = 0, seq = 0;
                var setup = new CommitBatch();
                setup.Conversations.Add(new NewConversation(Conversation, ConversationKind.Direct, null, string.Empty, "user-000042", 1_790_000_000_000, ["user-000042", "user-000123"], ++version));
                await store.CommitAsync(setup);
                var content = new byte[110];
                var walls = new List<double>();
                double indexerMs = 0;
                long indexerPages = 0;

                // WAL frames (pages) the writer's commits wrote (SQLite's cache-write counter, summed by the database): a count, not a timing.
                Task<long> PagesWritten() => Task.FromResult(database.FramesWritten);

                async Task Commit(int count, bool measure)
                {
                    var batch = new CommitBatch();
                    for (var done = 0; done < count; done += batchSize)
                    {
                        batch.Clear();
                        for (var i = 0; i < batchSize; i++)
                        {
                            var s = ++seq;
                            var id = s.ToString("D8", CultureInfo.InvariantCulture);
                            batch.Messages.Add(new StoredMessage(Conversation, s, "srv-" + id, "user-000042", "cm-" + id, 1_790_000_000_000 + s, 1, content, false, ++version)
                            {
                                SearchText = search ? CommitText.Replace("00000000", id, StringComparison.Ordinal) : null,
                            });
                        }

                        var start = Stopwatch.GetTimestamp();
                        await store.CommitAsync(batch);
                        if (measure)
                        {
                            walls.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        }

                        if (search && seq % _indexBatch < batchSize)
                        {
                            // The server's SearchIndexer: a batch of up to 500 (SearchIndexBatch), measured apart.
                            var pages0 = measure ? await PagesWritten() : 0;
                            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                            await store.IndexPendingAsync(_indexBatch);
                            indexerMs += (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                            if (measure)
                            {
                                indexerPages += await PagesWritten() - pages0;
                            }
                        }
                    }
                }

                await Commit(1000, measure: false);
                indexerMs = 0;
                var pagesStart = await PagesWritten();
                var alloc0 = GC.GetTotalAllocatedBytes(true);
                var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                await Commit(messages, measure: true);
                var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalMilliseconds;
                var alloc = GC.GetTotalAllocatedBytes(true) - alloc0;
                var pages = await PagesWritten() - pagesStart;
                var sorted = walls.Order().ToArray();
                var commits = (double)walls.Count;
                return new CommitRun((cpuMs - indexerMs) * 1000 / messages, Percentile(sorted, 0.5), Percentile(sorted, 0.99), alloc / (double)messages, indexerMs * 1000 / messages)
                {
                    PagesPerCommit = (pages - indexerPages) / commits,
                    IndexerPagesPerMessage = indexerPages / (double)messages,
                };
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Pct(double value, double baseline) => string.Create(CultureInfo.InvariantCulture, $"{((value / baseline) - 1) * 100:+0.0;-0.0} %");

    internal static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private sealed record CommitRun(double CommitCpuUs, double WallP50Us, double WallP99Us, double AllocPerMsg, double IndexerCpuUs)
    {
        /// <summary>WAL pages written per commit (the indexer's excluded).</summary>
        public double PagesPerCommit { get; init; }

        /// <summary>WAL pages the indexer wrote, per message.</summary>
        public double IndexerPagesPerMessage { get; init; }
    }
}
