using System.Diagnostics;
using System.Globalization;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// <c>activation-io [--users 2000] [--prefill 300000] [--activations 4000] [--rounds 3] [--tail 256]</c> (issue 17, stop 47):
/// what a 1:1 conversation's activation reads from the SQLite store, the old way (<c>GetConversationAsync</c>,
/// <c>GetMembersAsync</c>, <c>ReadMessagesAsync</c> backward: three pooled connections, three read transactions) against
/// <c>LoadConversationAsync</c> (one read transaction, the key looked up once, prepared statements), interleaved in blocks
/// of 100. The store is a durable file prefilled with random-pair messages among <c>users</c> (the soak's load: each pair's
/// first message opens its conversation); the activations are of existing conversations drawn at random (a grain
/// deactivated and called again: late in a random-pair soak most messages), and before each one a commit of 4 messages (no checkpoint runs: its reads would count)
/// to other conversations gives the readers a new snapshot, as the server's commits do between two activations. Per
/// activation: bytes and read calls from <c>/proc/self/io</c> (SQLite's page reads: <c>pread</c> of the file and WAL) and
/// CPU µs (a hint under load; the commits' CPU is measured alone and subtracted). Also checks both ways return the same rows.
/// </summary>
internal static class ActivationIoBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }

        int Int(string key, int fallback) => o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var users = Int("users", 2000);
        var prefill = Int("prefill", 300_000);
        var activations = Int("activations", 4000);
        var rounds = Int("rounds", 3);
        var tail = Int("tail", 256);

        var dir = Directory.CreateTempSubdirectory("parley-activation-io-");
        try
        {
            // No checkpoint while measuring (its reads of the WAL, in the whole process's counters, drowned the activations'
            // in a first run under load): every frame stays in the WAL, as the newest pages are in the server's.
            var options = new SqliteStoreOptions { DataSource = Path.Combine(dir.FullName, "parley.db"), CheckpointInBackground = false, WalAutoCheckpointPages = 100_000_000 };
            var database = new SqliteDatabase(options);
            var store = new SqliteMessageStore(database);
            await using (database)
            await using (store)
            {
                await store.InitializeAsync();
                var random = new Random(47);
                var seqs = new Dictionary<string, long>(StringComparer.Ordinal);
                var conversations = new List<string>();
                var content = new byte[110];
                long version = 0, sent = 0;
                var batch = new CommitBatch();

                async Task CommitRandom(int count)
                {
                    batch.Clear();
                    for (var i = 0; i < count; i++)
                    {
                        var x = random.Next(users);
                        var y = (x + 1 + random.Next(users - 1)) % users;
                        var (a, b) = (User(Math.Min(x, y)), User(Math.Max(x, y)));
                        var conversation = "si_" + a + "_" + b;
                        var s = seqs.TryGetValue(conversation, out var last) ? last + 1 : 1;
                        seqs[conversation] = s;
                        if (s == 1)
                        {
                            batch.Conversations.Add(new NewConversation(conversation, ConversationKind.Direct, null, string.Empty, a, 1_790_000_000_000 + sent, [a, b], version + 1));
                            conversations.Add(conversation);
                        }

                        var id = (++sent).ToString("D9", CultureInfo.InvariantCulture);
                        batch.Messages.Add(new StoredMessage(conversation, s, "srv-" + id, (s & 1) == 0 ? a : b, "cm-" + id, 1_790_000_000_000 + sent, 1, content, false, ++version));
                    }

                    await store.CommitAsync(batch);
                }

                var started = Stopwatch.GetTimestamp();
                for (var done = 0; done < prefill; done += 64)
                {
                    await CommitRandom(64);
                }

                await store.FlushDerivedRowsAsync();
                var file = new FileInfo(options.DataSource).Length + (File.Exists(options.DataSource + "-wal") ? new FileInfo(options.DataSource + "-wal").Length : 0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"# activation-io: {users} users, {sent:N0} messages prefilled in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s, {conversations.Count:N0} conversations, file + WAL {file / 1e6:F0} MB, {activations} activations per way and round, tail {tail}, load {SearchLatency.LoadAverage()}"));

                // Same rows both ways (a check, not measured).
                for (var i = 0; i < 50; i++)
                {
                    var c = conversations[random.Next(conversations.Count)];
                    var (r1, m1, n1) = await OldAsync(store, c, tail);
                    var load = await store.LoadConversationAsync(c, tail) ?? throw new InvalidOperationException("missing " + c);
                    if (r1 != load.Record || !m1.SequenceEqual(load.Members!) || n1.Count != load.Newest!.Count
                        || !n1.Select(m => (m.Seq, m.ClientMsgId, m.Version)).SequenceEqual(load.Newest.Select(m => (m.Seq, m.ClientMsgId, m.Version))))
                    {
                        throw new InvalidOperationException("LoadConversationAsync differs from the three reads for " + c);
                    }
                }

                Console.WriteLine($"{"round way",-14} {"KB read",8} {"reads",7} {"cpu us",8}   (per activation; commits' own subtracted)");
                var results = new Dictionary<string, List<(double Kb, double Calls, double Cpu)>>(StringComparer.Ordinal) { ["commits"] = [], ["old"] = [], ["new"] = [] };
                for (var round = 1; round <= rounds; round++)
                {
                    var totals = new Dictionary<string, (double Bytes, double Calls, double Cpu)>(StringComparer.Ordinal) { ["commits"] = default, ["old"] = default, ["new"] = default };
                    string[] order = round % 2 == 1 ? ["commits", "old", "new"] : ["new", "old", "commits"];
                    for (var block = 0; block < activations / 100; block++)
                    {
                        foreach (var way in order)
                        {
                            var picks = Enumerable.Range(0, 100).Select(_ => conversations[random.Next(conversations.Count)]).ToArray();
                            var io0 = ReadIo();
                            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                            foreach (var c in picks)
                            {
                                await CommitRandom(4);
                                if (way == "old")
                                {
                                    await OldAsync(store, c, tail);
                                }
                                else if (way == "new")
                                {
                                    _ = await store.LoadConversationAsync(c, tail);
                                }
                            }

                            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds;
                            var io1 = ReadIo();
                            var t = totals[way];
                            totals[way] = (t.Bytes + io1["rchar"] - io0["rchar"], t.Calls + io1["syscr"] - io0["syscr"], t.Cpu + cpu);
                        }
                    }

                    var n = activations / 100 * 100.0;
                    var commits = totals["commits"];
                    foreach (var way in new[] { "commits", "old", "new" })
                    {
                        var t = totals[way];
                        var row = way == "commits"
                            ? (t.Bytes / n / 1024, t.Calls / n, t.Cpu / n)
                            : ((t.Bytes - commits.Bytes) / n / 1024, (t.Calls - commits.Calls) / n, (t.Cpu - commits.Cpu) / n);
                        results[way].Add(row);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"r{round} {way,-11} {row.Item1,8:F2} {row.Item2,7:F2} {row.Item3,8:F1}"));
                    }
                }

                Console.WriteLine($"medians of {rounds} rounds (load {SearchLatency.LoadAverage()}):");
                foreach (var (way, rows) in results)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{way,-14} {Median(rows.Select(r => r.Kb)),8:F2} {Median(rows.Select(r => r.Calls)),7:F2} {Median(rows.Select(r => r.Cpu)),8:F1}"));
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        return 0;
    }

    private static async Task<(ConversationRecord?, IReadOnlyList<MemberRecord>, IReadOnlyList<StoredMessage>)> OldAsync(SqliteMessageStore store, string conversation, int tail)
    {
        var record = await store.GetConversationAsync(conversation);
        var members = await store.GetMembersAsync(conversation);
        var newest = await store.ReadMessagesAsync(conversation, 0, ReadDirection.Backward, tail);
        return (record, members, newest);
    }

    private static string User(int index) => "user-" + index.ToString("D6", CultureInfo.InvariantCulture);

    private static Dictionary<string, long> ReadIo() => File.ReadAllLines("/proc/self/io")
        .Select(l => l.Split(':', 2))
        .ToDictionary(p => p[0].Trim(), p => long.Parse(p[1].Trim(), CultureInfo.InvariantCulture), StringComparer.Ordinal);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }
}
