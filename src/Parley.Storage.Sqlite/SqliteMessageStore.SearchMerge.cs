using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>
/// Keeping the FTS5 index in few segments (issue 18, stop 33; ADR 0018's stop 33 amendment). The indexer writes one
/// segment per batch and FTS5's automerge merges a level once it holds 4 of them, so an index written by the server
/// stays in 7–12 segments (measured at 20,000–200,000 rows in the indexer's 500-row batches), and a search opens each
/// term it looks up in every segment: at 10M messages the outlier's 100 conversation keys cost 4,489 pages in 7
/// segments against 1,121 in one (stop 32). Here the writer, when the indexer found the queue empty, runs bounded steps
/// of FTS5's own incremental <c>merge</c>:
/// <list type="bullet">
/// <item>a full merge (<c>merge</c> with a negative page count: every segment into one) while the segments other than
/// the largest hold at least 1/<see cref="MergeTailRatio"/> of its pages: so the index is rewritten whole only after it
/// grew by about an eighth, and each row is rewritten a bounded number of times (about 9) over the store's life;</item>
/// <item>otherwise, with more than <see cref="MergeMaxSegments"/> segments or a merge under way, a merge of one level's
/// segments (positive page count, FTS5's <c>usermerge</c> set to 2), which merges the small recent segments among
/// themselves without touching the large one.</item>
/// </list>
/// Each step writes at most <see cref="SqliteStoreOptions.SearchMergePages"/> leaf pages and is a background write of
/// the writer (<see cref="SqliteDatabase.WriteInBackgroundAsync"/>): alone in its transaction, never grouped with
/// commits, skipped while other writes are queued. A merge never changes what the index holds, only how it is stored.
/// <para>
/// Stop 37 (ADR 0019's stop 37 amendment): the steps' share of the writer's time is bounded by
/// <see cref="SqliteStoreOptions.SearchMergeShare"/> while other writes come (<see cref="BackgroundWriteBudget"/>);
/// while the writer is otherwise idle they run back to back. Without the bound an idle-looking writer (300 messages a
/// second leave it idle most of the time) ran steps back to back between commits: +24 % CPU per message and 2.6× the
/// p99 on the 1:1 soak (stop 36), for a rewrite of the index about 9× over its life.
/// </para>
/// <para>
/// Stop 39 (ADR 0019's stop 39 amendment): while other writes come a step also needs leaf pages earned by the rows indexed
/// since (<see cref="SqliteStoreOptions.SearchMergePagesPerRow"/> each; the balance holds 4 steps and starts full). The
/// time share alone was a fixed tax on the wall clock whatever the load: at 300 messages a second the merge cost about 7 %
/// of the server's CPU per message, most of search's +11.6 %, measured quietly over 6 rounds each. And a full merge, once
/// started, is finished by FTS5's automerge in the indexer's own writes whatever the budget (a fifth of the steps wrote
/// as many bytes), so while other writes come a step starts one only when the small segments hold half the largest
/// (<see cref="MergeTailRatioUnderLoad"/>): each row is rewritten about 3 times instead of 9 under a steady load.
/// </para>
/// </summary>
public sealed partial class SqliteMessageStore
{
    /// <summary>The segments other than the largest may hold up to 1/this of its leaf pages before a full merge.</summary>
    internal const int MergeTailRatio = 8;

    /// <summary>
    /// The same while other writes come (stop 39): a full merge started is finished by FTS5's automerge in the indexer's
    /// own writes, whatever the budget, so under load one starts only once the small segments hold half the largest
    /// (each row rewritten about 3 times instead of 9); an idle writer catches up to <see cref="MergeTailRatio"/>.
    /// </summary>
    internal const int MergeTailRatioUnderLoad = 2;

    /// <summary>Above this many segments, the small ones are merged among themselves.</summary>
    internal const int MergeMaxSegments = 4;

    private const string SearchStructureSql = "SELECT block FROM message_search_data WHERE id = 10;";

    private bool _usermergeSet; // writer only

    private BackgroundWriteBudget? _mergeBudget; // the indexer's loop only (one caller at a time)

    /// <summary>Merge steps that did work since start (for tests and diagnostics).</summary>
    internal long SearchMergeSteps => Interlocked.Read(ref _searchMergeSteps);

    private long _searchMergeSteps;

    /// <summary>Merge steps the budget deferred since start (for tests and diagnostics).</summary>
    internal long SearchMergeDeferred => Interlocked.Read(ref _searchMergeDeferred);

    private long _searchMergeDeferred;

    // Rows indexed since the merge loop last earned pages for them (any thread that indexes adds; the loop takes).
    private long _rowsIndexedForMerge;

    /// <summary>Steps of merge work the budget's page balance holds (and starts with).</summary>
    internal const int MergeStepsInBalance = 4;

