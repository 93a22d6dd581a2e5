using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// Where the WAL is checkpointed (<see cref="SqliteStoreOptions.CheckpointInBackground"/>): by a background connection
/// while the writer never checkpoints, or by SQLite's auto-checkpoint inside the writer's commit. Either way every row is
/// kept and the database file receives the pages.
/// </summary>
public sealed class SqliteCheckpointTests : IDisposable
{
    private const int Threshold = 200;
    private const int Writes = 300;
    private const int BlobBytes = 64 * 1024; // 16 pages and more per commit

    private readonly TempDatabase _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Background_WriterNeverCheckpoints_BackgroundCopiesIntoTheFile_NothingLost()
    {
        var database = Open(background: true);
        await database.InitializeAsync();
        Assert.Equal(0L, await database.WriteAsync(c => Scalar(c, "PRAGMA wal_autocheckpoint;")));
        var schemaOnly = new FileInfo(_files.FilePath).Length;

        await WriteBlobsAsync(database);

        // Frames counted after each commit: a WAL of Writes × 16+ pages crosses the 200-page threshold many times.
        await WaitUntilAsync(() => database.CheckpointsRun >= 1, TimeSpan.FromSeconds(60), "no background checkpoint ran");
        await WaitUntilAsync(
            () => new FileInfo(_files.FilePath).Length >= schemaOnly + (Threshold * 4096L),
            TimeSpan.FromSeconds(60),
            "the database file did not receive the checkpointed pages");

        // The WAL starts over once a checkpoint has copied all of it (the writer's catch-up after a background pass):
        // without that it would hold every frame written, more than Writes × 16 pages. On a loaded machine the file may
        // have grown far before a catch-up came, so the check is on the frames the WAL holds after one: keep writing
        // until a catch-up has run after the blobs, then one more commit starts the WAL over.
        var catchUps = database.WriterCatchUps;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        var extra = 0;
        while (database.WriterCatchUps == catchUps)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no writer catch-up after the blobs; {database.CheckpointsRun} background passes");
            await InsertBlobAsync(database, Writes + extra++);
            await Task.Delay(10);
        }

        await InsertBlobAsync(database, Writes + extra++);
        var walFrames = WalFrames(_files.FilePath);
        Assert.True(walFrames < Writes * 16L / 2, $"the WAL did not start over: {walFrames} frames; {database.CheckpointsRun} background passes, {database.WriterCatchUps} writer catch-ups");

