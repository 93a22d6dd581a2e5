using Parley.Abstractions.Messaging;
using Parley.Storage.Compliance;
using Xunit.Abstractions;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The message store compliance suite on a real SQLite file in WAL mode.</summary>
public sealed partial class SqliteMessageStoreTests : MessageStoreComplianceTests
{
    private readonly TempDatabase _database = new();
    private readonly ITestOutputHelper _output;

    public SqliteMessageStoreTests(ITestOutputHelper output) => _output = output;

    // As the server builds it: with the core's search-text rule, so queued texts wait in memory (ADR 0019, stop 36). The
    // suite's contents are UTF-8 texts; Utf8SearchText reads them back the way ContentSearchText reads a protocol Content.
    protected override IMessageStore CreateStore() => new SqliteMessageStore(_owner = _database.Open(), searchText: new Utf8SearchText());

    private SqliteDatabase _owner = null!;

    /// <summary>
    /// Stop 40: the connect-time sync's statements, prepared once per pooled connection, are not compiled again on every
    /// sync. SQLite marks a statement whose plan looked at a bound value (the message statement's <c>LIMIT $limit</c>) as
    /// expired whenever that parameter is bound again and re-prepares it in the next step; the readers run with the query
    /// planner's stability guarantee, so they are not. 20 syncs of 3 users (fresh and resumed, three window sizes) on the
    /// real store: the rows are right and no prepared statement was compiled again. Before: at least one re-prepare per sync.
    /// </summary>
    [Fact]
    public async Task Sync_PreparedStatements_AreNotCompiledAgainForEachSync()
    {
        string[] users = ["ru1", "ru2", "ru3"];
        await CommitAsync(b => b.Conversations.AddRange([Group("rg1", "ru1", users), Group("rg2", "ru2", users), Group("rg3", "ru3", users)]));
        for (var seq = 1; seq <= 6; seq++)
        {
            var s = seq;
            await CommitAsync(b => b.Messages.AddRange([Message("rg1", s, "ru1"), Message("rg2", s, "ru2"), Message("rg3", s, "ru3")]));
        }

        var source = (ISyncRowSource)Store;
        var sink = new CountingSink();
        await source.GetChangesAsync("ru1", 0, 200, sink); // prepares the statements on the pool's connection
        Assert.Equal(18, sink.Rows);
        var before = _owner.Reprepares();
        for (var i = 0; i < 20; i++)
        {
            sink.Rows = 0;
            var limit = (i % 3) + 2;
            var snapshot = await source.GetChangesAsync(users[i % 3], 0, limit, sink);
            Assert.Equal(3, snapshot.Changes.Count);
            Assert.Equal(3 * (limit + 1), sink.Rows); // the max + 1 window of each conversation
        }

        var after = _owner.Reprepares();
        Assert.True(after == before, $"the prepared statements were compiled again {after - before} times in 20 syncs");
    }

    private sealed class CountingSink : ISyncRowSink
    {
        public int Rows;

        public void Add(int conversation, in SyncRow row) => Rows++;
    }

    protected override int DirectConversationIdMigration => 10;

    protected override Task ExecuteSqlAsync(string sql)
    {
        _database.Scalar(sql);
        return Task.CompletedTask;
    }

    // Migration 10 rewrites members.conversation_id; since migration 26 members (and since 30 messages) name their
    // conversation by its key, so the rewind puts the rows back in the layout of version 25 (every value kept) and
    // migrations 26 and 30 run again after 10.
    protected override Task RewindDirectConversationIdMigrationAsync()
    {
        _database.Scalar("DELETE FROM schema_migrations WHERE version IN (10, 26, 30, 32);" + SqliteMemberLayouts.BackToTextConversationIds);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }

    /// <summary>
    /// Issue 18: a word common in other users' conversations and rare in bob's costs a search across his conversations what
    /// his own data costs, not what the word's other matches cost: the database pages each search reads (SQLite's page
    /// cache hits and misses on the search's connection: every B-tree page its statements visit, the FTS5 index's too), with
    /// the server's window of 5,000, for a word only in bob's messages and for one also in 3,000 and then 6,000 of carol's
    /// newer messages: bounded by bob's page and conversations, and the same for 3,000 or 6,000 of carol's. Before, the
    /// search over all conversations took the newest 5,000 matches of the whole index first and joined each to its message
    /// to find bob's: thousands of carol's messages read to return bob's four.
    /// </summary>
    [Fact]
    public async Task Search_AWordCommonInOtherUsersConversations_ReadsPagesInProportionToTheUsersOwn()
    {
        var store = (SqliteMessageStore)Store;
        var pages = new List<long>();
        store.SearchPagesObserver = pages.Add;
        var (own, common, more) = await SearchAWordCommonInOtherUsersConversationsAsync(
            // Indexed now (a search indexes what is queued first; its pages are not counted).
            indexedAsync: () => Store.SearchAsync("carol", null, "warm-up", null, 1),
            costAsync: () =>
            {
                var read = pages.Sum();
                pages.Clear();
                return Task.FromResult(read);
            });
        store.SearchPagesObserver = null;

        var reads = $"pages read: bob's word {own}, with carol's 3,000 {common}, with carol's 6,000 {more}";
        _output.WriteLine(reads);
        // Bob's word: 70 pages (112 with a floor walk and a page walk per window, before stop 30). The word carol's
        // messages hold too: the walk over the whole index stops at its newest 85 matches (4 × 21 + 1), each joined (bob's
        // page might be among them), then only bob's conversations are walked: about 670 pages (800 before stop 30),
        // whether carol has 3,000 or 6,000. Before stop 29: 21,061, then 35,273.
        Assert.True(own > 0, reads);
        Assert.True(common <= (2 * own) + (10 * 85), reads);
        Assert.True(more <= common + 100, reads);
    }

    /// <summary>
    /// Issue 18 (stop 31): when a search across the user's conversations walks only his conversations (the word's newest
    /// matches in the whole index being others'), it walks at most its row allowance of index rows below the cursor; a page
    /// still short there returns what it found (maybe nothing) and continues below the band. Over random membership
    /// histories with other users' matches between the users' (the default allowance, so unbounded here, as the
    /// reference), every user's search of all his conversations (and of each conversation, his and one he never was in,
    /// which the allowance leaves alone), paged through by the core's rules with allowances of 2 and 9 rows and pages of
    /// 7, returns exactly, in order, what the unbounded walk returns, and that is exactly what the user may see. The small
    /// allowances cut: pages came back with a continuation, empty ones among them.
    /// </summary>
    [Fact]
    public async Task Search_PastItsRowAllowance_PagesOnBelowIt_ExactlyWhatOneUnboundedWalkFinds_NothingTheUserMayNotSee()
    {
        var store = (SqliteMessageStore)Store;
        var histories = await CommitRandomMembershipHistoriesAsync(31, noise: 6);
        int cuts = 0, emptyCuts = 0;
        async Task<List<(string, long)>> PageThroughAsync(string user, string? conversation, int allowance)
        {
            const int Limit = 7;
            store.SearchRowAllowance = allowance;
            var found = new List<(string, long)>();
            SearchPosition? after = null;
            for (var requests = 0; requests < 1000; requests++)
            {
                // As MessagingService.SearchAsync asks and pages: one more than the page, then its token.
                var page = await Store.SearchAsync(user, conversation, "needle", after, Limit + 1);
                Assert.False(page.ScanLimitReached);
                found.AddRange(Hits(page).Take(Limit));
                if (page.Count > Limit)
                {
                    var last = page[Limit - 1].Message;
                    after = new SearchPosition(last.ServerTime, last.ConversationId, last.Seq);
                }
                else if (page.ContinueBelow is { } below)
                {
                    Assert.True(below.IsTimeCut);
                    cuts++;
                    emptyCuts += page.Count == 0 ? 1 : 0;
                    after = below;
                }
                else
                {
                    return found;
                }
            }

            throw new InvalidOperationException("paging did not end");
        }

        foreach (var user in RandomHistoryUsers)
        {
            foreach (var conversation in new[] { null, "p0", "p1", "p2", "p3", "x1" })
            {
                var unbounded = await PageThroughAsync(user, conversation, 1_000_000);
                Assert.Equal(unbounded.Count, unbounded.Distinct().Count());
                Assert.Equal(histories.Expected(user, conversation).Order().ToList(), unbounded.Order().ToList());
                Assert.Equal(unbounded, await PageThroughAsync(user, conversation, 9));
                Assert.Equal(unbounded, await PageThroughAsync(user, conversation, 2));
            }
        }

        _output.WriteLine($"{cuts} pages continued below the allowance, {emptyCuts} of them empty; {histories.Visible.Count} visible (user, message) pairs");
        Assert.True(cuts > 50 && emptyCuts > 0, $"the allowances cut {cuts} pages ({emptyCuts} empty): too few to mean anything");
        Assert.True(histories.Visible.Count > 50, "the random histories produced too few visible messages to mean anything");
    }

