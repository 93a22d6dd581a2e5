using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>Connection strings, per-connection settings, the durability check and migrations, shared by both stores.</summary>
internal sealed partial class SqliteDatabase
{
    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _connectionSetup;

    public SqliteDatabase(SqliteStoreOptions options, ILogger logger)
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

        _options = options;
        _logger = logger;
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

        // synchronous and busy_timeout are per connection: every connection gets them when opened.
        _connectionSetup = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {options.BusyTimeoutMs}; PRAGMA synchronous = {(int)options.Synchronous};");
    }

    public string FilePath { get; }

    public string PooledConnectionString { get; }

    public string WriterConnectionString { get; }

    /// <summary>Opens a pooled connection with the per-connection settings applied.</summary>
    public Task<SqliteConnection> OpenPooledAsync(CancellationToken cancellationToken) =>
        OpenAsync(PooledConnectionString, cancellationToken);

    public async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            command.CommandText = _connectionSetup;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates the directory, switches the file to WAL, reads the settings back and refuses durable mode unless they are
    /// WAL + FULL, then applies missing migrations. Idempotent; safe to call from both stores on one file.
    /// </summary>
    public async Task InitializeAsync(SqliteConnection connection, CancellationToken cancellationToken)
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

        await MigrateAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    public static void EnsureDirectory(string filePath)
    {
        var directory = Path.GetDirectoryName(filePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }

    private async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // BEGIN IMMEDIATE: two stores (or two processes) initialising the same file migrate one after the other.
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

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "SQLite store {Path} runs in NON-DURABLE mode (journal_mode={JournalMode}, synchronous={Synchronous}): acknowledged messages can be lost on a crash")]
    private static partial void LogNonDurable(ILogger logger, string path, string journalMode, long synchronous);
}
