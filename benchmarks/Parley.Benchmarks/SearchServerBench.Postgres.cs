using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Npgsql;
using NpgsqlTypes;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using Parley.Storage.Postgres;

namespace Parley.Benchmarks;

/// <summary>
/// <c>search-postgres --postgres CONNECTION --database D --messages N [--queries Q] [--build-only true] [--to-end false] [--drop true]</c>
/// (issue 18): the corpus of <see cref="SearchServerBench"/> in a PostgreSQL database of its own, then the six cases through
/// <see cref="PostgresMessageStore.SearchAsync"/> in this process. The build: the schema (every migration) and the 10,000
/// conversations through the store, then the messages and their search rows by binary COPY (the rows the store writes:
/// message row with its protobuf content, search row with body and server time) with every index of the two tables
/// dropped before and created again after from their own definitions (each built once by a sort, not row by row), the conversations' heads raised, ANALYZE. The measure: for the first page of each case, every statement the store
/// ran, run again under <c>EXPLAIN (ANALYZE, BUFFERS)</c> with its planner settings (shared buffers hit + read, and the
/// rows its scans read: returned plus removed by a filter or a recheck; counts, not timings); each case paged to its end
/// (requests, hits checked against the corpus); p50/p99 of the first page over Q interleaved rounds and this process's CPU.
/// </summary>
public static partial class SearchServerBench
{
    public static async Task<int> RunPostgresAsync(string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        if (!o.TryGetValue("postgres", out var admin) || !o.TryGetValue("database", out var name))
        {
            Console.Error.WriteLine("search-postgres: --postgres CONNECTION and --database NAME are required");
            return 2;
        }

        var messages = o.TryGetValue("messages", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 1_000_000;
        var queries = o.TryGetValue("queries", out var q) ? int.Parse(q, CultureInfo.InvariantCulture) : 100;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# Parley.Benchmarks search-postgres --database {name} --messages {messages} --queries {queries}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cpu(s), .NET {Environment.Version}, load average {SearchLatency.LoadAverage()}"));

        if (o.GetValueOrDefault("drop") == "true")
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
            Console.WriteLine($"# dropped database {name}");
            return 0;
        }

        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = name } } };
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
                await create.ExecuteNonQueryAsync();
            }
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ToString();
        var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = connectionString, Durable = false });
        await using (database.ConfigureAwait(false))
        {
            var store = new PostgresMessageStore(database);
            await store.InitializeAsync();
            var hits = await BuildPostgresAsync(database, store, messages);
            await using (var connection = await database.OpenAsync())
            {
                await using var size = new NpgsqlCommand("SELECT pg_database_size(current_database()), pg_total_relation_size('messages'), pg_total_relation_size('message_search')", connection);
                await using var reader = await size.ExecuteReaderAsync();
                await reader.ReadAsync();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# database {name}: {messages:N0} messages, {reader.GetInt64(0) / 1e6:F0} MB (messages {reader.GetInt64(1) / 1e6:F0} MB, message_search {reader.GetInt64(2) / 1e6:F0} MB with its indexes), load average {SearchLatency.LoadAverage()}"));
            }

            if (o.GetValueOrDefault("build-only") != "true")
            {
                await MeasurePostgresAsync(database, store, queries, hits, o.GetValueOrDefault("to-end") != "false");
            }
        }

        Console.WriteLine($"# done, load average {SearchLatency.LoadAverage()}");
        return 0;
    }

    // The corpus's hits for each case, from Describe (what the corpus puts there).
    private static int[] CorpusHits(int messages)
    {
        var cases = Cases();
        var hits = new int[cases.Length];
        var three = ReaderConversation(3);
        for (var i = 0; i < messages; i++)
        {
            var (reader, c, _, text) = Describe(i, messages);
            if (!reader)
            {
                continue;
            }

            for (var k = 0; k < cases.Length; k++)
            {
                if ((cases[k].Conversation is null || (cases[k].Conversation == three && c == 3)) && text.Contains(cases[k].Word, StringComparison.Ordinal))
                {
                    hits[k]++;
                }
            }
        }

        return hits;
    }

    private static async Task<int[]> BuildPostgresAsync(PostgresDatabase database, PostgresMessageStore store, int messages)
    {
        var hits = CorpusHits(messages);
        await using var connection = await database.OpenAsync();
        async Task<long> ScalarAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        async Task ExecuteAsync(string sql)
        {
            var clock = Stopwatch.StartNew();
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
            await command.ExecuteNonQueryAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#   {clock.Elapsed.TotalSeconds,7:F1} s  {sql.Split('\n')[0]}"));
        }

        var stored = await ScalarAsync("SELECT count(*) FROM message_search");
        if (stored == messages)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# database reused ({messages:N0} messages)"));
            return hits;
        }

        if (stored != 0)
        {
            throw new InvalidOperationException($"search-postgres: the database holds {stored} search rows, not 0 or {messages}: drop it first (--drop true)");
        }

        var total = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        if (await ScalarAsync("SELECT count(*) FROM conversations") == 0)
        {
            await store.CommitAsync(Conversations());
        }

        // Every index of both tables, dropped now and created again after the load (sorted builds instead of 10M random
        // inserts into B-trees larger than the buffer cache): the constraints' (primary key, unique) by ALTER TABLE, the
        // others by their own definitions.
        var constraints = new List<(string Table, string Name, string Definition)>();
        await using (var list = new NpgsqlCommand(
            """
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.relname IN ('messages', 'message_search') AND t.relnamespace = to_regnamespace(current_schema()) AND c.contype IN ('p', 'u')
            """,
            connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                constraints.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        var indexes = new List<(string Name, string Definition)>();
        await using (var list = new NpgsqlCommand(
            """
            SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname IN ('messages', 'message_search') AND t.relnamespace = to_regnamespace(current_schema())
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
            """,
            connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                indexes.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        foreach (var (index, _) in indexes)
        {
            await ExecuteAsync($"DROP INDEX \"{index}\"");
        }

        foreach (var (table, constraint, _) in constraints)
        {
            await ExecuteAsync($"ALTER TABLE \"{table}\" DROP CONSTRAINT \"{constraint}\"");
        }

        var copy = Stopwatch.StartNew();
        var ids = new string[ReaderConversations + OtherConversations];
        for (var c = 0; c < ReaderConversations; c++)
        {
            ids[c] = ReaderConversation(c);
        }

        for (var c = 0; c < OtherConversations; c++)
        {
            ids[ReaderConversations + c] = OtherConversation(c);
        }

        var seqs = new long[ids.Length];
        var content = new Content { Text = new TextContent() };
        var kind = (int)Content.BodyOneofCase.Text;
        const long FirstVersion = 10_001;
        await using (var messagesCopy = await connection.BeginBinaryImportAsync(
            "COPY messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version, reply_to_seq) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < messages; i++)
            {
                var (readerConversation, c, sender, text) = Describe(i, messages);
                var slot = readerConversation ? c : ReaderConversations + c;
                var id = i.ToString(CultureInfo.InvariantCulture);
                content.Text.Text = text;
                await messagesCopy.StartRowAsync();
                await messagesCopy.WriteAsync(ids[slot], NpgsqlDbType.Text);
                await messagesCopy.WriteAsync(++seqs[slot], NpgsqlDbType.Bigint);
                await messagesCopy.WriteAsync("srv-" + id, NpgsqlDbType.Text);
                await messagesCopy.WriteAsync(sender, NpgsqlDbType.Text);
                await messagesCopy.WriteAsync("cm-" + id, NpgsqlDbType.Text);
                await messagesCopy.WriteAsync(1_790_000_000_000L + i, NpgsqlDbType.Bigint);
                await messagesCopy.WriteAsync(kind, NpgsqlDbType.Integer);
                await messagesCopy.WriteAsync(content.ToByteArray(), NpgsqlDbType.Bytea);
                await messagesCopy.WriteAsync(false, NpgsqlDbType.Boolean);
                await messagesCopy.WriteAsync(FirstVersion + i, NpgsqlDbType.Bigint);
                await messagesCopy.WriteAsync(0L, NpgsqlDbType.Bigint);
                if ((i + 1) % 1_000_000 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#   messages: {i + 1:N0} copied, {copy.Elapsed.TotalSeconds:F0} s, load average {SearchLatency.LoadAverage()}"));
                }
            }

            await messagesCopy.CompleteAsync();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# messages copied: {copy.Elapsed.TotalSeconds:F0} s"));
        Array.Clear(seqs);
        copy.Restart();
        await using (var searchCopy = await connection.BeginBinaryImportAsync("COPY message_search (conversation_id, seq, server_time, body) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < messages; i++)
            {
                var (readerConversation, c, _, text) = Describe(i, messages);
                var slot = readerConversation ? c : ReaderConversations + c;
                await searchCopy.StartRowAsync();
                await searchCopy.WriteAsync(ids[slot], NpgsqlDbType.Text);
                await searchCopy.WriteAsync(++seqs[slot], NpgsqlDbType.Bigint);
                await searchCopy.WriteAsync(1_790_000_000_000L + i, NpgsqlDbType.Bigint);
                await searchCopy.WriteAsync(text, NpgsqlDbType.Text);
            }

            await searchCopy.CompleteAsync();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# search rows copied: {copy.Elapsed.TotalSeconds:F0} s, load average {SearchLatency.LoadAverage()}"));
        await ExecuteAsync("SET maintenance_work_mem = '512MB'");
        foreach (var (table, constraint, definition) in constraints)
        {
            await ExecuteAsync($"ALTER TABLE \"{table}\" ADD CONSTRAINT \"{constraint}\" {definition}");
        }

        foreach (var (_, definition) in indexes)
        {
            await ExecuteAsync(definition);
        }

        await ExecuteAsync(
            """
            UPDATE conversations c SET max_seq = h.max_seq, last_seq = h.max_seq, updated_at = h.last_time, head_version = h.max_version
            FROM (SELECT conversation_id, max(seq) AS max_seq, max(server_time) AS last_time, max(version) AS max_version FROM messages GROUP BY conversation_id) h
            WHERE c.conversation_id = h.conversation_id
            """);
        await ExecuteAsync("ANALYZE");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# database built in {total.Elapsed.TotalSeconds:F0} s wall, {cpu.TotalSeconds:F0} s CPU of this process (PostgreSQL's own not included), load average {SearchLatency.LoadAverage()}"));
        return hits;
    }

    private static async Task MeasurePostgresAsync(PostgresDatabase database, PostgresMessageStore store, int queries, int[] hits, bool toEnd)
    {
        var cases = Cases();

        // The first page of each case: every statement the store ran, under EXPLAIN (ANALYZE, BUFFERS).
        var statements = new List<(string Settings, string Sql, NpgsqlParameter[] Parameters)>();
        store.SearchStatementObserver = (settings, sql, parameters) => statements.Add((settings, sql, parameters));
        var found = new int[cases.Length];
        var plans = new List<string>();
        var buffers = new long[cases.Length];
        var rowsRead = new long[cases.Length];
        var statementCount = new int[cases.Length];
        for (var k = 0; k < cases.Length; k++)
        {
            statements.Clear();
            found[k] = (await store.SearchAsync(Reader, cases[k].Conversation, cases[k].Word, null, 20, maxScanned: 5000)).Count;
            statementCount[k] = statements.Count;
            foreach (var (settings, sql, parameters) in statements.ToArray())
            {
                var (b, r, text) = await ExplainAsync(database, settings, sql, parameters);
                buffers[k] += b;
                rowsRead[k] += r;
                plans.Add($"## {cases[k].Name}: {b} buffers, {r} rows read\n{text}");
            }
        }

        store.SearchStatementObserver = null;
        var planFile = Path.Combine(Path.GetTempPath(), "edge-pg-plans.txt");
        await File.WriteAllLinesAsync(planFile, plans);
        Console.WriteLine($"# plans: {planFile}");

        // Each case paged to its end as the server pages it (pages of 20 asked as 21, the window of 5,000).
        var requests = new int[cases.Length];
        for (var k = 0; k < (toEnd ? cases.Length : 0); k++)
        {
            (var total, requests[k]) = await PageToEndAsync(store, cases[k].Conversation, cases[k].Word);
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

        Console.WriteLine($"{"case",-14} {"reader's hits",13} {"page",5} {"statements",10} {"buffers",8} {"rows read",10} {"queries",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"to end: requests",17}");
        for (var k = 0; k < cases.Length; k++)
        {
            var s = samples[k].Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases[k].Name,-14} {hits[k],13} {found[k],5} {statementCount[k],10} {buffers[k],8} {rowsRead[k],10} {s.Length,8} {SearchLatency.Percentile(s, 0.50),8:F2} {SearchLatency.Percentile(s, 0.99),8:F2} {s[^1],8:F2} {requests[k],17}"));
        }
    }

    // One statement under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) in a transaction with its planner settings: shared buffers
    // hit and read (the top node's, which include its children's), and the rows its scans read (every scan node's rows
    // returned plus those a filter or a recheck removed, times its loops).
    private static async Task<(long Buffers, long Rows, string Text)> ExplainAsync(PostgresDatabase database, string settings, string sql, NpgsqlParameter[] parameters)
    {
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var set = new NpgsqlCommand(settings, connection, transaction))
        {
            await set.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql.TrimEnd().TrimEnd(';'), connection, transaction);
        foreach (var p in parameters)
        {
            explain.Parameters.Add(p.Clone());
        }

        var json = (string)(await explain.ExecuteScalarAsync())!;
        await transaction.RollbackAsync();
        using var document = JsonDocument.Parse(json);
        var plan = document.RootElement[0].GetProperty("Plan");
        var buffers = plan.GetProperty("Shared Hit Blocks").GetInt64() + plan.GetProperty("Shared Read Blocks").GetInt64();
        long rows = 0;
        var lines = new List<string>();
        void Walk(JsonElement node, int depth)
        {
            var type = node.GetProperty("Node Type").GetString()!;
            var loops = node.GetProperty("Actual Loops").GetInt64();
            var returned = (long)node.GetProperty("Actual Rows").GetDouble();
            var removed = (node.TryGetProperty("Rows Removed by Filter", out var f) ? (long)f.GetDouble() : 0)
                + (node.TryGetProperty("Rows Removed by Index Recheck", out var r) ? (long)r.GetDouble() : 0);
            if (type.Contains("Scan", StringComparison.Ordinal) && !type.StartsWith("Bitmap Index", StringComparison.Ordinal))
            {
                rows += (returned + removed) * loops;
            }

            var index = node.TryGetProperty("Index Name", out var i) ? " on " + i.GetString() : string.Empty;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{new string(' ', depth * 2)}{type}{index}: rows {returned} x {loops} loops, removed {removed}, buffers {node.GetProperty("Shared Hit Blocks").GetInt64() + node.GetProperty("Shared Read Blocks").GetInt64()}"));
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    Walk(child, depth + 1);
                }
            }
        }

        Walk(plan, 0);
        return (buffers, rows, string.Join('\n', lines));
    }
}
