using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The background checkpointer (<see cref="SqliteStoreOptions.CheckpointInBackground"/>). With SQLite's auto-checkpoint
/// the commit that crosses the WAL threshold copies every page the WAL holds into the database file and fsyncs it before
/// it returns, and every write queued behind it waits: at a 10,000-page WAL that was the p99 of a 1:1 send at half load.
/// Here the writer only counts the WAL frames its commits wrote (<c>SQLITE_DBSTATUS_CACHE_WRITE</c>, read and reset after
/// each commit); once the threshold is reached it wakes a dedicated thread that runs <c>PRAGMA wal_checkpoint(PASSIVE)</c>
/// on its own connection. A passive checkpoint never blocks the writer: the writer keeps appending to the WAL while the
/// checkpoint copies the frames that were committed when it began.
/// <para>
/// The WAL starts again from its beginning only when a transaction begins after a checkpoint has copied all of it, which
/// a background pass under steady load never does (the writer appended while it ran): the WAL would grow without bound.
/// So the background repeats its pass while each leaves many frames behind (each pass is shorter than the one before),
/// then asks the writer to copy the small rest itself after its next commit: a short copy and one fsync of the database
/// file, once per threshold, instead of the whole WAL.
/// </para>
/// </summary>
public sealed partial class SqliteDatabase
{
    private const int DbStatusCacheWrite = 9; // SQLITE_DBSTATUS_CACHE_WRITE: pages written to the WAL in WAL mode

    // A pass that leaves at most this many frames ends the background's work; the writer copies the rest.
    private const int WriterCatchUpFrames = 512;

    // Up to this many passes before the writer copies whatever is left (each pass copies what was committed during the one
    // before, so they shorten while the copy outpaces the writer). Stop 42, 40,000 pages, a 2,000 msg/s soak under load:
    // most rounds took 1-4 passes, but while the server fell behind rounds needed 6, 7, 11 and 12, where a cap of 4 left
    // the writer's catch-up (which every queued write waits for) thousands of frames instead of at most 512.
    private const int MaxBackgroundPasses = 12;

    private readonly SemaphoreSlim _checkpointSignal = new(0);
    private SqliteConnection? _checkpointer;
    private SqliteCommand? _writerCheckpoint;
    private Thread? _checkpointThread;
    private volatile bool _checkpointStopping;
    private long _framesSinceCheckpoint;
    private int _checkpointRequested;
    private int _checkpointRunning;
    private int _writerCatchUp;
    private bool _catchUpDue; // writer loop only
    private long _checkpointsRun;
    private long _writerCatchUps;
    private long _framesWritten;

    /// <summary>WAL frames (pages) the writer's commits wrote since start, counted when the background checkpoints (benchmarks).</summary>
    internal long FramesWritten => Interlocked.Read(ref _framesWritten);

    /// <summary>Background checkpoint passes run since start (for tests and diagnostics); 0 when the writer checkpoints.</summary>
    internal long CheckpointsRun => Interlocked.Read(ref _checkpointsRun);

    /// <summary>The writer's short catch-up checkpoints after a background pass (see the class remarks).</summary>
    internal long WriterCatchUps => Interlocked.Read(ref _writerCatchUps);

    private void StartCheckpointer(SqliteConnection connection, SqliteConnection writer)
    {
        _checkpointer = connection;
        _writerCheckpoint = writer.CreateCommand();
        _writerCheckpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        _checkpointThread = new Thread(RunCheckpointer) { IsBackground = true, Name = "parley-sqlite-checkpoint" };
        _checkpointThread.Start();
    }

    // Called by the writer loop after each successful COMMIT: one native call. True when the background asked for the
    // catch-up, which the writer loop runs (RunWriterCatchUp) once the group's writers have been answered.
    private bool NoteCommitted(SqliteConnection writer)
    {
        if (_checkpointer is null)
        {
            return false;
        }

        _ = SQLitePCL.raw.sqlite3_db_status(writer.Handle, DbStatusCacheWrite, out var frames, out _, 1);
        if (frames > 0)
        {
            Interlocked.Add(ref _framesWritten, frames);
            var pending = Interlocked.Add(ref _framesSinceCheckpoint, frames);
            if (pending >= _options.WalAutoCheckpointPages && Interlocked.CompareExchange(ref _checkpointRequested, 1, 0) == 0)
            {
                _checkpointSignal.Release();
            }
        }

        return Volatile.Read(ref _writerCatchUp) == 1 && Volatile.Read(ref _checkpointRunning) == 0;
    }

