using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Parley.Abstractions.Accounts;
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

    /// <summary>
    /// Issue 12, ADR 0021 stop 35: a bulk job sorts its ids (ordinal, the packed pages' order) and drops duplicates before
    /// cutting its chunks, so each chunk's span covers the last few pages of the group and the store writes it straight
    /// into them (migration 28: at most MemberImportPages, 64 pages of 128). 10,000 ids in a shuffled order (more than 64
    /// pages): in the request's order the chunks after the 9th spanned more than 64 pages and went to rows (then moved by
    /// the bound's compaction), which left the row table's B-trees behind. Now no imported member is ever a row: the
    /// group's only row is its owner's, the pages hold the 10,000, and both B-trees of the members table are one leaf.
    /// </summary>
    [PostgresFact]
    public async Task SuperGroupBulkImport_UnsortedIdsOverMoreThanTheImportSpan_GoStraightIntoPackedPages()
    {
        const int Imported = 10_000;
        await using var server = await TestServer.StartAsync(Settings);
        var owner = await server.CreateUserAsync("owner");
        var imported = Enumerable.Range(0, Imported).Select(i => $"imp{i:D5}").ToArray();
        new Random(35).Shuffle(imported);
        var accounts = server.Services.GetRequiredService<IAccountStore>();
        await Parallel.ForEachAsync(imported, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
            Assert.True(await accounts.CreateUserAsync(new UserRecord(id, id, "", "{}", 1, 1), ct)));
        var ownerClient = await server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "import", Kind = GroupKind.Super });

        // Two ids named twice: one job entry each.
        var started = await server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = imported.Append(imported[7]).Prepend(imported[4242]).ToArray() });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.StatusCode);
        var job = await started.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var jobId = job.GetProperty("jobId").GetString();
        await Wait.UntilAsync(
            () => (job = server.Admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v1/groups/jobs/{jobId}").GetAwaiter().GetResult()).GetProperty("state").GetString() != "running",
            () => $"the bulk import finishes (job {job})",
            TimeSpan.FromSeconds(300));

        var conversation = $"(SELECT conv_key FROM \"{_schema}\".conversation_keys WHERE conversation_id = '{group.ConversationId}')";
        var rows = Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM \"{_schema}\".members WHERE conv_key = {conversation}"), CultureInfo.InvariantCulture);
        var slots = Convert.ToInt64(await ScalarAsync($"SELECT SUM(cardinality(user_ids)) FROM \"{_schema}\".member_pages WHERE conv_key = {conversation}"), CultureInfo.InvariantCulture);
        var btrees = (string)(await ScalarAsync(
            $"SELECT string_agg(c.relname || ' ' || pg_relation_size(c.oid), ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            + $"WHERE n.nspname = '{_schema}' AND c.relname IN ('members_pkey', 'ix_members_user_feed')"))!;
        Assert.True((rows, slots) == (1L, Imported), $"rows {rows}, slots {slots}, {btrees}");
        Assert.Equal("ix_members_user_feed 16384, members_pkey 16384", btrees); // the metapage and one leaf each
        Assert.Equal(("completed", Imported, Imported, Imported), (job.GetProperty("state").GetString(), job.GetProperty("total").GetInt32(), job.GetProperty("processed").GetInt32(), job.GetProperty("changed").GetInt32()));

        var info = Assert.Single(await ownerClient.GetGroupsAsync([group.GroupId]));
        Assert.Equal((uint)(Imported + 1), info.MemberCount);
        var members = await server.Admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v1/groups/{group.GroupId}/members?limit=5");
        Assert.Equal(["imp00000", "imp00001", "imp00002", "imp00003", "imp00004"], members.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("userId").GetString()!));
    }

    private static async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
