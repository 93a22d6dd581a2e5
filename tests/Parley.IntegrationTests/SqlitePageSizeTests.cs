using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Storage.Sqlite;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0030 (stop 45): <c>Parley:Storage:Sqlite:PageSize</c> sets the page size of the database file the server creates;
/// the real server over real sockets through the SDK on a 1 KiB-page file: sends acknowledged, history and search read
/// back every message through B-trees several levels deep at that page size.
/// </summary>
public sealed class SqlitePageSizeTests
{
    [Fact]
    public async Task NewDatabase_WithAOneKiBPageSize_StoresReadsAndSearchesEveryMessage()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:Sqlite:PageSize"] = "1024" });
        var database = server.Services.GetRequiredService<SqliteDatabase>();
        Assert.Equal(1024, database.PageSize);

        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        const int count = 300;
        SendReceipt? last = null;
        for (var i = 1; i <= count; i++)
        {
            // ~230 bytes of text: a few rows per 1 KiB leaf, so the message and search B-trees grow interior levels.
            last = await aliceClient.SendTextAsync(bob, $"pagesize message {i} " + new string('p', 200) + (i % 50 == 0 ? " needleword" : ""));
            Assert.Equal((ulong)i, last.Seq);
        }

        var bobClient = await server.ConnectAsync(bob);
        var seqs = new SortedSet<ulong>();
        ulong from = 0;
        for (var page = 0; page < 10; page++)
        {
            var history = await bobClient.GetHistoryAsync(last!.ConversationId, from, Direction.Backward, 200);
            var added = 0;
            foreach (var message in history.Messages)
            {
                Assert.StartsWith($"pagesize message {message.Seq} ", message.Content.Text.Text, StringComparison.Ordinal);
                added += seqs.Add(message.Seq) ? 1 : 0;
            }

            if (added == 0)
            {
                break;
            }

            from = seqs.Min;
        }

        Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), seqs);
        var hits = await bobClient.SearchAsync("needleword", last!.ConversationId, limit: 20);
        Assert.Equal([300UL, 250, 200, 150, 100, 50], hits.Hits.Select(h => h.Message.Seq));

        // The file itself: 1 KiB pages, WAL, and a message B-tree deeper than one leaf.
        using var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database.FilePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT (SELECT page_size FROM pragma_page_size()), (SELECT journal_mode FROM pragma_journal_mode()), (SELECT page_count FROM pragma_page_count());";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(1024L, reader.GetInt64(0));
        Assert.Equal("wal", reader.GetString(1));
        Assert.True(reader.GetInt64(2) > count / 4, $"{reader.GetInt64(2)} pages for {count} messages of ~230 bytes at 1 KiB");
    }
}
