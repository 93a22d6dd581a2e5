using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>
/// The one owner of a SQLite database file in this process. Every store (messages, groups, accounts, relations,
/// directory, devices, push journal, push settings, …) is a view over one instance of this class:
/// <list type="bullet">
/// <item><see cref="InitializeAsync"/> creates the directory, checks the durability settings and runs the one
/// migration runner (<see cref="SqliteMigrations"/>) exactly once, whatever the number of stores.</item>
/// <item><c>WriteAsync</c> is the one writer queue: every write of every store goes through it, on one
/// writer connection. The queue is group-committed: whatever is queued when the writer wakes up (up to
/// <see cref="MaxWritesPerCommit"/> writes) runs in ONE <c>BEGIN IMMEDIATE</c> transaction, each write inside its own
/// savepoint, and is acknowledged after ONE <c>COMMIT</c> (one WAL fsync with <c>synchronous=FULL</c>). A write that
/// throws is rolled back to its savepoint and fails alone; its neighbours commit.</item>
/// <item><see cref="OpenReaderAsync"/> hands out pooled read connections (WAL snapshots, never blocked by the writer).</item>
/// </list>
/// <para>
/// <b>How a feature adds a table:</b> append a new <c>(version, script)</c> entry with the next free number to
/// <c>SqliteMigrations.All</c> (never edit an applied script), write the store as a class that takes this
/// <see cref="SqliteDatabase"/> in its constructor, read through <see cref="OpenReaderAsync"/>, write through
/// <c>WriteAsync</c> (no <c>BeginTransaction</c>: the write already runs inside the group transaction),
/// and register it in DI over the singleton owner. The server initialises the owner once at start-up, before any
/// hosted service that uses a store; a store's own <c>InitializeAsync</c> only awaits the owner's.
/// </para>
/// </summary>
public sealed partial class SqliteDatabase : IAsyncDisposable
{
    /// <summary>The most writes one group commit holds, so one commit's latency stays bounded under load.</summary>
    public const int MaxWritesPerCommit = 256;

    private static readonly AsyncLocal<SqliteDatabase?> CurrentWriter = new();

    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly SqliteWriterMetrics? _metrics;
    private readonly string _connectionSetup;
    private static readonly object ConfiguredMarker = new();

    // Native connections (pooled) that already ran _connectionSetup; weak, so a connection the pool drops is forgotten.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> _configured = new();

    // Read statements prepared once per native connection (issue 17): a pooled connection keeps them across opens. Weak:
    // when the pool closes a native connection (close_v2 leaves it a zombie while statements exist), its statements become
    // unreachable with it, their finalizers finalize them and the connection closes.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, PreparedStatements> _prepared = new();
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private readonly Channel<WriteItem> _queue = Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private SqliteConnection? _writer;
    private WriterStatements? _statements; // the writer loop's own, on _writer
    private Task? _writerLoop;
    private volatile bool _ready;
    private volatile bool _disposed;

