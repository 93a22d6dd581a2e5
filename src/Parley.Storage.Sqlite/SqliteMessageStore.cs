using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

/// <summary>
/// <see cref="IMessageStore"/> on one SQLite file. Commits go through one writer connection owned by the store, with
/// prepared commands reused across batches; reads use pooled connections and see WAL snapshots, so they never wait
/// for the writer.
/// </summary>
public sealed partial class SqliteMessageStore : IMessageStore, IGroupStore, IAsyncDisposable
{
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private WriterCommands? _commands;
    private bool _disposed;

    public SqliteMessageStore(SqliteStoreOptions options, ILogger<SqliteMessageStore>? logger = null)
    {
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _database = new SqliteDatabase(options, _logger);
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is not null)
            {
                return;
            }

            SqliteDatabase.EnsureDirectory(_database.FilePath);
            var writer = await _database.OpenAsync(_database.WriterConnectionString, cancellationToken).ConfigureAwait(false);
            try
            {
                await _database.InitializeAsync(writer, cancellationToken).ConfigureAwait(false);
                _commands = new WriterCommands(writer);
                _writer = writer;
            }
            catch
            {
                await writer.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Closes the writer connection and releases this file's pooled reader connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _commands?.Dispose();
            _commands = null;
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }

            using var pooled = new SqliteConnection(_database.PooledConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
        finally
        {
            _writeLock.Release();
        }

        // The semaphore is not disposed: a late caller gets ObjectDisposedException from the checks, not from the semaphore.
    }

    /// <summary>Reads journal_mode and synchronous back from the writer connection (for tests and diagnostics).</summary>
    internal async Task<(string JournalMode, long Synchronous)> ReadWriterSettingsAsync(CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNotReady();
            using var command = _writer!.CreateCommand();
            command.CommandText = "PRAGMA journal_mode;";
            var journalMode = Convert.ToString(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) ?? "";
            command.CommandText = "PRAGMA synchronous;";
            var synchronous = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            return (journalMode, synchronous);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_writer is null)
        {
            throw new InvalidOperationException("Call InitializeAsync before using the SQLite message store.");
        }
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "SQLite commit of {Messages} messages and {Conversations} conversations rejected by a uniqueness rule; rolled back")]
    private static partial void LogCommitConflict(ILogger logger, int messages, int conversations);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Error, Message = "SQLite commit of {Messages} messages and {Conversations} conversations failed; rolled back")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int messages, int conversations);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Error, Message = "SQLite rollback after a failed commit failed")]
    private static partial void LogRollbackFailed(ILogger logger, Exception exception);
}
