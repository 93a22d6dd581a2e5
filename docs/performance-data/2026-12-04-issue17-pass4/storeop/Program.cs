using System.Diagnostics;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

// storeop <messages> <batch>: commits 1:1 text messages (with search text) through SqliteMessageStore on a temp durable
// file and reports process CPU, allocation and file growth per message; if the store has IndexPendingAsync (ADR 0019),
// runs the indexer every 500 messages and reports its share separately.
var n = int.Parse(args[0]); var batchSize = int.Parse(args[1]);
var dir = Directory.CreateTempSubdirectory("storeop-");
var db = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(dir.FullName, "p.db") });
var store = new SqliteMessageStore(db);
await store.InitializeAsync();
double idx = 0;
var index = store.GetType().GetMethod("IndexPendingAsync");
const string conv = "si_user-000042_user-000123";
long version = 0, seq = 0;
var setup = new CommitBatch();
setup.Conversations.Add(new NewConversation(conv, ConversationKind.Direct, null, "", "user-000042", 1_790_000_000_000, ["user-000042", "user-000123"], ++version));
await store.CommitAsync(setup);
var content = new byte[110];
var text = "m 00000000 load test text payload with some words in it, about a hundred bytes long for the search index.";
async Task Run(int count, Stopwatch? indexCpu)
{
    var batch = new CommitBatch();
    for (var done = 0; done < count; done += batchSize)
    {
        batch.Clear();
        for (var i = 0; i < batchSize; i++)
        {
            var s = ++seq;
            batch.Messages.Add(new StoredMessage(conv, s, "srv-" + s, "user-000042", "cm-" + s, 1_790_000_000_000 + s, 1, content, false, ++version) { SearchText = text.Replace("00000000", s.ToString("D8")) });
        }
        await store.CommitAsync(batch);
        if (index is not null && seq % 500 < batchSize)
        {
            var t0 = Process.GetCurrentProcess().TotalProcessorTime;
            await (Task<int>)index.Invoke(store, [500, CancellationToken.None])!;
            idx += (Process.GetCurrentProcess().TotalProcessorTime - t0).TotalMilliseconds;
        }
    }
}
idx = 0;
await Run(2000, new Stopwatch()); // warm-up
idx = 0;
long Size() => dir.GetFiles().Sum(f => f.Length);
var size0 = Size();
var alloc0 = GC.GetTotalAllocatedBytes(true);
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var wall = Stopwatch.StartNew();
await Run(n, new Stopwatch());
var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
var alloc = GC.GetTotalAllocatedBytes(true) - alloc0;
Console.WriteLine($"{(index is null ? "in-commit index" : "queued + indexer")} batch {batchSize}: total cpu {cpu * 1000 / n:F1} us/msg (of which indexer {idx * 1000 / n:F1} us/msg), alloc {alloc / (double)n:F0} B/msg, wall {wall.Elapsed.TotalMilliseconds * 1000 / n:F0} us/msg");
await store.DisposeAsync(); await db.DisposeAsync(); dir.Delete(true);