    /// <summary>Validates <paramref name="options"/>; opens nothing until <see cref="InitializeAsync"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid (no file path, negative timeout, unknown level).</exception>
    public SqliteDatabase(SqliteStoreOptions options, ILogger<SqliteDatabase>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataSource))
        {
            throw new ArgumentException("SqliteStoreOptions.DataSource (the database file path) is required.", nameof(options));
        }

        if (options.BusyTimeoutMs < 0)
        {
            throw new ArgumentException("SqliteStoreOptions.BusyTimeoutMs must not be negative.", nameof(options));
        }

        if (!Enum.IsDefined(options.Synchronous))
        {
            throw new ArgumentException("SqliteStoreOptions.Synchronous has an unknown value.", nameof(options));
        }

        if (options.WriterCacheSizeKb < 1 || options.WalAutoCheckpointPages < 1 || options.MmapSizeBytes < 0 || options.WriterMmapSizeBytes < 0 || options.SearchRowAllowance < 1 || options.SearchMergePages < 0 || options.DerivedRowsFlushMs < 0)
        {
            throw new ArgumentException("SqliteStoreOptions: WriterCacheSizeKb, WalAutoCheckpointPages and SearchRowAllowance must be at least 1, MmapSizeBytes, WriterMmapSizeBytes, SearchMergePages and DerivedRowsFlushMs not negative.", nameof(options));
        }

        if (!IsValidPageSize(options.PageSize))
        {
            throw new ArgumentException($"SqliteStoreOptions.PageSize ({options.PageSize}) must be a power of two from 512 to 65536.", nameof(options));
        }

        if (!(options.SearchMergeShare > 0 && options.SearchMergeShare <= 1))
        {
            throw new ArgumentException("SqliteStoreOptions.SearchMergeShare must be above 0 and at most 1.", nameof(options));
        }

        if (!(options.SearchMergePagesPerRow >= 0 && double.IsFinite(options.SearchMergePagesPerRow)))
        {
            throw new ArgumentException("SqliteStoreOptions.SearchMergePagesPerRow must be finite and not negative.", nameof(options));
        }

        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = meterFactory is null ? null : new SqliteWriterMetrics(meterFactory, () => Volatile.Read(ref _searchSegments));
        FilePath = Path.GetFullPath(options.DataSource);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (options.BusyTimeoutMs + 999) / 1000),
        };
        PooledConnectionString = builder.ToString();
        builder.Pooling = false;
        WriterConnectionString = builder.ToString();

        // synchronous and busy_timeout are per connection: every connection gets them when opened. temp_store = MEMORY (as the
        // writer's) for the readers too (stop 48, adr34): each materialized subquery or sorter of a statement opened a temporary
        // database, ~10 us apiece (the sync statement's two materialized CTEs: 36 us against 13-15 us of CPU for a one-message
        // sync); what a reader sorts is bounded by its LIMITs.
        _connectionSetup = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {options.BusyTimeoutMs}; PRAGMA synchronous = {(int)options.Synchronous}; PRAGMA mmap_size = {options.MmapSizeBytes}; PRAGMA temp_store = MEMORY;");
    }

    /// <summary>The full path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>The file's page size in bytes, read back once <see cref="InitializeAsync"/> opened it (0 before).</summary>
    public int PageSize { get; private set; }

    /// <summary>True for a page size SQLite accepts: a power of two from 512 to 65,536.</summary>
    public static bool IsValidPageSize(int pageSize) => pageSize is >= 512 and <= 65536 && (pageSize & (pageSize - 1)) == 0;

    /// <summary>The settings this database was opened with.</summary>
    internal SqliteStoreOptions Options => _options;

    /// <summary>True once <see cref="InitializeAsync"/> succeeded.</summary>
    public bool IsReady => _ready;

    // Writes whose changes were undone (a savepoint or the transaction rolled back), counted on the writer loop before it
    // runs the next write: a store that keeps state in memory beside what it wrote (ADR 0028's pending derived rows) sees
    // that the file may not hold what it remembers.
    private long _rollbacks;

    /// <summary>How many times a write's changes were rolled back (writer loop; read by a write to know its memory may be ahead of the file).</summary>
    internal long Rollbacks => Volatile.Read(ref _rollbacks);

    // Writes in the queue not yet taken by the writer loop (the single-reader channel does not count them).
    private int _queued;

    // When the writer last finished a write other than a background one (Stopwatch timestamp; writer loop writes it).
    private long _lastForegroundWrite = Stopwatch.GetTimestamp();

    /// <summary>When the writer last finished a write other than a background one (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal long LastForegroundWrite => Volatile.Read(ref _lastForegroundWrite);

    internal string PooledConnectionString { get; }

    internal string WriterConnectionString { get; }

    /// <summary>
    /// Creates the directory, opens the writer connection, switches the file to WAL, reads the settings back and
    /// refuses durable mode unless they are WAL + FULL, applies the missing migrations and starts the writer queue.
    /// Idempotent and safe to call concurrently; after a failure the next call tries again.
    /// </summary>
    /// <exception cref="InvalidOperationException">Unsafe settings in durable mode, or a schema newer than this build.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_ready)
        {
            return;
        }

        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ready)
            {
                return;
            }

            EnsureDirectory(FilePath);
            var writer = await OpenAsync(WriterConnectionString, cancellationToken).ConfigureAwait(false);
            try
            {
                // The page size of a new file (ADR 0030): it must come before anything writes the file (journal_mode = WAL
                // below does); on an existing file it changes nothing, and the file's own is reported if it differs.
                Execute(writer, string.Create(CultureInfo.InvariantCulture, $"PRAGMA page_size = {_options.PageSize};"));
                // A savepoint's statement journal (the pre-images it needs for ROLLBACK TO) spills to a temporary file
                // once it passes 64 KiB, which one message batch does: that was one extra pwrite per page per commit
                // (+74 % bytes written at 1,000 msg/s). In memory it is a memcpy; it is discarded at every RELEASE.
                Execute(writer, "PRAGMA temp_store = MEMORY;");

                // Every commit changes a few pages far apart (a conversation's message and index pages, two members' feed
                // entries, the conversation row): with SQLite's 2,000 KiB default cache the writer read most of them back from
                // the file (pread) once the database outgrew it. And the checkpoint copies the latest version of each page
                // the WAL holds, so a longer WAL copies a hot page once instead of many times (store-io in
                // docs/performance.md: bytes read and written per 1:1 message by setting).
                // In the background (SqliteDatabase.Checkpoint.cs) the writer never checkpoints itself.
                var autoCheckpoint = _options.CheckpointInBackground ? 0 : _options.WalAutoCheckpointPages;
                Execute(writer, string.Create(CultureInfo.InvariantCulture, $"PRAGMA cache_size = -{_options.WriterCacheSizeKb}; PRAGMA wal_autocheckpoint = {autoCheckpoint};"));

                // ADR 0026: the writer alone maps the file (SqliteStoreOptions.WriterMmapSizeBytes says why only the writer).
                if (_options.WriterMmapSizeBytes > _options.MmapSizeBytes)
                {
                    Execute(writer, string.Create(CultureInfo.InvariantCulture, $"PRAGMA mmap_size = {_options.WriterMmapSizeBytes};"));
                }

                // The full-text index's conversation key (migration 27, the search indexer): computed where the rows are written.
                writer.CreateFunction<string, string>(Internal.SearchKeys.SqlFunction, Internal.SearchKeys.For, isDeterministic: true);
                await CheckDurabilityAsync(writer, cancellationToken).ConfigureAwait(false);
                PageSize = Convert.ToInt32(await ScalarAsync(writer, "PRAGMA page_size;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (PageSize != _options.PageSize)
                {
                    LogPageSizeKept(_logger, FilePath, PageSize, _options.PageSize);
                }

                await MigrateAsync(writer, cancellationToken).ConfigureAwait(false);
                if (_options.CheckpointInBackground)
                {
                    StartCheckpointer(await OpenAsync(WriterConnectionString, cancellationToken).ConfigureAwait(false), writer);
                }
            }
            catch
            {
                await writer.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            _writer = writer;
            _writerLoop = Task.Run(RunWriterAsync, CancellationToken.None);
            _ready = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    /// <summary>Opens a pooled read connection with the per-connection settings applied. Dispose it after use.</summary>
    /// <remarks>
    /// A value task: the open completes synchronously whenever the pool has a native connection (nearly always), and a
    /// <see cref="Task{TResult}"/> was one more object per read, 0.08 KB, three of them for every message that opens a 1:1
    /// conversation (issue 17, stop 45).
    /// </remarks>
    public ValueTask<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotReady();
        return OpenAsync(PooledConnectionString, cancellationToken);
    }

    /// <summary>
    /// The statement for <paramref name="sql"/> on <paramref name="connection"/>'s native connection, prepared on first use
    /// and kept with that native connection (a pooled read connection keeps it across opens): a query on the connect path
    /// is parsed and planned once per connection, not on every call, and binds without allocating. The caller binds every
    /// parameter, reads with <see cref="RawStatement.Read"/> and must call <see cref="RawStatement.Reset"/> when done (in a
    /// finally), before the connection is disposed. One statement per call, single-statement SQL only.
    /// </summary>
    /// <param name="parameterNames">The parameters in binding order; pass a static array (the SQL text is the cache key).</param>
    internal RawStatement Prepared(SqliteConnection connection, string sql, string[] parameterNames)
    {
        var handle = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var statements = _prepared.GetValue(handle, static _ => new PreparedStatements());
        if (!statements.TryGetValue(sql, out var statement))
        {
            statement = new RawStatement(connection, sql, parameterNames);
            statements[sql] = statement;
        }

        return statement;
    }

    /// <summary>
    /// How many times the statements <see cref="Prepared"/> holds (on every pooled connection) were compiled again since they
    /// were prepared (SQLite's <c>SQLITE_STMTSTATUS_REPREPARE</c>), for tests; not while reads run.
    /// </summary>
    internal int Reprepares()
    {
        var total = 0;
        foreach (var (_, statements) in _prepared)
        {
            foreach (var statement in statements.Values)
            {
                total += statement.Reprepares;
            }
        }

        return total;
    }

    /// <summary>Runs one query on a pooled read connection and reads every row with <paramref name="read"/>.</summary>
    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Action<SqliteCommand> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bind);
        ArgumentNullException.ThrowIfNull(read);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            bind(command);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(read(reader));
            }

            return result;
        }
    }

    /// <summary>
    /// One statement through the writer queue (group-committed with whatever else is queued: one transaction, one
    /// fsync; only the statement that failed fails). Completes once the write is durable, with the rows it changed.
    /// </summary>
    internal Task<int> ExecuteAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bind);
        return WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                bind(command.Parameters);
                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }

    /// <summary>
    /// Queues <paramref name="write"/> for the writer connection and completes once the group transaction it ran in is
    /// committed (durable in durable mode). The callback runs inside that transaction, in a savepoint of its own unless it is
    /// the transaction's first write (then the transaction is exactly its changes; see CommitGroupAsync): it must
    /// not begin or commit transactions, must not call <c>WriteAsync</c> itself, and should not keep the
    /// connection or commands beyond the call (prepared commands of the same connection may be cached by the caller).
    /// If the callback throws, its changes are rolled back and the exception is rethrown to the caller.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        return Enqueue(new WriteItem<T>(write, cancellationToken));
    }

    private Task<T> Enqueue<T>(CompletingWriteItem<T> item)
    {
        ThrowIfNotReady();
        if (ReferenceEquals(CurrentWriter.Value, this))
        {
            throw new InvalidOperationException("A SQLite write callback must not queue another write on the same database (it would wait for itself).");
        }

        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Decrement(ref _queued);
            throw new ObjectDisposedException(GetType().FullName);
        }

        return item.Completion.Task;
    }

    /// <summary>
    /// Queues a background write (upkeep such as the full-text index's merge steps): the writer runs it alone in a
    /// transaction of its own, never in a group with other writes, and only if no other write is queued when it comes
    /// to it; otherwise it is skipped (<see cref="BackgroundWrite.Ran"/> false) and the caller tries again later. So a
    /// write that comes while one runs waits for at most that one. <see cref="BackgroundWrite.HeldTicks"/> is how long
    /// it held the writer, its commit included.
    /// </summary>
    internal Task<BackgroundWrite> WriteInBackgroundAsync(Func<SqliteConnection, bool> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        return Enqueue(new BackgroundWriteItem(write, cancellationToken));
    }

    private long _searchSegments;

    /// <summary>The full-text index's segment count as a merge step read it (for the <c>parley.storage.sqlite.search.segments</c> gauge).</summary>
    internal void NoteSearchSegments(int segments) => Volatile.Write(ref _searchSegments, segments);

    /// <summary>Counts a background write its caller did not queue because its share of the writer's time was spent.</summary>
    internal void NoteBackgroundDeferredByBudget() => _metrics?.RecordBackgroundDeferred(byBudget: true);

    /// <summary>A synchronous write callback; see <c>WriteAsync</c>.</summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, T> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        return WriteAsync((connection, _) => Task.FromResult(write(connection)), cancellationToken);
    }

    /// <summary>
    /// A write like <c>WriteAsync</c> that the writer puts after the other writes of its group, whenever it was queued:
    /// for a write that depends on no other write of the group (the search indexer's, which indexes only rows already
    /// committed as they were) and must not come in front of a large one (see CommitGroupAsync).
    /// </summary>
    internal Task<T> WriteLateAsync<T>(Func<SqliteConnection, T> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        return Enqueue(new WriteItem<T>((connection, _) => Task.FromResult(write(connection)), cancellationToken) { Late = true });
    }

    /// <summary>Stops the writer queue after the queued writes, closes the writer and releases pooled connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _initLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _ready = false;
            _queue.Writer.TryComplete();
            if (_writerLoop is not null)
            {
                await _writerLoop.ConfigureAwait(false);
            }

            // Before the writer closes: the last connection to close checkpoints the whole WAL and removes it.
            await StopCheckpointerAsync().ConfigureAwait(false);

            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }

            // The prepared read statements first: a native connection closes only once its statements are finalized.
            foreach (var (_, statements) in _prepared)
            {
                foreach (var statement in statements.Values)
                {
                    statement.Dispose();
                }

                statements.Clear();
            }

            _prepared.Clear();
            using var pooled = new SqliteConnection(PooledConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        finally
        {
            _initLock.Release();
        }
    }

    internal static void EnsureDirectory(string filePath)
    {
        var directory = Path.GetDirectoryName(filePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // The database holds every message: like the key files it is the owner's only (0600). SQLite takes an empty file
        // as a new database and creates its -wal and -shm files with the database file's mode.
        if (!OperatingSystem.IsWindows() && !File.Exists(filePath))
        {
            using var created = new FileStream(filePath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
    }

    internal void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_ready)
        {
            throw new InvalidOperationException($"The SQLite database '{FilePath}' is not initialised: call InitializeAsync (the server does it at start-up) before using a store.");
        }
    }

    private async ValueTask<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // The settings stay with the native connection, which the pool hands out again and again: apply them once
            // per native connection, not on every open (issue 17: two PRAGMAs were parsed and run on every read).
            var handle = connection.Handle;
            if (handle is null || !_configured.TryGetValue(handle, out _))
            {
                using var command = connection.CreateCommand();
                command.CommandText = _connectionSetup;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                if (handle is not null)
                {
                    // The query planner's stability guarantee: a plan never depends on the values bound to a statement, so
                    // a statement prepared once per connection (Prepared) is not compiled again when a new value is bound.
                    // Without it SQLite marks a statement whose plan looked at a bound value as expired on every new binding
                    // and re-prepares it in the next step: the connect-time sync's statements were parsed and planned on
                    // every login, 16 % of a fresh login's server samples (issue 17, stop 40). Results do not depend on it.
                    SQLitePCL.raw.sqlite3_db_config(handle, SQLitePCL.raw.SQLITE_DBCONFIG_ENABLE_QPSG, 1, out _);
                    _configured.AddOrUpdate(handle, ConfiguredMarker);
                }
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunWriterAsync()
    {
        var writer = _writer!;
        using var statements = _statements = new WriterStatements(writer);
        var batch = new List<WriteItem>(MaxWritesPerCommit);
        var late = new List<WriteItem>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            late.Clear();
            while (batch.Count + late.Count < MaxWritesPerCommit && _queue.Reader.TryRead(out var item))
            {
                Interlocked.Decrement(ref _queued);
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Cancel();
                    continue;
                }

                if (item is BackgroundWriteItem background)
                {
                    // Alone, and only when nothing else waits: writes taken or queued go first, the caller tries later.
                    if (batch.Count > 0 || Volatile.Read(ref _queued) > 0)
                    {
                        background.Skip();
                        _metrics?.RecordBackgroundDeferred(byBudget: false);
                    }
                    else
                    {
                        background.Started = Stopwatch.GetTimestamp();
                        await CommitAloneAsync(writer, background).ConfigureAwait(false);
                        _metrics?.Background.Record(Stopwatch.GetElapsedTime(background.Started).TotalSeconds);
                        RunCatchUpIfDue();
                    }

                    continue;
                }

                (item.Late ? late : batch).Add(item);
            }

            // Late writes (the search indexer's) after the others: see CommitGroupAsync for why the order matters.
            batch.AddRange(late);
            if (batch.Count > 0)
            {
                var started = Stopwatch.GetTimestamp();
                _metrics?.QueueWait.Record(Stopwatch.GetElapsedTime(batch[0].Enqueued, started).TotalSeconds);
                await CommitGroupAsync(writer, batch).ConfigureAwait(false);
                var finished = Stopwatch.GetTimestamp();
                Volatile.Write(ref _lastForegroundWrite, finished);
                _metrics?.Transaction.Record(Stopwatch.GetElapsedTime(started, finished).TotalSeconds);

                // After the group's writers were answered: a catch-up checkpoint the background asked for delays the
                // writes queued behind it, never the acks of the group that came before it.
                RunCatchUpIfDue();
                RaiseWriterCacheOnceLarge(writer);
            }
        }
    }

    private int _commitsToSizeCheck; // writer loop only
    private bool _writerCacheRaised; // writer loop only

    // Every LargeFileCheckCommits commits (and at the first) until it happened: once the file (its pages, the WAL's
    // included) is larger than 1 GiB, the writer's cache grows to WriterLargeFileCacheSizeKb (SqliteStoreOptions says why).
    private void RaiseWriterCacheOnceLarge(SqliteConnection writer)
    {
        if (_writerCacheRaised || --_commitsToSizeCheck > 0)
        {
            return;
        }

        _commitsToSizeCheck = _options.LargeFileCheckCommits;
        if (_options.WriterLargeFileCacheSizeKb <= _options.WriterCacheSizeKb)
        {
            _writerCacheRaised = true;
            return;
        }

        try
        {
            using var command = writer.CreateCommand();
            command.CommandText = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size();";
            if (Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) <= _options.LargeFileBytes)
            {
                return;
            }

            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA cache_size = -{_options.WriterLargeFileCacheSizeKb};");
            command.ExecuteNonQuery();
            _writerCacheRaised = true;
            LogWriterCacheRaised(_logger, FilePath, _options.WriterLargeFileCacheSizeKb);
        }
        catch (SqliteException ex)
        {
            // Only a cache size: the writer goes on with the one it has, and tries again at the next check.
            LogWriterCacheNotRaised(_logger, ex, FilePath);
        }
    }

    private void RunCatchUpIfDue()
    {
        if (_catchUpDue)
        {
            _catchUpDue = false;
            RunWriterCatchUp();
        }
    }

    // One transaction for the whole group; each write in a savepoint so a failing write is undone alone, except the first
    // one applied in the transaction: nothing comes before it, so rolling the transaction back undoes exactly that write (a
    // group of one needs no savepoint at all: the common case under a steady message load, where the commit pipeline
    // already hands over one batch at a time).
    //
    // Why the first write must not have one (issue 17, stop 40): inside a savepoint SQLite keeps, in the in-memory
    // sub-journal, the pre-image of every page the write changes, and every statement of the write that opens a statement
    // journal releases it by truncating that sub-journal back to where the statement began, which walks its chunk list
    // from the start (memjrnlTruncate). A commit pipeline batch of many messages under a savepoint therefore cost time
    // quadratic in its size: at 2,000 new conversations a second, once the search indexer's writes were queued in front of
    // the batches, 44 % of the server's CPU went there, commits took a second, batches grew to 1,024 messages and the
    // server collapsed. So the first write runs bare, and late writes (the indexer's, WriteLateAsync) are put after the
    // others, so that a message batch is the group's first write whenever it is the only large one.
    private async Task CommitGroupAsync(SqliteConnection writer, List<WriteItem> batch)
    {
        if (batch.Count == 1)
        {
            await CommitAloneAsync(writer, batch[0]).ConfigureAwait(false);
            return;
        }

        var applied = new List<WriteItem>(batch.Count);
        var statements = _statements!;
        try
        {
            statements.Begin(writer);
        }
        catch (Exception ex)
        {
            LogGroupCommitFailed(_logger, ex, batch.Count);
            foreach (var item in batch)
            {
                item.Fail(ex);
            }

            return;
        }

        CurrentWriter.Value = this;
        try
        {
            foreach (var item in batch)
            {
                // A write cancelled while an earlier write of its group ran is not applied: the caller was told so.
                if (item.CancellationToken.IsCancellationRequested)
                {
                    item.Cancel();
                    continue;
                }

                var guarded = applied.Count > 0;
                if (guarded)
                {
                    statements.Savepoint.Execute();
                }

                try
                {
                    await item.RunAsync(writer).ConfigureAwait(false);
                    if (guarded)
                    {
                        statements.Release.Execute();
                    }

                    applied.Add(item);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _rollbacks);
                    if (InTransaction(writer))
                    {
                        if (guarded)
                        {
                            Execute(writer, "ROLLBACK TO w; RELEASE w;");
                        }
                        else
                        {
                            // The first write of the transaction: the whole transaction is exactly its changes.
                            Execute(writer, "ROLLBACK;");
                            statements.Begin(writer);
                        }

                        item.Fail(ex);
                        continue;
                    }

                    // SQLite rolled the whole transaction back by itself (e.g. disk full, I/O error): what was applied
                    // is gone too. Fail those, start a fresh transaction for the rest.
                    item.Fail(ex);
                    foreach (var lost in applied)
                    {
                        lost.Fail(ex);
                    }

                    applied.Clear();
                    statements.Begin(writer);
                }
            }

            var committing = Stopwatch.GetTimestamp();
            statements.Commit(writer);
            _metrics?.Commit.Record(Stopwatch.GetElapsedTime(committing).TotalSeconds);
            _catchUpDue = NoteCommitted(writer);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _rollbacks);
            LogGroupCommitFailed(_logger, ex, batch.Count);
            if (InTransaction(writer))
            {
                TryExecute(writer, "ROLLBACK;");
            }

            foreach (var item in batch)
            {
                item.Fail(ex);
            }

            return;
        }
        finally
        {
            CurrentWriter.Value = null;
        }

        foreach (var item in applied)
        {
            item.Complete();
        }
    }

    private async Task CommitAloneAsync(SqliteConnection writer, WriteItem item)
    {
        CurrentWriter.Value = this;
        var statements = _statements!;
        try
        {
            statements.Begin(writer);
            try
            {
                await item.RunAsync(writer).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _rollbacks);
                // The write's own failure: undo it (SQLite may have rolled back by itself already) and fail it alone.
                if (InTransaction(writer))
                {
                    TryExecute(writer, "ROLLBACK;");
                }

                item.Fail(ex);
                return;
            }

            var committing = Stopwatch.GetTimestamp();
            statements.Commit(writer);
            _metrics?.Commit.Record(Stopwatch.GetElapsedTime(committing).TotalSeconds);
            _catchUpDue = NoteCommitted(writer);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _rollbacks);
            LogGroupCommitFailed(_logger, ex, 1);
            if (InTransaction(writer))
            {
                TryExecute(writer, "ROLLBACK;");
            }

            item.Fail(ex);
            return;
        }
        finally
        {
            CurrentWriter.Value = null;
        }

        item.Complete();
    }

    /// <summary>
    /// The writer loop's transaction statements, prepared once on the writer connection (issue 17): each
    /// <c>SqliteCommand</c> run of BEGIN and COMMIT allocated its command, data reader, statement enumerator and the SQL's
    /// UTF-8 copy, about 0.28 KB per message at one commit per message. The same SQL, run on the same connection, in the
    /// same order. A BEGIN or COMMIT that SQLite answers busy (after the connection's busy_timeout) is run once more
    /// through a command, whose own retries until the command timeout are what the writer had before.
    /// </summary>
    private sealed class WriterStatements(SqliteConnection writer) : IDisposable
    {
        private const int SqliteBusy = 5;
        private const int SqliteLocked = 6;

        private readonly RawStatement _begin = new(writer, "BEGIN IMMEDIATE;");
        private readonly RawStatement _commit = new(writer, "COMMIT;");

        public RawStatement Savepoint { get; } = new(writer, "SAVEPOINT w;");

        public RawStatement Release { get; } = new(writer, "RELEASE w;");

        public void Begin(SqliteConnection connection) => Run(_begin, connection, "BEGIN IMMEDIATE;");

        public void Commit(SqliteConnection connection) => Run(_commit, connection, "COMMIT;");

        public void Dispose()
        {
            _begin.Dispose();
            _commit.Dispose();
            Savepoint.Dispose();
            Release.Dispose();
        }

        private static void Run(RawStatement statement, SqliteConnection connection, string sql)
        {
            try
            {
                statement.Execute();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteBusy or SqliteLocked)
            {
                Execute(connection, sql);
            }
        }
    }

    private static bool InTransaction(SqliteConnection connection) =>
        SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0;

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private void TryExecute(SqliteConnection connection, string sql)
    {
        try
        {
            Execute(connection, sql);
        }
        catch (SqliteException ex)
        {
            LogRollbackFailed(_logger, ex);
        }
    }

    private async Task CheckDurabilityAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode = WAL;";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        var journalMode = Convert.ToString(await ScalarAsync(connection, "PRAGMA journal_mode;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        var synchronous = Convert.ToInt64(await ScalarAsync(connection, "PRAGMA synchronous;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (_options.Durable
            && (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase) || synchronous != (long)SqliteSynchronous.Full))
        {
            throw new InvalidOperationException(
                $"Refusing to open '{FilePath}' in durable mode: it runs with journal_mode={journalMode} and synchronous={synchronous}, " +
                "but acknowledged messages survive a crash only with journal_mode=WAL and synchronous=FULL (2). " +
                "Set Synchronous to Full, or set Durable to false for benchmarks.");
        }

        if (!_options.Durable)
        {
            LogNonDurable(_logger, FilePath, journalMode ?? "", synchronous);
        }
    }

    private async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // BEGIN IMMEDIATE: two processes initialising the same file migrate one after the other.
        using var transaction = connection.BeginTransaction();
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Every version not yet recorded is applied, in list order, even one below the highest applied (migrations of
        // features developed in parallel may land in either order).
        var applied = new HashSet<long>();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT version FROM schema_migrations;";
            using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt64(0));
            }
        }

        var current = applied.Count == 0 ? 0 : applied.Max();
        if (current > SqliteMigrations.LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database '{FilePath}' has schema version {current}, newer than this build knows ({SqliteMigrations.LatestVersion}). " +
                "It was written by a newer Parley; upgrade Parley instead of opening it with this version.");
        }

        foreach (var (version, script) in SqliteMigrations.All)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            using (var apply = connection.CreateCommand())
            {
                apply.Transaction = transaction;
                apply.CommandText = script;
                await apply.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($version, CAST(unixepoch('subsec') * 1000 AS INTEGER));";
                record.Parameters.AddWithValue("$version", version);
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            LogMigrationApplied(_logger, FilePath, version);
        }

        transaction.Commit();
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Applied SQLite schema migration {Version} to {Path}")]
    private static partial void LogMigrationApplied(ILogger logger, string path, int version);

    [LoggerMessage(EventId = 2280, Level = LogLevel.Information, Message = "SQLite store {Path} keeps its page size of {PageSize} bytes (the setting, {Configured}, applies to new files only; VACUUM rebuilds a file with a new page size: docs/backup.md)")]
    private static partial void LogPageSizeKept(ILogger logger, string path, int pageSize, int configured);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "SQLite store {Path} runs in NON-DURABLE mode (journal_mode={JournalMode}, synchronous={Synchronous}): acknowledged messages can be lost on a crash")]
    private static partial void LogNonDurable(ILogger logger, string path, string journalMode, long synchronous);

    [LoggerMessage(EventId = 2290, Level = LogLevel.Information, Message = "SQLite store {Path} is larger than 1 GiB: the writer's page cache is now {CacheKb} KiB")]
    private static partial void LogWriterCacheRaised(ILogger logger, string path, int cacheKb);

    [LoggerMessage(EventId = 2291, Level = LogLevel.Warning, Message = "SQLite store {Path}: the writer's page cache could not be raised; it keeps its size")]
    private static partial void LogWriterCacheNotRaised(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "SQLite group commit of {Writes} writes failed; rolled back")]
    private static partial void LogGroupCommitFailed(ILogger logger, Exception exception, int writes);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "SQLite rollback after a failed group commit failed")]
    private static partial void LogRollbackFailed(ILogger logger, Exception exception);

    // One native connection's prepared statements, by SQL text; used only by whoever holds that connection.
    private sealed class PreparedStatements() : Dictionary<string, RawStatement>(StringComparer.Ordinal);

    private abstract class WriteItem(CancellationToken cancellationToken)
    {
        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>Put after the other writes of its group (<see cref="WriteLateAsync{T}"/>).</summary>
        public bool Late { get; init; }

        /// <summary>When the write was queued (<see cref="Stopwatch.GetTimestamp"/>), for the writer's queue-wait histogram.</summary>
        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public abstract Task RunAsync(SqliteConnection connection);

        public abstract void Complete();

        public abstract void Fail(Exception exception);

        public abstract void Cancel();
    }

    /// <summary>A background write's outcome: whether it ran, what its callback returned, how long it held the writer.</summary>
    internal readonly record struct BackgroundWrite(bool Ran, bool Result, long HeldTicks);

    private sealed class BackgroundWriteItem(Func<SqliteConnection, bool> write, CancellationToken cancellationToken)
        : CompletingWriteItem<BackgroundWrite>(cancellationToken)
    {
        private bool _result;

        /// <summary>When the writer began it (<see cref="Stopwatch.GetTimestamp"/>).</summary>
        public long Started { get; set; }

        public override Task RunAsync(SqliteConnection connection)
        {
            _result = write(connection);
            return Task.CompletedTask;
        }

        public override void Complete() => Completion.TrySetResult(new BackgroundWrite(true, _result, Stopwatch.GetTimestamp() - Started));

        public void Skip() => Completion.TrySetResult(new BackgroundWrite(false, false, 0));
    }

    /// <summary>A write whose caller awaits <see cref="Completion"/>: failed, or cancelled when its own token was.</summary>
    private abstract class CompletingWriteItem<TResult>(CancellationToken cancellationToken) : WriteItem(cancellationToken)
    {
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception exception)
        {
            if (exception is OperationCanceledException && CancellationToken.IsCancellationRequested)
            {
                Completion.TrySetCanceled(CancellationToken);
            }
            else
            {
                Completion.TrySetException(exception);
            }
        }

        public override void Cancel() => Completion.TrySetCanceled(CancellationToken);
    }

    private sealed class WriteItem<T>(Func<SqliteConnection, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
        : CompletingWriteItem<T>(cancellationToken)
    {
        private T _result = default!;

        public override async Task RunAsync(SqliteConnection connection) =>
            _result = await write(connection, CancellationToken).ConfigureAwait(false);

        public override void Complete() => Completion.TrySetResult(_result);
    }
}
