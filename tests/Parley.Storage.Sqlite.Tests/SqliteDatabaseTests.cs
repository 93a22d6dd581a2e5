using System.Globalization;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Accounts;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>The one owner of a database file: one writer queue, group commit with per-write savepoints, lifecycle.</summary>
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task GroupCommit_FailingWrite_IsRolledBackAlone_NeighboursFromOtherStoresCommit()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        var accounts = new SqliteAccountStore(owner);
        var relations = new Social.SqliteRelationStore(owner);

        // Hold the writer so that everything below queues up and runs as one group.
        var (release, gate) = await HoldTheWriterAsync(owner);

        var users = Enumerable.Range(0, 50).Select(i => accounts.CreateUserAsync(new UserRecord("u" + i, "U", "", "", 1, 1))).ToList();
        var failing = owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ('bad', 'B', '', '', 1, 1);";
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO no_such_table VALUES (1);";
            return command.ExecuteNonQuery();
        });
        var searchable = relations.SetSearchableAsync("u1", false, 5);

        release.SetResult();
        await gate;
        Assert.All(await Task.WhenAll(users), Assert.True);
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        await searchable;

        Assert.Equal(50L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users"), CultureInfo.InvariantCulture));
        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users WHERE user_id = 'bad'"), CultureInfo.InvariantCulture));
        Assert.False(await relations.GetSearchableAsync("u1"));
    }

    [Fact]
    public async Task GroupCommit_FirstWriteRunsWithoutASavepoint_AndFailingIsRolledBackAlone_TheRestCommit()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        var accounts = new SqliteAccountStore(owner);
        var (release, gate) = await HoldTheWriterAsync(owner);

        // The group's first write (no savepoint w around it: a savepoint would make a large write's statement
        // journals cost the square of its size, stop 40), and it fails after a first statement that must be undone too.
        var failingFirst = owner.WriteAsync(connection =>
        {
            var savepointOpen = SavepointWOpen(connection);
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ('bad', 'B', '', '', 1, 1);";
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO no_such_table VALUES (1);";
            command.ExecuteNonQuery();
            return savepointOpen;
        });
        var users = Enumerable.Range(0, 20).Select(i => accounts.CreateUserAsync(new UserRecord("u" + i, "U", "", "", 1, 1))).ToList();

        // A write behind others in the group runs in a savepoint of its own.
        var behind = owner.WriteAsync(SavepointWOpen);

        release.SetResult();
        await gate;
        var failure = await Assert.ThrowsAsync<SqliteException>(() => failingFirst);
        Assert.Contains("no_such_table", failure.Message, StringComparison.Ordinal);
        Assert.All(await Task.WhenAll(users), Assert.True);
        Assert.True(await behind);

        Assert.Equal(20L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users"), CultureInfo.InvariantCulture));
        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users WHERE user_id = 'bad'"), CultureInfo.InvariantCulture));

        // A group whose first write succeeds and whose second fails: the first commits, the second is undone alone.
        (release, gate) = await HoldTheWriterAsync(owner);
        var first = owner.WriteAsync(connection => !SavepointWOpen(connection)
            && Exec(connection, "INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ('first', 'F', '', '', 1, 1);") == 1);
        var second = owner.WriteAsync(connection =>
        {
            Exec(connection, "INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ('second', 'S', '', '', 1, 1);");
            return Exec(connection, "INSERT INTO no_such_table VALUES (1);");
        });
        release.SetResult();
        await gate;
        Assert.True(await first);
        await Assert.ThrowsAsync<SqliteException>(() => second);
        Assert.Equal(1L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users WHERE user_id = 'first'"), CultureInfo.InvariantCulture));
        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users WHERE user_id = 'second'"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task GroupCommit_LateWrite_RunsAfterTheWritesQueuedBehindIt()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        await owner.WriteAsync(connection => Exec(connection, "CREATE TABLE write_order (n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL);"));
        var (release, gate) = await HoldTheWriterAsync(owner);

        var late = owner.WriteLateAsync(connection => Exec(connection, "INSERT INTO write_order (name) VALUES ('late');"));
        var early = Enumerable.Range(0, 3).Select(i => owner.WriteAsync(connection => Exec(connection, $"INSERT INTO write_order (name) VALUES ('w{i}');"))).ToList();

        release.SetResult();
        await gate;
        await late;
        await Task.WhenAll(early);
        var order = await owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM write_order ORDER BY n);";
            return (string)command.ExecuteScalar()!;
        });
        Assert.Equal("w0,w1,w2,late", order);
    }

    // Whether the writer's per-write savepoint is open around this write: ROLLBACK TO it at the write's start undoes nothing
    // and keeps it; without it SQLite answers "no such savepoint".
    private static bool SavepointWOpen(SqliteConnection connection)
    {
        try
        {
            Exec(connection, "ROLLBACK TO w;");
            return true;
        }
        catch (SqliteException ex) when (ex.Message.Contains("no such savepoint", StringComparison.Ordinal))
        {
            return false;
        }
    }

    // Holds the writer in a write of its own until release is set, so that the writes queued meanwhile run as one group.
    private static async Task<(TaskCompletionSource Release, Task<int> Gate)> HoldTheWriterAsync(SqliteDatabase owner)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = owner.WriteAsync(async (connection, ct) =>
        {
            started.SetResult();
            await release.Task;
            return 0;
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return (release, gate);
    }

    [Fact]
    public async Task LoneWrite_ThatFails_IsRolledBackCompletely_AndTheNextWriteCommits()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        var accounts = new SqliteAccountStore(owner);

        // Nothing else queued: the write runs as a group of one (no savepoint); its first statement must be undone too.
        var failing = owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (user_id, nickname, avatar_url, ex, created_at, updated_at) VALUES ('bad', 'B', '', '', 1, 1);";
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO no_such_table VALUES (1);";
            return command.ExecuteNonQuery();
        });
        await Assert.ThrowsAsync<SqliteException>(() => failing);
        Assert.True(await accounts.CreateUserAsync(new UserRecord("good", "G", "", "", 1, 1)));

        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM users WHERE user_id = 'bad'"), CultureInfo.InvariantCulture));
        Assert.NotNull(await accounts.GetUserAsync("good"));
    }

    [Fact]
    public async Task Writer_KeepsStatementJournalsInMemory()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();

        // temp_store 2 = MEMORY: a savepoint's pre-images never spill to a temporary file (an extra write per page).
        Assert.Equal(2L, await owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA temp_store;";
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }));
    }

    /// <summary>
    /// ADR 0030 (stop 45): PageSize is the page size of a file the store creates (every WAL frame is one page), read back
    /// from the file; an existing file keeps its own whatever the setting (SQLite cannot change a WAL file's page size
    /// without a VACUUM), with its rows and schema intact; a size SQLite would ignore is refused before anything opens.
    /// </summary>
    [Fact]
    public async Task PageSize_AppliesToANewFile_AnExistingFileKeepsItsOwn()
    {
        var options = _database.Options();
        options.PageSize = 1024;
        await using (var created = new SqliteDatabase(options))
        {
            await created.InitializeAsync();
            Assert.Equal(1024, created.PageSize);
            await created.WriteAsync(connection => Exec(connection, "CREATE TABLE page_size_rows (k INTEGER PRIMARY KEY, v TEXT NOT NULL);"));
            for (var i = 0; i < 200; i++)
            {
                var key = i;
                await created.WriteAsync(connection =>
                {
                    using var command = connection.CreateCommand();
                    command.CommandText = "INSERT INTO page_size_rows (k, v) VALUES ($k, $v);";
                    command.Parameters.AddWithValue("$k", key);
                    command.Parameters.AddWithValue("$v", new string('x', 200) + key.ToString(CultureInfo.InvariantCulture));
                    return command.ExecuteNonQuery();
                });
            }
        }

        using (var raw = _database.OpenRaw())
        {
            using var command = raw.CreateCommand();
            command.CommandText = "SELECT (SELECT page_size FROM pragma_page_size()), (SELECT journal_mode FROM pragma_journal_mode()), (SELECT count(*) FROM page_size_rows);";
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            Assert.Equal(1024L, reader.GetInt64(0));
            Assert.Equal("wal", reader.GetString(1));
            Assert.Equal(200L, reader.GetInt64(2));
        }

        // Reopened with another setting: the file's page size stays, and so do its rows.
        options.PageSize = 4096;
        await using (var reopened = new SqliteDatabase(options))
        {
            await reopened.InitializeAsync();
            Assert.Equal(1024, reopened.PageSize);
            Assert.Equal(200L, await reopened.WriteAsync(connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT count(*) FROM page_size_rows WHERE v LIKE 'xxx%';";
                return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            }));
        }

        // The default is 4096 (ADR 0030: the numbers of stop 45), and a size SQLite does not take is an error at once.
        Assert.Equal(4096, new SqliteStoreOptions().PageSize);
        foreach (var bad in new[] { 0, 256, 1000, 131072 })
        {
            var invalid = _database.Options();
            invalid.PageSize = bad;
            Assert.Throws<ArgumentException>(() => new SqliteDatabase(invalid));
        }
    }

    [Fact]
    public async Task Writer_PageCache_IsWriterCacheSizeKb_16MiBByDefault()
    {
        // 16 MiB, not 64: SQLite walks the writer's whole page cache after every commit in which a b-tree page split
        // reordered pages (docs/performance.md, stop 36, perf), so the cache's size is a cost per commit.
        Assert.Equal(16384, new SqliteStoreOptions().WriterCacheSizeKb);
        var owner = _database.Open();
        await owner.InitializeAsync();
        Assert.Equal(-16384L, await owner.WriteAsync(connection => PragmaCacheSize(connection)));
    }

    [Fact]
    public async Task Writer_PageCache_StaysWithinWriterCacheSizeKb_WhenTheWritesOutgrowIt()
    {
        var options = _database.Options();
        options.WriterCacheSizeKb = 256;
        await using var owner = new SqliteDatabase(options);
        await owner.InitializeAsync();
        Assert.Equal(-256L, await owner.WriteAsync(connection => PragmaCacheSize(connection)));

        // 4 MiB of rows through the writer, 64 KiB per write: sixteen times the cache.
        await owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE cache_probe (k INTEGER PRIMARY KEY, v BLOB NOT NULL);";
            return command.ExecuteNonQuery();
        });
        var payload = new byte[64 * 1024];
        for (var i = 0; i < 64; i++)
        {
            var key = i;
            await owner.WriteAsync(connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "INSERT INTO cache_probe (k, v) VALUES ($k, $v);";
                command.Parameters.AddWithValue("$k", key);
                command.Parameters.AddWithValue("$v", payload);
                return command.ExecuteNonQuery();
            });
        }

        // What the writer's caches hold now (page bytes and their headers): within the setting, though the table outgrew it.
        var used = await owner.WriteAsync(connection =>
        {
            SQLitePCL.raw.sqlite3_db_status(connection.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_USED, out var current, out _, 0);
            return current;
        });
        Assert.True(used > 0, "the writer's cache holds pages");
        Assert.True(used <= 2 * 256 * 1024, $"the writer's cache holds {used} bytes; its setting is 256 KiB");
        Assert.True(new FileInfo(_database.FilePath).Length + new FileInfo(_database.FilePath + "-wal").Length >= 4L * 1024 * 1024);
    }

    [Theory]
    [InlineData(1024, -1024L)]
    [InlineData(256, -256L)] // not above WriterCacheSizeKb: the writer keeps its cache
    public async Task Writer_PageCache_GrowsToWriterLargeFileCacheSizeKb_OnceTheFileIsLarge(int largeKb, long expected)
    {
        // The production threshold is 1 GiB (the locking page); here 1 MiB above the migrated schema, checked after every commit.
        var options = _database.Options();
        options.WriterCacheSizeKb = 256;
        options.WriterLargeFileCacheSizeKb = largeKb;
        options.LargeFileBytes = long.MaxValue;
        options.LargeFileCheckCommits = 1;
        await using var owner = new SqliteDatabase(options);
        await owner.InitializeAsync();
        options.LargeFileBytes = 1024 * 1024 + await owner.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size();";
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        });
        await owner.WriteAsync(connection => Exec(connection, "CREATE TABLE cache_grow (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"));
        var payload = new byte[64 * 1024];
        Task InsertAsync(int key) => InsertBlobAsync(owner, "cache_grow", key, payload);

        // Below the threshold (about 512 KiB of rows): the small cache.
        for (var i = 0; i < 8; i++)
        {
            await InsertAsync(i);
        }

        Assert.Equal(-256L, await owner.WriteAsync(connection => PragmaCacheSize(connection)));

        // Past it (2 MiB of rows, in the WAL: the pages count, not the main file's length).
        for (var i = 8; i < 32; i++)
        {
            await InsertAsync(i);
        }

        Assert.Equal(expected, await owner.WriteAsync(connection => PragmaCacheSize(connection)));
    }

    /// <summary>
    /// ADR 0026: WriterMmapSizeBytes maps the file on the writer connection only (the read connections keep MmapSizeBytes),
    /// and what the writer commits through the map is what the readers and a reopened file see.
    /// </summary>
    [Theory]
    [InlineData(0L, 0L, 0L)]
    [InlineData(8L * 1024 * 1024, 0L, 8L * 1024 * 1024)]
    [InlineData(1024L * 1024, 4L * 1024 * 1024, 4L * 1024 * 1024)] // not above MmapSizeBytes: the writer keeps that one
    public async Task Writer_MapsTheFile_WithWriterMmapSizeBytes_TheReadersDoNot(long writerMmap, long mmap, long expectedWriter)
    {
        var options = _database.Options();
        options.WriterMmapSizeBytes = writerMmap;
        options.MmapSizeBytes = mmap;
        await using (var owner = new SqliteDatabase(options))
        {
            await owner.InitializeAsync();
            Assert.Equal(expectedWriter, await owner.WriteAsync(connection => PragmaMmapSize(connection)));
            await using (var reader = await owner.OpenReaderAsync())
            {
                Assert.Equal(mmap, PragmaMmapSize(reader));
            }

            await owner.WriteAsync(connection => Exec(connection, "CREATE TABLE mapped (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"));
            var payload = new byte[16 * 1024];
            for (var i = 0; i < 64; i++)
            {
                payload[0] = (byte)i;
                await InsertBlobAsync(owner, "mapped", i, payload);
            }

            // The writer reads its own pages back (through the map when it has one) to update them.
            Assert.Equal(64, await owner.WriteAsync(connection => Exec(connection, "UPDATE mapped SET v = zeroblob(32768) WHERE k >= 0;")));
            await using (var reader = await owner.OpenReaderAsync())
            {
                using var command = reader.CreateCommand();
                command.CommandText = "SELECT count(*) FROM mapped WHERE length(v) = 32768;";
                using var rows = command.ExecuteReader();
                Assert.True(rows.Read());
                Assert.Equal(64L, rows.GetInt64(0));
            }
        }

        await using var reopened = new SqliteDatabase(options);
        await reopened.InitializeAsync();
        Assert.Equal(64L * 63 / 2, await reopened.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT sum(k) FROM mapped WHERE length(v) = 32768;";
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }));
    }

    /// <summary>Inserts row (<paramref name="key"/>, <paramref name="value"/>) into <paramref name="table"/> (k, v) through the writer.</summary>
    private static Task InsertBlobAsync(SqliteDatabase owner, string table, long key, byte[] value) => owner.WriteAsync(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO {table} (k, v) VALUES ($k, $v);";
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$v", value);
        return command.ExecuteNonQuery();
    });

    private static long PragmaMmapSize(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA mmap_size;";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static long PragmaCacheSize(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA cache_size;";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A background write (the search index's merge step, ADR 0019 stop 37) runs alone and only when nothing else waits:
    /// queued before another write it is skipped, queued after one it is skipped, alone it runs in a transaction of its own,
    /// reports how long it held the writer and does not count as the writer's last other write.
    /// </summary>
    [Fact]
    public async Task BackgroundWrite_RunsOnlyAlone_IsSkippedWhenOtherWritesWait_AndIsTimed()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        await owner.WriteAsync(connection => Exec(connection, "CREATE TABLE bg (v INTEGER);"));

        async Task<(Parley.Storage.Sqlite.SqliteDatabase.BackgroundWrite Background, int Other)> QueueBehindAGateAsync(bool backgroundFirst)
        {
            var (release, gate) = await HoldTheWriterAsync(owner);
            Task<int> other = null!;
            if (!backgroundFirst)
            {
                other = owner.WriteAsync(connection => Exec(connection, "INSERT INTO bg VALUES (1);"));
            }

            var background = owner.WriteInBackgroundAsync(connection =>
            {
                Exec(connection, "INSERT INTO bg VALUES (2);");
                return true;
            });
            if (backgroundFirst)
            {
                other = owner.WriteAsync(connection => Exec(connection, "INSERT INTO bg VALUES (1);"));
            }

            release.SetResult();
            await gate;
            return (await background.WaitAsync(TimeSpan.FromSeconds(10)), await other.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        foreach (var backgroundFirst in new[] { true, false })
        {
            var (background, other) = await QueueBehindAGateAsync(backgroundFirst);
            Assert.False(background.Ran, $"background first: {backgroundFirst}");
            Assert.False(background.Result);
            Assert.Equal(1, other);
        }

        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM bg WHERE v = 2"), CultureInfo.InvariantCulture));
        Assert.Equal(2L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM bg WHERE v = 1"), CultureInfo.InvariantCulture));

        // The writer loop notes a group's end just after it answered the group's writers, so the last foreground write's time
        // can move once more after `other` completed: read it once it stopped moving (nothing else is queued here).
        var lastOther = owner.LastForegroundWrite;
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(20);
            if (owner.LastForegroundWrite == lastOther)
            {
                break;
            }

            lastOther = owner.LastForegroundWrite;
        }

        var alone = await owner.WriteInBackgroundAsync(connection =>
        {
            Exec(connection, "INSERT INTO bg VALUES (2);");
            return true;
        }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(alone.Ran && alone.Result && alone.HeldTicks > 0);
        Assert.Equal(lastOther, owner.LastForegroundWrite);
        Assert.Equal(1L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM bg WHERE v = 2"), CultureInfo.InvariantCulture));

        // A background write that fails is rolled back and its caller gets the error; the writer goes on.
        await Assert.ThrowsAsync<SqliteException>(() => owner.WriteInBackgroundAsync(connection =>
        {
            Exec(connection, "INSERT INTO bg VALUES (3);");
            Exec(connection, "INSERT INTO no_such_table VALUES (1);");
            return true;
        }));
        Assert.Equal(0L, Convert.ToInt64(_database.Scalar("SELECT COUNT(*) FROM bg WHERE v = 3"), CultureInfo.InvariantCulture));
        await owner.WriteAsync(connection => Exec(connection, "INSERT INTO bg VALUES (4);"));
        for (var i = 0; i < 100 && owner.LastForegroundWrite == lastOther; i++)
        {
            await Task.Delay(20); // noted just after the writer answered (above)
        }

        Assert.True(owner.LastForegroundWrite > lastOther);
    }

    private static int Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    [Fact]
    public async Task Write_FromInsideAWrite_IsRefusedInsteadOfDeadlocking()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            owner.WriteAsync((_, ct) => owner.WriteAsync(_ => 1, ct)).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("must not queue another write", ex.Message, StringComparison.Ordinal);

        // The queue still works afterwards.
        Assert.Equal(2, await owner.WriteAsync(_ => 2).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Write_CancelledBeforeItRuns_IsNotApplied()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        var accounts = new SqliteAccountStore(owner);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = owner.WriteAsync(async (_, _) =>
        {
            await release.Task;
            return 0;
        });

        using var cts = new CancellationTokenSource();
        var cancelled = accounts.CreateUserAsync(new UserRecord("late", "L", "", "", 1, 1), cts.Token);
        await cts.CancelAsync();
        release.SetResult();
        await gate;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Null(await accounts.GetUserAsync("late"));
    }

    [Fact]
    public async Task Lifecycle_BeforeInitialize_AndAfterDispose_AreClearErrors()
    {
        var owner = _database.Open();
        var before = await Assert.ThrowsAsync<InvalidOperationException>(() => owner.WriteAsync(_ => 1));
        Assert.Contains("InitializeAsync", before.Message, StringComparison.Ordinal);

        await owner.InitializeAsync();
        await owner.InitializeAsync();
        Assert.True(owner.IsReady);
        await owner.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => owner.WriteAsync(_ => 1));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => owner.OpenReaderAsync().AsTask());
    }

    /// <summary>
    /// Issue 17: a read statement prepared once is kept with its pooled native connection (the next open of the same
    /// connection gets it back, without parsing again), sees what committed since, and holds its read snapshot only
    /// between its first step and its reset (a held snapshot would block WAL checkpoints for ever).
    /// </summary>
    [Fact]
    public async Task PreparedRead_IsKeptWithItsPooledConnection_SeesLaterCommits_AndHoldsNoSnapshotOnceReset()
    {
        var owner = _database.Open();
        await owner.InitializeAsync();
        var accounts = new SqliteAccountStore(owner);
        const string Sql = "SELECT COUNT(*), MAX(user_id) FROM users WHERE user_id >= $from;";
        string[] names = ["$from"];
        await accounts.CreateUserAsync(new UserRecord("u1", "U", "", "", 1, 1));

        Internal.RawStatement first;
        SQLitePCL.sqlite3 firstHandle;
        var connection = await owner.OpenReaderAsync();
        await using (connection)
        {
            firstHandle = connection.Handle!;
            first = owner.Prepared(connection, Sql, names);
            first.Bind(0, "u");
            Assert.True(first.Read());
            Assert.Equal(1, first.GetInt64(0));
            Assert.Equal("u1", first.GetString(1));

            // Mid-read, the statement holds a snapshot: a TRUNCATE checkpoint cannot reset the WAL.
            Assert.Equal(1L, Checkpoint());
            first.Reset();
            Assert.Equal(0L, Checkpoint());
        }

        await accounts.CreateUserAsync(new UserRecord("u2", "U", "", "", 1, 1));
        connection = await owner.OpenReaderAsync();
        await using (connection)
        {
            // The pool hands the same native connection out again, with its statement; unless another test cleared every
            // pool meanwhile (TempDatabase.Dispose does), then the new native connection has its own.
            var again = owner.Prepared(connection, Sql, names);
            Assert.Equal(ReferenceEquals(firstHandle, connection.Handle), ReferenceEquals(first, again));
            try
            {
                again.Bind(0, "u2");
                Assert.True(again.Read());
                Assert.Equal(1, again.GetInt64(0));
                Assert.Equal("u2", again.GetString(1));
                Assert.False(again.Read());
            }
            finally
            {
                again.Reset();
            }
        }

        Assert.Equal(0L, Checkpoint());

        long Checkpoint()
        {
            using var raw = _database.OpenRaw();
            using var command = raw.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout = 0; PRAGMA wal_checkpoint(TRUNCATE);";
            using var reader = command.ExecuteReader();
            while (reader.FieldCount != 3 && reader.NextResult())
            {
            }

            Assert.True(reader.Read());
            return reader.GetInt64(0);
        }
    }
}
