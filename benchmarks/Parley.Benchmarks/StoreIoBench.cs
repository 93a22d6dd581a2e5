using System.Diagnostics;
using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// <c>store-io [--pairs 500] [--users 0] [--prefill 100000] [--messages 20000] [--batch 16] [--rounds 3] [--variants "default;cache=65536"]</c>:
/// what the SQLite store reads and writes per 1:1 message, by SQLite setting. Each run commits text messages (with their
/// search text, as the server does by default, and the search indexer every 500 messages) to random conversations among
/// <c>pairs</c> two-member conversations, in batches of a fixed size, on a fresh durable file that first receives
/// <c>prefill</c> messages (so the file is larger than the default page cache, as a server's is after a while). It reports
/// per message the process's file and socket I/O from <c>/proc/self/io</c> (bytes and system calls; this process has no
/// sockets) and its CPU time. Bytes and calls per message do not depend on the machine's load at a fixed batch size, which
/// makes them comparable on a shared machine; CPU time does, and is reported only as a hint.
/// Variants are <c>;</c>-separated lists of <c>key=value</c> (<c>cache</c> KiB, <c>mmap</c> bytes, <c>ckpt</c> pages;
/// <c>schema=28</c>: the two member delta indexes as migration 28 left them, with the direct conversations' rows), run
/// interleaved per round.
/// <para>
/// <c>--users N</c> (issue 17, stop 42): 1:1 random pairs among N users instead, as the server's random-pair load: each
/// message goes to a pair drawn at random, and the first message of a pair opens its conversation in the same batch (the
/// conversation row, its key and both member rows), so most messages open a conversation until the pairs run out. Also
/// reported: the WAL frames the writer's commits wrote per message and the background checkpointer's own reads and writes
/// (its thread's <c>/proc</c> counters; the writer's are the rest), and the writer's catch-up checkpoints per 1,000
/// messages (each a pause of the writer: a short copy and the file's fsync).
/// </para>
/// </summary>
internal static class StoreIoBench
{
    private const string Text = "Lunch at the usual place tomorrow around 12:30? I will bring the report 00000000 we talked about";

