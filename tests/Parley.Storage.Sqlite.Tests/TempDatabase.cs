using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>A database file in its own temp directory, deleted with the directory on dispose.</summary>
public sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = Path.Combine(Path.GetTempPath(), "parley-sqlite-" + Guid.NewGuid().ToString("N"));
        FilePath = Path.Combine(Directory, "data", "parley.db");
    }

    private readonly List<SqliteDatabase> _owners = [];

    public string Directory { get; }

    public string FilePath { get; }

    public SqliteStoreOptions Options(bool durable = true, SqliteSynchronous synchronous = SqliteSynchronous.Full) =>
        new() { DataSource = FilePath, Durable = durable, Synchronous = synchronous };

    /// <summary>
    /// A new owner of the file (what one server process has), disposed with this object. Two owners on one file
    /// stand for two processes (or a restart).
    /// </summary>
    public SqliteDatabase Open(bool durable = true, SqliteSynchronous synchronous = SqliteSynchronous.Full)
    {
        var owner = new SqliteDatabase(Options(durable, synchronous));
        _owners.Add(owner);
        return owner;
    }

    /// <summary>A raw connection, for checking what the stores wrote.</summary>
    public SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public object? Scalar(string sql)
    {
        using var connection = OpenRaw();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        foreach (var owner in _owners)
        {
            owner.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
