using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// Issue 18's search latency through the real server: <c>search-server --messages 10000000 --dir /tmp/x --server
/// path/to/Parley.Server.dll [--queries 200] [--server-cpus 0] [--build store [--batch 50000]] [--build-only true]</c>.
/// With <c>--build store</c> the store is built through the store layer in big transactions (<see cref="BuildThroughStoreAsync"/>,
/// resumable) instead of the SQL bulk insert and upgrade below; with <c>--build bulk [--batch 1000000]</c> the same store is
/// bulk-loaded (SearchServerBench.Bulk.cs: the 10M store in minutes, proven equal to the store's by <c>search-store-check</c>);
/// <c>--build-only true</c> stops after the build and its check; <c>--reindex true</c> times migration 27's reindex on the
/// built store (<see cref="ReindexAsync"/>); <c>--measure store [--allowance rows]</c> times the store's search in this
/// process (and counts the database pages each case reads) instead of through the server, with the store's row allowance
/// (<see cref="SqliteStoreOptions.SearchRowAllowance"/>) when given; <c>--merge PAGES</c> merges the built store's index by
/// the store's background step first (SearchServerBench.Merge.cs).
/// <list type="number">
/// <item>Builds (once; kept in <c>--dir</c> for the next run) a SQLite store of <c>messages</c> 1:1 text messages: a tenth of
/// them in the reader's 100 conversations, the rest in 9,900 conversations of other users. Conversations and members go
/// through <see cref="SqliteMessageStore.CommitAsync"/>; the messages are bulk-inserted with SQL exactly as the store writes
/// them (message row with its protobuf content) together with their search text in the FTS5 index as SQLite migration 26
/// left it (no conversation key column), half a million per transaction; then the store is opened again, which applies
/// migration 27 (the index rebuilt with its conversation keys): the upgrade an existing store goes through, timed (wall
/// and CPU). Marker words hit known counts: <c>zqxnone</c> 0,
/// <c>zqxten</c> 10 and <c>zqxmany</c> 10,000 of the reader's messages; <c>zqxelse</c> 1 in 90 of the other users'
/// messages and 10 of the reader's (a word common elsewhere). The counts are checked after the build.</item>
/// <item>Starts the server on that store (<c>Parley:Storage:DataDirectory</c>), creates the reader's account and token
/// through the admin API, connects with the C# SDK and times <see cref="ParleyClient.SearchAsync"/> (first page of 20,
/// newest first): each word across all the reader's conversations, and two words in one conversation; the cases run
/// interleaved, one of each per round, after a warm-up; then the server's CPU time per query, per case, in blocks.</item>
/// </list>
/// </summary>
public static partial class SearchServerBench
{
    public const string Reader = "reader-0001";
    public const int ReaderConversations = 100;
    public const int OtherConversations = 9_900;
    public const string None = "zqxnone";
    public const string Ten = "zqxten";
    public const string Many = "zqxmany";
    public const string Else = "zqxelse";

    private const int Block = 500_000;
    private static readonly string[] Filler = ["meeting", "budget", "lunch", "report", "明天开会", "预算讨论", "travel", "invoice", "deadline", "review"];

    public static string ReaderConversation(int c) => Parley.Protocol.Ids.DirectConversationId(Reader, "peer-" + c.ToString("D4", CultureInfo.InvariantCulture));

    private static string OtherConversation(int c) => Parley.Protocol.Ids.DirectConversationId(
        "user-" + (2 * c).ToString("D5", CultureInfo.InvariantCulture), "user-" + ((2 * c) + 1).ToString("D5", CultureInfo.InvariantCulture));

