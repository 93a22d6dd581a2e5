using System.Globalization;
using System.Text;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite;

namespace Parley.Benchmarks;

/// <summary>
/// The stored messages the search benchmarks run over: <c>messages</c> 1:1 text messages in 100 conversations of one
/// reader (each with a different peer, both sides sending), committed through <see cref="SqliteMessageStore"/> with their
/// search texts in commits of 1,000 and moved into the FTS5 trigram index by the store's own indexer (ADR 0019). Every
/// text is a few filler words (English and Chinese) and its number; three marker words hit a known count:
/// <see cref="None"/> no message, <see cref="Ten"/> 10 and <see cref="Many"/> 10,000, spread over the conversations.
/// </summary>
public static class SearchCorpus
{
    public const string Reader = "reader-0001";
    public const int Conversations = 100;
    public const string None = "zqxnone";
    public const string Ten = "zqxten";
    public const string Many = "zqxmany";

    private static readonly string[] Filler = ["meeting", "budget", "lunch", "report", "明天开会", "预算讨论", "travel", "invoice", "deadline", "review"];

    public static string ConversationId(int c) => Parley.Protocol.Ids.DirectConversationId(Reader, Peer(c));

    public static string Peer(int c) => string.Create(CultureInfo.InvariantCulture, $"peer-{c:D4}");

    /// <summary>Opens the store on <paramref name="file"/>; fills it unless <paramref name="file"/> already holds a complete corpus of this size.</summary>
    public static async Task<(SqliteDatabase Database, SqliteMessageStore Store, TimeSpan? Built)> OpenAsync(string file, int messages, TextWriter? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messages, 10_000);
        var marker = file + ".complete-" + messages.ToString(CultureInfo.InvariantCulture);
        var reuse = File.Exists(file) && File.Exists(marker);
        if (!reuse)
        {
            foreach (var stale in new[] { file, file + "-wal", file + "-shm" }.Where(File.Exists))
            {
                File.Delete(stale);
            }
        }

        var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = file });
        var store = new SqliteMessageStore(database);
        await store.InitializeAsync();
        if (reuse)
        {
            return (database, store, null);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        long version = 0;
        var setup = new CommitBatch();
        for (var c = 0; c < Conversations; c++)
        {
            setup.Conversations.Add(new NewConversation(ConversationId(c), ConversationKind.Direct, null, string.Empty, Reader, 1_790_000_000_000, [Reader, Peer(c)], ++version));
        }

        await store.CommitAsync(setup);
        var batch = new CommitBatch();
        var seqs = new long[Conversations];
        var tenEvery = messages / 10;
        var manyEvery = messages / 10_000;
        for (var i = 0; i < messages; i++)
        {
            // Not i % 100: the marker words' messages (every tenEvery-th, every manyEvery-th) land in many conversations.
            var c = (int)((i + (i / 97L)) % Conversations);
            var seq = ++seqs[c];
            var text = string.Create(CultureInfo.InvariantCulture, $"{Filler[i % Filler.Length]} {Filler[i / 7 % Filler.Length]} note {i}")
                + (i % tenEvery == 5 ? " " + Ten : string.Empty)
                + (i % manyEvery == 3 ? " " + Many : string.Empty);
            var id = i.ToString(CultureInfo.InvariantCulture);
            batch.Messages.Add(new StoredMessage(ConversationId(c), seq, "srv-" + id, c % 2 == 0 ? Reader : Peer(c), "cm-" + id, 1_790_000_000_000 + i, 1, Encoding.UTF8.GetBytes(text), false, ++version)
            {
                SearchText = text,
            });
            if (batch.Messages.Count == 1000)
            {
                await store.CommitAsync(batch);
                batch = new CommitBatch();
                if ((i + 1) % 100_000 == 0)
                {
                    // Index as it goes (as the server's indexer would), so the queue never holds the whole corpus.
                    while (await store.IndexPendingAsync(5000) > 0)
                    {
                    }

                    log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# corpus: {i + 1:N0} of {messages:N0} committed and indexed, {clock.Elapsed.TotalSeconds:F0} s"));
                }
            }
        }

        if (batch.Messages.Count > 0)
        {
            await store.CommitAsync(batch);
        }

        while (await store.IndexPendingAsync(5000) > 0)
        {
        }

        // The setup checks what the benchmark relies on: the marker words hit exactly what they say.
        var ten = await store.SearchAsync(Reader, null, Ten, null, 50);
        var none = await store.SearchAsync(Reader, null, None, null, 50);
        var manyCount = 0;
        SearchPosition? after = null;
        while (true)
        {
            var page = await store.SearchAsync(Reader, null, Many, after, 1000);
            manyCount += page.Count;
            if (page.Count < 1000)
            {
                break;
            }

            var last = page[^1].Message;
            after = new SearchPosition(last.ServerTime, last.ConversationId, last.Seq);
        }

        if (ten.Count != 10 || none.Count != 0 || manyCount != 10_000)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"corpus: {Ten} hit {ten.Count} (want 10), {None} {none.Count} (want 0), {Many} {manyCount} (want 10,000)"));
        }

        await File.WriteAllTextAsync(marker, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        return (database, store, clock.Elapsed);
    }
}