    /// <summary>
    /// Issue 18 (stop 33): the background merge of the FTS5 index. An index written in many small batches (as the indexer
    /// writes it) is in more than <see cref="SqliteMessageStore.MergeMaxSegments"/> segments; merge steps of one leaf page
    /// each, with a commit (and its indexing) and searches between two of them, leave every search of every user (all his
    /// conversations and each one, paged through) exactly as before, and end with fewer segments, at most
    /// <see cref="SqliteMessageStore.MergeMaxSegments"/>; the commit went through while the merge was under way (it did
    /// not wait for it). Then the operator's optimize: one segment, the same results. The segment count read from FTS5's
    /// structure record is checked against the segments the index's <c>_idx</c> table names.
    /// </summary>
    [Fact]
    public async Task SearchIndexMerge_InBoundedSteps_KeepsEveryHit_LeavesFewerSegments_CommitsGoOnBetweenSteps()
    {
        var store = (SqliteMessageStore)Store;
        var histories = await CommitRandomMembershipHistoriesAsync(33, noise: 6);
        await CreateDirectAsync("f1", "fa", "fb");
        var random = new Random(33);
        string Filler() => string.Join(' ', Enumerable.Range(0, 30).Select(_ => new string([.. Enumerable.Range(0, 5).Select(_ => (char)('a' + random.Next(26)))])));
        for (var s = 1; s <= 200; s++)
        {
            var seq = s;
            var text = Filler();
            await CommitAsync(b => b.Messages.Add(Message("f1", seq, "fa", serverTime: 5000 + seq) with { SearchText = text }));
        }

        // As the indexer writes it, in small batches (a segment each).
        while (await store.IndexPendingAsync(5) > 0)
        {
        }

        async Task<Dictionary<string, List<(string, long)>>> SearchEverythingAsync()
        {
            var all = new Dictionary<string, List<(string, long)>>();
            foreach (var user in RandomHistoryUsers)
            {
                foreach (var conversation in new[] { null, "p0", "p1", "p2", "p3", "x1" })
                {
                    var found = new List<(string, long)>();
                    SearchPosition? after = null;
                    for (var requests = 0; ; requests++)
                    {
                        Assert.True(requests < 1000, "paging did not end");
                        var page = await Store.SearchAsync(user, conversation, "needle", after, 8);
                        found.AddRange(Hits(page).Take(7));
                        if (page.Count <= 7 && page.ContinueBelow is null)
                        {
                            break;
                        }

                        after = page.Count > 7
                            ? new SearchPosition(page[6].Message.ServerTime, page[6].Message.ConversationId, page[6].Message.Seq)
                            : page.ContinueBelow;
                    }

                    all[user + "/" + conversation] = found;
                }
            }

            return all;
        }

        long IdxSegments() => (long)_database.Scalar("SELECT count(DISTINCT segid) FROM message_search_idx;")!;

        var expected = await SearchEverythingAsync();
        foreach (var user in RandomHistoryUsers)
        {
            Assert.Equal(histories.Expected(user, null).Order().ToList(), expected[user + "/"].Order().ToList());
        }

        var before = (await store.ReadSearchStructureAsync())!;
        Assert.Equal(IdxSegments(), before.SegmentCount);
        Assert.True(before.SegmentCount > SqliteMessageStore.MergeMaxSegments, $"{before.SegmentCount} segments: too few to merge");

        Assert.True(await store.MergeSearchStepAsync(1));
        Assert.True((await store.ReadSearchStructureAsync())!.MergeInProgress, "one page did not leave the merge under way");
        var filler = "zzmerge " + Filler();
        await CommitAsync(b => b.Messages.Add(Message("f1", 201, "fa", serverTime: 6000) with { SearchText = filler }));
        Assert.True(await store.IndexPendingAsync(5) == 1);
        Assert.True((await store.ReadSearchStructureAsync())!.MergeInProgress, "the commit waited for the merge to end");
        Assert.Equal(expected, await SearchEverythingAsync());

        var steps = 1;
        while (await store.MergeSearchStepAsync(1))
        {
            Assert.True(++steps < 100_000, "the merge did not end");
            if (steps % 50 == 0)
            {
                Assert.Equal(expected, await SearchEverythingAsync());
            }
        }

        var after = (await store.ReadSearchStructureAsync())!;
        _output.WriteLine($"{before.SegmentCount} segments ({before.TotalPages} leaf pages) -> {after.SegmentCount} ({after.TotalPages}) in {steps} steps of 1 page");
        Assert.False(after.MergeInProgress);
        Assert.Equal(IdxSegments(), after.SegmentCount);
        Assert.True(after.SegmentCount < before.SegmentCount && after.SegmentCount <= SqliteMessageStore.MergeMaxSegments, $"{after.SegmentCount} segments after merging");
        Assert.Equal(expected, await SearchEverythingAsync());
        Assert.Equal([("f1", 201L)], Hits(await Store.SearchAsync("fa", "f1", "zzmerge", null, 10)));

        var optimized = await store.OptimizeSearchIndexAsync();
        Assert.Equal(1, optimized.Segments);
        Assert.Equal(1, IdxSegments());
        Assert.Equal(expected, await SearchEverythingAsync());
        Assert.False(await store.MergeSearchStepAsync(64));
    }

    // 40 messages in d1 (alice to bob, "needle N"), each indexed in a write of its own: more segments than the merge leaves.
    private async Task<int> IndexFortyTextsOneSegmentEachAsync(SqliteMessageStore store)
    {
        await CreateDirectAsync("d1", "alice", "bob");
        for (var s = 1; s <= 40; s++)
        {
            var seq = s;
            await CommitAsync(b => b.Messages.Add(Message("d1", seq, "alice", serverTime: 1000 + seq) with { SearchText = "needle " + seq }));
            await store.IndexPendingAsync(100);
        }

        var segments = (await store.ReadSearchStructureAsync())!.SegmentCount;
        Assert.True(segments > SqliteMessageStore.MergeMaxSegments, $"{segments} segments");
        return segments;
    }