    public static async Task<int> RunAsync(string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        var messages = o.TryGetValue("messages", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 1_000_000;
        var dir = o.TryGetValue("dir", out var d) ? d : Path.Combine(Path.GetTempPath(), "parley-search-server");
        var queries = o.TryGetValue("queries", out var q) ? int.Parse(q, CultureInfo.InvariantCulture) : 200;
        if (queries < 1)
        {
            // Every case needs a sample for its percentiles, max and mean (0 used to end in an IndexOutOfRangeException).
            Console.Error.WriteLine("search-server: --queries must be at least 1");
            return 2;
        }

        if (!o.TryGetValue("server", out var serverDll) && o.GetValueOrDefault("build-only") != "true" && o.GetValueOrDefault("measure") != "store")
        {
            Console.Error.WriteLine("search-server: --server path/to/Parley.Server.dll is required");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# Parley.Benchmarks search-server {string.Join(' ', args)}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cpu(s), {Environment.OSVersion}, .NET {Environment.Version}, load average {SearchLatency.LoadAverage()}"));
        var dataDir = Path.Combine(dir, "data");
        var file = Path.Combine(dataDir, "parley.db");
        if (o.GetValueOrDefault("build") == "store")
        {
            await BuildThroughStoreAsync(file, messages, o.TryGetValue("batch", out var batch) ? int.Parse(batch, CultureInfo.InvariantCulture) : 50_000);
        }
        else if (o.GetValueOrDefault("build") == "bulk")
        {
            await BuildBulkAsync(
                file,
                messages,
                o.TryGetValue("batch", out var batch) ? int.Parse(batch, CultureInfo.InvariantCulture) : 1_000_000,
                o.TryGetValue("fts-hash-mb", out var hash) ? int.Parse(hash, CultureInfo.InvariantCulture) : 256);
        }
        else
        {
            await BuildAsync(file, messages);
        }

        if (o.GetValueOrDefault("reindex") == "true")
        {
            await ReindexAsync(file, messages);
        }

        if (o.TryGetValue("merge", out var mergePages))
        {
            await MergeAsync(file, int.Parse(mergePages, CultureInfo.InvariantCulture));
        }

        var hits = await CountAsync(file, messages);
        var size = new DirectoryInfo(dataDir).GetFiles("parley.db*").Sum(f => f.Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store {dataDir}: {messages:N0} messages, {size / 1e6:F0} MB, load average {SearchLatency.LoadAverage()}"));
        if (o.GetValueOrDefault("build-only") == "true")
        {
            return 0;
        }

        if (o.GetValueOrDefault("measure") == "store")
        {
            await MeasureStoreAsync(file, queries, hits, o.TryGetValue("allowance", out var allowance) ? int.Parse(allowance, CultureInfo.InvariantCulture) : null);
        }
        else
        {
            await MeasureAsync(serverDll!, dataDir, o.GetValueOrDefault("server-cpus"), queries, hits);
        }

        Console.WriteLine($"# done, load average {SearchLatency.LoadAverage()}");
        return 0;
    }

    private static async Task BuildAsync(string file, int messages)
    {
        if (IsBuilt(file, messages, out var marker))
        {
            return;
        }

        // A store built up to migration 26 (the marker below) is upgraded without being built again.
        var built = file + ".v26-" + messages.ToString(CultureInfo.InvariantCulture);
        if (!(File.Exists(file) && File.Exists(built)))
        {
            await BuildV26Async(file, messages);
            await File.WriteAllTextAsync(built, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        }

        await UpgradeAsync(file, messages);
        await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
    }

    private static async Task BuildV26Async(string file, int messages)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        foreach (var stale in Directory.GetFiles(Path.GetDirectoryName(file)!))
        {
            File.Delete(stale);
        }

        var clock = Stopwatch.StartNew();
        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = file });
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                await store.CommitAsync(Conversations());
                long version = ReaderConversations + OtherConversations;

                // The store as SQLite migration 26 left it (what an upgrade starts from): the FTS5 index without the
                // conversation key column, migration 27 not applied. The next open runs migration 27 (timed below).
                using (var downgrade = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
                {
                    downgrade.Open();
                    using var command = downgrade.CreateCommand();
                    command.CommandText = """
                        DROP TABLE message_search;
                        CREATE VIRTUAL TABLE message_search USING fts5(body, conversation_id UNINDEXED, seq UNINDEXED, tokenize = 'trigram');
                        DELETE FROM schema_migrations WHERE version = 27;
                        """;
                    command.ExecuteNonQuery();
                }

                using var bulk = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
                bulk.Open();
                using (var pragma = bulk.CreateCommand())
                {
                    pragma.CommandText = "PRAGMA cache_size = -1000000; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 60000;";
                    pragma.ExecuteNonQuery();
                }

                var readerSeqs = new long[ReaderConversations];
                var otherSeqs = new long[OtherConversations];
                for (var start = 0; start < messages; start += Block)
                {
                    using (var transaction = bulk.BeginTransaction())
                    {
                        using var insert = bulk.CreateCommand();
                        insert.Transaction = transaction;
                        insert.CommandText = $"""
                            INSERT INTO messages (conv_key, seq, server_msg_id, sender_id, client_msg_id, server_time, content_kind, content, revoked, version,
                                                  annotations, reply_to_seq, search_id)
                            VALUES ({Parley.Storage.Sqlite.Internal.SqliteRows.ConvKey}, $seq, $smid, $sender, $cmid, $time, $kind, $content, 0, $version, NULL, 0, $version);
                            INSERT INTO message_search (rowid, body, conversation_id, seq) VALUES ($version, $body, $conv, $seq);
                            """;
                        var pConv = insert.Parameters.Add("$conv", SqliteType.Text);
                        var pSeq = insert.Parameters.Add("$seq", SqliteType.Integer);
                        var pSmid = insert.Parameters.Add("$smid", SqliteType.Text);
                        var pSender = insert.Parameters.Add("$sender", SqliteType.Text);
                        var pCmid = insert.Parameters.Add("$cmid", SqliteType.Text);
                        var pTime = insert.Parameters.Add("$time", SqliteType.Integer);
                        var pKind = insert.Parameters.Add("$kind", SqliteType.Integer);
                        var pContent = insert.Parameters.Add("$content", SqliteType.Blob);
                        var pVersion = insert.Parameters.Add("$version", SqliteType.Integer);
                        var pBody = insert.Parameters.Add("$body", SqliteType.Text);
                        pKind.Value = (int)Content.BodyOneofCase.Text;
                        insert.Prepare();
                        for (var i = start; i < Math.Min(messages, start + Block); i++)
                        {
                            var (readerConversation, c, sender, text) = Describe(i, messages);
                            var conversation = readerConversation ? ReaderConversation(c) : OtherConversation(c);
                            var seq = readerConversation ? ++readerSeqs[c] : ++otherSeqs[c];
                            var id = i.ToString(CultureInfo.InvariantCulture);
                            pConv.Value = conversation;
                            pSeq.Value = seq;
                            pSmid.Value = "srv-" + id;
                            pSender.Value = sender;
                            pCmid.Value = "cm-" + id;
                            pTime.Value = 1_790_000_000_000L + i;
                            pContent.Value = new Content { Text = new TextContent { Text = text } }.ToByteArray();
                            pVersion.Value = ++version;
                            pBody.Value = text;
                            insert.ExecuteNonQuery();
                        }

                        transaction.Commit();
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store: {Math.Min(messages, start + Block):N0} of {messages:N0} inserted and indexed (migration 26's index), {clock.Elapsed.TotalSeconds:F0} s, load average {SearchLatency.LoadAverage()}"));
                }

                using (var finish = bulk.CreateCommand())
                {
                    // What the store keeps in step with the messages: the feed's max version, each conversation's max seq.
                    finish.CommandText = """
                        UPDATE feed_state SET max_version = $version WHERE id = 1;
                        UPDATE conversations SET max_seq = coalesce((SELECT MAX(seq) FROM messages m WHERE m.conv_key = conversations.conv_key), 0),
                                                 last_seq = coalesce((SELECT MAX(seq) FROM messages m WHERE m.conv_key = conversations.conv_key), 0);
                        """;
                    finish.Parameters.AddWithValue("$version", version);
                    finish.ExecuteNonQuery();
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store built in {clock.Elapsed.TotalSeconds:F0} s"));
            }
        }

        SqliteConnection.ClearAllPools();
    }

    /// <summary>
    /// The same corpus as <see cref="BuildV26Async"/>, written through the store layer in big transactions: the
    /// conversations and then the messages (with their search texts) committed by <see cref="SqliteMessageStore.CommitAsync"/>
    /// <c>--batch</c> at a time (default 50,000), each batch's queued texts moved into the FTS5 index by the store's own
    /// indexer (<see cref="SqliteMessageStore.IndexPendingAsync"/>) before the next; the store at the current schema (no
    /// upgrade timed). Resumable: a stopped build continues after its last committed batch.
    /// </summary>
    private static async Task BuildThroughStoreAsync(string file, int messages, int batchSize = 50_000)
    {
        if (await StartBuildAsync(file, messages, "building") is not (string marker, string building))
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = file, Durable = false, Synchronous = SqliteSynchronous.Normal, WriterCacheSizeKb = 1_000_000 });
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                var version = await store.GetMaxVersionAsync();
                if (version == 0)
                {
                    await store.CommitAsync(Conversations());
                    version = ReaderConversations + OtherConversations;
                }

                // Resume: every committed message took one version after the conversations'.
                var done = (int)(version - ReaderConversations - OtherConversations);
                var readerSeqs = new long[ReaderConversations];
                var otherSeqs = new long[OtherConversations];
                if (done > 0)
                {
                    using var read = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                    read.Open();
                    using var command = read.CreateCommand();
                    command.CommandText = "SELECT conversation_id, max_seq FROM conversations;";
                    var index = Enumerable.Range(0, ReaderConversations).ToDictionary(ReaderConversation, c => -1 - c, StringComparer.Ordinal);
                    for (var c = 0; c < OtherConversations; c++)
                    {
                        index[OtherConversation(c)] = c;
                    }

                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        if (index.TryGetValue(reader.GetString(0), out var c))
                        {
                            if (c < 0)
                            {
                                readerSeqs[-1 - c] = reader.GetInt64(1);
                            }
                            else
                            {
                                otherSeqs[c] = reader.GetInt64(1);
                            }
                        }
                    }

                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store: resuming after {done:N0} messages"));
                }

                var content = new Content { Text = new TextContent() };
                for (var start = done; start < messages; start += batchSize)
                {
                    var batch = new CommitBatch();
                    for (var i = start; i < Math.Min(messages, start + batchSize); i++)
                    {
                        var (readerConversation, c, sender, text) = Describe(i, messages);
                        var conversation = readerConversation ? ReaderConversation(c) : OtherConversation(c);
                        var seq = readerConversation ? ++readerSeqs[c] : ++otherSeqs[c];
                        var id = i.ToString(CultureInfo.InvariantCulture);
                        content.Text.Text = text;
                        batch.Messages.Add(new StoredMessage(conversation, seq, "srv-" + id, sender, "cm-" + id, 1_790_000_000_000L + i, (int)Content.BodyOneofCase.Text, content.ToByteArray(), false, ++version)
                        {
                            SearchText = text,
                        });
                    }

                    await store.CommitAsync(batch);
                    while (await store.IndexPendingAsync(batchSize) == batchSize)
                    {
                    }

                    var end = Math.Min(messages, start + batchSize);
                    if (end % 500_000 == 0 || end == messages)
                    {
                        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store: {end:N0} of {messages:N0} committed and indexed through the store, {clock.Elapsed.TotalSeconds:F0} s wall, {cpu.TotalSeconds:F0} s CPU, load average {SearchLatency.LoadAverage()}"));
                    }
                }
            }
        }

        SqliteConnection.ClearAllPools();
        File.Delete(building);
        await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        var total = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# store built through the store layer in {clock.Elapsed.TotalSeconds:F0} s wall, {total.TotalSeconds:F0} s CPU (this run)"));
    }

    // A resumable build of that many messages: null when one was built to the end before (its marker file; the store is
    // used again). Else the marker to write when it ends and the file that says a build of this kind is under way: a build
    // not under way starts from an empty directory; one under way (stopped) resumes.
    private static async Task<(string Marker, string Building)?> StartBuildAsync(string file, int messages, string kind)
    {
        if (IsBuilt(file, messages, out var marker))
        {
            return null;
        }

        var building = file + "." + kind + "-" + messages.ToString(CultureInfo.InvariantCulture);
        if (!File.Exists(building))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            foreach (var stale in Directory.GetFiles(Path.GetDirectoryName(file)!))
            {
                File.Delete(stale);
            }

            await File.WriteAllTextAsync(building, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        }

        return (marker, building);
    }

    // A store of that many messages built to the end before (its marker file) is used again.
    private static bool IsBuilt(string file, int messages, out string marker)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messages, 100_000);
        marker = file + ".complete-" + messages.ToString(CultureInfo.InvariantCulture);
        if (File.Exists(file) && File.Exists(marker))
        {
            Console.WriteLine($"# store reused ({marker})");
            return true;
        }

        return false;
    }

    private static (string A, string B) OtherPair(int c) =>
        ("user-" + (2 * c).ToString("D5", CultureInfo.InvariantCulture), "user-" + ((2 * c) + 1).ToString("D5", CultureInfo.InvariantCulture));

    // The i-th message of the corpus: whose conversation (the reader's or another pair's, by index), its sender and text.
    // A tenth are the reader's; the marker words as described on the class.
    private static (bool Reader, int Conversation, string Sender, string Text) Describe(int i, int messages)
    {
        var readerTotal = messages / 10;
        var tenEvery = readerTotal / 10;
        var manyEvery = readerTotal / 10_000;
        var text = string.Create(CultureInfo.InvariantCulture, $"{Filler[i % Filler.Length]} {Filler[i / 7 % Filler.Length]} note {i}");
        if (i % 10 == 0)
        {
            var r = i / 10;
            var c = (int)((r + (r / 97L)) % ReaderConversations);
            var sender = r % 2 == 0 ? Reader : "peer-" + c.ToString("D4", CultureInfo.InvariantCulture);
            text += (r % tenEvery == 5 ? " " + Ten : string.Empty) + (r % manyEvery == 3 ? " " + Many : string.Empty) + (r % tenEvery == 7 ? " " + Else : string.Empty);
            return (true, c, sender, text);
        }

        var other = i % OtherConversations;
        return (false, other, "user-" + ((2 * other) + (i % 2)).ToString("D5", CultureInfo.InvariantCulture), text + (i % 90 == 1 ? " " + Else : string.Empty));
    }

    /// <summary>
    /// <c>--reindex true</c>: migration 27's reindex timed on a built store (one the bulk loader or the store wrote, already
    /// at the current schema): its record is removed, so the store's start-up runs it again as on an upgrade: a new FTS5
    /// index built from the old one's rows (body, conversation id, seq; the conversation keys computed by the store's
    /// function), in one transaction, then the old index dropped. The one difference from a store of migration 26: the old
    /// index dropped also holds the conversation key column's entries (one trigram per message more to free).
    /// </summary>
    private static async Task ReindexAsync(string file, int messages)
    {
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM schema_migrations WHERE version = 27;";
            command.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        await UpgradeAsync(file, messages);
    }

    private static async Task UpgradeAsync(string file, int messages)
    {
        // The upgrade: the store's own start-up applies migration 27 (the FTS5 index rebuilt with its conversation keys,
        // one transaction), as the server's would. Wall and process CPU time.
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        var upgrade = Stopwatch.StartNew();
        var upgraded = new SqliteDatabase(new SqliteStoreOptions { DataSource = file });
        await using (upgraded.ConfigureAwait(false))
        {
            await upgraded.InitializeAsync();
        }

        upgrade.Stop();
        SqliteConnection.ClearAllPools();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - before;
        var size = new DirectoryInfo(Path.GetDirectoryName(file)!).GetFiles("parley.db*").Sum(f => f.Length);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# migration 27 (reindex of {messages:N0} messages): {upgrade.Elapsed.TotalSeconds:F1} s wall, {cpu.TotalSeconds:F1} s CPU, store {size / 1e6:F0} MB after, load average {SearchLatency.LoadAverage()}"));
    }

    // The cases: each word across all the reader's conversations, and the two common ones in one conversation.
    private static (string Name, string Word, string? Conversation)[] Cases() =>
    [
        ("all " + None, None, null),
        ("all " + Ten, Ten, null),
        ("all " + Many, Many, null),
        ("all " + Else, Else, null),
        ("one " + Many, Many, ReaderConversation(3)),
        ("one " + Else, Else, ReaderConversation(3)),
    ];

    // Every case's hits for the reader, through the store without a scan limit (paged through), checked against what the
    // corpus puts there.
    private static async Task<int[]> CountAsync(string file, int messages)
    {
        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = file });
        await using (database.ConfigureAwait(false))
        {
            var store = new SqliteMessageStore(database);
            await using (store.ConfigureAwait(false))
            {
                await store.InitializeAsync();
                var counts = new List<int>();
                foreach (var (_, word, conversation) in Cases())
                {
                    var count = 0;
                    SearchPosition? after = null;
                    while (true)
                    {
                        var page = await store.SearchAsync(Reader, conversation, word, after, 1000);
                        count += page.Count;
                        if (page.Count == 1000)
                        {
                            var last = page[^1].Message;
                            after = new SearchPosition(last.ServerTime, last.ConversationId, last.Seq);
                        }
                        else if (page.ContinueBelow is { } below)
                        {
                            // Past the store's row allowance (a word common in other users' messages): on below it.
                            after = below;
                        }
                        else
                        {
                            break;
                        }
                    }

                    counts.Add(count);
                }

                if (counts[0] != 0 || counts[1] != 10 || counts[2] != 10_000 || counts[3] != 10)
                {
                    throw new InvalidOperationException($"store: the marker words hit {string.Join(", ", counts)} of the reader's messages, want 0, 10, 10000, 10");
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# reader's hits checked: {string.Join(", ", Cases().Zip(counts, (c, n) => $"{c.Name} {n}"))}; {Else} also in {(messages - (messages / 10)) / 90:N0} other users' messages"));
                return [.. counts];
            }
        }
    }

    private static async Task MeasureAsync(string serverDll, string dataDir, string? cpus, int queries, int[] hits)
    {
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var dll = Path.GetFullPath(serverDll);
        var psi = new ProcessStartInfo
        {
            FileName = cpus is null ? "dotnet" : "/usr/bin/taskset",
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpus);
            psi.ArgumentList.Add("dotnet");
        }

        foreach (var a in new[] { dll, "--urls", url.ToString().TrimEnd('/') })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["Parley__Admin__Secret"] = secret;
        psi.Environment["Parley__Storage__DataDirectory"] = dataDir;
        psi.Environment["Parley__RateLimits__Enabled"] = "false";
        psi.Environment["Parley__Orleans__SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
        psi.Environment["Parley__Orleans__GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
        using var server = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the server");
        var log = Path.Combine(Path.GetDirectoryName(dataDir)!, $"server-{server.Id}.log");
        _ = Task.Run(async () =>
        {
            await using var writer = new StreamWriter(log);
            await writer.WriteAsync(await server.StandardOutput.ReadToEndAsync());
        });
        _ = Task.Run(async () =>
        {
            await using var writer = new StreamWriter(log + ".err");
            await writer.WriteAsync(await server.StandardError.ReadToEndAsync());
        });
        try
        {
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
            var ready = Stopwatch.StartNew();
            while (true)
            {
                if (server.HasExited)
                {
                    throw new InvalidOperationException($"the server exited ({server.ExitCode}); see {log}.err");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri("readyz", UriKind.Relative));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (ready.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new TimeoutException("the server did not become ready in 10 minutes");
                }

                await Task.Delay(200);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# server ready (pid {server.Id}{(cpus is null ? "" : ", cpus " + cpus)}) after {ready.Elapsed.TotalSeconds:F1} s"));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using (var created = await http.PostAsJsonAsync("admin/v1/users", new { userId = Reader, nickname = "reader" }))
            {
                if (created.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Conflict))
                {
                    throw new InvalidOperationException($"create user: {(int)created.StatusCode}");
                }
            }

            string token;
            using (var issued = await http.PostAsJsonAsync($"admin/v1/users/{Reader}/tokens", new { deviceId = "bench", platform = "linux" }))
            {
                issued.EnsureSuccessStatusCode();
                using var doc = await JsonDocument.ParseAsync(await issued.Content.ReadAsStreamAsync());
                token = doc.RootElement.GetProperty("token").GetString()!;
            }

            await using var client = new ParleyClient(new ParleyClientOptions
            {
                ServerUri = new Uri(url.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "ws"),
                Token = token,
                DeviceId = "bench",
                RequestTimeout = TimeSpan.FromMinutes(2), // a loaded machine: a slow search is a sample, not a failure
                ConnectTimeout = TimeSpan.FromMinutes(1),
            });
            await client.ConnectAsync();

            var cases = Cases();
            var samples = cases.Select(_ => new List<double>(queries)).ToArray();
            var pages = new int[cases.Length];
            for (var round = -5; round < queries; round++)
            {
                for (var k = 0; k < cases.Length; k++)
                {
                    var start = Stopwatch.GetTimestamp();
                    var result = await client.SearchAsync(cases[k].Word, cases[k].Conversation, limit: 20);
                    var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    pages[k] = result.Hits.Count;
                    if (round >= 0)
                    {
                        samples[k].Add(ms);
                    }
                }
            }

            // The server's CPU per query, each case in a block of its own (the process clock ticks in 10 ms steps).
            var cpu = new double[cases.Length];
            for (var k = 0; k < cases.Length; k++)
            {
                var block = Math.Max(20, queries / 2);
                server.Refresh();
                var before = server.TotalProcessorTime;
                for (var n = 0; n < block; n++)
                {
                    await client.SearchAsync(cases[k].Word, cases[k].Conversation, limit: 20);
                }

                server.Refresh();
                cpu[k] = (server.TotalProcessorTime - before).TotalMilliseconds / block;
            }

            // Each case paged to its end through the SDK (the page tokens, short and empty pages included): how many
            // requests, and every hit found once (checked against the store's count).
            var requests = new int[cases.Length];
            for (var k = 0; k < cases.Length; k++)
            {
                var found = 0;
                var next = string.Empty;
                do
                {
                    var page = await client.SearchAsync(cases[k].Word, cases[k].Conversation, next, limit: 20);
                    requests[k]++;
                    found += page.Hits.Count;
                    next = page.NextPageToken;
                }
                while (next.Length > 0);

                if (found != hits[k])
                {
                    throw new InvalidOperationException($"{cases[k].Name}: paged to its end through the server, {found} hits, want {hits[k]}");
                }
            }

            Console.WriteLine($"{"case",-14} {"reader's hits",13} {"page",5} {"queries",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"mean ms",8} {"server cpu ms/query",20} {"requests to end",16}");
            for (var k = 0; k < cases.Length; k++)
            {
                var s = samples[k].Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases[k].Name,-14} {hits[k],13} {pages[k],5} {s.Length,8} {SearchLatency.Percentile(s, 0.50),8:F2} {SearchLatency.Percentile(s, 0.99),8:F2} {s[^1],8:F2} {s.Average(),8:F2} {cpu[k],20:F2} {requests[k],16}"));
            }
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
    }

    private static SearchPosition Position(StoredMessage m) => new(m.ServerTime, m.ConversationId, m.Seq);

    /// <summary>
    /// Pages one case to its end as the server pages it (pages of 20 asked as 21, the window of 5,000, and the core's token
    /// rules: after the page's last hit, or below the store's cut), calling <paramref name="afterRequest"/> after each
    /// request; returns the hits counted and the requests made. Both stores' in-process measurements use it.
    /// </summary>
    private static async Task<(int Hits, int Requests)> PageToEndAsync(IMessageStore store, string? conversation, string word, Action? afterRequest = null)
    {
        var hits = 0;
        var requests = 0;
        SearchPosition? after = null;
        while (true)
        {
            var page = await store.SearchAsync(Reader, conversation, word, after, 21, maxScanned: 5000);
            requests++;
            afterRequest?.Invoke();
            hits += Math.Min(20, page.Count);
            if (page.Count > 20)
            {
                after = Position(page[19].Message);
            }
            else if (page.ContinueBelow is { } below)
            {
                after = below;
            }
            else if (page.ScanLimitReached && page.Count > 0)
            {
                after = Position(page[^1].Message);
            }
            else
            {
                return (hits, requests);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