    // The writer's short copy of the frames committed during the background's last pass: with no writer beside it, it
    // reaches the WAL's end, and the writer's next transaction starts the WAL again.
    private void RunWriterCatchUp()
    {
        if (Volatile.Read(ref _checkpointRunning) == 1)
        {
            return; // a new background round began meanwhile; it asks again when it ends
        }

        Volatile.Write(ref _writerCatchUp, 0);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using (var reader = _writerCheckpoint!.ExecuteReader())
            {
                reader.Read();
            }

            Interlocked.Exchange(ref _framesSinceCheckpoint, 0);
            Interlocked.Increment(ref _writerCatchUps);
        }
        catch (SqliteException ex)
        {
            LogCheckpointFailed(_logger, ex, FilePath);
        }

        _metrics?.RecordCheckpoint(Stopwatch.GetElapsedTime(started).TotalSeconds, byWriter: true);
    }

    private void RunCheckpointer()
    {
        var connection = _checkpointer!;
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        while (true)
        {
            _checkpointSignal.Wait();
            if (_checkpointStopping)
            {
                return;
            }

            // Reset before the copy: frames committed while it runs count towards the next checkpoint.
            var frames = Interlocked.Exchange(ref _framesSinceCheckpoint, 0);
            Volatile.Write(ref _checkpointRequested, 0);
            var started = Stopwatch.GetTimestamp();
            long log = 0, copied = 0;
            var passes = 0;
            var failed = false;
            try
            {
                Volatile.Write(ref _checkpointRunning, 1);
                while (true)
                {
                    // (busy, frames in the WAL, frames now in the database file) as of the snapshot the pass began from:
                    // the writer may have appended more since, which the counter below tells.
                    using (var reader = command.ExecuteReader())
                    {
                        if (reader.Read())
                        {
                            log = reader.GetInt64(1);
                            copied = reader.GetInt64(2);
                        }
                    }

                    passes++;
                    Interlocked.Increment(ref _checkpointsRun);
                    if (passes >= MaxBackgroundPasses || _checkpointStopping
                        || Interlocked.Read(ref _framesSinceCheckpoint) <= WriterCatchUpFrames)
                    {
                        break;
                    }

                    frames += Interlocked.Exchange(ref _framesSinceCheckpoint, 0);
                }
            }
            catch (SqliteException ex)
            {
                // Nothing is lost: the frames stay in the WAL (still durable, still read from there) and the next
                // checkpoint copies them. The writer is unaffected. The failed pass reported nothing: say which it was,
                // not a WAL of 0 frames.
                failed = true;
                LogBackgroundCheckpointFailed(_logger, ex, FilePath, passes + 1, frames);
            }
            finally
            {
                Volatile.Write(ref _checkpointRunning, 0);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            _metrics?.RecordCheckpoint(elapsed.TotalSeconds, byWriter: false);
            if (!failed)
            {
                LogCheckpoint(_logger, frames, passes, log, copied, elapsed.TotalMilliseconds);
            }

            // The writer copies what was committed during the last pass; with no writer running beside it, that copy
            // reaches the WAL's end, and the writer's next transaction starts the WAL again.
            Volatile.Write(ref _writerCatchUp, 1);

            // Readers that keep an old snapshot stop the copy short of the WAL's end (SQLite's own checkpoint has the same
            // limit); the WAL cannot start again until they move on, so say so when it has grown far.
            if (log - copied >= 4L * _options.WalAutoCheckpointPages)
            {
                LogCheckpointBehind(_logger, FilePath, log, copied);
            }
        }
    }

    private async ValueTask StopCheckpointerAsync()
    {
        if (_checkpointThread is not null)
        {
            _checkpointStopping = true;
            _checkpointSignal.Release();
            _checkpointThread.Join();
            _checkpointThread = null;
        }

        _writerCheckpoint?.Dispose();
        _writerCheckpoint = null;
        if (_checkpointer is not null)
        {
            await _checkpointer.DisposeAsync().ConfigureAwait(false);
            _checkpointer = null;
        }
    }

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug, Message = "SQLite background checkpoint: {Frames} frames since the last one, {Passes} passes; WAL {Log} frames, {Copied} copied, in {Milliseconds} ms")]
    private static partial void LogCheckpoint(ILogger logger, long frames, int passes, long log, long copied, double milliseconds);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "SQLite WAL of {Path} is not being emptied: {Log} frames, {Copied} copied; a long-running reader holds an old snapshot")]
    private static partial void LogCheckpointBehind(ILogger logger, string path, long log, long copied);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "SQLite background checkpoint of {Path} failed in pass {Pass}; the WAL keeps the {Frames} frames committed since the last checkpoint and the next checkpoint retries")]
    private static partial void LogBackgroundCheckpointFailed(ILogger logger, Exception exception, string path, int pass, long frames);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "SQLite writer's catch-up checkpoint of {Path} failed; the WAL keeps the pages and the next checkpoint retries")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception, string path);
}
