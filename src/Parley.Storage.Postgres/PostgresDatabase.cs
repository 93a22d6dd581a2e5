using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Parley.Storage.Postgres.Internal;

namespace Parley.Storage.Postgres;

/// <summary>
/// The one owner of Parley's PostgreSQL schema in this process; every store is a view over one instance:
/// <list type="bullet">
/// <item><see cref="InitializeAsync"/> checks the server's durability settings and runs the project's versioned
/// migrations (<see cref="PostgresMigrations"/>) once, under an advisory lock so two nodes starting together migrate
/// one after the other.</item>
/// <item><see cref="OpenAsync"/> hands out pooled connections whose <c>search_path</c> is the configured schema, from a
/// pool bounded by <see cref="PostgresStoreOptions.MaxPoolSize"/>; an open the server refuses because it is full
/// (SQLSTATE 53300) or still starting (57P03) is tried again for a few seconds instead of failing the send or grain
/// activation that needed it.</item>
/// </list>
/// PostgreSQL has no single-writer limit, so writes do not queue here: a group commit of the commit pipeline is ONE
/// <see cref="NpgsqlBatch"/> (one round trip, one implicit transaction, multi-row statements), and the other stores'
/// writes are single statements.
/// </summary>
public sealed partial class PostgresDatabase : IAsyncDisposable
{
    // Any 64-bit constant: the migration lock of every Parley schema in the database.
    private const long MigrationLockKey = 0x5061726C6579; // "Parley"

    // The waits between tries of an open the server refused as full or starting: about 3 s in all.
    private static readonly int[] OpenRetryDelaysMs = [20, 50, 100, 200, 400, 800, 1000];

    private readonly PostgresStoreOptions _options;
    private readonly ILogger _logger;
    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile bool _ready;
    private volatile bool _disposed;
    private long _openRetries;

    /// <summary>Validates <paramref name="options"/>; connects to nothing until <see cref="InitializeAsync"/>.</summary>
    /// <exception cref="ArgumentException">No connection string, a malformed one, or an invalid schema name.</exception>
    public PostgresDatabase(PostgresStoreOptions options, ILogger<PostgresDatabase>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Check(options) is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Schema = options.Schema!;
        builder.SearchPath = Schema;
        if (!SetsPoolSize(options.ConnectionString))
        {
            builder.MaxPoolSize = options.MaxPoolSize;
        }

        MaxPoolSize = builder.MaxPoolSize;
        Target = $"{builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)}/{builder.Database}#{Schema}";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>
    /// What is wrong with <paramref name="options"/> (one sentence naming the setting), or null when they are usable:
    /// a connection string is present and parses, and the schema is a plain identifier. Connects to nothing.
    /// </summary>
    public static string? Check(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return "Parley:Storage:Postgres:ConnectionString is required when Parley:Storage:Provider is Postgres.";
        }

        if (!SchemaName().IsMatch(options.Schema ?? ""))
        {
            return $"Parley:Storage:Postgres:Schema '{options.Schema}' is not a plain identifier (letters, digits, '_', at most 63).";
        }

        if (options.MaxPoolSize is < 2 or > 1000)
        {
            return $"Parley:Storage:Postgres:MaxPoolSize {options.MaxPoolSize.ToString(CultureInfo.InvariantCulture)} is outside 2 to 1000.";
        }

        if (options.SyncChangedGroupProbes is < 1 or > 100_000)
        {
            return $"Parley:Storage:Postgres:SyncChangedGroupProbes {options.SyncChangedGroupProbes.ToString(CultureInfo.InvariantCulture)} is outside 1 to 100000.";
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            return $"Parley:Storage:Postgres:ConnectionString is not a valid Npgsql connection string ({ex.Message}).";
        }
    }

    /// <summary>The schema the tables live in.</summary>
    public string Schema { get; }

    /// <summary>host:port/database#schema, for messages (never the password).</summary>
    public string Target { get; }

    /// <summary>The pool's bound: the connection string's <c>Maximum Pool Size</c> if it sets one, else <see cref="PostgresStoreOptions.MaxPoolSize"/>.</summary>
    public int MaxPoolSize { get; }

    /// <summary>
    /// How many connections the server accepts from this role, read at <see cref="InitializeAsync"/>: the smaller of
    /// <c>max_connections</c> − <c>superuser_reserved_connections</c> and the role's connection limit; null before.
    /// </summary>
    public int? ServerConnectionLimit { get; private set; }

    /// <summary>Opens that the server refused as full or starting and that were tried again (a counter since start).</summary>
    public long OpenRetries => Interlocked.Read(ref _openRetries);

    /// <summary>True once <see cref="InitializeAsync"/> succeeded.</summary>
    public bool IsReady => _ready;

    /// <summary>
    /// Connects, refuses durable mode on unsafe server settings, creates the schema and applies the missing
    /// migrations. Idempotent and safe to call concurrently; after a failure the next call tries again.
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

            var connection = await OpenRetryingAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await CheckDurabilityAsync(connection, cancellationToken).ConfigureAwait(false);
                await CheckConnectionLimitAsync(connection, cancellationToken).ConfigureAwait(false);
                await MigrateAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            _ready = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    /// <summary>A pooled connection (search_path = the schema). Dispose it after use.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotReady();
        return await OpenRetryingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True for the server refusing a new connection because it is full (53300) or not accepting yet (57P03).</summary>
    internal static bool IsServerBusy(Exception ex) =>
        ex is PostgresException { SqlState: PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow };

