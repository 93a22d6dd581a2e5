using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Benchmarks;

/// <summary>
/// The 10M search fixture, fast (issue 18, stop 30): <c>search-server --build bulk [--batch 1000000] [--fts-hash-mb 256]</c>
/// writes the same store as <c>--build store</c> (every table's rows, the full-text index's entries) without the store's
/// per-commit work a one-off build does not need, and <c>search-store-check --messages 100000 --dir D</c> builds a store
/// both ways and compares them table by table.
/// </summary>
public static partial class SearchServerBench
{
    // The statements the store's commit runs per message and per conversation (SqliteMessageStore.Commit.cs: InsertMessage,
    // RaiseSenderReadSeq, RaiseConversation, RaiseAllMembersFeed, RaiseFeedState) and the index row its indexer writes
    // (IndexPendingSearch), as written there; search-store-check proves the result equal.
    private const string InsertMessageSql = $"""
        INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                              annotations, reply_to_seq, search_id)
        VALUES ({SqliteRows.ConvKey}, $seq, $smid, $sender, $cmid, $time, $kind, $content, $revoked, $version, $annotations, $replyto, $version);
        """;

    private const string InsertIndexSql = "INSERT INTO message_search (rowid, body, conv, conversation_id, seq) VALUES ($id, $body, $key, $conv, $seq);";

    private const string RaiseSenderReadSeqSql = "UPDATE members SET read_seq = MAX(read_seq, $seq) WHERE conv_key = " + SqliteRows.ConvKey + " AND user_id = $user;";

    private const string RaiseConversationSql = """
        UPDATE conversations SET max_seq = MAX(max_seq, $seq), last_seq = MAX(last_seq, $seq), updated_at = MAX(updated_at, $time),
            head_version = MAX(head_version, $version)
        WHERE conversation_id = $conv;
        """;

    private const string RaiseAllMembersFeedSql = "UPDATE members SET feed_version = MAX(feed_version, $version) WHERE conv_key = " + SqliteRows.ConvKey + " AND active = 1;";

    private const string RaiseFeedStateSql = "UPDATE feed_state SET max_version = MAX(max_version, $version) WHERE id = 1;";

