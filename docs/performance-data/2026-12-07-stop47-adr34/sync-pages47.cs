#:package Microsoft.Data.Sqlite@10.0.15
// sync-pages47.cs <db> <old|new> <conv_key> <conversation_id> <user>: the sync statement (ChangedMessagesFrom, the sink's columns)
// as base47 builds it (old: stop 46's bounded walk, the bound from ix_messages_conv_version) or as ADR 0034 builds it (new: the
// bound from ix_messages_changed and ix_messages_anchor), planned and run on the server's SQLite (Microsoft.Data.Sqlite 10.0.15:
// 3.53.3); page visits (cache hits + misses, a count) per cursor with N rows above it, and for a fresh device (cursor 0).
// Both statements are copied from the two builds' Read.cs (stop 46's from sync-pages.cs BOUND=1).
using Microsoft.Data.Sqlite;
var (db, which, key, conv, user) = (args[0], args[1], long.Parse(args[2]), args[3], args[4]);
using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly");
c.Open();
const string V = "(o.seq >= vm.visible_from OR EXISTS (SELECT 1 FROM member_periods vp WHERE vp.conversation_id = j.value AND vp.user_id = $user AND o.seq BETWEEN vp.from_seq AND vp.to_seq))";
var vm = V.Replace("o.seq", "msg.seq");
static string Anchor(string key, string since) =>
    "COALESCE((SELECT a.seq FROM messages a INDEXED BY ix_messages_anchor WHERE a.conv_key = " + key + " AND a.seq % 64 = 0 AND a.search_id <= " + since
    + " ORDER BY a.search_id DESC LIMIT 1), (SELECT a.seq FROM messages a INDEXED BY ix_messages_anchor WHERE a.conv_key = " + key
    + " AND a.seq % 64 = 0 AND a.search_id IS NULL ORDER BY a.search_id DESC, a.seq DESC LIMIT 1), 0)";
var bound = which == "old"
    ? "msg.seq >= COALESCE((SELECT MIN(b.seq) FROM (SELECT n.seq FROM messages n INDEXED BY ix_messages_conv_version WHERE n.conv_key = ck.conv_key AND n.version > $since AND +n.version <= $until LIMIT 1000) b HAVING COUNT(*) < 1000), 0) AND "
    : "msg.seq >= COALESCE(MIN(" + Anchor("ck.conv_key", "$since") + ", (SELECT COALESCE(MIN(b.seq), 9223372036854775807) FROM (SELECT n.seq FROM messages n INDEXED BY ix_messages_changed WHERE n.conv_key = ck.conv_key AND "
      + "(n.search_id IS NULL OR n.version <> n.search_id) AND n.version > $since AND +n.version <= $until LIMIT 1000) b HAVING COUNT(*) < 1000)), 0) AND ";
var sync = "SELECT j.key, o.seq, o.server_msg_id, o.sender_id, o.client_msg_id, o.server_time, o.content, o.revoked, o.version, o.annotations FROM json_each($convs) j JOIN conversations ck ON ck.conversation_id = j.value LEFT JOIN members vm ON vm.conv_key = ck.conv_key AND vm.user_id = $user AND vm.active = 1"
  + " JOIN messages o ON o.conv_key = ck.conv_key AND o.seq >= (SELECT MIN(w.seq) FROM (SELECT msg.seq FROM messages msg WHERE msg.conv_key = ck.conv_key AND msg.version > $since AND +msg.version <= $until AND "
  + bound + vm + " ORDER BY msg.seq DESC LIMIT $limit) w) AND o.version > $since AND +o.version <= $until AND " + V + ";";
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
    Console.WriteLine($"{which} conv {key} ({total} messages) cursor {(n < 0 ? "0 (fresh device)" : n + " below the top")}: {above} rows above, {rows} returned (seq sum {seqSum}), {best} page visits");
}