    private async Task<NpgsqlConnection> OpenRetryingAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsServerBusy(ex) && attempt < OpenRetryDelaysMs.Length)
            {
                Interlocked.Increment(ref _openRetries);
                if (attempt == 0)
                {
                    LogServerBusy(_logger, Target, ((PostgresException)ex).SqlState, MaxPoolSize);
                }

                await Task.Delay(OpenRetryDelaysMs[attempt], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool SetsPoolSize(string connectionString)
    {
        foreach (var key in new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys)
        {
            var name = ((string)key).Replace(" ", "", StringComparison.Ordinal);
            if (name.Equals("MaximumPoolSize", StringComparison.OrdinalIgnoreCase) || name.Equals("MaxPoolSize", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Closes the pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _ready = false;
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    internal PostgresStoreOptions Options => _options;

    internal void ThrowIfNotReady()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_ready)
        {
            throw new InvalidOperationException($"The PostgreSQL store '{Target}' is not initialised: call InitializeAsync (the server does it at start-up) before using a store.");
        }
    }

    /// <summary>One statement on a pooled connection, its rows read with <paramref name="read"/>.</summary>
    internal async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = PostgresRows.Command(connection, sql, parameters);
            return await PostgresRows.ReadAllAsync(command, read, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One statement on a pooled connection (its own transaction); the number of rows it touched.</summary>
    internal async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = PostgresRows.Command(connection, sql, parameters);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True for a unique or primary key violation (SQLSTATE 23505).</summary>
    internal static bool IsUniquenessViolation(Exception ex) => ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    private async Task CheckDurabilityAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var fsync = await ScalarAsync(connection, "SHOW fsync;", cancellationToken).ConfigureAwait(false);
        var synchronousCommit = await ScalarAsync(connection, "SHOW synchronous_commit;", cancellationToken).ConfigureAwait(false);
        var safe = string.Equals(fsync, "on", StringComparison.OrdinalIgnoreCase)
            && synchronousCommit.ToLowerInvariant() is "on" or "local" or "remote_write" or "remote_apply";
        if (_options.Durable && !safe)
        {
            throw new InvalidOperationException(
                $"Refusing to use PostgreSQL '{Target}' in durable mode: it runs with fsync={fsync} and synchronous_commit={synchronousCommit}, " +
                "but acknowledged messages survive a crash only with fsync=on and synchronous_commit=on (or local, remote_write, remote_apply). " +
                "Fix the server (or the role's/database's settings), or set Parley:Storage:Durable to false for benchmarks.");
        }

        if (!safe)
        {
            LogNonDurable(_logger, Target, fsync, synchronousCommit);
        }
    }

    private async Task CheckConnectionLimitAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // The role's own limit (-1: none) counts only when it is the smaller one.
        const string sql = """
            SELECT LEAST(current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int,
                         COALESCE(NULLIF((SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user), -1), 2147483647))
            """;
        var limit = int.Parse(await ScalarAsync(connection, sql, cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        ServerConnectionLimit = limit;
        if (MaxPoolSize > limit)
        {
            LogPoolAboveServerLimit(_logger, Target, MaxPoolSize, limit);
        }
        else
        {
            LogPoolFits(_logger, Target, MaxPoolSize, limit, limit / MaxPoolSize);
        }
    }

    private async Task MigrateAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await RunAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLockKey.ToString(CultureInfo.InvariantCulture)});", cancellationToken).ConfigureAwait(false);
            await RunAsync(
                connection,
                $"""
                CREATE SCHEMA IF NOT EXISTS "{Schema}";
                CREATE TABLE IF NOT EXISTS "{Schema}".schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                """,
                cancellationToken).ConfigureAwait(false);

            var applied = new HashSet<int>();
            using (var read = new NpgsqlCommand($"SELECT version FROM \"{Schema}\".schema_migrations;", connection))
            {
                using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var current = applied.Count == 0 ? 0 : applied.Max();
            if (current > PostgresMigrations.LatestVersion)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL schema '{Target}' has version {current}, newer than this build knows ({PostgresMigrations.LatestVersion}). " +
                    "It was written by a newer Parley; upgrade Parley instead of running this version against it.");
            }

            foreach (var (version, script) in PostgresMigrations.All)
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                await RunAsync(connection, $"SET LOCAL search_path TO \"{Schema}\";\n" + script, cancellationToken).ConfigureAwait(false);
                using (var record = new NpgsqlCommand($"INSERT INTO \"{Schema}\".schema_migrations (version) VALUES ($1);", connection))
                {
                    record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                LogMigrationApplied(_logger, Target, version);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task RunAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToString(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) ?? "";
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Applied PostgreSQL schema migration {Version} to {Target}")]
    private static partial void LogMigrationApplied(ILogger logger, string target, int version);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "PostgreSQL store {Target} runs in NON-DURABLE mode (fsync={Fsync}, synchronous_commit={SynchronousCommit}): acknowledged messages can be lost on a crash")]
    private static partial void LogNonDurable(ILogger logger, string target, string fsync, string synchronousCommit);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "PostgreSQL store {Target}: pool of {Pool} connections; the server accepts {Limit} from this role, so up to {Nodes} nodes with this pool (Parley:Storage:Postgres:MaxPoolSize)")]
    private static partial void LogPoolFits(ILogger logger, string target, int pool, int limit, int nodes);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "PostgreSQL store {Target}: the pool may open {Pool} connections but the server accepts only {Limit} from this role; lower Parley:Storage:Postgres:MaxPoolSize (every node has its own pool) or raise max_connections")]
    private static partial void LogPoolAboveServerLimit(ILogger logger, string target, int pool, int limit);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "PostgreSQL store {Target} refused a new connection (SQLSTATE {SqlState}); trying again for up to 3 s. The nodes' pools together ({Pool} here) must stay below the server's max_connections")]
    private static partial void LogServerBusy(ILogger logger, string target, string sqlState, int pool);
}
