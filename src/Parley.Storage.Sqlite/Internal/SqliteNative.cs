using System.Runtime.InteropServices;
using SQLitePCL;

namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// SQLite's per-row functions (step, and the column reads) called at their addresses in the native library that SQLitePCL
/// itself calls, with the statement's native pointer (issue 17, stop 39). Through SQLitePCL every call takes and releases a
/// reference on the statement's <see cref="SafeHandle"/>, dispatches through the provider interface and runs a P/Invoke stub;
/// a fresh login's sync reads a dozen columns of each of its ~210 rows, and those wrappers were ~6 % of the server's samples
/// (stop 38's profile). A <see cref="RawStatement"/> uses these when <see cref="Functions"/> is not null, SQLitePCL otherwise.
/// <para>
/// Only the library SQLitePCL uses: it is loaded as the e_sqlite3 provider's own <c>DllImport("e_sqlite3")</c> resolves it (the
/// provider's assembly as the requester), and used only when its <c>sqlite3_libversion</c> returns the very address that
/// SQLitePCL's returns (one loaded copy, not a twin with its own globals). Any other provider, or any failure: null.
/// </para>
/// </summary>
internal static unsafe class SqliteNative
{
    /// <summary>The functions, or null when they are not proven to be SQLitePCL's library (then SQLitePCL is called).</summary>
    public static readonly Table? Functions = Load();

    private static Table? Load()
    {
        try
        {
            // Microsoft.Data.Sqlite sets SQLitePCL's provider in SqliteConnection's type initializer: run it first (this type
            // may be touched before any connection was made).
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Microsoft.Data.Sqlite.SqliteConnection).TypeHandle);
            if (!string.Equals(raw.GetNativeLibraryName(), "e_sqlite3", StringComparison.Ordinal)
                || !NativeLibrary.TryLoad("e_sqlite3", typeof(SQLite3Provider_e_sqlite3).Assembly, null, out var library))
            {
                return null;
            }

            if (!NativeLibrary.TryGetExport(library, "sqlite3_libversion", out var version)
                || !NativeLibrary.TryGetExport(library, "sqlite3_step", out var step)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_type", out var type)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_int64", out var int64)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_blob", out var blob)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_text", out var text)
                || !NativeLibrary.TryGetExport(library, "sqlite3_column_bytes", out var bytes))
            {
                return null;
            }

            var ours = ((delegate* unmanaged[Cdecl]<nint>)version)();
            fixed (byte* theirs = raw.sqlite3_libversion())
            {
                if (ours == 0 || ours != (nint)theirs)
                {
                    return null;
                }
            }

            return new Table(step, type, int64, blob, text, bytes);
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException or EntryPointNotFoundException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The addresses of the functions; each call passes the statement's native pointer (valid while its owner lives).</summary>
    internal sealed class Table(nint step, nint type, nint int64, nint blob, nint text, nint bytes)
    {
        public int Step(nint statement) => ((delegate* unmanaged[Cdecl]<nint, int>)step)(statement);

        public int ColumnType(nint statement, int column) => ((delegate* unmanaged[Cdecl]<nint, int, int>)type)(statement, column);

        public long ColumnInt64(nint statement, int column) => ((delegate* unmanaged[Cdecl]<nint, int, long>)int64)(statement, column);

        /// <summary>A blob (or a text's UTF-8 bytes, unconverted) as a span over SQLite's copy: valid until the next step or reset; empty for NULL.</summary>
        public ReadOnlySpan<byte> ColumnBlob(nint statement, int column)
        {
            // SQLite's documented order: the pointer first, then the size.
            var pointer = ((delegate* unmanaged[Cdecl]<nint, int, nint>)blob)(statement, column);
            return pointer == 0 ? default : new ReadOnlySpan<byte>((void*)pointer, ((delegate* unmanaged[Cdecl]<nint, int, int>)bytes)(statement, column));
        }

        /// <summary>A column as text (converted by SQLite as <c>sqlite3_column_text</c> does); empty for NULL.</summary>
        public string ColumnString(nint statement, int column)
        {
            var pointer = ((delegate* unmanaged[Cdecl]<nint, int, nint>)text)(statement, column);
            return pointer == 0
                ? string.Empty
                : System.Text.Encoding.UTF8.GetString((byte*)pointer, ((delegate* unmanaged[Cdecl]<nint, int, int>)bytes)(statement, column));
        }
    }
}
