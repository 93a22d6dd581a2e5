using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Sqlite;

/// <summary>
/// <see cref="IMessageStore"/> and <see cref="IGroupStore"/>: a view over the file's <see cref="SqliteDatabase"/>.
/// A commit batch from the group-commit pipeline is one write in the owner's writer queue (so one transaction and one
/// fsync per batch, shared with whatever other stores queued meanwhile), with prepared commands reused across
/// batches; reads use pooled connections and see WAL snapshots, so they never wait for the writer.
/// </summary>
public sealed partial class SqliteMessageStore : IMessageStore, ISyncRowSource, IGroupStore, IAsyncDisposable
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private WriterCommands? _commands;
    private volatile bool _disposed;

    /// <param name="database">The file's owner.</param>
    /// <param name="logger">The store's log, or none.</param>
    /// <param name="searchText">
    /// The core's search-text rule. Given, a commit keeps its messages' search texts in memory for the indexer instead of
    /// queueing them in <c>search_pending</c> (ADR 0019, stop-36 amendment), and a restart reads the texts of what was
    /// committed but not indexed back from the stored content with it; without it, the commit queues them durably.
    /// </param>
    public SqliteMessageStore(SqliteDatabase database, ILogger<SqliteMessageStore>? logger = null, ISearchTextExtractor? searchText = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _database = database;
        _searchText = searchText;
        SearchRowAllowance = database.Options.SearchRowAllowance;
    }

    /// <summary>Initialises the owner (idempotent: the server has usually done it already at start-up).</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync(cancellationToken);

    /// <summary>Releases the prepared writer commands. The database owner stays open (it belongs to whoever created it).</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_commands is null || !_database.IsReady)
        {
            return;
        }

        await _database.WriteAsync(_ =>
        {
            if (_commands is { } c)
            {
                try
                {
                    // ADR 0028: what is pending is written now rather than derived at the next start.
                    FlushDerivedInWrite(c);
                }
                catch (Microsoft.Data.Sqlite.SqliteException ex)
                {
                    LogDerivedFlushFailed(_logger, ex);
                }
            }

            _commands?.Dispose();
            _commands = null;
            return true;
        }).ConfigureAwait(false);
    }

    private ValueTask<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.OpenReaderAsync(cancellationToken);
    }

    /// <summary>Reads journal_mode and synchronous back from the writer connection (for tests and diagnostics).</summary>
    internal Task<(string JournalMode, long Synchronous)> ReadWriterSettingsAsync(CancellationToken cancellationToken = default) =>
        _database.WriteAsync(writer =>
        {
            using var command = writer.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            var journalMode = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
            command.CommandText = "PRAGMA synchronous;";
            var synchronous = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            return (journalMode, synchronous);
        }, cancellationToken);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "SQLite commit of {Messages} messages and {Conversations} conversations rejected by a uniqueness rule; rolled back")]
    private static partial void LogCommitConflict(ILogger logger, int messages, int conversations);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Error, Message = "SQLite commit of {Messages} messages and {Conversations} conversations failed; rolled back")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int messages, int conversations);

}
