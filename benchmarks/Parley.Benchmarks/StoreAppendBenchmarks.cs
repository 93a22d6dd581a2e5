using BenchmarkDotNet.Attributes;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// One group commit: SqliteMessageStore.CommitAsync with a batch of 1, 64 or 512 messages to one 1:1 conversation on
/// a temp file, durable (WAL, synchronous=FULL: one fsync per commit). Divide by the batch size for per-message cost.
/// </summary>
[MemoryDiagnoser]
public class StoreAppendBenchmarks
{
    private const string Conversation = "si_user-000042_user-000123";
    private readonly CommitBatch _batch = new();
    private DirectoryInfo _dir = null!;
    private SqliteDatabase _database = null!;
    private SqliteMessageStore _store = null!;
    private byte[] _content = null!;
    private long _seq;
    private long _version;

    [Params(1, 64, 512)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _dir = Directory.CreateTempSubdirectory("parley-bench-");
        _database = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(_dir.FullName, "messages.db") });
        _store = new SqliteMessageStore(_database);
        await _store.InitializeAsync();
        _content = new byte[110];
        var setup = new CommitBatch();
        setup.Conversations.Add(new NewConversation(Conversation, ConversationKind.Direct, null, string.Empty, "user-000042", 1_790_000_000_000, ["user-000042", "user-000123"], ++_version));
        await _store.CommitAsync(setup);
    }

    [Benchmark]
    public async Task CommitBatchAsync()
    {
        _batch.Clear();
        for (var i = 0; i < BatchSize; i++)
        {
            var seq = ++_seq;
            _batch.Messages.Add(new StoredMessage(Conversation, seq, "srv-" + seq, "user-000042", "cm-" + seq, 1_790_000_000_000, 1, _content, false, ++_version));
        }

        await _store.CommitAsync(_batch);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _database.DisposeAsync();
        _dir.Delete(recursive: true);
    }
}