    /// <summary>
    /// The indexer's step (<c>MaintainIndexAsync</c>, default settings) merges an index written one message per batch down
    /// to fewer segments, every hit kept; with <c>SearchMergePages</c> at 0 it does nothing.
    /// </summary>
    [Fact]
    public async Task SearchIndexMerge_BackgroundStep_MergesOnlyWhenOn()
    {
        var store = (SqliteMessageStore)Store;
        var before = await IndexFortyTextsOneSegmentEachAsync(store);
        var steps = 0;
        while (await ((ISearchIndexQueue)store).MaintainIndexAsync())
        {
            Assert.True(++steps < 10_000, "the merge did not end");
        }

        var after = (await store.ReadSearchStructureAsync())!.SegmentCount;
        Assert.True(steps > 0 && after < before, $"{before} -> {after} segments in {steps} steps");
        Assert.Equal(40, (await Store.SearchAsync("bob", "d1", "needle", null, 100)).Count);

        var offOptions = _database.Options();
        offOptions.SearchMergePages = 0;
        var offDatabase = new SqliteDatabase(offOptions);
        await using (offDatabase)
        {
            await offDatabase.InitializeAsync();
            await CommitAsync(b => b.Messages.Add(Message("d1", 41, "alice", serverTime: 2000) with { SearchText = "needle 41" }));
            await store.IndexPendingAsync(100);
            await using var off = new SqliteMessageStore(offDatabase);
            Assert.False(await off.MaintainIndexAsync());
            Assert.Equal(after + 1, (await store.ReadSearchStructureAsync())!.SegmentCount);
        }
    }

    /// <summary>
    /// ADR 0019, stop 37: the indexer's merge steps take at most <c>SearchMergeShare</c> of the writer's time while other
    /// writes come. With an empty budget (no burst, a negligible share) and a writer that is never idle for long enough,
    /// a step is deferred without touching the index; with the same budget but an idle writer the steps run to the end,
    /// uncharged, and every hit is kept.
    /// </summary>
    [Fact]
    public async Task SearchIndexMerge_BackgroundStep_UnderLoadWaitsForItsShare_WhileIdleRunsToTheEnd()
    {
        var store = (SqliteMessageStore)Store;
        var before = await IndexFortyTextsOneSegmentEachAsync(store);

        async Task<(int Steps, long Deferred, int Segments, long DeferredByBudget, int Timed, long Gauge)> MaintainUntilFalseAsync(TimeSpan idleAfter)
        {
            using var factory = new TestMeterFactory();
            long deferredByBudget = 0, gauge = -1;
            var timed = 0;
            using var listener = new System.Diagnostics.Metrics.MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (factory.Created.Contains(instrument.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument.Name == "parley.storage.sqlite.search.segments")
                {
                    gauge = value;
                }

                foreach (var tag in tags)
                {
                    if (instrument.Name == "parley.storage.sqlite.background.deferred" && tag.Key == "reason" && (string?)tag.Value == "budget")
                    {
                        deferredByBudget += value;
                    }
                }
            });
            listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
            {
                if (instrument.Name == "parley.storage.sqlite.background.duration" && value > 0)
                {
                    timed++;
                }
            });
            listener.Start();

