using Microsoft.Data.Sqlite;
using Npgsql;
using Parley.Sdk;

namespace Parley.Testing;

/// <summary>
/// Where a test's <see cref="ServerProcess"/> keeps its data, so that a killed server can be started again on it: a temp
/// root holding the data directory (the SQLite database), and for the PostgreSQL variant a schema of its own. Readers
/// of the rows the server wrote open the same store. Dispose disposes the test's <see cref="Clients"/>, releases pooled
/// SQLite handles, drops the schema and deletes the root.
/// </summary>
public sealed class ServerData : IAsyncDisposable
{
    /// <param name="tag">A short tag for the temp directory (<c>parley-{tag}-…</c>) and the schema (<c>{tag}_…</c>).</param>
    public ServerData(string tag)
    {
        Root = Path.Combine(Path.GetTempPath(), $"parley-{tag}-{Guid.NewGuid():N}");
        Schema = $"{tag}_{Guid.NewGuid():N}";
    }

    public string Root { get; }

    /// <summary>The test's clients (e.g. from <see cref="ServerProcess.ConnectAsync"/>), disposed first.</summary>
    public List<ParleyClient> Clients { get; } = [];

    /// <summary>The server's data directory (<c>Parley:Storage:DataDirectory</c>).</summary>
    public string DataDirectory => Path.Combine(Root, "data");

    /// <summary>The PostgreSQL schema of the PostgreSQL variant (dropped on dispose).</summary>
    public string Schema { get; }

    /// <summary>
    /// A server process (not started) on this data: SQLite in <see cref="DataDirectory"/>, or with
    /// <paramref name="postgres"/> the test PostgreSQL in <see cref="Schema"/>.
    /// </summary>
    public ServerProcess CreateServer(bool postgres)
    {
        var server = new ServerProcess(DataDirectory);
        if (postgres)
        {
            server.Configure(PostgresFactAttribute.ServerSettings(Schema));
        }

        return server;
    }

    /// <summary>A connection to the server's SQLite database (no pooling; waits up to 5 s for the server's write lock).</summary>
    public SqliteConnection OpenSqlite()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "parley.db")};Pooling=False");
        connection.Open();
        using var timeout = connection.CreateCommand();
        timeout.CommandText = "PRAGMA busy_timeout = 5000;";
        timeout.ExecuteNonQuery();
        return connection;
    }

    /// <summary>A connection to the test PostgreSQL (tables are in <see cref="Schema"/>).</summary>
    public static NpgsqlConnection OpenPostgres()
    {
        var connection = new NpgsqlConnection(PostgresFactAttribute.ConnectionString);
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in Clients)
        {
            await client.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        await PostgresFactAttribute.DropSchemaAsync(Schema);
        if (Directory.Exists(Root))
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }
}
