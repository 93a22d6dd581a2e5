using BenchmarkDotNet.Attributes;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// Full-text search (issue 18, ADRs 0018 and 0019) on SQLite's FTS5 trigram index: one user's search across all of their
/// conversations, first page of 20, newest first, for a word that hits 0, 10 or 10,000 of <see cref="Messages"/> stored
/// messages (<see cref="SearchCorpus"/>). Mean time and allocation per search at a smoke size (100,000 messages; BenchmarkDotNet
/// builds the corpus once per case). The p50/p99 over 1M and 10M come from <see cref="SearchLatency"/>
/// (<c>-- search-latency --messages 1000000</c>), which builds a corpus once and keeps it.
/// </summary>
[MemoryDiagnoser]
public class SearchBenchmarks
{
    private DirectoryInfo _dir = null!;
    private SqliteDatabase _database = null!;
    private SqliteMessageStore _store = null!;

    public int Messages { get; } = int.TryParse(Environment.GetEnvironmentVariable("PARLEY_BENCH_MESSAGES"), out var n) && n >= 10_000 ? n : 100_000;

    /// <summary>The query: hits no message, 10 messages, or 10,000 messages.</summary>
    [Params(SearchCorpus.None, SearchCorpus.Ten, SearchCorpus.Many)]
    public string Query { get; set; } = "";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _dir = Directory.CreateTempSubdirectory("parley-search-bench-");
        (_database, _store, _) = await SearchCorpus.OpenAsync(Path.Combine(_dir.FullName, "messages.db"), Messages);
    }

    [Benchmark]
    public Task<SearchMatchCollection> SearchFirstPageAsync() => _store.SearchAsync(SearchCorpus.Reader, null, Query, null, 20);

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
        _dir.Delete(recursive: true);
    }
}
