using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteDatabase
{
    /// <summary>
    /// Writes a consistent copy of the whole database to <paramref name="destinationPath"/> while the server keeps
    /// writing: <c>VACUUM INTO</c> on a read connection reads one WAL snapshot (every transaction committed before it
    /// began, none after), never blocks the writer queue, and produces a compact file without a WAL. The copy is created
    /// owner-only (0600) like the database. The destination must not exist.
    /// </summary>
    /// <returns>The highest committed feed version in the copy (every ack up to it is in the copy).</returns>
    public async Task<long> BackupToAsync(string destinationPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        ThrowIfNotReady();
        var full = Path.GetFullPath(destinationPath);
        if (File.Exists(full))
        {
            throw new IOException($"The backup destination '{full}' exists.");
        }

        // VACUUM INTO accepts an existing empty file: create it with the owner-only mode first.
        EnsureDirectory(full);
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var vacuum = connection.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $path;";
            vacuum.Parameters.AddWithValue("$path", full);
            await vacuum.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return await ReadFeedVersionAsync(full, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks a database file that is not open in this process (a backup, a restored copy): SQLite's
    /// <c>integrity_check</c> must answer ok and the schema must not be newer than this build.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is corrupt, not a Parley database, or from a newer Parley.</exception>
    public static async Task<SqliteSchemaStatus> VerifyFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No database file at '{path}'.", path);
        }

        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        var connection = new SqliteConnection(builder.ToString());
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var check = Convert.ToString(await ScalarAsync(connection, "PRAGMA integrity_check;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (!string.Equals(check, "ok", StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"'{path}' fails SQLite's integrity check: {check}");
                }

                var hasMigrations = Convert.ToInt64(await ScalarAsync(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
                if (hasMigrations == 0)
                {
                    throw new InvalidDataException($"'{path}' is not a Parley database (no schema_migrations table).");
                }

                var applied = new List<int>();
                using (var read = connection.CreateCommand())
                {
                    read.CommandText = "SELECT version FROM schema_migrations ORDER BY version;";
                    using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        applied.Add(reader.GetInt32(0));
                    }
                }

                var latest = Internal.SqliteMigrations.LatestVersion;
                if (applied.Count > 0 && applied[^1] > latest)
                {
                    throw new InvalidDataException($"'{path}' has schema version {applied[^1]}, newer than this build knows ({latest}): use a newer Parley.");
                }

                var pending = Internal.SqliteMigrations.All.Select(m => m.Version).Where(v => !applied.Contains(v)).ToArray();
                return new SqliteSchemaStatus(applied, pending, latest, await CountAsync(connection, "messages", cancellationToken).ConfigureAwait(false),
                    await CountAsync(connection, "conversations", cancellationToken).ConfigureAwait(false), await CountAsync(connection, "users", cancellationToken).ConfigureAwait(false));
            }
            catch (SqliteException e)
            {
                throw new InvalidDataException($"'{path}' is not a readable SQLite database: {e.Message}", e);
            }
        }
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string table, CancellationToken cancellationToken)
    {
        var exists = Convert.ToInt64(await ScalarAsync(connection, $"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}';", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        return exists == 0 ? 0 : Convert.ToInt64(await ScalarAsync(connection, $"SELECT count(*) FROM {table};", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static async Task<long> ReadFeedVersionAsync(string path, CancellationToken cancellationToken)
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        var connection = new SqliteConnection(builder.ToString());
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return Convert.ToInt64(await ScalarAsync(connection, "SELECT max_version FROM feed_state WHERE id = 1;", cancellationToken).ConfigureAwait(false) ?? 0L, CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>The schema state of a database file: versions applied, versions this build would still apply, and row counts.</summary>
public sealed record SqliteSchemaStatus(IReadOnlyList<int> Applied, IReadOnlyList<int> Pending, int Latest, long Messages, long Conversations, long Users);
