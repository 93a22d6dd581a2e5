using System.Globalization;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// The real server with <c>Parley:Storage:Provider = Postgres</c> against the PostgreSQL server of PARLEY_TEST_POSTGRES
/// (.ci/setup.d/20-postgres.sh), each test in a schema of its own.
/// </summary>
public sealed class PostgresServerTests : IAsyncLifetime
{
    private readonly string _schema = "it_" + Guid.NewGuid().ToString("N");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-pg-it-" + Guid.NewGuid().ToString("N"));

    private static string ConnectionString => PostgresFactAttribute.ConnectionString;

    private Dictionary<string, string?> Settings => PostgresFactAttribute.ServerSettings(_schema);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await PostgresFactAttribute.DropSchemaAsync(_schema);

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [PostgresFact]
    public async Task Server_OnPostgres_KeepsMessagesAndAccountsInPostgres_ASecondServerWithAnEmptyDataDirectorySeesThem()
    {
        string alice;
        string bob;
        string conversationId;
        await using (var server = await TestServer.StartAsync(Settings))
        {
            alice = await server.CreateUserAsync("alice");
            bob = await server.CreateUserAsync("bob");
            var aliceClient = await server.ConnectAsync(alice);
            var bobClient = new Recorder(await server.CreateClientAsync(bob, "b1"));
            await bobClient.Client.ConnectAsync();
            var ack = await aliceClient.SendTextAsync(bob, "stored in postgres");
            conversationId = ack.ConversationId;
            await bobClient.WaitForMessagesAsync(conversationId, 1);
            Assert.Equal("stored in postgres", bobClient.MessagesIn(conversationId).Single().Content.Text.Text);
        }

        Assert.Equal(1L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM \"{_schema}\".messages"), CultureInfo.InvariantCulture));
        Assert.Equal(2L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM \"{_schema}\".users"), CultureInfo.InvariantCulture));

        // A second server: a new, empty data directory (parley.db), the same PostgreSQL schema.
        await using (var server = await TestServer.StartAsync(Settings))
        {
            var bobAgain = await server.ConnectAsync(bob, "b2");
            var page = await bobAgain.GetHistoryAsync(conversationId, 1, Direction.Forward, 10);
            var message = Assert.Single(page.Messages);
            Assert.Equal("stored in postgres", message.Content.Text.Text);
            Assert.Equal(alice, message.SenderId);
            var reply = await bobAgain.SendTextAsync(alice, "and it continues");
            Assert.Equal(2UL, reply.Seq);
        }
    }

    [PostgresFact]
    public async Task Server_OnPostgresWithSynchronousCommitOff_RefusesToStartInOneLine()
    {
        var unsafeSettings = new NpgsqlConnectionStringBuilder(ConnectionString) { Options = "-c synchronous_commit=off" }.ConnectionString;
        await using var server = new ServerProcess(Path.Combine(_root, "data"));
        var (exitCode, output, error) = await server.RunUntilExitAsync(new Dictionary<string, string?>
        {
            ["Parley__Storage__Provider"] = "Postgres",
            ["Parley__Storage__Postgres__ConnectionString"] = unsafeSettings,
            ["Parley__Storage__Postgres__Schema"] = _schema,
        });
        Assert.Equal(2, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Parley cannot start: ", line, StringComparison.Ordinal);
        Assert.Contains("synchronous_commit=off", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.Equal(0L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{_schema}'"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Server_OnPostgresWithoutConnectionString_RefusesToStartNamingTheSetting()
    {
        await using var server = new ServerProcess(Path.Combine(_root, "data"));
        var (exitCode, _, error) = await server.RunUntilExitAsync(new Dictionary<string, string?> { ["Parley__Storage__Provider"] = "Postgres" });
        Assert.Equal(2, exitCode);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("Parley:Storage:Postgres:ConnectionString is required", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 18, through the protocol on PostgreSQL: a word 12 of bob's messages matched before 50 newer ones, with a
    /// scan limit of 10 (a page reads at most 40 rows of his conversations): the first page reads the 40 newest rows, finds
    /// nothing and comes back empty with a token, a time cut that names no conversation; followed, the pages return the 12
    /// hits, newest first, each once, and the last page has no token.
    /// </summary>
    [PostgresFact]
    public async Task Search_AWordCommonLongAgo_AnEmptyPageWithATokenLeadsToEveryHit()
    {
        var settings = Settings;
        settings["Parley:Messaging:SearchScanLimit"] = "10";
        await using var server = await TestServer.StartAsync(settings);
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var aliceClient = await server.ConnectAsync(alice);
        var bobClient = await server.ConnectAsync(bob);
        for (var i = 0; i < 12; i++)
        {
            await aliceClient.SendTextAsync(bob, $"ancient relic {i}");
        }

        for (var i = 0; i < 50; i++)
        {
            await aliceClient.SendTextAsync(bob, $"newer chatter {i}");
        }

        var found = new List<string>();
        var pages = new List<int>();
        var token = string.Empty;
        for (var n = 0; n < 10; n++)
        {
            var page = await bobClient.SearchAsync("ancient relic", pageToken: token);
            pages.Add(page.Hits.Count);
            found.AddRange(page.Hits.Select(h => h.Message.Content.Text.Text));
            token = page.NextPageToken;
            if (token.Length == 0)
            {
                break;
            }

            if (page.Hits.Count == 0)
            {
                Assert.DoesNotContain("si_", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token)), StringComparison.Ordinal);
            }
        }

        Assert.Empty(token);
        Assert.Equal(Enumerable.Range(0, 12).Reverse().Select(i => $"ancient relic {i}"), found);
        Assert.Equal(0, pages[0]);
    }

    private static async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
