using Microsoft.Data.Sqlite;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// ADR 0019, stop-36 amendment: the SQLite server keeps a message's search text in memory until its indexer runs, so a
/// kill -9 before that loses the memory, never the text: the restarted server indexes what was committed above its
/// durable mark from the stored content, and an edit or revoke committed before the kill leaves no old text searchable.
/// </summary>
public sealed class SearchCrashTests
{
    [Fact]
    public Task KillMinus9_BeforeTheIndexerRan_TheRestartedServerFindsEveryCommittedText_NoOldOrRevokedText() =>
        WithServerAsync(async (server, clients) =>
        {
            await server.StartAsync();
            await server.CreateUserAsync("alice");
            await server.CreateUserAsync("bob");
            var alice = await server.ConnectAsync("alice", clients);
            var token = "zq" + Guid.NewGuid().ToString("N")[..8];
            var kept = await alice.SendTextAsync("bob", $"kept {token} 搜索中文");
            var edited = await alice.SendTextAsync("bob", $"typo {token}");
            var revoked = await alice.SendTextAsync("bob", $"secret {token}");
            await alice.EditAsync(edited.ConversationId, edited.Seq, new TextContent { Text = $"fixed {token}" });
            await alice.RevokeAsync(revoked.ConversationId, revoked.Seq);
            await server.KillAsync();
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            clients.Clear();

            // What the killed process left: no queue row at all, and in the index only the edit's text (an edit indexes
            // its new text in its own commit; c0 is FTS5's content column for body).
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "parley.db")};Pooling=false"))
            {
                await connection.OpenAsync();
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT (SELECT COUNT(*) FROM search_pending), (SELECT group_concat(c0, '|') FROM message_search_content WHERE c0 LIKE $like);";
                command.Parameters.AddWithValue("$like", "%" + token + "%");
                using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.Equal(0L, reader.GetInt64(0));
                Assert.Equal($"fixed {token}", reader.GetString(1));
            }

            await server.StartAsync();
            var bob = await server.ConnectAsync("bob", clients);
            var hits = await bob.SearchAsync(token);
            Assert.Equal(
                new[] { $"fixed {token}", $"kept {token} 搜索中文" }.Order(StringComparer.Ordinal),
                hits.Hits.Select(h => h.Message.Content.Text.Text).Order(StringComparer.Ordinal));
            Assert.Equal([kept.Seq], (await bob.SearchAsync("搜索中")).Hits.Where(h => h.Message.ConversationId == kept.ConversationId).Select(h => h.Message.Seq));
            Assert.Empty((await bob.SearchAsync("typo " + token)).Hits);
            Assert.Empty((await bob.SearchAsync("secret " + token)).Hits);
        });

    [Fact]
    public Task GracefulStop_BeforeTheIndexerRan_IndexesTheQueuedTextsBeforeTheProcessExits() =>
        WithServerAsync(async (server, clients) =>
        {
            await server.StartAsync();
            await server.CreateUserAsync("alice");
            await server.CreateUserAsync("bob");
            var alice = await server.ConnectAsync("alice", clients);
            var token = "zs" + Guid.NewGuid().ToString("N")[..8];
            var first = await alice.SendTextAsync("bob", $"first {token}");
            await alice.SendTextAsync("bob", $"second {token} 中文");
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            clients.Clear();
            Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(60)));

            // The stopped process indexed both texts on its way out, and its mark covers them: the next start has nothing
            // to recover from stored content.
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "parley.db")};Pooling=false");
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT (SELECT group_concat(c0, '|') FROM (SELECT c0 FROM message_search_content WHERE c0 LIKE $like ORDER BY id)),
                       (SELECT indexed_through FROM search_state), (SELECT MAX(version) FROM messages WHERE conv_key = (SELECT conv_key FROM conversations WHERE conversation_id = $conv));
                """;
            command.Parameters.AddWithValue("$like", "%" + token + "%");
            command.Parameters.AddWithValue("$conv", first.ConversationId);
            using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal($"first {token}|second {token} 中文", reader.GetString(0));
            Assert.True(reader.GetInt64(1) >= reader.GetInt64(2), $"mark {reader.GetInt64(1)} below the last message's version {reader.GetInt64(2)}");
        });

    // A server on its own data directory whose indexer passes once at start (its write is queued before any send of the
    // test) and then not for an hour: the texts a test sends are only in the process's memory until it stops or is killed.
    private static async Task WithServerAsync(Func<ServerProcess, List<ParleyClient>, Task> test)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-search-crash-" + Guid.NewGuid().ToString("N"));
        var clients = new List<ParleyClient>();
        await using var server = new ServerProcess(dataDirectory);
        server.Settings["Parley__Messaging__SearchIndexInterval"] = "01:00:00";
        try
        {
            await test(server, clients);
        }
        finally
        {
            // The test's own pooled connections to the file go first, or the directory stays behind.
            SqliteConnection.ClearAllPools();
            await server.KillAndDeleteDataAsync(clients);
        }
    }
}