        await database.DisposeAsync();
        Assert.False(File.Exists(_files.FilePath + "-wal"), "closing the last connection checkpoints and removes the WAL");
        await AssertAllRowsAsync(Writes + extra);
    }

    [Fact]
    public async Task Default_CheckpointsAfter40000Pages_TheWritersOwnAutoCheckpointWhenNotInTheBackground()
    {
        // 40,000 pages, not 10,000 (stop 42): the checkpoint copies a page many commits changed once, and each background
        // round ends with the writer's short catch-up (a pause of the writer), so a longer WAL copies and pauses less per
        // message (docs/performance.md, stop 42, db).
        Assert.Equal(40000, new SqliteStoreOptions().WalAutoCheckpointPages);
        var options = _files.Options(durable: false, SqliteSynchronous.Normal);
        options.CheckpointInBackground = false;
        var database = new SqliteDatabase(options);
        await database.InitializeAsync();
        Assert.Equal(40000L, await database.WriteAsync(c => Scalar(c, "PRAGMA wal_autocheckpoint;")));
        await database.DisposeAsync();
    }

    [Fact]
    public async Task Foreground_WriterAutoCheckpoints_NoBackgroundThread_NothingLost()
    {
        var database = Open(background: false);
        await database.InitializeAsync();
        Assert.Equal((long)Threshold, await database.WriteAsync(c => Scalar(c, "PRAGMA wal_autocheckpoint;")));
        var schemaOnly = new FileInfo(_files.FilePath).Length;

        await WriteBlobsAsync(database);

        // The commit that crossed the threshold copied the WAL into the file before it returned.
        Assert.True(new FileInfo(_files.FilePath).Length >= schemaOnly + (Threshold * 4096L));
        Assert.Equal(0, database.CheckpointsRun);
        await database.DisposeAsync();
        await AssertAllRowsAsync();
    }

    [Fact]
    public async Task Background_WriterMetrics_CountEveryTransactionAndEachCheckpointByWhoRanIt()
    {
        using var factory = new TestMeterFactory();
        var seen = new ConcurrentQueue<(string Instrument, double Seconds, string? By)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (factory.Created.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            string? by = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "by")
                {
                    by = tag.Value as string;
                }
            }

            seen.Enqueue((instrument.Name, value, by));
        });
        listener.Start();

        var database = Open(background: true, factory);
        await database.InitializeAsync();
        await WriteBlobsAsync(database);

        // The writer's catch-up runs after a commit: keep committing small rows until one has run.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var extra = 0;
        while (database.WriterCatchUps == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no writer catch-up ran; {database.CheckpointsRun} background passes");
            var id = Writes + extra++;
            await database.WriteAsync(c => Execute(c, $"INSERT INTO blobs (id, body) VALUES ({id}, x'00');"));
            await Task.Delay(20);
        }

        await database.DisposeAsync();

        var all = seen.ToArray();
        var transactions = all.Count(m => m.Instrument == "parley.storage.sqlite.transaction.duration");
        var waits = all.Count(m => m.Instrument == "parley.storage.sqlite.queue.wait");
        Assert.True(transactions >= Writes + 1 + extra, $"{transactions} transactions recorded for {Writes + 1 + extra} awaited writes");
        Assert.Equal(transactions, waits);

        // Each transaction's COMMIT alone (its WAL writes and sync): one per transaction, never longer than the transactions.
        var commits = all.Where(m => m.Instrument == "parley.storage.sqlite.commit.duration").ToArray();
        Assert.Equal(transactions, commits.Length);
        Assert.True(
            commits.Sum(m => m.Seconds) <= all.Where(m => m.Instrument == "parley.storage.sqlite.transaction.duration").Sum(m => m.Seconds),
            "the commits took longer than the transactions that hold them");
        Assert.All(all, m => Assert.True(m.Seconds >= 0 && m.Seconds < 600, $"{m.Instrument}: {m.Seconds} s"));
        var checkpoints = all.Where(m => m.Instrument == "parley.storage.sqlite.checkpoint.duration").ToArray();
        Assert.Equal(database.CheckpointsRun > 0, checkpoints.Any(m => m.By == "background"));
        Assert.Equal(database.WriterCatchUps, checkpoints.Count(m => m.By == "writer"));
        Assert.All(checkpoints, m => Assert.Contains(m.By, new[] { "background", "writer" }));
    }

    private SqliteDatabase Open(bool background, IMeterFactory? meters = null)
    {
        var options = _files.Options(durable: false, SqliteSynchronous.Normal);
        options.WalAutoCheckpointPages = Threshold;
        options.CheckpointInBackground = background;
        return new SqliteDatabase(options, meterFactory: meters);
    }

    private static async Task WriteBlobsAsync(SqliteDatabase database)
    {
        await database.WriteAsync(c => Execute(c, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"));
        for (var i = 0; i < Writes; i++)
        {
            await InsertBlobAsync(database, i);
        }
    }

    private static Task<int> InsertBlobAsync(SqliteDatabase database, int id)
    {
        var body = new byte[BlobBytes];
        Random.Shared.NextBytes(body);
        return database.WriteAsync(c =>
        {
            using var command = c.CreateCommand();
            command.CommandText = "INSERT INTO blobs (id, body) VALUES ($id, $body);";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$body", body);
            return command.ExecuteNonQuery();
        });
    }

    // Frames in the WAL now: the second column of a PASSIVE checkpoint's answer, on a connection of its own.
    private static long WalFrames(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var reader = command.ExecuteReader();
        reader.Read();
        return reader.GetInt64(1);
    }

    private async Task AssertAllRowsAsync(int? expected = null)
    {
        await using var reopened = new SqliteDatabase(_files.Options(durable: false, SqliteSynchronous.Normal));
        await reopened.InitializeAsync();
        var rows = await reopened.QueryAsync(
            "SELECT COUNT(*), SUM(length(body)) FROM blobs;",
            _ => { },
            r => (Count: r.GetInt64(0), Bytes: r.GetInt64(1)));
        Assert.Equal(expected ?? Writes, rows[0].Count);
        Assert.Equal((long)(expected ?? Writes) * BlobBytes, rows[0].Bytes);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static int Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }
}
