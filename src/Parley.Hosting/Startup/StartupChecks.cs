using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;

namespace Parley.Hosting.Startup;

/// <summary>
/// Checks the operator's settings before anything heavy starts (data directory, database file, ports) and turns what
/// goes wrong while starting into one line that names the setting or path (issue 15, defect 6).
/// </summary>
public static class StartupChecks
{
    /// <summary>Runs the checks that need only the configuration; throws <see cref="StartupProblemException"/>.</summary>
    public static void Preflight(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var config = builder.Configuration;
        var storage = config.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        CheckDataDirectory(storage.DataDirectory);
        if (storage.Sqlite.WriterCacheSizeKb < 1 || storage.Sqlite.WalAutoCheckpointPages < 1 || storage.Sqlite.MmapSizeBytes < 0 || storage.Sqlite.WriterMmapSizeBytes < 0)
        {
            throw new StartupProblemException(
                $"Parley:Storage:Sqlite: WriterCacheSizeKb ({storage.Sqlite.WriterCacheSizeKb}) and WalAutoCheckpointPages ({storage.Sqlite.WalAutoCheckpointPages}) must be at least 1, MmapSizeBytes ({storage.Sqlite.MmapSizeBytes}) and WriterMmapSizeBytes ({storage.Sqlite.WriterMmapSizeBytes}) not negative.");
        }

        if (!SqliteDatabase.IsValidPageSize(storage.Sqlite.PageSize))
        {
            throw new StartupProblemException($"Parley:Storage:Sqlite:PageSize ({storage.Sqlite.PageSize}) must be a power of two from 512 to 65536.");
        }

        if (storage.Sqlite.DerivedRowsFlushMs < 0)
        {
            throw new StartupProblemException($"Parley:Storage:Sqlite:DerivedRowsFlushMs ({storage.Sqlite.DerivedRowsFlushMs}) must not be negative (0 writes the derived rows in every commit).");
        }

        if (storage.Sqlite.SearchRowAllowance < 1)
        {
            throw new StartupProblemException($"Parley:Storage:Sqlite:SearchRowAllowance ({storage.Sqlite.SearchRowAllowance}) must be at least 1.");
        }

        if (storage.Sqlite.SearchMergePages < 0)
        {
            throw new StartupProblemException($"Parley:Storage:Sqlite:SearchMergePages ({storage.Sqlite.SearchMergePages}) must not be negative.");
        }

        if (!(storage.Sqlite.SearchMergeShare > 0 && storage.Sqlite.SearchMergeShare <= 1))
        {
            throw new StartupProblemException(
                $"Parley:Storage:Sqlite:SearchMergeShare ({storage.Sqlite.SearchMergeShare.ToString(CultureInfo.InvariantCulture)}) must be above 0 and at most 1 " +
                "(the share of the writer's time the search index's background merge may take under load; default 0.01; SearchMergePages=0 turns the merge off).");
        }

        if (!(storage.Sqlite.SearchMergePagesPerRow >= 0 && double.IsFinite(storage.Sqlite.SearchMergePagesPerRow)))
        {
            throw new StartupProblemException(
                $"Parley:Storage:Sqlite:SearchMergePagesPerRow ({storage.Sqlite.SearchMergePagesPerRow.ToString(CultureInfo.InvariantCulture)}) must be a number, 0 or more " +
                "(the leaf pages the search index's background merge may write per message indexed under load; default 0.1; 0: merge only while the writer is idle).");
        }

        CheckDatabase(Path.Combine(Path.GetFullPath(storage.DataDirectory), "parley.db"));
        var orleans = config.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        CheckPortFree(IPAddress.Loopback, orleans.SiloPort, "Parley:Orleans:SiloPort");
        CheckPortFree(IPAddress.Loopback, orleans.GatewayPort, "Parley:Orleans:GatewayPort");
        if (orleans.CollectionQuantum is { } quantum && (quantum < TimeSpan.FromMilliseconds(100) || quantum >= orleans.IdleAge))
        {
            throw new StartupProblemException(
                $"Parley:Orleans:CollectionQuantum ({quantum}) must be at least 00:00:00.1 and shorter than Parley:Orleans:IdleAge ({orleans.IdleAge}).");
        }

        if (orleans.MemoryTargetPercent >= orleans.MemoryLimitPercent)
        {
            throw new StartupProblemException(
                $"Parley:Orleans:MemoryTargetPercent ({orleans.MemoryTargetPercent}) must be below Parley:Orleans:MemoryLimitPercent ({orleans.MemoryLimitPercent}).");
        }

        var cluster = config.GetSection(ParleyClusterOptions.Section).Get<ParleyClusterOptions>() ?? new ParleyClusterOptions();
        if (ClusterOptionsValidator.Check(cluster, storage) is { } problem)
        {
            throw new StartupProblemException(problem);
        }

        if (cluster.Mode == ClusterMode.Redis && (string.IsNullOrEmpty(config["Parley:Tokens:SigningKey"]) || string.IsNullOrEmpty(config["Parley:Push:TokenKey"])))
        {
            // Generated key files would differ per node: a token issued by one node would be refused by the others.
            throw new StartupProblemException("Parley:Cluster:Mode is Redis: set Parley:Tokens:SigningKey and Parley:Push:TokenKey to the same values on every node (e.g. openssl rand -base64 32).");
        }
    }

