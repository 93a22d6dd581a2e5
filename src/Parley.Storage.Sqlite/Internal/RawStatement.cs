using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// One prepared SQL statement driven through SQLitePCL directly, for the commit's per-message statements (issue 17).
/// <c>SqliteCommand.ExecuteNonQuery</c> allocates on every call: a data reader, a statement enumerator and its list, a
/// <c>SqliteParameterBinder</c> and the UTF-8 copy of the name per parameter, a box per number and the UTF-8 copy of
/// every text value; about 3 KB per 1:1 message over its five statements. This binds by index, passes text as UTF-16 and
/// blobs as spans (SQLite copies them; nothing is allocated), steps once and resets. Errors are raised as the same
/// <see cref="SqliteException"/> (code and extended code) that <c>ExecuteNonQuery</c> raises, so uniqueness violations
/// keep their meaning. Only for statements on the owner's writer connection, inside its <c>BEGIN IMMEDIATE</c>
/// transaction (no busy retries are needed there), and only single statements.
/// <para>
/// Reads use it too (issue 17, the connect path): <see cref="SqliteDatabase.Prepared"/> keeps one per SQL text and pooled
/// native read connection, so a query is parsed and planned once per connection instead of on every call. A read steps
/// with <see cref="Read"/>, takes its columns through <see cref="ISqliteRow"/> and always ends with <see cref="Reset"/>
/// (a statement that is not reset keeps its read snapshot open). A pooled read connection has busy_timeout set, so
/// SQLite itself waits out a busy WAL during <c>sqlite3_step</c>.
/// </para>
/// </summary>
internal sealed class RawStatement : IDisposable, ISqliteRow
{
    private const int SqliteRow = 100;
    private const int SqliteDone = 101;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int[] _indexes;

    // The statement's native pointer for SqliteNative's calls (no SafeHandle reference per call): this object owns _statement
    // and finalizes it only in Dispose, and a statement is used by one reader at a time, so the pointer is valid for every
    // call made through this object. Null functions: SQLitePCL's calls, as before.
    private readonly nint _handle;
    private readonly SqliteNative.Table? _native = SqliteNative.Functions;

    /// <summary>How many times SQLite compiled this statement again since it was prepared (SQLITE_STMTSTATUS_REPREPARE).</summary>
    public int Reprepares => raw.sqlite3_stmt_status(_statement, 5 /* SQLITE_STMTSTATUS_REPREPARE */, 0);

    /// <param name="parameterNames">The parameters in the order <c>Bind</c> numbers them (0, 1, ...), as a command's list.</param>
    public RawStatement(SqliteConnection connection, string sql, params string[] parameterNames)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement, out var tail);
        SqliteException.ThrowExceptionForRC(rc, _db);
        if (!string.IsNullOrWhiteSpace(tail))
        {
            _statement.Dispose();
            throw new ArgumentException("A raw statement must be one SQL statement.", nameof(sql));
        }

        // SQLite numbers named parameters by their first use in the SQL; Bind takes the position in this list.
        _indexes = new int[parameterNames.Length];
        for (var i = 0; i < parameterNames.Length; i++)
        {
            _indexes[i] = raw.sqlite3_bind_parameter_index(_statement, parameterNames[i]);
            if (_indexes[i] == 0)
            {
                _statement.Dispose();
                throw new ArgumentException($"The statement has no parameter {parameterNames[i]}.", nameof(parameterNames));
            }
        }

        _handle = _statement.DangerousGetHandle();
    }

    public void Bind(int parameter, long value) => Check(raw.sqlite3_bind_int64(_statement, _indexes[parameter], value));

    public void Bind(int parameter, string? value)
    {
        var index = _indexes[parameter];
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(_statement, index));
        }
        else if (value.Length == 0)
        {
            // An empty span has no address: SQLite would bind NULL, not ''.
            Check(raw.sqlite3_bind_text(_statement, index, string.Empty));
        }
        else
        {
            Check(raw.sqlite3_bind_text16(_statement, index, value.AsSpan()));
        }
    }

    public void Bind(int parameter, byte[]? value)
    {
        var index = _indexes[parameter];
        if (value is null)
        {
            Check(raw.sqlite3_bind_null(_statement, index));
        }
        else if (value.Length == 0)
        {
            Check(raw.sqlite3_bind_zeroblob(_statement, index, 0));
        }
        else
        {
            Check(raw.sqlite3_bind_blob(_statement, index, value.AsSpan()));
        }
    }

    /// <summary>Binds UTF-8 bytes as TEXT (copied by SQLite; ADR 0027); empty bytes bind ''.</summary>
    public void BindText(int parameter, ReadOnlySpan<byte> utf8)
    {
        var index = _indexes[parameter];
        Check(utf8.IsEmpty ? raw.sqlite3_bind_text(_statement, index, string.Empty) : raw.sqlite3_bind_text(_statement, index, utf8));
    }

    /// <summary>Binds the bytes as a BLOB (copied by SQLite), or NULL when empty.</summary>
    public void BindBlobOrNull(int parameter, ReadOnlySpan<byte> value)
    {
        var index = _indexes[parameter];
        Check(value.IsEmpty ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_blob(_statement, index, value));
    }

    /// <summary>Runs the statement once (its rows, if any, are not read) and resets it for the next bindings.</summary>
    public void Execute()
    {
        var rc = raw.sqlite3_step(_statement);
        try
        {
            if (rc is not SqliteDone and not SqliteRow)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Steps to the next row: true with a row to read, false once the statement is done.</summary>
    public bool Read()
    {
        var rc = _native is { } native ? native.Step(_handle) : raw.sqlite3_step(_statement);
        if (rc == SqliteRow)
        {
            return true;
        }

        if (rc != SqliteDone)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return false;
    }

    /// <summary>Ends a read (releases its snapshot); the bindings stay and are replaced by the next call's.</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    /// <summary>The first column of the first row as an integer, or 0 when there is no row; the read is ended (<see cref="Reset"/>).</summary>
    public long ReadInt64OrZero()
    {
        try
        {
            return Read() ? GetInt64(0) : 0;
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>The rows the connection's last completed INSERT, UPDATE or DELETE changed (after <see cref="Execute"/>).</summary>
    public int Changes => raw.sqlite3_changes(_db);

    public bool IsDBNull(int column) =>
        (_native is { } native ? native.ColumnType(_handle, column) : raw.sqlite3_column_type(_statement, column)) == raw.SQLITE_NULL;

    public long GetInt64(int column) => _native is { } native ? native.ColumnInt64(_handle, column) : raw.sqlite3_column_int64(_statement, column);

    public int GetInt32(int column) => checked((int)GetInt64(column));

    public string GetString(int column) =>
        _native is { } native ? native.ColumnString(_handle, column) : raw.sqlite3_column_text(_statement, column).utf8_to_string() ?? string.Empty;

    public byte[] GetBlob(int column) => GetBlobSpan(column).ToArray();

    /// <summary>A text column's UTF-8 bytes as SQLite holds them, valid until the next step or reset (nothing is copied).</summary>
    public ReadOnlySpan<byte> GetUtf8(int column) => GetBlobSpan(column);

    /// <summary>A blob column's bytes as SQLite holds them, valid until the next step or reset (nothing is copied; empty for NULL).</summary>
    public ReadOnlySpan<byte> GetBlobSpan(int column) =>
        _native is { } native ? native.ColumnBlob(_handle, column) : raw.sqlite3_column_blob(_statement, column);

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
