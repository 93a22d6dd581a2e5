#:package Microsoft.Data.Sqlite@10.0.15
// sync-pages48.cs <db> <label> <Parley.Storage.Sqlite.dll> <conv_key> <conversation_id> <user> [anchor spacing]: the sync statement
// exactly as the given build runs it (SqliteMessageStore.SinkMessagesSql, read from the build's assembly by reflection), planned
// and run on the server's SQLite (Microsoft.Data.Sqlite 10.0.15: 3.53.3); page visits (cache hits + misses of the main database,
// a count) per cursor with N rows above it and for a fresh device (cursor 0), $limit 200, the best of 3; the rows returned
// (count and seq sum) printed for comparison. TIME=N: also the CPU per execution through Microsoft.Data.Sqlite (a hint under
// load). VMSTEP=1: the statement prepared once through SQLitePCL and stepped ITERS (2,000) times: the process's CPU per execution,
// SQLite's VM steps and sorts per execution. PRAGMAS: run on the connection first ("PRAGMA temp_store=MEMORY"). SQLFILE: run
// that statement text instead; DUMP: write the build's statement to that file. [anchor spacing]: the build's "% 64" replaced (the anchor measured at 16).
using System.Reflection;
using Microsoft.Data.Sqlite;
var (db, label, dll, key, conv, user) = (args[0], args[1], args[2], long.Parse(args[3]), args[4], args[5]);
// its dependencies from its own folder, then from the dirs in DEPS (a server's output: the framework packages a library's bin lacks)
var dirs = new[] { Path.GetDirectoryName(Path.GetFullPath(dll))! }.Concat((Environment.GetEnvironmentVariable("DEPS") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)).ToArray();
AppDomain.CurrentDomain.AssemblyResolve += (_, e) =>
    dirs.Select(d => Path.Combine(d, new AssemblyName(e.Name).Name + ".dll")).Where(File.Exists).Select(Assembly.LoadFrom).FirstOrDefault();