    /// <summary>
    /// The server's URLs (with the OpenIM and management listeners added) are free. Kestrel would also refuse them, but
    /// only after the host logged the exception with its stack trace.
    /// </summary>
    public static void CheckUrlsFree(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? builder.Configuration["Urls"] ?? "http://localhost:5000";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Port <= 0)
            {
                continue;
            }

            var address = uri.IsLoopback && !IPAddress.TryParse(uri.Host.Trim('[', ']'), out _) ? IPAddress.Loopback
                : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed : null;
            if (address is not null)
            {
                CheckPortFree(address, uri.Port, $"The server URL {url} (--urls / ASPNETCORE_URLS / Urls, Parley:OpenIM:WsPort/ApiPort, Parley:Management:Urls): port");
            }
        }
    }

    /// <summary>The data directory exists or can be created, and the server can create files in it.</summary>
    public static void CheckDataDirectory(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            throw new StartupProblemException("Parley:Storage:DataDirectory is empty: set it to a directory the server may write to.");
        }

        string path;
        try
        {
            path = Path.GetFullPath(configured);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new StartupProblemException($"Parley:Storage:DataDirectory '{configured}' is not a valid path ({ex.Message}).", ex);
        }

        if (File.Exists(path))
        {
            throw new StartupProblemException($"Parley:Storage:DataDirectory '{path}' is a file, not a directory: point the setting at a directory.");
        }

        try
        {
            Directory.CreateDirectory(path);
            var probe = Path.Combine(path, $".parley-write-check-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupProblemException($"Parley:Storage:DataDirectory '{path}' is not writable ({ex.Message}): create it and give the server's user write access, or point the setting elsewhere.", ex);
        }
    }

    /// <summary>An existing database file must be a readable SQLite database.</summary>
    public static void CheckDatabase(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sqlite_master";
            command.ExecuteScalar();
        }
        catch (SqliteException ex)
        {
            throw Database(path, ex);
        }
    }

    /// <summary>Nothing listens on the port yet.</summary>
    public static void CheckPortFree(IPAddress address, int port, string setting)
    {
        if (port <= 0)
        {
            return;
        }

        try
        {
            using var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen();
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new StartupProblemException($"{setting} {port.ToString(CultureInfo.InvariantCulture)} is {(ex.SocketErrorCode == SocketError.AccessDenied ? "not allowed for this user" : "already in use")}: stop the other process or choose another port.", ex);
        }
    }

    /// <summary>
    /// With <c>Parley:Storage:Provider = Postgres</c>: connects, checks durability and migrates before the host starts,
    /// so an unreachable server or unsafe settings end in one line (the host would log a stack trace first).
    /// </summary>
    public static async Task InitializePostgresAsync(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<PostgresDatabase>() is not { } postgres)
        {
            return;
        }

        try
        {
            await postgres.InitializeAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            throw new StartupProblemException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new StartupProblemException(
                $"PostgreSQL {postgres.Target} cannot be used ({ex.Message.ReplaceLineEndings(" ")}): check Parley:Storage:Postgres:ConnectionString and that the server runs and accepts the login.", ex);
        }
    }

    /// <summary>The one line for an exception thrown while building or starting the server, or null for a bug.</summary>
    public static string? Describe(Exception exception, IConfiguration? config)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StartupProblemException problem:
                    return problem.Message;
                case OptionsValidationException options:
                    return string.Join(" ", options.Failures);
                case SqliteException sqlite when sqlite.SqliteErrorCode is 26 or 11 or 14 or 8 or 10:
                    var storage = config?.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
                    return Database(Path.Combine(Path.GetFullPath(storage.DataDirectory), "parley.db"), sqlite).Message;
                case IOException io when io.InnerException is AddressInUseException || io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase):
                    return $"{io.Message.TrimEnd('.')}: a server URL or port is taken (settings: --urls / ASPNETCORE_URLS / Urls, Parley:OpenIM:WsPort, Parley:OpenIM:ApiPort, Parley:Management:Urls); stop the other process or choose another port.";
                case SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }:
                    var orleans = config?.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
                    return $"A port is already in use (Parley:Orleans:SiloPort {orleans.SiloPort.ToString(CultureInfo.InvariantCulture)}, Parley:Orleans:GatewayPort {orleans.GatewayPort.ToString(CultureInfo.InvariantCulture)} or a server URL): stop the other process or choose other ports.";
            }
        }

        return null;
    }

    private static StartupProblemException Database(string path, SqliteException ex) => ex.SqliteErrorCode switch
    {
        26 or 11 => new StartupProblemException($"The database '{path}' is not a valid SQLite database or is corrupt (SQLite error {ex.SqliteErrorCode.ToString(CultureInfo.InvariantCulture)}): restore it from a backup, or move it away to start empty (Parley:Storage:DataDirectory).", ex),
        _ => new StartupProblemException($"The database '{path}' cannot be opened (SQLite error {ex.SqliteErrorCode.ToString(CultureInfo.InvariantCulture)}: {ex.Message}): check its permissions and Parley:Storage:DataDirectory.", ex),
    };
}