    public static async Task<int> RunAsync(string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        int Int(string key, int fallback) => o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var pairs = Int("pairs", 500);
        var users = Int("users", 0);
        var prefill = Int("prefill", 100_000);
        var messages = Int("messages", 20_000);
        var batch = Int("batch", 16);
        var rounds = Int("rounds", 3);
        var variants = (o.TryGetValue("variants", out var vs) ? vs : "default").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Console.WriteLine($"# store-io: {(users > 0 ? $"random pairs among {users} users" : $"{pairs} pairs")}, prefill {prefill}, {messages} measured messages in batches of {batch}, {rounds} rounds, load {SearchLatency.LoadAverage()}");
        var results = new List<(string Variant, Run Run)>();
        for (var round = 1; round <= rounds; round++)
        {
            var order = round % 2 == 1 ? variants : [.. variants.Reverse()];
            foreach (var variant in order)
            {
                var run = await RunOnceAsync(variant, pairs, users, prefill, messages, batch);
                results.Add((variant, run));
                Console.WriteLine(Line($"r{round} {variant}", run) + $"  load {SearchLatency.LoadAverage()}");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"medians of {rounds} rounds:");
        Console.WriteLine(Header);
        foreach (var variant in variants)
        {
            var runs = results.Where(r => r.Variant == variant).Select(r => r.Run).ToList();
            double M(Func<Run, double> f) => Median([.. runs.Select(f)]);
            Console.WriteLine(Line(variant, new Run(M(r => r.ReadBytes), M(r => r.WriteBytes), M(r => r.Reads), M(r => r.Writes), M(r => r.CpuUs), M(r => r.WallP50Us), M(r => r.WallP99Us),
                M(r => r.Frames), M(r => r.CheckpointReadBytes), M(r => r.CheckpointWriteBytes), M(r => r.FileBytes), M(r => r.CatchUps))));
        }

        return 0;
    }

    private static readonly string Header =
        $"{"variant",-40} {"read B",8} {"write B",8} {"reads",6} {"writes",6} {"cpu us",7} {"p50 us",7} {"p99 us",7} {"frames",6} {"ckpt rB",8} {"ckpt wB",8} {"file B",7} {"catchups",8}";

    private static string Line(string label, Run r) => string.Create(
        CultureInfo.InvariantCulture,
        $"{label,-40} {r.ReadBytes,8:F0} {r.WriteBytes,8:F0} {r.Reads,6:F2} {r.Writes,6:F2} {r.CpuUs,7:F1} {r.WallP50Us,7:F0} {r.WallP99Us,7:F0} {r.Frames,6:F2} {r.CheckpointReadBytes,8:F0} {r.CheckpointWriteBytes,8:F0} {r.FileBytes,7:F0} {r.CatchUps,8:F2}");

    private static async Task<Run> RunOnceAsync(string variant, int pairs, int users, int prefill, int messages, int batchSize)
    {
        var options = new SqliteStoreOptions();
        var schema28 = false;
        foreach (var setting in variant.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = setting.Split('=');
            switch (kv[0])
            {
                case "default":
                    break;
                case "cache":
                    options.WriterCacheSizeKb = int.Parse(kv[1], CultureInfo.InvariantCulture);
                    break;
                case "mmap":
                    options.MmapSizeBytes = long.Parse(kv[1], CultureInfo.InvariantCulture);
                    break;
                case "ckpt":
                    options.WalAutoCheckpointPages = int.Parse(kv[1], CultureInfo.InvariantCulture);
                    break;
                case "schema" when kv[1] == "28":
                    schema28 = true;
                    break;
                default:
                    throw new ArgumentException($"unknown setting {setting} (cache, mmap, ckpt, schema=28)");
            }
        }

        var dir = Directory.CreateTempSubdirectory("parley-store-io-");
        try
        {
            options.DataSource = Path.Combine(dir.FullName, "messages.db");
            var database = new SqliteDatabase(options);
            var store = new SqliteMessageStore(database);
            await using (database)
            await using (store)
            {
                await store.InitializeAsync();
                if (schema28)
                {
                    await database.WriteAsync(
                        (connection, _) =>
                        {
                            using var command = connection.CreateCommand();
                            command.CommandText = """
                                DROP INDEX ix_members_conv_info;
                                DROP INDEX ix_members_user_info;
                                CREATE INDEX ix_members_conv_info ON members (conv_key, info_version) WHERE read_diffusion = 0;
                                CREATE INDEX ix_members_user_info ON members (user_id, info_version) WHERE read_diffusion = 0;
                                """;
                            return Task.FromResult(command.ExecuteNonQuery());
                        });
                }

                var random = new Random(42);
                long version = 0;
                var seqs = new long[pairs];
                var randomSeqs = new Dictionary<string, long>(StringComparer.Ordinal);
                if (users == 0)
                {
                    var setup = new CommitBatch();
                    for (var p = 0; p < pairs; p++)
                    {
                        var (a, b) = Users(p);
                        setup.Conversations.Add(new NewConversation(Conversation(p), ConversationKind.Direct, null, string.Empty, a, 1_790_000_000_000, [a, b], ++version));
                    }

                    await store.CommitAsync(setup);
                }
                var content = new byte[110];
                var walls = new List<double>(messages / batchSize + 1);
                var batch = new CommitBatch();
                var sent = 0L;

                async Task Commit(int count, int size, bool measure)
                {
                    for (var done = 0; done < count; done += size)
                    {
                        batch.Clear();
                        for (var i = 0; i < size; i++)
                        {
                            string conversation, a, b;
                            long s;
                            if (users > 0)
                            {
                                // A random pair, as the generator's --chat-peers 0: the server's direct id names the smaller user first.
                                var x = random.Next(users);
                                var y = (x + 1 + random.Next(users - 1)) % users;
                                (a, b) = (User(Math.Min(x, y)), User(Math.Max(x, y)));
                                conversation = "si_" + a + "_" + b;
                                s = randomSeqs.TryGetValue(conversation, out var last) ? last + 1 : 1;
                                randomSeqs[conversation] = s;
                                if (s == 1)
                                {
                                    batch.Conversations.Add(new NewConversation(conversation, ConversationKind.Direct, null, string.Empty, a, 1_790_000_000_000 + sent, [a, b], version + 1));
                                }
                            }
                            else
                            {
                                var p = random.Next(pairs);
                                (a, b) = Users(p);
                                conversation = Conversation(p);
                                s = ++seqs[p];
                            }

                            var id = (++sent).ToString("D8", CultureInfo.InvariantCulture);
                            batch.Messages.Add(new StoredMessage(conversation, s, "srv-" + id, (s & 1) == 0 ? a : b, "cm-" + id, 1_790_000_000_000 + sent, 1, content, false, ++version)
                            {
                                SearchText = Text.Replace("00000000", id, StringComparison.Ordinal),
                            });
                        }

                        var start = Stopwatch.GetTimestamp();
                        await store.CommitAsync(batch);
                        if (measure)
                        {
                            walls.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        }

                        if (sent % 500 < size)
                        {
                            await store.IndexPendingAsync(500);
                        }
                    }
                }

                await Commit(prefill, 64, measure: false);
                var io0 = ReadIo("/proc/self/io");
                var checkpointer = CheckpointerIo();
                var ckpt0 = checkpointer is null ? null : ReadIo(checkpointer);
                var frames0 = database.FramesWritten;
                var catchUps0 = database.WriterCatchUps;
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                await Commit(messages, batchSize, measure: true);
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds;
                var io1 = ReadIo("/proc/self/io");
                var ckpt1 = checkpointer is null ? null : ReadIo(checkpointer);
                var frames = (database.FramesWritten - frames0) / (double)messages;
                var catchUps = (database.WriterCatchUps - catchUps0) * 1000.0 / messages;
                var sorted = walls.Order().ToArray();
                double Per(string key) => (io1[key] - io0[key]) / (double)messages;
                double Ckpt(string key) => ckpt0 is null ? double.NaN : (ckpt1![key] - ckpt0[key]) / (double)messages;
                var file = new FileInfo(options.DataSource).Length / (double)(prefill + messages);
                return new Run(Per("rchar"), Per("wchar"), Per("syscr"), Per("syscw"), cpu / messages, SearchLatency.Percentile(sorted, 0.5), SearchLatency.Percentile(sorted, 0.99),
                    frames, Ckpt("rchar"), Ckpt("wchar"), file, catchUps);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Conversation(int pair)
    {
        var (a, b) = Users(pair);
        return "si_" + a + "_" + b;
    }

    private static string User(int index) => "user-" + index.ToString("D6", CultureInfo.InvariantCulture);

    // The background checkpointer's thread's /proc counters (null when it is not running).
    private static string? CheckpointerIo() => Directory.EnumerateDirectories("/proc/self/task")
        .FirstOrDefault(t => File.ReadAllText(Path.Combine(t, "comm")).Trim().StartsWith("parley-sqlite-c", StringComparison.Ordinal)) is { } task
        ? Path.Combine(task, "io")
        : null;

    private static (string A, string B) Users(int pair) =>
        ("user-" + (2 * pair).ToString("D6", CultureInfo.InvariantCulture), "user-" + ((2 * pair) + 1).ToString("D6", CultureInfo.InvariantCulture));

    private static Dictionary<string, long> ReadIo(string path) => File.ReadAllLines(path)
        .Select(l => l.Split(':', 2))
        .ToDictionary(p => p[0].Trim(), p => long.Parse(p[1].Trim(), CultureInfo.InvariantCulture), StringComparer.Ordinal);

    private static double Median(double[] values) => values.Length == 0 ? double.NaN : values.Order().ElementAt(values.Length / 2);

    private sealed record Run(double ReadBytes, double WriteBytes, double Reads, double Writes, double CpuUs, double WallP50Us, double WallP99Us,
        double Frames, double CheckpointReadBytes, double CheckpointWriteBytes, double FileBytes, double CatchUps);
}
