#:package Microsoft.Data.Sqlite@10.0.15
// sync-pages.cs <db> <conv_key> <conversation_id> <user>: the sync statement (ChangedMessagesFrom, the sink's columns) planned and run on the server's SQLite
// (Microsoft.Data.Sqlite 10.0.15: 3.53.3), page visits (cache hits + misses) per cursor with 1 ... 1,005 rows above it; BOUND=1 adds stop 46's bound.
// Run: [BOUND=1] dotnet run sync-pages.cs -- <db> 1 si_peer-0000_reader-0001 reader-0001
using Microsoft.Data.Sqlite;
var (db, key, conv, user) = (args[0], long.Parse(args[1]), args[2], args[3]);
using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly");
c.Open();
Console.WriteLine("sqlite " + new SqliteCommand("select sqlite_version()", c).ExecuteScalar());
const string V = "(o.seq >= vm.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = j.value AND vp.user_id = $user AND o.seq BETWEEN vp.from_seq AND vp.to_seq))";
var vm = V.Replace("o.seq", "msg.seq");
var sync = "SELECT j.key, o.seq, o.server_msg_id, o.sender_id, o.client_msg_id, o.server_time, o.content, o.revoked, o.version, o.annotations FROM json_each($convs) j JOIN conversations ck ON ck.conversation_id = j.value LEFT JOIN members vm ON vm.conv_key = ck.conv_key AND vm.user_id = $user AND vm.active = 1"
  + " JOIN messages o ON o.conv_key = ck.conv_key AND o.seq >= (SELECT MIN(w.seq) FROM (SELECT msg.seq FROM messages msg WHERE msg.conv_key = ck.conv_key AND msg.version > $since AND +msg.version <= $until AND "
  + (Environment.GetEnvironmentVariable("BOUND") == "1" ? "msg.seq >= COALESCE((SELECT MIN(b.seq) FROM (SELECT n.seq FROM messages n INDEXED BY ix_messages_conv_version WHERE n.conv_key = ck.conv_key AND n.version > $since AND +n.version <= $until LIMIT 1000) b HAVING COUNT(*) < 1000), 0) AND " : "")
  + vm + " ORDER BY msg.seq DESC LIMIT $limit) w) AND o.version > $since AND +o.version <= $until AND " + V + ";";
SqliteCommand Cmd(string sql, long since)
{
    var cmd = new SqliteCommand(sql, c);
    cmd.Parameters.AddWithValue("$convs", $"[\"{conv}\"]"); cmd.Parameters.AddWithValue("$user", user);
    cmd.Parameters.AddWithValue("$since", since); cmd.Parameters.AddWithValue("$until", long.MaxValue / 2); cmd.Parameters.AddWithValue("$limit", 200);
    return cmd;
}
using (var r = Cmd("EXPLAIN QUERY PLAN " + sync, 5).ExecuteReader()) while (r.Read()) Console.WriteLine("  " + r.GetString(3));
long Visits()
{
    SQLitePCL.raw.sqlite3_db_status(c.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_HIT, out var h, out _, 0);
    SQLitePCL.raw.sqlite3_db_status(c.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_MISS, out var m, out _, 0);
    return h + m;
}
foreach (var n in new[] { 1, 50, 150, 400, 999, 1005 })
{
    var since = (long)new SqliteCommand($"SELECT version FROM messages WHERE conv_key = {key} ORDER BY seq DESC LIMIT 1 OFFSET {n}", c).ExecuteScalar()!;
    var rows = 0; var before = Visits();
    using (var r = Cmd(sync, since).ExecuteReader()) while (r.Read()) rows++;
    Console.WriteLine($"new rows {n}: {rows} returned, {Visits() - before} page visits");
}