var asm = Assembly.LoadFrom(dll);
var type = asm.GetType("Parley.Storage.Sqlite.SqliteMessageStore")!;
var sync = (string)type.GetField("SinkMessagesSql", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
if (args.Length > 6) sync = sync.Replace("% 64", "% " + args[6]);
if (Environment.GetEnvironmentVariable("DUMP") is { } dump) File.WriteAllText(dump, sync);
if (Environment.GetEnvironmentVariable("SQLFILE") is { } sf) sync = File.ReadAllText(sf);
using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly");
c.Open();
if (Environment.GetEnvironmentVariable("PRAGMAS") is { } pr) new SqliteCommand(pr, c).ExecuteNonQuery();
SqliteCommand Cmd(string sql, long since)
{
    var cmd = new SqliteCommand(sql, c);
    cmd.Parameters.AddWithValue("$convs", $"[\"{conv}\"]"); cmd.Parameters.AddWithValue("$user", user);
    cmd.Parameters.AddWithValue("$since", since); cmd.Parameters.AddWithValue("$until", long.MaxValue / 2); cmd.Parameters.AddWithValue("$limit", 200);
    return cmd;
}
if (Environment.GetEnvironmentVariable("PLAN") == "1")
{
    using var r = Cmd("EXPLAIN QUERY PLAN " + sync, 5).ExecuteReader();
    while (r.Read()) Console.WriteLine("  " + r.GetString(3));
}
long Visits()
{
    SQLitePCL.raw.sqlite3_db_status(c.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_HIT, out var h, out _, 0);
    SQLitePCL.raw.sqlite3_db_status(c.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_MISS, out var m, out _, 0);
    return h + m;
}
var total = (long)new SqliteCommand($"SELECT COUNT(*) FROM messages WHERE conv_key = {key}", c).ExecuteScalar()!;
foreach (var n in new[] { 1, 50, 150, 400, 999, 1005, 5000, 20000, -1 })
{
    if (n >= total) continue;
    // the cursor: the first-commit version of the row n rows below the newest (rows above it: the n newer ones and edits above it)
    var since = n < 0 ? 0 : (long)new SqliteCommand($"SELECT search_id FROM messages WHERE conv_key = {key} ORDER BY seq DESC LIMIT 1 OFFSET {n}", c).ExecuteScalar()!;
    var above = (long)new SqliteCommand($"SELECT COUNT(*) FROM messages NOT INDEXED WHERE conv_key = {key} AND version > {since}", c).ExecuteScalar()!;
    var rows = 0; long seqSum = 0; var best = long.MaxValue;
    for (var round = 0; round < 3; round++)
    {
        rows = 0; seqSum = 0; var before = Visits();
        using (var r = Cmd(sync, since).ExecuteReader()) while (r.Read()) { rows++; seqSum += r.GetInt64(1); }
        best = Math.Min(best, Visits() - before);
    }
    // TIME=N: the process's CPU per execution over N more (all rows read), µs: under load a hint, compared within one run
    var cpu = "";
    if (int.TryParse(Environment.GetEnvironmentVariable("TIME"), out var times) && times > 0)
    {
        using var timed = Cmd(sync, since);
        timed.Prepare();
        var t0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < times; i++) { using var r = timed.ExecuteReader(); while (r.Read()) { r.GetInt64(1); } }
        cpu = $", {(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - t0).TotalMicroseconds / times:F0} us CPU";
    }
    var vm = "";
    if (Environment.GetEnvironmentVariable("VMSTEP") == "1")
    {
        SQLitePCL.raw.sqlite3_prepare_v2(c.Handle, sync, out var st);
        SQLitePCL.raw.sqlite3_bind_text(st, SQLitePCL.raw.sqlite3_bind_parameter_index(st, "$convs"), $"[\"{conv}\"]");
        SQLitePCL.raw.sqlite3_bind_text(st, SQLitePCL.raw.sqlite3_bind_parameter_index(st, "$user"), user);
        SQLitePCL.raw.sqlite3_bind_int64(st, SQLitePCL.raw.sqlite3_bind_parameter_index(st, "$since"), since);
        SQLitePCL.raw.sqlite3_bind_int64(st, SQLitePCL.raw.sqlite3_bind_parameter_index(st, "$until"), long.MaxValue / 2);
        SQLitePCL.raw.sqlite3_bind_int64(st, SQLitePCL.raw.sqlite3_bind_parameter_index(st, "$limit"), 200);
        var iters = int.Parse(Environment.GetEnvironmentVariable("ITERS") ?? "2000");
        for (var i = 0; i < 100; i++) { while (SQLitePCL.raw.sqlite3_step(st) == SQLitePCL.raw.SQLITE_ROW) { } SQLitePCL.raw.sqlite3_reset(st); }
        var t0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < iters; i++) { while (SQLitePCL.raw.sqlite3_step(st) == SQLitePCL.raw.SQLITE_ROW) { } SQLitePCL.raw.sqlite3_reset(st); }
        var us = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - t0).TotalMicroseconds / iters;
        while (SQLitePCL.raw.sqlite3_step(st) == SQLitePCL.raw.SQLITE_ROW) { }
        vm = $", {SQLitePCL.raw.sqlite3_stmt_status(st, SQLitePCL.raw.SQLITE_STMTSTATUS_VM_STEP, 0) / (iters + 101)} VM steps, sorts {SQLitePCL.raw.sqlite3_stmt_status(st, SQLitePCL.raw.SQLITE_STMTSTATUS_SORT, 0)}, {us:F0} us CPU raw";
        SQLitePCL.raw.sqlite3_finalize(st);
    }
    Console.WriteLine($"{label} conv {key} ({total} messages) cursor {(n < 0 ? "0 (fresh device)" : n + " below the top")}: {above} rows above, {rows} returned (seq sum {seqSum}), {best} page visits{cpu}{vm}");
}