    /// <summary>
    /// The corpus of <see cref="BuildThroughStoreAsync"/>, bulk-loaded. The schema (every migration) and the 10,000
    /// conversations are written through <see cref="SqliteMessageStore"/>; then one connection inserts the messages in
    /// transactions of <paramref name="batchSize"/>: each message's full-text index row (rowid = search_id = version, the
    /// conversation key from <see cref="SearchKeys.For"/>, as the store's indexer writes them; no <c>search_pending</c>
    /// round trip) in rowid order, then the message rows grouped by conversation (each conversation's in seq order), and
    /// per transaction, once per conversation and sender, the store's own MAX updates
    /// (conversation heads, the sender's read seq, members' feed versions, the feed state): the same final rows as one
    /// commit per message. What a one-off build does without: the WAL (rollback journal, <c>synchronous=OFF</c>, exclusive
    /// lock: pages written once, not to the WAL and then again by the checkpoint; a killed build still rolls back to its
    /// last transaction), FTS5's 1 MB in-memory index limit (<c>hashsize</c>, set for the build and its config row removed
    /// after, so one segment is written per transaction instead of one per 1 MB; FTS5's own automerge still merges them),
    /// and the C# scalar function per row (the key is computed once per conversation). The store is then switched back to
    /// WAL. Resumable after any transaction.
    /// </summary>
    internal static async Task BuildBulkAsync(string file, int messages, int batchSize = 1_000_000, int hashMb = 256)
    {
        if (await StartBuildAsync(file, messages, "bulk") is not (string marker, string building))
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long version;
        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = file, Durable = false, Synchronous = SqliteSynchronous.Normal });
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                version = await store.GetMaxVersionAsync();
                if (version == 0)
                {
                    await store.CommitAsync(Conversations());
                    version = ReaderConversations + OtherConversations;
                }
            }
        }

        SqliteConnection.ClearAllPools();
        var done = (int)(version - ReaderConversations - OtherConversations);
        var readerIds = Enumerable.Range(0, ReaderConversations).Select(ReaderConversation).ToArray();
        var otherIds = Enumerable.Range(0, OtherConversations).Select(OtherConversation).ToArray();
        var readerKeys = readerIds.Select(SearchKeys.For).ToArray();
        var otherKeys = otherIds.Select(SearchKeys.For).ToArray();
        var readerSeqs = new long[ReaderConversations];
        var otherSeqs = new long[OtherConversations];

        using (var bulk = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            bulk.Open();
            Execute(bulk, "PRAGMA journal_mode = DELETE;");
            Execute(bulk, "PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;");
            Execute(bulk, string.Create(CultureInfo.InvariantCulture, $"INSERT INTO message_search (message_search, rank) VALUES ('hashsize', {(long)hashMb * 1024 * 1024});"));
            if (done > 0)
            {
                using var command = bulk.CreateCommand();
                command.CommandText = "SELECT conversation_id, max_seq FROM conversations;";
                var index = Enumerable.Range(0, ReaderConversations).ToDictionary(c => readerIds[c], c => -1 - c, StringComparer.Ordinal);
                for (var c = 0; c < OtherConversations; c++)
                {
                    index[otherIds[c]] = c;
                }

                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    if (index.TryGetValue(reader.GetString(0), out var c))
                    {
                        (c < 0 ? readerSeqs : otherSeqs)[c < 0 ? -1 - c : c] = reader.GetInt64(1);
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# bulk: resuming after {done:N0} messages"));
            }

            using var insertMessage = new RawStatement(bulk, InsertMessageSql, "$conv", "$seq", "$smid", "$sender", "$cmid", "$time", "$kind", "$content", "$revoked", "$version", "$annotations", "$replyto");
            using var insertIndex = new RawStatement(bulk, InsertIndexSql, "$id", "$body", "$key", "$conv", "$seq");
            using var raiseSender = new RawStatement(bulk, RaiseSenderReadSeqSql, "$conv", "$user", "$seq");
            using var raiseConversation = new RawStatement(bulk, RaiseConversationSql, "$conv", "$seq", "$time", "$version");
            using var raiseFeed = new RawStatement(bulk, RaiseAllMembersFeedSql, "$conv", "$version");
            using var raiseFeedState = new RawStatement(bulk, RaiseFeedStateSql, "$version");
            var touched = new Dictionary<string, (long MaxSeq, long LastTime, long MaxVersion)>(StringComparer.Ordinal);
            var senders = new Dictionary<(string Conversation, string Sender), long>();
            var content = new Content { Text = new TextContent() };
            var kind = (int)Content.BodyOneofCase.Text;

            // Conversations by slot (the reader's 100, then the others'), their keys, and their rank in the messages
            // table's key order (TEXT compares as bytes: ordinal for these ASCII ids).
            string[] ids = [.. readerIds, .. otherIds];
            string[] keys = [.. readerKeys, .. otherKeys];
            var rank = new int[ids.Length];
            var sorted = Enumerable.Range(0, ids.Length).OrderBy(x => ids[x], StringComparer.Ordinal).ToArray();
            for (var r = 0; r < sorted.Length; r++)
            {
                rank[sorted[r]] = r;
            }

            var slotOf = new int[batchSize];
            var seqOf = new long[batchSize];
            var order = new int[batchSize];
            var bucketStart = new int[ids.Length + 1];
            for (var start = done; start < messages; start += batchSize)
            {
                var end = Math.Min(messages, start + batchSize);
                touched.Clear();
                senders.Clear();
                Execute(bulk, "BEGIN;");

                // The index rows first, in rowid order (FTS5 appends ascending rowids to its in-memory index).
                var first = version;
                for (var i = start; i < end; i++)
                {
                    var (readerConversation, c, sender, text) = Describe(i, messages);
                    var slot = readerConversation ? c : ReaderConversations + c;
                    var seq = readerConversation ? ++readerSeqs[c] : ++otherSeqs[c];
                    var time = 1_790_000_000_000L + i;
                    ++version;
                    slotOf[i - start] = slot;
                    seqOf[i - start] = seq;
                    insertIndex.Bind(0, version);
                    insertIndex.Bind(1, text);
                    insertIndex.Bind(2, keys[slot]);
                    insertIndex.Bind(3, ids[slot]);
                    insertIndex.Bind(4, seq);
                    insertIndex.Execute();

                    var key = (ids[slot], sender);
                    senders[key] = senders.TryGetValue(key, out var readSeq) ? Math.Max(readSeq, seq) : seq;
                    touched[ids[slot]] = touched.TryGetValue(ids[slot], out var t)
                        ? (Math.Max(t.MaxSeq, seq), Math.Max(t.LastTime, time), Math.Max(t.MaxVersion, version))
                        : (seq, time, version);
                }

                // Then the message rows, grouped by conversation in key order (each conversation's in seq order, as the
                // server appends them): every row of a conversation goes to the same B-tree leaves one after another
                // instead of a random one of 10,000 per row. The rows and each conversation's order of inserts are
                // the server's; only the interleaving of conversations differs.
                var count = end - start;
                Array.Clear(bucketStart);
                for (var k = 0; k < count; k++)
                {
                    bucketStart[rank[slotOf[k]] + 1]++;
                }

                for (var r = 1; r < bucketStart.Length; r++)
                {
                    bucketStart[r] += bucketStart[r - 1];
                }

                for (var k = 0; k < count; k++)
                {
                    order[bucketStart[rank[slotOf[k]]]++] = k;
                }

                for (var n = 0; n < count; n++)
                {
                    var k = order[n];
                    var i = start + k;
                    var (_, _, sender, text) = Describe(i, messages);
                    var id = i.ToString(CultureInfo.InvariantCulture);
                    content.Text.Text = text;
                    insertMessage.Bind(0, ids[slotOf[k]]);
                    insertMessage.Bind(1, seqOf[k]);
                    insertMessage.Bind(2, "srv-" + id);
                    insertMessage.Bind(3, sender);
                    insertMessage.Bind(4, "cm-" + id);
                    insertMessage.Bind(5, 1_790_000_000_000L + i);
                    insertMessage.Bind(6, kind);
                    insertMessage.Bind(7, content.ToByteArray());
                    insertMessage.Bind(8, 0);
                    insertMessage.Bind(9, first + k + 1);
                    insertMessage.Bind(10, (byte[]?)null);
                    insertMessage.Bind(11, 0);
                    insertMessage.Execute();
                }

                foreach (var ((conversationId, senderId), seq) in senders)
                {
                    raiseSender.Bind(0, conversationId);
                    raiseSender.Bind(1, senderId);
                    raiseSender.Bind(2, seq);
                    raiseSender.Execute();
                }

                foreach (var (conversationId, t) in touched)
                {
                    raiseConversation.Bind(0, conversationId);
                    raiseConversation.Bind(1, t.MaxSeq);
                    raiseConversation.Bind(2, t.LastTime);
                    raiseConversation.Bind(3, t.MaxVersion);
                    raiseConversation.Execute();
                    raiseFeed.Bind(0, conversationId);
                    raiseFeed.Bind(1, t.MaxVersion);
                    raiseFeed.Execute();
                }

                raiseFeedState.Bind(0, version);
                raiseFeedState.Execute();
                Execute(bulk, "COMMIT;");
                var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# bulk: {end:N0} of {messages:N0} inserted and indexed, {clock.Elapsed.TotalSeconds:F0} s wall, {cpu.TotalSeconds:F0} s CPU, load average {SearchLatency.LoadAverage()}"));
            }

            // The build's FTS5 setting leaves with it: the config table as the store leaves it (its version row only).
            Execute(bulk, "DELETE FROM message_search_config WHERE k = 'hashsize';");
        }

        using (var wal = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            wal.Open();
            Execute(wal, "PRAGMA journal_mode = WAL;");
        }

        SqliteConnection.ClearAllPools();
        File.Delete(building);
        await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        var total = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store bulk-built in {clock.Elapsed.TotalSeconds:F0} s wall, {total.TotalSeconds:F0} s CPU (this run), load average {SearchLatency.LoadAverage()}"));
    }

    // The 10,000 conversations of the corpus, one version each (1 to 10,000), as BuildThroughStoreAsync commits them.
    private static CommitBatch Conversations()
    {
        var version = 0L;
        var setup = new CommitBatch();
        for (var c = 0; c < ReaderConversations; c++)
        {
            setup.Conversations.Add(new NewConversation(ReaderConversation(c), Parley.Abstractions.Messaging.ConversationKind.Direct, null, string.Empty, Reader, 1_790_000_000_000, [Reader, "peer-" + c.ToString("D4", CultureInfo.InvariantCulture)], ++version));
        }

        for (var c = 0; c < OtherConversations; c++)
        {
            var (a, b) = OtherPair(c);
            setup.Conversations.Add(new NewConversation(OtherConversation(c), Parley.Abstractions.Messaging.ConversationKind.Direct, null, string.Empty, a, 1_790_000_000_000, [a, b], ++version));
        }

        return setup;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// <c>search-store-check --messages 100000 --dir D</c>: builds the corpus through the store (<c>D/store</c>, the store's
    /// commit and indexer) and in bulk (<c>D/bulk</c>) and compares them: the schema and header settings, every table's rows
    /// in key order (the schema_migrations times excepted: when each migration ran), FTS5's own integrity check on both, and
    /// every entry of the full-text index (<c>fts5vocab</c> 'instance': term, row, column, offset). FTS5's segment pages
    /// (<c>message_search_data</c>, <c>_idx</c>) are not compared: how the entries are split into segments depends on the
    /// transaction sizes, in the server too (its indexer writes up to 500 per batch). Exit code 0 when equal.
    /// </summary>
    public static async Task<int> CheckAsync(string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        var messages = o.TryGetValue("messages", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 100_000;
        var dir = o.TryGetValue("dir", out var d) ? d : Path.Combine(Path.GetTempPath(), "parley-search-check");
        var batch = o.TryGetValue("batch", out var b) ? int.Parse(b, CultureInfo.InvariantCulture) : 30_000;
        var hashMb = o.TryGetValue("fts-hash-mb", out var h) ? int.Parse(h, CultureInfo.InvariantCulture) : 256;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# Parley.Benchmarks search-store-check {string.Join(' ', args)}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {SearchLatency.LoadAverage()}"));
        var viaStore = Path.Combine(dir, "store", "parley.db");
        var viaBulk = Path.Combine(dir, "bulk", "parley.db");
        foreach (var f in new[] { viaStore, viaBulk })
        {
            if (Directory.Exists(Path.GetDirectoryName(f)))
            {
                Directory.Delete(Path.GetDirectoryName(f)!, recursive: true);
            }
        }

        // Batches that do not divide the corpus, so both builds cross transaction boundaries mid-conversation.
        await BuildThroughStoreAsync(viaStore, messages, 20_000);
        await BuildBulkAsync(viaBulk, messages, batch, hashMb);
        var a = Digest(viaStore);
        var z = Digest(viaBulk);
        var differ = 0;
        foreach (var name in a.Keys.Union(z.Keys).Order(StringComparer.Ordinal))
        {
            var left = a.GetValueOrDefault(name);
            var right = z.GetValueOrDefault(name);
            var same = left == right;
            differ += same ? 0 : 1;
            Console.WriteLine($"{(same ? "same   " : "DIFFERS")} {name,-34} store: {left ?? "(none)"}  bulk: {right ?? "(none)"}");
        }

        Console.WriteLine(differ == 0 ? "# equal: every compared part of the two stores is the same" : string.Create(CultureInfo.InvariantCulture, $"# {differ} part(s) differ"));
        return differ == 0 ? 0 : 1;
    }

    // Per part of a store: "rows, SHA-256 of the rows in key order" (or the pragma's value).
    private static Dictionary<string, string> Digest(string file)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        foreach (var pragma in new[] { "journal_mode", "page_size", "auto_vacuum", "encoding", "user_version", "application_id" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA " + pragma + ";";
            parts["pragma " + pragma] = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
        }

        using (var check = connection.CreateCommand())
        {
            check.CommandText = "INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 0);";
            check.ExecuteNonQuery();
            parts["fts5 integrity-check"] = "ok";
        }

        parts["schema"] = Hash(connection, "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name;");
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name;";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            if (table is "message_search_data" or "message_search_idx")
            {
                continue;
            }

            var columns = new List<string>();
            using (var info = connection.CreateCommand())
            {
                info.CommandText = $"SELECT name FROM pragma_table_info('{table}');";
                using var reader = info.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add(reader.GetString(0));
                }
            }

            if (table == "schema_migrations")
            {
                columns.Remove("applied_at");
            }

            var list = string.Join(", ", columns.Select(c => "\"" + c + "\""));
            parts["table " + table] = Hash(connection, $"SELECT {list} FROM \"{table}\" ORDER BY {list};");
        }

        using (var vocab = connection.CreateCommand())
        {
            vocab.CommandText = "CREATE VIRTUAL TABLE temp.search_instances USING fts5vocab(main, message_search, instance);";
            vocab.ExecuteNonQuery();
        }

        parts["fts5 index entries (vocab instance)"] = Hash(connection, "SELECT term, doc, col, offset FROM temp.search_instances;");
        return parts;
    }

    private static string Hash(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var rows = 0L;
        Span<byte> number = stackalloc byte[9];
        while (reader.Read())
        {
            rows++;
            for (var i = 0; i < reader.FieldCount; i++)
            {
                switch (reader.GetValue(i))
                {
                    case DBNull:
                        sha.AppendData("N"u8);
                        break;
                    case long l:
                        number[0] = (byte)'I';
                        BitConverter.TryWriteBytes(number[1..], l);
                        sha.AppendData(number);
                        break;
                    case double f:
                        number[0] = (byte)'F';
                        BitConverter.TryWriteBytes(number[1..], f);
                        sha.AppendData(number);
                        break;
                    case string s:
                        sha.AppendData("T"u8);
                        sha.AppendData(Encoding.UTF8.GetBytes(s));
                        sha.AppendData("\0"u8);
                        break;
                    case byte[] bytes:
                        number[0] = (byte)'B';
                        BitConverter.TryWriteBytes(number[1..], (long)bytes.Length);
                        sha.AppendData(number);
                        sha.AppendData(bytes);
                        break;
                    default:
                        throw new InvalidOperationException("unexpected value type");
                }
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{rows:N0} rows {Convert.ToHexString(sha.GetHashAndReset())[..16]}");
    }

    /// <summary>
    /// <c>--measure store</c>: the six cases through <see cref="SqliteMessageStore.SearchAsync"/> in this process (no server,
    /// no socket), first page of 20 with the server's window (5,000): the database pages each query reads (SQLite's page
    /// cache hits and misses on its connection: a count, not a timing), each case paged to its end (requests, the most
    /// pages one read, all pages), then p50/p99 of <paramref name="queries"/> rounds of the first page interleaved after 3
    /// of warm-up, then this process's CPU per query per case in blocks.
    /// </summary>
    private static async Task MeasureStoreAsync(string file, int queries, int[] hits, int? allowance)
    {
        var options = new SqliteStoreOptions { DataSource = file, Durable = false, Synchronous = SqliteSynchronous.Normal };
        options.SearchRowAllowance = allowance ?? options.SearchRowAllowance;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# the store's row allowance: {options.SearchRowAllowance:N0} rows"));
        var database = new SqliteDatabase(options);
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                var shape = await store.ReadSearchIndexShapeAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# the FTS5 index: {shape.Segments} segments, {shape.LeafPages:N0} leaf pages"));
                var cases = Cases();
                var pages = new long[cases.Length];
                var found = new int[cases.Length];
                for (var k = 0; k < cases.Length; k++)
                {
                    long read = 0;
                    store.SearchPagesObserver = p => read = p;
                    found[k] = (await store.SearchAsync(Reader, cases[k].Conversation, cases[k].Word, null, 20, maxScanned: 5000)).Count;
                    store.SearchPagesObserver = null;
                    pages[k] = read;
                }

                // Each case paged to its end as the server pages it (pages of 20 asked as 21, the window of 5,000, and the
                // core's token rules: after the page's last hit, or below the store's cut): how many requests, the most
                // database pages one of them read, and all of them (counts, not timings).
                var requests = new int[cases.Length];
                var mostPages = new long[cases.Length];
                var allPages = new long[cases.Length];
                for (var k = 0; k < cases.Length; k++)
                {
                    long read = 0;
                    store.SearchPagesObserver = p => read = p;
                    var (total, made) = await PageToEndAsync(store, cases[k].Conversation, cases[k].Word, () =>
                    {
                        mostPages[k] = Math.Max(mostPages[k], read);
                        allPages[k] += read;
                    });
                    store.SearchPagesObserver = null;
                    requests[k] = made;
                    if (total != hits[k])
                    {
                        throw new InvalidOperationException($"{cases[k].Name}: paged to its end, {total} hits, want {hits[k]}");
                    }
                }

                var samples = cases.Select(_ => new List<double>(queries)).ToArray();
                for (var round = -3; round < queries; round++)
                {
                    for (var k = 0; k < cases.Length; k++)
                    {
                        var start = Stopwatch.GetTimestamp();
                        await store.SearchAsync(Reader, cases[k].Conversation, cases[k].Word, null, 20, maxScanned: 5000);
                        if (round >= 0)
                        {
                            samples[k].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                        }
                    }
                }

                var cpu = new double[cases.Length];
                for (var k = 0; k < cases.Length; k++)
                {
                    var block = Math.Max(20, queries);
                    var before = Process.GetCurrentProcess().TotalProcessorTime;
                    for (var n = 0; n < block; n++)
                    {
                        await store.SearchAsync(Reader, cases[k].Conversation, cases[k].Word, null, 20, maxScanned: 5000);
                    }

                    cpu[k] = (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / block;
                }

                Console.WriteLine($"{"case",-14} {"reader's hits",13} {"page",5} {"pages read",11} {"queries",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"mean ms",8} {"cpu ms/query",13} {"to end: requests",17} {"most pages",11} {"all pages",10}");
                for (var k = 0; k < cases.Length; k++)
                {
                    var s = samples[k].Order().ToArray();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases[k].Name,-14} {hits[k],13} {found[k],5} {pages[k],11} {s.Length,8} {SearchLatency.Percentile(s, 0.50),8:F2} {SearchLatency.Percentile(s, 0.99),8:F2} {s[^1],8:F2} {s.Average(),8:F2} {cpu[k],13:F2} {requests[k],17} {mostPages[k],11} {allPages[k],10}"));
                }
            }
        }
    }
}
