using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// Stop 39: <see cref="RawStatement"/> steps and reads its columns through <see cref="SqliteNative"/>'s function pointers
/// (no SafeHandle marshalling per call); the values must be what Microsoft.Data.Sqlite's reader (SQLitePCL) reads.
/// </summary>
public sealed class SqliteNativeTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public void Functions_AreInUse_WithTheServersSqliteProvider()
    {
        // e_sqlite3 is the provider this project ships with: null here would mean every statement silently took the
        // slower SQLitePCL calls (the fallback for other providers).
        Assert.NotNull(SqliteNative.Functions);
    }

    [Fact]
    public void RawStatement_ReadsEveryKindOfValue_AsTheDataReaderReadsIt()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_database.FilePath)!);
        using var connection = _database.OpenRaw();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = """
                CREATE TABLE t(k INTEGER PRIMARY KEY, v);
                INSERT INTO t(v) VALUES (NULL), (0), (-1), (9223372036854775807), (-9223372036854775808), ('ascii'), ('é✓👍'), (''),
                  ('a' || char(0) || 'b'), (X''), (X'00FF10'), (zeroblob(3)), ('42'), (hex(zeroblob(50000)) || 'é');
                """;
            create.ExecuteNonQuery();
        }

        var expected = new List<(bool Null, long Int, string? Text, byte[]? Bytes)>();
        using (var query = connection.CreateCommand())
        {
            query.CommandText = "SELECT v FROM t ORDER BY k;";
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                expected.Add(reader.IsDBNull(0) ? (true, 0, null, null) : (false, reader.GetInt64(0), reader.GetString(0), reader.GetFieldValue<byte[]>(0)));
            }
        }

        using var statement = new RawStatement(connection, "SELECT v FROM t WHERE k > $after ORDER BY k;", "$after");
        statement.Bind(0, 0L);
        var row = 0;
        while (statement.Read())
        {
            var (isNull, integer, text, bytes) = expected[row];
            Assert.Equal(isNull, statement.IsDBNull(0));
            if (isNull)
            {
                Assert.Equal(string.Empty, statement.GetString(0));
                Assert.True(statement.GetBlobSpan(0).IsEmpty);
            }
            else
            {
                Assert.Equal(integer, statement.GetInt64(0));
                Assert.Equal(text, statement.GetString(0));
                Assert.Equal(bytes, statement.GetBlob(0));
                Assert.True(bytes.AsSpan().SequenceEqual(statement.GetBlobSpan(0)), $"row {row}");
                Assert.True(bytes.AsSpan().SequenceEqual(statement.GetUtf8(0)), $"row {row}");
            }

            row++;
        }

        statement.Reset();
        Assert.Equal(expected.Count, row);
        Assert.Contains(expected, e => e.Text == "a\0b");
        Assert.Contains(expected, e => e.Text is { Length: > 100_000 } t && Encoding.UTF8.GetByteCount(t) > t.Length);
    }

    [Fact]
    public void RawStatement_AnErrorWhileStepping_IsTheSqliteExceptionOfItsCode()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_database.FilePath)!);
        using var connection = _database.OpenRaw();
        using var statement = new RawStatement(connection, "SELECT abs($v);", "$v");
        statement.Bind(0, long.MinValue);
        var error = Assert.Throws<SqliteException>(() => statement.Read());
        Assert.Equal(1, error.SqliteErrorCode); // SQLITE_ERROR: integer overflow
        statement.Reset();

        // The statement is usable again after the error.
        statement.Bind(0, -5L);
        Assert.Equal(5, statement.ReadInt64OrZero());
    }
}