    /// <summary>Called after rows were indexed and committed: they earn the background merge its pages.</summary>
    private void NoteRowsIndexed(int rows)
    {
        if (rows > 0)
        {
            Interlocked.Add(ref _rowsIndexedForMerge, rows);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// One bounded merge step when the budget allows it (see the type's remarks): false when there was nothing to merge,
    /// when the budget or a queued write deferred the step (the indexer then waits its interval), true when the step
    /// merged something. Called by one loop at a time.
    /// </remarks>
    public async Task<bool> MaintainIndexAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var options = _database.Options;
        var pages = options.SearchMergePages;
        if (pages == 0)
        {
            return false;
        }

        var budget = _mergeBudget ??= new BackgroundWriteBudget(
            options.SearchMergeShare,
            (long)(options.SearchMergeBudgetCap.TotalSeconds * Stopwatch.Frequency),
            (long)(options.SearchMergeIdleAfter.TotalSeconds * Stopwatch.Frequency),
            Stopwatch.GetTimestamp(),
            workCap: (double)pages * MergeStepsInBalance);
        budget.Earn(Interlocked.Exchange(ref _rowsIndexedForMerge, 0) * options.SearchMergePagesPerRow);
        var now = Stopwatch.GetTimestamp();
        var lastForeground = _database.LastForegroundWrite;
        if (!budget.MayRun(now, lastForeground, pages))
        {
            Interlocked.Increment(ref _searchMergeDeferred);
            _database.NoteBackgroundDeferredByBudget();
            return false;
        }

        var tailRatio = budget.IsIdle(now, lastForeground) ? MergeTailRatio : MergeTailRatioUnderLoad;
        var step = await _database.WriteInBackgroundAsync(writer => MergeSearchStep(writer, pages, tailRatio), cancellationToken).ConfigureAwait(false);
        if (!step.Ran)
        {
            Interlocked.Increment(ref _searchMergeDeferred);
            return false;
        }

        budget.Charge(step.HeldTicks, Stopwatch.GetTimestamp(), _database.LastForegroundWrite, pages);
        return step.Result;
    }

    /// <summary>One merge step of at most <paramref name="pages"/> leaf pages, whatever else is queued (tests and benchmarks).</summary>
    internal Task<bool> MergeSearchStepAsync(int pages, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pages, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WriteAsync((writer, _) => Task.FromResult(MergeSearchStep(writer, pages, MergeTailRatio)), cancellationToken);
    }

    /// <summary>
    /// Merges the whole full-text index into one segment in one write (FTS5's <c>optimize</c>): for an operator after a
    /// bulk import or a reindex (the <c>parley search-optimize</c> command, server stopped). It holds the writer for as
    /// long as it takes (62 s at 10M messages, stop 32); the background merge reaches the same shape in bounded steps.
    /// Returns the index's segments and leaf pages after it.
    /// </summary>
    public async Task<(int Segments, long LeafPages)> OptimizeSearchIndexAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _database.WriteAsync(
            writer =>
            {
                using var command = writer.CreateCommand();
                command.CommandText = "INSERT INTO message_search(message_search) VALUES ('optimize');";
                command.ExecuteNonQuery();
                return true;
            },
            cancellationToken).ConfigureAwait(false);
        return await ReadSearchIndexShapeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The full-text index's segments and leaf pages (0, 0 when empty or not readable).</summary>
    public async Task<(int Segments, long LeafPages)> ReadSearchIndexShapeAsync(CancellationToken cancellationToken = default)
    {
        var structure = await ReadSearchStructureAsync(cancellationToken).ConfigureAwait(false);
        return structure is null ? (0, 0) : (structure.SegmentCount, structure.TotalPages);
    }

    internal async Task<Fts5Structure?> ReadSearchStructureAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return ReadSearchStructure(connection);
        }
    }

    private static Fts5Structure? ReadSearchStructure(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = SearchStructureSql;
        return command.ExecuteScalar() is byte[] block ? Fts5Structure.Parse(block) : null;
    }

    private bool MergeSearchStep(SqliteConnection writer, int pages, int tailRatio)
    {
        var structure = ReadSearchStructure(writer);
        _database.NoteSearchSegments(structure?.SegmentCount ?? 0);
        if (structure is null || (structure.SegmentCount <= 1 && !structure.MergeInProgress))
        {
            return false;
        }

        int argument;
        if (structure.SegmentCount > 1 && (structure.TotalPages - structure.LargestPages) * tailRatio >= structure.LargestPages)
        {
            argument = -pages;
        }
        else if (structure.MergeInProgress || structure.SegmentCount > MergeMaxSegments)
        {
            argument = pages;
        }
        else
        {
            return false;
        }

        if (!_usermergeSet)
        {
            // A positive merge merges a level holding at least this many segments (FTS5's default is 4). Stored in the
            // table's _config; set once per process, as a write of the merge's own transaction.
            Execute(writer, "INSERT INTO message_search(message_search, rank) VALUES ('usermerge', 2);");
        }

        var before = SQLitePCL.raw.sqlite3_total_changes(writer.Handle);
        using (var command = writer.CreateCommand())
        {
            command.CommandText = "INSERT INTO message_search(message_search, rank) VALUES ('merge', $pages);";
            command.Parameters.AddWithValue("$pages", argument);
            command.ExecuteNonQuery();
        }

        _usermergeSet = true;

        // FTS5: a merge that found nothing to do changes fewer than 2 rows.
        var worked = SQLitePCL.raw.sqlite3_total_changes(writer.Handle) - before >= 2;
        if (worked)
        {
            Interlocked.Increment(ref _searchMergeSteps);
        }

        return worked;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