            var options = _database.Options();
            options.SearchMergeShare = 1e-9;
            options.SearchMergeBudgetCap = TimeSpan.Zero;
            options.SearchMergeIdleAfter = idleAfter;
            var owner = new SqliteDatabase(options, meterFactory: factory);
            await using (owner)
            {
                await owner.InitializeAsync();
                await using var bounded = new SqliteMessageStore(owner);
                var steps = 0;
                while (await ((ISearchIndexQueue)bounded).MaintainIndexAsync())
                {
                    Assert.True(++steps < 10_000, "the merge did not end");
                }

                listener.RecordObservableInstruments();
                return (steps, bounded.SearchMergeDeferred, (await bounded.ReadSearchStructureAsync())!.SegmentCount, deferredByBudget, timed, gauge);
            }
        }

        // Busy: the writer's last write is younger than an hour. Nothing merged, the step deferred (and counted so).
        var busy = await MaintainUntilFalseAsync(TimeSpan.FromHours(1));
        Assert.Equal((0, 1L, before, 1L, 0, 0L), busy); // no step read the index: the gauge is 0

        // Idle (every moment counts as idle): steps back to back until nothing is left to merge, each one timed (the
        // last one found nothing to merge).
        var idle = await MaintainUntilFalseAsync(TimeSpan.Zero);
        Assert.True(idle.Steps > 0 && idle.Deferred == 0 && idle.Segments < before && idle.Segments <= SqliteMessageStore.MergeMaxSegments, idle.ToString());
        Assert.Equal((0L, idle.Steps + 1, (long)idle.Segments), (idle.DeferredByBudget, idle.Timed, idle.Gauge));
        Assert.Equal(40, (await Store.SearchAsync("bob", "d1", "needle", null, 100)).Count);
    }

    /// <summary>
    /// ADR 0019, stop 39: while other writes come a merge step also needs the leaf pages it may write in the budget's page
    /// balance, earned by the rows indexed since (<c>SearchMergePagesPerRow</c> each) and starting with four steps' worth.
    /// With one-page steps, no time bound and a writer never idle: four steps run, then the merge waits (deferred, the
    /// index untouched) until four rows indexed at a quarter page each paid for one more step; every hit is kept.
    /// </summary>
    [Fact]
    public async Task SearchIndexMerge_BackgroundStep_UnderLoadNeedsPagesEarnedByTheRowsIndexed()
    {
        var options = _database.Options();
        options.SearchMergePages = 1;
        options.SearchMergeShare = 1; // no bound by time: only the pages decide
        options.SearchMergePagesPerRow = 0.25;
        options.SearchMergeIdleAfter = TimeSpan.FromHours(1); // the writer is never idle here
        var owner = new SqliteDatabase(options);
        await using (owner)
        {
            await owner.InitializeAsync();
            await using var store = new SqliteMessageStore(owner, searchText: new Utf8SearchText());
            var queue = (ISearchIndexQueue)store;
            var batch = new CommitBatch();
            batch.Conversations.Add(Direct("d1", "alice", "bob"));
            await store.CommitAsync(batch);
            for (var s = 1; s <= 40; s++)
            {
                var one = new CommitBatch();
                one.Messages.Add(Message("d1", s, "alice", serverTime: 1000 + s) with { SearchText = LongText(s) });
                await store.CommitAsync(one);
                Assert.Equal(1, await store.IndexPendingAsync(100));
            }

            // 40 rows indexed before the loop first asked: 10 pages earned, but the balance starts full and holds 4.
            var segments = (await store.ReadSearchStructureAsync())!.SegmentCount;
            Assert.True(segments > SqliteMessageStore.MergeMaxSegments, $"{segments} segments");
            var steps = 0;
            while (await queue.MaintainIndexAsync())
            {
                Assert.True(++steps < 100, "the page balance did not stop the steps");
            }

            Assert.Equal((SqliteMessageStore.MergeStepsInBalance, 1L), (steps, store.SearchMergeDeferred));
            Assert.False(await queue.MaintainIndexAsync());
            Assert.Equal(2L, store.SearchMergeDeferred);

            // Three rows indexed: 0.75 page, not enough for a one-page step; the fourth pays for it.
            for (var s = 41; s <= 44; s++)
            {
                var one = new CommitBatch();
                one.Messages.Add(Message("d1", s, "alice", serverTime: 1000 + s) with { SearchText = LongText(s) });
                await store.CommitAsync(one);
                Assert.Equal(1, await store.IndexPendingAsync(100));
                if (s == 43)
                {
                    Assert.False(await queue.MaintainIndexAsync());
                }
            }

            Assert.Equal(3L, store.SearchMergeDeferred);
            Assert.True(await queue.MaintainIndexAsync());
            Assert.False(await queue.MaintainIndexAsync());
            Assert.Equal((SqliteMessageStore.MergeStepsInBalance + 1L, 4L), (store.SearchMergeSteps, store.SearchMergeDeferred));
            Assert.Equal(44, (await store.SearchAsync("bob", "d1", "needle", null, 100)).Count);
        }

        // A text of many distinct trigrams, so each row's segment spans several leaf pages and a one-page step merges a part.
        static string LongText(int seed) => NeedleAndRandomLetters(seed, 3000);
    }

    /// <summary>
    /// ADR 0019, stop 39: a full merge, once started, is finished by FTS5's automerge in the indexer's own writes, so while
    /// other writes come a step starts one only when the small segments hold half the largest's pages, not an eighth. An
    /// index of one large segment and one small one between the two thresholds: under load (no bound by time or pages) the
    /// step finds nothing to start; with the writer idle the same step merges it into one segment; every hit is kept.
    /// </summary>
    [Fact]
    public async Task SearchIndexMerge_BackgroundStep_UnderLoadStartsAFullMergeOnlyAtHalfTheLargestSegment()
    {
        await using (var store = new SqliteMessageStore(_database.Open(), searchText: new Utf8SearchText()))
        {
            await store.InitializeAsync();
            var create = new CommitBatch();
            create.Conversations.Add(Direct("d1", "alice", "bob"));
            await store.CommitAsync(create);

            // One indexer write per batch of rows: one segment each (the trigrams of 800 random letters a row).
            var seq = 0;
            async Task IndexBatchAsync(int rows)
            {
                var batch = new CommitBatch();
                for (var i = 0; i < rows; i++)
                {
                    seq++;
                    batch.Messages.Add(Message("d1", seq, "alice", serverTime: 1000 + seq) with { SearchText = NeedleAndRandomLetters(seq, 800) });
                }

                await store.CommitAsync(batch);
                Assert.Equal(rows, await store.IndexPendingAsync(1000));
            }

            await IndexBatchAsync(40);
            await IndexBatchAsync(8);
            var shape = (await store.ReadSearchStructureAsync())!;
            var tail = shape.TotalPages - shape.LargestPages;
            Assert.True(
                shape.SegmentCount == 2 && !shape.MergeInProgress
                && tail * SqliteMessageStore.MergeTailRatio >= shape.LargestPages && tail * SqliteMessageStore.MergeTailRatioUnderLoad < shape.LargestPages,
                $"the index should be one large and one small segment between the thresholds: {shape.SegmentCount} segments, {shape.LargestPages} + {tail} pages");
        }

        async Task<(bool Worked, int Segments, long Deferred)> StepAsync(TimeSpan idleAfter)
        {
            var options = _database.Options();
            options.SearchMergeShare = 1;
            options.SearchMergePagesPerRow = 1000;
            options.SearchMergeIdleAfter = idleAfter;
            await using var owner = new SqliteDatabase(options);
            await using var store = new SqliteMessageStore(owner, searchText: new Utf8SearchText());
            await store.InitializeAsync();
            var worked = await ((ISearchIndexQueue)store).MaintainIndexAsync();
            return (worked, (await store.ReadSearchStructureAsync())!.SegmentCount, store.SearchMergeDeferred);
        }

        // Busy (the last write is younger than an hour): nothing to start, nothing deferred.
        Assert.Equal((false, 2, 0L), await StepAsync(TimeSpan.FromHours(1)));

        // Idle: the full merge starts; steps until it is one segment.
        var idle = await StepAsync(TimeSpan.Zero);
        Assert.True(idle.Worked, idle.ToString());
        await using (var store = new SqliteMessageStore(_database.Open(), searchText: new Utf8SearchText()))
        {
            await store.InitializeAsync();
            for (var i = 0; i < 1000 && await store.MergeSearchStepAsync(64); i++)
            {
            }

            Assert.Equal(1, (await store.ReadSearchStructureAsync())!.SegmentCount);
            Assert.Equal(48, (await store.SearchAsync("bob", "d1", "needle", null, 100)).Count);
        }
    }

    /// <summary>"needle " and <paramref name="length"/> random letters in words of 7 (seeded): a text of many distinct trigrams.</summary>
    private static string NeedleAndRandomLetters(int seed, int length)
    {
        var random = new Random(seed);
        var chars = new char[length];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = i % 8 == 7 ? ' ' : (char)('a' + random.Next(26));
        }

        return "needle " + new string(chars);
    }

    /// <summary>
    /// ADR 0019, stop 36: the commit writes no queue row (the text waits in memory); a process stopped before its indexer
    /// ran (here: its store simply abandoned, as a kill leaves it) loses nothing: the next owner of the file indexes what
    /// was committed above the durable mark from the stored content, and an edit or revoke committed before the stop
    /// leaves no old text searchable. The mark then covers everything committed.
    /// </summary>
    [Fact]
    public async Task Search_MemoryQueue_CommitWritesNoQueueRow_AKilledProcesssUnindexedTextsAreIndexedAfterRestart()
    {
        var store = (SqliteMessageStore)Store;
        Assert.True(store.QueuesInMemory);
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice", text: "alpha indexed before") with { SearchText = "alpha indexed before" }));
        Assert.Equal(1, await store.IndexPendingAsync(10));
        var markAfterFirst = (long)_database.Scalar("SELECT indexed_through FROM search_state;")!;
        Assert.Equal(await Store.GetMaxVersionAsync(), markAfterFirst);

        await CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 2, "alice", text: "bravo typo") with { SearchText = "bravo typo" });
            b.Messages.Add(Message("d1", 3, "bob", text: "charlie secret") with { SearchText = "charlie secret" });
            b.Messages.Add(Message("d1", 4, "bob", text: "delta 中文消息 kept") with { SearchText = "delta 中文消息 kept" });
        });
        await CommitAsync(b => b.MessageUpdates.Add(new MessageUpdate("d1", 2, [1], NextVersion()) { Content = Body("bravo fixed"), SearchText = "bravo fixed" }));
        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 3)));
        Assert.Equal(0L, (long)_database.Scalar("SELECT COUNT(*) FROM search_pending;")!);
        Assert.Equal(markAfterFirst, (long)_database.Scalar("SELECT indexed_through FROM search_state;")!);

        // The "killed" process's store is never asked to index again; a new owner of the file starts.
        var restarted = new SqliteMessageStore(_database.Open(), searchText: new Utf8SearchText());
        await using (restarted)
        {
            await restarted.InitializeAsync();
            Assert.Equal([("d1", 4L)], Hits(await restarted.SearchAsync("alice", null, "中文消", null, 10)));
            Assert.Equal([("d1", 2L)], Hits(await restarted.SearchAsync("bob", "d1", "bravo", null, 10)));
            Assert.Empty(await restarted.SearchAsync("bob", null, "typo", null, 10));
            Assert.Empty(await restarted.SearchAsync("bob", null, "charlie", null, 10));
            Assert.Equal([("d1", 1L)], Hits(await restarted.SearchAsync("bob", null, "alpha", null, 10)));
            Assert.Equal(1, restarted.RecoveredTexts); // message 4 only: 1 was indexed, 2 by its edit, 3 revoked
            Assert.Equal(await restarted.GetMaxVersionAsync(), (long)_database.Scalar("SELECT indexed_through FROM search_state;")!);
            Assert.Equal(0, await restarted.IndexPendingAsync(10));
        }

        // The first store's memory still holds the texts of 2, 3 and 4: all skipped (edited, revoked, indexed since).
        Assert.Equal(0, await store.IndexPendingAsync(10));
        Assert.Equal(1L, (long)_database.Scalar("SELECT COUNT(*) FROM message_search WHERE message_search MATCH '\"delta\"';")!);
        Assert.Empty(await Store.SearchAsync("bob", null, "typo", null, 10));
    }

    /// <summary>
    /// A write that rolled back (a uniqueness violation later in its batch) had already handed its text to the memory
    /// queue: the indexer finds no such message row and skips it; the same seq committed again later with another text
    /// is found by that text only.
    /// </summary>
    [Fact]
    public async Task Search_MemoryQueue_ATextOfARolledBackCommitIsNeverIndexed()
    {
        var store = (SqliteMessageStore)Store;
        await CreateDirectAsync("d1", "alice", "bob");
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice", text: "first message") with { SearchText = "first message" }));
        await Assert.ThrowsAsync<StoreConflictException>(() => CommitAsync(b =>
        {
            b.Messages.Add(Message("d1", 2, "alice", text: "ghost words") with { SearchText = "ghost words" });
            b.Messages.Add(Message("d1", 1, "alice", clientMsgId: "other") with { SearchText = "duplicate seq" });
        }));
        Assert.Equal(1, await store.IndexPendingAsync(10));
        Assert.Empty(await Store.SearchAsync("bob", null, "ghost", null, 10));

        await CommitAsync(b => b.Messages.Add(Message("d1", 2, "alice", text: "real words") with { SearchText = "real words" }));
        Assert.Equal(1, await store.IndexPendingAsync(10));
        Assert.Equal([("d1", 2L)], Hits(await Store.SearchAsync("bob", null, "real", null, 10)));
        Assert.Empty(await Store.SearchAsync("bob", null, "ghost", null, 10));
    }

    /// <summary>
    /// Past its bound the memory queue is dropped and the indexer's next run indexes everything above the mark from the
    /// stored content: nothing is lost, edits and revokes included.
    /// </summary>
    [Fact]
    public async Task Search_MemoryQueue_OverItsBound_IsDroppedAndRecoveredFromTheMark()
    {
        var store = (SqliteMessageStore)Store;
        store.QueuedTextsBound = 3;
        await CreateDirectAsync("d1", "alice", "bob");
        Assert.Equal(0, await store.IndexPendingAsync(10)); // the start's recovery: nothing yet
        for (var s = 1; s <= 8; s++)
        {
            var seq = s;
            await CommitAsync(b => b.Messages.Add(Message("d1", seq, "alice", text: $"needle number {seq}") with { SearchText = $"needle number {seq}" }));
        }

        await CommitAsync(b => b.Revocations.Add(new Revocation("d1", 5)));
        var indexed = await store.IndexPendingAsync(100);
        Assert.Equal(8 - 1, indexed);
        Assert.Equal(7, store.RecoveredTexts);
        Assert.Equal(
            [.. new long[] { 8, 7, 6, 4, 3, 2, 1 }.Select(s => ("d1", s))],
            Hits(await Store.SearchAsync("bob", "d1", "needle", null, 100)));
        Assert.Equal(await Store.GetMaxVersionAsync(), (long)_database.Scalar("SELECT indexed_through FROM search_state;")!);
    }

    /// <summary>
    /// ADR 0019, stop 37: a recovery pass (here a restart after a kill, as when search is turned on after a period off)
    /// indexes a batch's worth of rows per indexer write, never the whole backlog in one transaction; the mark stays where
    /// it was until the pass ends, commits between the batches are indexed too, and a new owner after a stop in the middle
    /// of the pass finishes it (rows already indexed are skipped).
    /// </summary>
    [Fact]
    public async Task Search_RecoveryPass_IndexesABatchPerWrite_TheMarkRisesOnlyAtItsEnd()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        await CreateDirectAsync("d2", "alice", "carol");
        await CreateDirectAsync("d3", "bob", "carol");
        var markBefore = await Store.GetMaxVersionAsync();
        Assert.Equal(0, await ((SqliteMessageStore)Store).IndexPendingAsync(10));
        var seqs = new Dictionary<string, long>();
        for (var i = 0; i < 23; i++)
        {
            var conversation = "d" + (1 + (i % 3));
            var seq = seqs[conversation] = seqs.GetValueOrDefault(conversation) + 1;
            await CommitAsync(b => b.Messages.Add(Message(conversation, seq, conversation == "d3" ? "bob" : "alice", text: $"backlog item {i}") with { SearchText = $"backlog item {i}" }));
        }

        long Indexed() => (long)_database.Scalar("SELECT COUNT(*) FROM message_search_content;")!;
        long Mark() => (long)_database.Scalar("SELECT indexed_through FROM search_state;")!;
        Assert.Equal(0L, Indexed());

        // The process that committed them stops before its indexer ran; the next one recovers them 5 rows per write.
        var first = new SqliteMessageStore(_database.Open(), searchText: new Utf8SearchText());
        await using (first)
        {
            await first.InitializeAsync();
            Assert.Equal(5, await first.IndexPendingAsync(5));
            Assert.Equal(5L, Indexed());
            Assert.Equal(5, await first.IndexPendingAsync(5));
            Assert.Equal(10L, Indexed());
            Assert.Equal(markBefore, Mark());
        }

        // It stops in the middle of its pass; the next owner starts again from the mark and skips what is indexed.
        var second = new SqliteMessageStore(_database.Open(), searchText: new Utf8SearchText());
        await using (second)
        {
            await second.InitializeAsync();
            var calls = 0;
            var previous = Indexed();
            while (true)
            {
                var taken = await second.IndexPendingAsync(5);
                Assert.True(Indexed() - previous <= 5, $"{Indexed() - previous} rows indexed in one write");
                previous = Indexed();
                if (++calls == 1)
                {
                    // A commit between two of the pass's writes: queued in memory, indexed after the pass.
                    await second.CommitAsync(Batch(b => b.Messages.Add(Message("d1", 100, "alice", text: "backlog late") with { SearchText = "backlog late" })));
                }

                if (taken < 5)
                {
                    break;
                }

                Assert.Equal(markBefore, Mark());
                Assert.True(calls < 100, "the pass did not end");
            }

            Assert.True(calls >= 3, $"{calls} writes"); // 13 rows left to read in writes of 5, then the late one
            Assert.Equal(24L, Indexed());
            Assert.Equal(await second.GetMaxVersionAsync(), Mark());
            Assert.Equal(13 + 10, first.RecoveredTexts + second.RecoveredTexts);
            var hits = Hits(await second.SearchAsync("alice", null, "backlog", null, 100));
            Assert.Equal(8 + 8 + 1, hits.Count); // d1: 8 + the late one, d2: 8 (d3 is not alice's)
        }
    }

    /// <summary>
    /// An indexer write that fails after it took texts from the memory queue (here: a trigger on the index's content table
    /// aborts it) rolls back what it indexed; the texts are not lost: the next run recovers them from the unchanged mark.
    /// </summary>
    [Fact]
    public async Task Search_MemoryQueue_AFailedIndexerWrite_LosesNoText()
    {
        var owner = _database.Open();
        var store = new SqliteMessageStore(owner, searchText: new Utf8SearchText());
        await using (store)
        {
            await store.InitializeAsync();
            await CreateDirectAsync("d1", "alice", "bob");
            Assert.Equal(0, await store.IndexPendingAsync(10));
            for (var s = 1; s <= 3; s++)
            {
                var seq = s;
                await store.CommitAsync(Batch(b => b.Messages.Add(Message("d1", seq, "alice", text: $"fragile text {seq}") with { SearchText = $"fragile text {seq}" })));
            }

            var mark = (long)_database.Scalar("SELECT indexed_through FROM search_state;")!;
            await owner.WriteAsync(c =>
            {
                using var command = c.CreateCommand();
                command.CommandText = "CREATE TEMP TRIGGER parley_test_fail BEFORE INSERT ON main.message_search_content BEGIN SELECT RAISE(ABORT, 'injected'); END;";
                return command.ExecuteNonQuery();
            });
            await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => store.IndexPendingAsync(10));
            Assert.Equal(mark, (long)_database.Scalar("SELECT indexed_through FROM search_state;")!);
            await owner.WriteAsync(c =>
            {
                using var command = c.CreateCommand();
                command.CommandText = "DROP TRIGGER temp.parley_test_fail;";
                return command.ExecuteNonQuery();
            });

            Assert.Equal(3, await store.IndexPendingAsync(10));
            Assert.Equal(3, store.RecoveredTexts);
            Assert.Equal([.. new long[] { 3, 2, 1 }.Select(s => ("d1", s))], Hits(await store.SearchAsync("bob", "d1", "fragile", null, 10)));
            Assert.Equal(await store.GetMaxVersionAsync(), (long)_database.Scalar("SELECT indexed_through FROM search_state;")!);
        }
    }

    /// <summary>
    /// Texts queued durably in search_pending (by the version before stop 36, which migration 28 leaves in place, or by a
    /// store without the search-text rule) are indexed by a store that queues in memory, before its own.
    /// </summary>
    [Fact]
    public async Task Search_TextsQueuedInTheTableBeforeTheUpgrade_AreIndexedByTheMemoryQueuesStore()
    {
        await CreateDirectAsync("d1", "alice", "bob");
        var old = new SqliteMessageStore(_database.Open());
        await using (old)
        {
            await old.InitializeAsync();
            Assert.False(old.QueuesInMemory);
            await old.CommitAsync(Batch(b => b.Messages.Add(Message("d1", 1, "alice") with { SearchText = "queued in the table" })));
        }

        Assert.Equal(1L, (long)_database.Scalar("SELECT COUNT(*) FROM search_pending;")!);
        await CommitAsync(b => b.Messages.Add(Message("d1", 2, "alice", text: "queued in memory") with { SearchText = "queued in memory" }));
        var store = (SqliteMessageStore)Store;
        Assert.Equal(2, await store.IndexPendingAsync(10));
        Assert.Equal(0L, (long)_database.Scalar("SELECT COUNT(*) FROM search_pending;")!);
        Assert.Equal([("d1", 2L), ("d1", 1L)], Hits(await Store.SearchAsync("bob", null, "queued", null, 10)));
    }

    private static CommitBatch Batch(Action<CommitBatch> fill)
    {
        var batch = new CommitBatch();
        fill(batch);
        return batch;
    }

    /// <summary>The suite's contents are UTF-8 texts (<c>Body</c>): their search text is the text itself.</summary>
    private sealed class Utf8SearchText : ISearchTextExtractor
    {
        public string? SearchText(int contentKind, byte[] content) => content.Length == 0 ? null : System.Text.Encoding.UTF8.GetString(content);
    }

    [Fact]
    public async Task Commit_UsesOneTransactionPerBatch_FeedStateMatchesMaxVersion()
    {
        await CommitAsync(b => b.Conversations.Add(Direct("d1", "alice", "bob")));
        await CommitAsync(b => b.Messages.Add(Message("d1", 1, "alice")));
        var max = await Store.GetMaxVersionAsync();
        Assert.Equal(max, Convert.ToInt64(_database.Scalar("SELECT max_version FROM feed_state"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(max, Convert.ToInt64(_database.Scalar("SELECT MAX(version) FROM messages"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task GetUserGroupRequests_EveryStateOfTheUser_PendingFirstThenNewestWithLimit()
    {
        GroupRequestRecord Request(string group, string user, int state, long createdAt, int kind = 0, string inviter = "") =>
            new(group, user, inviter, kind, "msg " + group, state, createdAt, state == 0 ? 0 : createdAt + 5, state == 0 ? "" : "owner");

        var refused = Request("g1", "ann", 2, 100);
        var pendingOld = Request("g2", "ann", 0, 200);
        var accepted = Request("g3", "ann", 1, 400);
        var invitation = Request("g4", "ann", 0, 300, kind: 1, inviter: "bob");
        await CommitAsync(b => b.GroupRequests.AddRange([refused, pendingOld, accepted, invitation, Request("g1", "ben", 0, 500), Request("g5", "annie", 0, 600)]));
        var groups = (IGroupStore)Store;

        var all = await groups.GetUserGroupRequestsAsync("ann", 10);
        Assert.Equal([invitation, pendingOld, accepted, refused], all);
        Assert.Equal([invitation, pendingOld], await groups.GetUserGroupRequestsAsync("ann", 2));
        Assert.Empty(await groups.GetUserGroupRequestsAsync("nobody", 10));

        // Asking again replaces the handled row of that group: one row per (group, user), pending again.
        var again = Request("g1", "ann", 0, 700);
        await CommitAsync(b => b.GroupRequests.Add(again));
        Assert.Equal([again, invitation, pendingOld, accepted], await groups.GetUserGroupRequestsAsync("ann", 10));
        Assert.Single(await groups.GetPendingGroupRequestsAsync("g1"), r => r.UserId == "ann");

        // The read goes through the user index (migration 7), not a scan of every group's requests.
        using var connection = _database.OpenRaw();
        using var plan = connection.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN SELECT group_id FROM group_requests WHERE user_id = 'ann' ORDER BY state <> 0, created_at DESC, group_id LIMIT 10";
        using var reader = plan.ExecuteReader();
        var steps = new List<string>();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        Assert.Contains(steps, s => s.Contains("ix_group_requests_user", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SuperGroupRows_StayOutOfTheWriteDiffusionIndexes_DeltasUseThePartialIndexes()
    {
        var conversation = Group("sgi", "owner", ["owner", "m1"]);
        await CommitAsync(b =>
        {
            b.Conversations.Add(conversation);
            b.Groups.Add(new GroupRecord("g-sgi", "sgi", "S", "", "", "", "{}", "owner", GroupJoinPolicy.Free, false, false, true, false, 1, 1, 2, conversation.Version) { Kind = GroupKind.Super });
        });
        var version = NextVersion();
        await CommitAsync(b => b.MemberChanges.AddRange(Enumerable.Range(2, 50).Select(i =>
            new MemberChange("sgi", $"m{i}", MemberRole.Member, "", 0, 1, "", true, 1, 0, version))));
        await CommitAsync(b => b.Conversations.Add(Group("ngi", "owner", ["owner", "m1"])));

        // Every row of the super group (created, then bulk-added) is marked; the normal group's are not.
        Assert.Equal(52L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'sgi' AND m.read_diffusion = 1"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE k.conversation_id = 'ngi' AND m.read_diffusion = 1"), System.Globalization.CultureInfo.InvariantCulture));
        foreach (var index in new[] { "ix_members_conv_info", "ix_members_user_info" })
        {
            Assert.EndsWith("WHERE read_diffusion = 0 AND info_version > 0", (string)_database.Scalar($"SELECT sql FROM sqlite_master WHERE name = '{index}'")!, StringComparison.Ordinal);
        }

        using var connection = _database.OpenRaw();
        List<string> Plan(string sql)
        {
            using var plan = connection.CreateCommand();
            plan.CommandText = "EXPLAIN QUERY PLAN " + sql;
            using var reader = plan.ExecuteReader();
            var steps = new List<string>();
            while (reader.Read())
            {
                steps.Add(reader.GetString(3));
            }

            return steps;
        }

        var groupsDelta = Plan("""
            SELECT g.group_id FROM members m JOIN conversations k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
            WHERE m.user_id = 'm1' AND m.read_diffusion = 0 AND m.info_version > 0 AND m.info_version > 3
            UNION ALL
            SELECT g.group_id FROM members m JOIN conversations k ON k.conv_key = m.conv_key JOIN groups g ON g.conversation_id = k.conversation_id
            WHERE m.user_id = 'm1' AND m.read_diffusion = 1 AND m.feed_version > 3 AND m.info_version > 3
            UNION ALL
            SELECT g.group_id FROM groups g CROSS JOIN conversations k CROSS JOIN members m
            WHERE 3 > 0 AND g.kind <> 0 AND g.info_version > 3 AND k.conversation_id = g.conversation_id AND m.conv_key = k.conv_key AND m.user_id = 'm1' AND m.active = 1
            """);
        Assert.Contains(groupsDelta, s => s.Contains("ix_members_user_info", StringComparison.Ordinal));
        Assert.Contains(groupsDelta, s => s.Contains("ix_members_user_feed", StringComparison.Ordinal));
        Assert.Contains(groupsDelta, s => s.Contains("ix_groups_super_info", StringComparison.Ordinal));
        Assert.Contains(Plan("SELECT user_id FROM members WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = 'ngi') AND read_diffusion = 0 AND info_version > 0 AND info_version > 3"),
            s => s.Contains("ix_members_conv_info", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MemberStatements_FindRowsByTheConversationKeyOrTheUserIndex_NeverScanMembers()
    {
        // Members name their conversation by its integer key (migration 26): every statement that reads or writes members
        // reaches them through the primary key (conv_key, user_id), the user index or a partial index, and the key
        // through conversations' unique index on the text id or its rowid (conversation_keys until migration 30); none scans a
        // table of members or conversations.
        await CommitAsync(b => b.Conversations.Add(Group("kg", "owner", ["owner", "m1"])));
        using var connection = _database.OpenRaw();
        List<string> Plan(string sql)
        {
            using var plan = connection.CreateCommand();
            plan.CommandText = "EXPLAIN QUERY PLAN " + sql;
            foreach (var name in new[] { "$conv", "$user", "$since", "$seq", "$version", "$after", "$limit", "$ids" })
            {
                if (sql.Contains(name, StringComparison.Ordinal))
                {
                    plan.Parameters.AddWithValue(name, name switch { "$ids" => "[\"m1\"]", "$conv" => "kg", "$user" or "$after" => "m1", _ => (object)3 });
                }
            }

            using var reader = plan.ExecuteReader();
            var steps = new List<string>();
            while (reader.Read())
            {
                steps.Add(reader.GetString(3));
            }

            return steps;
        }

        const string Key = Internal.SqliteRows.ConvKey;
        var statements = new Dictionary<string, string>
        {
            ["sync"] = SqliteMessageStore.ChangedViewsSql,
            ["one view"] = SqliteMessageStore.OneViewSql,
            ["advanced super groups"] = SqliteMessageStore.AdvancedSuperGroupsSql,
            ["groups delta"] = SqliteMessageStore.GroupsDeltaSql,
            ["roster"] = "SELECT 0, c.conversation_id FROM members m JOIN conversations c ON c.conv_key = m.conv_key WHERE m.user_id = $user AND m.active = 1 AND c.read_diffusion = 1",
            ["member page"] = "SELECT " + Internal.SqliteRows.MemberColumns + " FROM members WHERE conv_key = " + Key + " AND active = 1 AND user_id > $after ORDER BY user_id LIMIT $limit",
            ["members by id"] = "SELECT " + Internal.SqliteRows.MemberColumns + " FROM members WHERE conv_key = " + Key + " AND user_id IN (SELECT value FROM json_each($ids))",
            ["sender read seq"] = "UPDATE members SET read_seq = MAX(read_seq, $seq) WHERE conv_key = " + Key + " AND user_id = $user",
            ["all members feed"] = "UPDATE members SET feed_version = MAX(feed_version, $version) WHERE conv_key = " + Key + " AND active = 1",
            ["member count"] = "SELECT active FROM members WHERE conv_key = " + Key + " AND user_id = $user",
        };
        foreach (var (name, sql) in statements)
        {
            var steps = Plan(sql);
            Assert.True(steps.Any(s => s.Contains("members", StringComparison.Ordinal) || s.StartsWith("SEARCH m ", StringComparison.Ordinal)), name + ": " + string.Join(" | ", steps));
            Assert.DoesNotContain(steps, s => System.Text.RegularExpressions.Regex.IsMatch(s, "^SCAN (m|k|p|vm|vk|members|conversations)( |$)"));
        }

        Assert.Contains(Plan(statements["sender read seq"]), s => s.Contains("members USING PRIMARY KEY (conv_key=? AND user_id=?)", StringComparison.Ordinal));
        Assert.Contains(Plan(statements["roster"]), s => s.Contains("ix_members_user_feed", StringComparison.Ordinal));

        // Messages name their conversation by the same key (migration 30, ADR 0025): the statements of one conversation's
        // messages search the primary key (conv_key, seq), the dedup index or the version index by the key; none scans.
        var messageStatements = new Dictionary<string, (string Sql, string Index)>
        {
            ["message by seq"] = ("SELECT " + Internal.SqliteRows.MessageColumns + " FROM messages WHERE conv_key = " + Key + " AND seq = $seq", "messages USING PRIMARY KEY (conv_key=? AND seq=?)"),
            ["by client id"] = ("SELECT seq FROM messages WHERE conv_key = " + Key + " AND sender_id = $user AND client_msg_id = $after", "sqlite_autoindex_messages_2 (conv_key=? AND sender_id=? AND client_msg_id=?)"),
            ["history"] = ("SELECT seq FROM messages WHERE conv_key = " + Key + " AND seq <= $seq ORDER BY seq DESC LIMIT $limit", "messages USING PRIMARY KEY (conv_key=? AND seq<?)"),
            ["sync messages"] = (SqliteMessageStore.ChangedMessagesSql, "o USING PRIMARY KEY (conv_key=? AND seq>?)"),
            ["view's last message"] = (SqliteMessageStore.OneViewSql, "l USING PRIMARY KEY (conv_key=? AND seq=?)"),
        };
        foreach (var (name, (sql, index)) in messageStatements)
        {
            var steps = Plan(sql.Replace("$convs", "'[\"kg\"]'", StringComparison.Ordinal));
            Assert.True(steps.Any(s => s.Contains(index, StringComparison.Ordinal)), name + ": " + string.Join(" | ", steps));
            Assert.DoesNotContain(steps, s => System.Text.RegularExpressions.Regex.IsMatch(s, "^SCAN (o|l|msg|messages)( |$)"));
        }
    }

    /// <summary>
    /// Stop 46, store: an incremental sync reads what the rows above its cursor cost, not the conversation's history. The
    /// sync statement's walk for the newest $limit rows went on to the conversation's first row whenever fewer than $limit
    /// rows were above the cursor (a 31,011-message conversation: 701 pages for one new message). With three new messages
    /// in a 3,000-message 1:1 and in a 30-message one, the long one's statement reads at most 12 pages more than the short
    /// one's (before: ~100 more); both return exactly their three rows. The same sync with the bound not taken (cursor 0:
    /// more than <see cref="SqliteMessageStore.SyncWalkBound"/> rows above it) and with it taken (500 above) returns the
    /// newest $limit rows, as before.
    /// </summary>
    [Fact]
    public async Task Sync_WithFewRowsAboveTheCursor_ReadsThemNotTheConversationsHistory_AndReturnsTheSameRows()
    {
        await CreateDirectAsync("long", "alice", "bob");
        await CreateDirectAsync("short", "alice", "carol");
        for (var from = 1; from <= 3000; from += 500)
        {
            var first = from;
            await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first, 500).Select(seq => Message("long", seq, "bob"))));
        }

        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 30).Select(seq => Message("short", seq, "carol"))));
        var middle = (await Store.GetChangesAsync("alice", 0, 1)).Version - 30 - 500;
        var cursor = (await Store.GetChangesAsync("alice", 0, 1)).Version;
        await CommitAsync(b =>
        {
            b.Messages.AddRange(Enumerable.Range(3001, 3).Select(seq => Message("long", seq, "bob")));
            b.Messages.AddRange(Enumerable.Range(31, 3).Select(seq => Message("short", seq, "carol")));
        });
        var until = (await Store.GetChangesAsync("alice", cursor, 10)).Version;

        using var connection = _database.OpenRaw();
        (long Pages, List<long> Seqs) Sync(string conversation, long since) => SyncMessagePages(connection, conversation, since, until, 200);

        var longSync = Sync("long", cursor);
        var shortSync = Sync("short", cursor);
        Assert.Equal([3001L, 3002L, 3003L], longSync.Seqs);
        Assert.Equal([31L, 32L, 33L], shortSync.Seqs);
        Assert.True(longSync.Pages <= shortSync.Pages + 12, $"long {longSync.Pages} pages, short {shortSync.Pages}");

        // Through the store: cursor 0 (3,003 rows above: the walk as before) and 533 rows below the top (the bound taken).
        var all = (await Store.GetChangesAsync("alice", 0, 5)).Changes.Single(c => c.Conversation.ConversationId == "long");
        Assert.Equal([2999L, 3000L, 3001L, 3002L, 3003L], all.Messages.Select(m => m.Seq).Order());
        Assert.True(all.Truncated);
        var some = (await Store.GetChangesAsync("alice", middle, 5)).Changes.Single(c => c.Conversation.ConversationId == "long");
        Assert.Equal([2999L, 3000L, 3001L, 3002L, 3003L], some.Messages.Select(m => m.Seq).Order());
        Assert.True(some.Truncated);
        Assert.Equal(Enumerable.Range(2804, 200).Select(i => (long)i), Sync("long", middle).Seqs);
        Assert.Equal(Enumerable.Range(2804, 200).Select(i => (long)i), Sync("long", 0).Seqs);
    }

    [Fact]
    public async Task ConversationViews_OfAMemberOfALargeGroup_DoNotWalkTheGroupsOtherMembers()
    {
        // Issue 12: the conversation views (the sync, one view, the conversation list) join a direct conversation's peer
        // from members. For a group that join walked the group's whole primary-key range (the ON clause's "kind = 1" did
        // not stop SQLite from iterating it), so a member of the 1,000,000-member channel read the whole group on every
        // connect and 2,000 logins timed out. The sync statement for a member of a 20,000-member group must read about
        // as many pages as for a member of a 2-member group; a direct conversation's peer is still found.
        await CommitAsync(b => b.Conversations.Add(Group("big", "owner", [.. Enumerable.Range(0, 20_000).Select(i => "m" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture)), "u1"])));
        await CommitAsync(b => b.Conversations.Add(Group("small", "owner", ["owner", "u2"])));
        await CreateDirectAsync("d1", "u1", "peer1");
        await CreateDirectAsync("d2", "u2", "peer2");
        using var connection = _database.OpenRaw();
        (long Pages, Dictionary<string, string?> Peers) Sync(string user) => PageVisits(connection, () =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteMessageStore.ChangedViewsSql;
            command.Parameters.AddWithValue("$user", user);
            command.Parameters.AddWithValue("$since", 0L);
            var peers = new Dictionary<string, string?>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                peers[reader.GetString(0)] = reader.IsDBNull(10) ? null : reader.GetString(10);
            }

            return peers;
        });

        var small = Sync("u2");
        var big = Sync("u1");
        _output.WriteLine($"pages read by the sync statement: member of a 2-member group {small.Pages}, of a 20,001-member group {big.Pages}");
        Assert.Equal(new Dictionary<string, string?> { ["small"] = null, ["d2"] = "peer2" }, small.Peers);
        Assert.Equal(new Dictionary<string, string?> { ["big"] = null, ["d1"] = "peer1" }, big.Peers);
        Assert.True(big.Pages <= small.Pages + 10, $"a member of the 20,001-member group read {big.Pages} pages, of the 2-member group {small.Pages}");

        // The store's own sync answers the same.
        var view = (await Store.GetChangesAsync("u1", 0, 10)).Changes.Select(c => c.Conversation).ToDictionary(c => c.ConversationId, c => c.PeerUserId);
        Assert.Equal(new Dictionary<string, string?> { ["big"] = null, ["d1"] = "peer1" }, view);
    }

    [Fact]
    public async Task Operations_AfterDispose_Throw()
    {
        await ((IAsyncDisposable)Store).DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.GetMaxVersionAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => Store.CommitAsync(new CommitBatch()));
    }

    [Fact]
    public async Task Operations_BeforeInitialize_Throw()
    {
        await using var store = new SqliteMessageStore(_database.Open());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetMaxVersionAsync());
    }

    /// <summary>Runs <paramref name="read"/> on <paramref name="connection"/> and counts the pages it visited (SQLite's page
    /// cache hits and misses, reset before).</summary>
    private static (long Pages, T Result) PageVisits<T>(Microsoft.Data.Sqlite.SqliteConnection connection, Func<T> read)
    {
        SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_HIT, out _, out _, 1);
        SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_MISS, out _, out _, 1);
        var result = read();
        SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_HIT, out var hits, out _, 0);
        SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_MISS, out var misses, out _, 0);
        return ((long)hits + misses, result);
    }

    /// <summary>alice's sync statement for one conversation between two versions: the pages it visited and the seqs it
    /// returned, sorted.</summary>
    private static (long Pages, List<long> Seqs) SyncMessagePages(Microsoft.Data.Sqlite.SqliteConnection connection, string conversation, long since, long until, int limit) =>
        PageVisits(connection, () =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = SqliteMessageStore.ChangedMessagesSql;
            command.Parameters.AddWithValue("$convs", $"[\"{conversation}\"]");
            command.Parameters.AddWithValue("$since", since);
            command.Parameters.AddWithValue("$until", until);
            command.Parameters.AddWithValue("$limit", limit);
            command.Parameters.AddWithValue("$user", "alice");
            var seqs = new List<long>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    seqs.Add(reader.GetInt64(reader.GetOrdinal("seq")));
                }
            }

            seqs.Sort();
            return seqs;
        });
}
