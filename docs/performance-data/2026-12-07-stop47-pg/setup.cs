#:project /work/wt/pg/src/Parley.Storage.Postgres/Parley.Storage.Postgres.csproj
// setup.cs <connstring> <schema>: a PostgreSQL store at a real size for the plans (stop 47, pg). Schema by the store's
// migrations; 10,001 direct conversations: "big" (u0000 with u0001, 100,000 messages) and 10,000 others among 2,000 users
// (u0000 in 100 of them), 900,000 messages interleaved across them (one heap page holds many conversations' rows, as on a
// server), then a vacuum (autovacuum's state), then a live tail through the store: 50 new messages in big, edits of two
// old messages and a recent one, a revoke. Prints the versions at the marks (cursors for the plans).
using Npgsql;
using Parley.Abstractions.Messaging;
using Parley.Storage.Postgres;
var (cs, schema) = (args[0], args[1]);
var db = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = cs, Schema = schema, Durable = false });
var store = new PostgresMessageStore(db);
await store.InitializeAsync();
await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { SearchPath = schema, CommandTimeout = 0 }.ConnectionString);
await conn.OpenAsync();
async Task Exec(string sql) { await using var c = new NpgsqlCommand(sql, conn); await c.ExecuteNonQueryAsync(); }
var version = 0L;
var convs = new List<(string Id, string A, string B)> { ("big", "u0000", "u0001") };
for (var i = 1; i <= 10000; i++)
{
    var a = i <= 100 ? 0 : i % 2000; var b = i <= 100 ? 1000 + i : (i * 7 + 1) % 2000; if (b == a) b = (b + 1) % 2000;
    convs.Add(($"c{i:D5}", $"u{a:D4}", $"u{b:D4}"));
}
foreach (var chunk in convs.Chunk(1000))
{
    var batch = new CommitBatch();
    foreach (var (id, a, b) in chunk) batch.Conversations.Add(new NewConversation(id, ConversationKind.Direct, null, "", a, 1000, [a, b], ++version));
    await store.CommitAsync(batch);
}
Console.WriteLine($"conversations {convs.Count}, version {version}");
await Exec($"""
    CREATE TEMP TABLE gen AS SELECT i, CASE WHEN i % 10 = 0 THEN 'big' ELSE 'c' || lpad((1 + (hashint4(i)::bigint & 2147483647) % 10000)::text, 5, '0') END AS conv
    FROM generate_series(1, 1000000) i;
    INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, annotations, reply_to_seq)
    SELECT g.conv, row_number() OVER (PARTITION BY g.conv ORDER BY g.i), 'm' || g.i, ck.creator_id, 'cm' || g.i,
           1000000 + g.i, 1, convert_to(repeat('message body ' || g.i || ' ', 6), 'UTF8'), false, {version} + g.i, NULL, 0
    FROM gen g JOIN conversations ck ON ck.conversation_id = g.conv ORDER BY g.i;
    """);
version += 1000000;
await Exec($"""
    UPDATE conversations c SET max_seq = x.s, last_seq = x.s, updated_at = x.t, head_version = x.v FROM (SELECT conversation_id, max(seq) s, max(server_time) t, max(version) v FROM messages GROUP BY 1) x WHERE c.conversation_id = x.conversation_id;
    UPDATE members m SET feed_version = c.head_version, read_seq = GREATEST(c.max_seq - 2, 0) FROM conversation_keys k JOIN conversations c ON c.conversation_id = k.conversation_id WHERE m.conv_key = k.conv_key;
    UPDATE feed_state SET max_version = {version};
    """);
foreach (var t in new[] { "messages", "members", "conversations", "conversation_keys", "feed_state" }) await Exec($"VACUUM (ANALYZE) {t}");
Console.WriteLine($"messages loaded, version {version}");
var bigSeq = 100000L;
var marks = new List<string>();
for (var k = 0; k < 50; k++)
{
    if (k == 40) marks.Add($"behind10 {version}");
    if (k == 47) marks.Add($"behind3 {version}");
    var batch = new CommitBatch();
    var s = ++bigSeq;
    batch.Messages.Add(new StoredMessage("big", s, $"live{s}", k % 2 == 0 ? "u0000" : "u0001", $"live{s}", 3000000 + s, 1, System.Text.Encoding.UTF8.GetBytes($"live {s}"), false, ++version));
    await store.CommitAsync(batch);
    if (k == 44)
    {
        var e = new CommitBatch();
        e.MessageUpdates.Add(new MessageUpdate("big", 17, [1, 2, 3], ++version) { Content = System.Text.Encoding.UTF8.GetBytes("edited 17") });
        e.MessageUpdates.Add(new MessageUpdate("big", 50000, [4], ++version));
        e.MessageUpdates.Add(new MessageUpdate("big", bigSeq - 5, [5], ++version));
        await store.CommitAsync(e);
        var r = new CommitBatch(); r.Revocations.Add(new Revocation("big", 12345)); await store.CommitAsync(r);
    }
}
marks.Add($"top {version}");
await File.WriteAllLinesAsync("marks.txt", marks);
Console.WriteLine(string.Join("\n", marks));
