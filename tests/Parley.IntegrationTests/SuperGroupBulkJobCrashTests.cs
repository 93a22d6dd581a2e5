using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;

namespace Parley.IntegrationTests;

/// <summary>
/// A super group's bulk import is a durable job (ADR 0017, issue 12): stored with its chunks before the request is
/// answered, worked chunk by chunk under a lease, each finished chunk recorded. Here the real server process is killed
/// (SIGKILL: no shutdown, the job is not given up) in the middle of an import of 1,000-user chunks; the restarted server
/// takes the job over once its lease ran out, resumes at the first chunk not recorded as done, and completes it. Every
/// imported user ends up a member exactly once: one member row each (on PostgreSQL a row or a slot of the group's packed
/// pages, which the import compacts into between its chunks), the group's member count exact, and the summary
/// notices of the chunks add up to the import (a chunk run twice would add a second notice or count).
/// It runs on SQLite and, where the test script provides it, on PostgreSQL.
/// </summary>
public sealed class SuperGroupBulkJobCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Imported = 4_000;
    private const int Chunk = 1_000;
    private readonly ServerData _data = new("bulkcrash");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _data.DisposeAsync().AsTask();

    [Fact]
    public Task BulkImport_ServerKilledMidJob_RestartTakesTheJobOverAfterItsLease_EveryMemberAddedExactlyOnce() =>
        KilledMidImportAsync(new SqliteRows(_data));

    [PostgresFact]
    public Task BulkImport_OnPostgres_ServerKilledMidJob_RestartTakesTheJobOverAfterItsLease_EveryMemberAddedExactlyOnce() =>
        KilledMidImportAsync(new PostgresRows(_data.Schema));

    private async Task KilledMidImportAsync(IRows store)
    {
        await using var server = _data.CreateServer(store.OnPostgres);

        // Chunks of 1,000 (the default) with a pause between them, so the kill lands mid-job; a short lease for the restart.
        server.Settings["Parley__Admin__BulkJobChunkInterval"] = "00:00:03";
        server.Settings["Parley__Admin__BulkJobLease"] = "00:00:08";
        server.Settings["Parley__RateLimits__Enabled"] = "false";
        await server.StartAsync();

        var owner = "owner";
        var imported = Enumerable.Range(0, Imported).Select(i => $"bulk{i:D5}").ToArray();
        await server.CreateUserAsync(owner);
        await Parallel.ForEachAsync(imported, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (user, ct) => await server.CreateUserAsync(user, ct));

        var ownerClient = await server.ConnectAsync(owner, _data.Clients, sendTimeout: TimeSpan.FromSeconds(60));
        var group = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "Import", Kind = GroupKind.Super });
        await ownerClient.DisposeAsync();
        _data.Clients.Remove(ownerClient);

        var started = await server.Admin.PostAsJsonAsync($"/admin/v1/groups/{group.GroupId}/members/bulk", new { add = imported });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetString()!;

        // Kill once the first chunk is recorded as done (three seconds between chunks).
        await Wait.UntilAsync(() => store.Job(jobId) is { NextChunk: >= 1 }, () => $"the import to be under way (job {store.Job(jobId)})", TimeSpan.FromSeconds(120));
        await server.KillAsync();

        var atKill = store.Job(jobId)!;
        var membersAtKill = store.ActiveMembers(group.ConversationId);
        output.WriteLine($"killed at {atKill}; {membersAtKill} active members");
        Assert.True(atKill.State == 0 && atKill.NextChunk < Imported / Chunk, $"the job should have been cut mid-way (job {atKill})");
        Assert.NotEqual(string.Empty, atKill.Owner); // not given up: the process died
        Assert.Equal(atKill.NextChunk * Chunk, atKill.Processed);
        Assert.Equal(Imported / Chunk - atKill.NextChunk, store.ChunksLeft(jobId)); // the done chunks' ids are dropped
        Assert.InRange(membersAtKill, 1 + atKill.Processed, 1 + atKill.Processed + Chunk); // the owner, the chunks done, and maybe one more

        // The restarted server takes the dead owner's job over after its lease and completes it.
        await server.StartAsync();
        JsonElement job = default;
        await Wait.UntilAsync(
            () => (job = server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups/jobs/{jobId}").GetAwaiter().GetResult()).GetProperty("state").GetString() != "running",
            () => $"the restarted server to complete the import (job {job}; row {store.Job(jobId)})",
            TimeSpan.FromSeconds(180));
        output.WriteLine($"after the restart: {job}");
        Assert.Equal(("completed", Imported, Imported), (job.GetProperty("state").GetString(), job.GetProperty("total").GetInt32(), job.GetProperty("processed").GetInt32()));

        // Changed counts the chunks done; a chunk the kill cut after its commit changed nothing when it ran again.
        Assert.InRange(job.GetProperty("changed").GetInt32(), Imported - Chunk, Imported);
        Assert.Equal(0, store.ChunksLeft(jobId));

        // Every imported user a member exactly once: the members (rows, else slots), the maintained count and the paged list agree.
        Assert.Equal(Imported + 1, store.ActiveMembers(group.ConversationId));
        var client = await server.ConnectAsync(owner, _data.Clients, sendTimeout: TimeSpan.FromSeconds(60));
        var info = Assert.Single(await client.GetGroupsAsync([group.GroupId]));
        Assert.Equal((uint)(Imported + 1), info.MemberCount);
        var listed = new List<string>();
        string? after = null;
        do
        {
            var page = await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/groups/{group.GroupId}/members?limit=500" + (after is null ? string.Empty : "&after=" + after));
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("userId").GetString()!));
            after = page.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (after is not null);
        Assert.Equal(imported.Prepend(owner).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));

        // One summary notice per chunk that added members, and they add up to the import: nobody was added twice.
        var history = await client.GetHistoryAsync(group.ConversationId, limit: 50);
        var added = history.Messages.Where(m => m.Content.MembersAdded is not null && m.Content.MembersAdded.OperatorId == owner && m.Content.MembersAdded.Count > 0).ToList();
        Assert.Equal(Imported, added.Sum(m => (int)m.Content.MembersAdded.Count));
        Assert.InRange(added.Count, 1, Imported / Chunk);
        Assert.All(added, m => Assert.Equal(Chunk, (int)m.Content.MembersAdded.Count));
    }

    /// <summary>The job and member rows, read straight from the store the server writes.</summary>
    private interface IRows
    {
        bool OnPostgres { get; }

        JobRow? Job(string jobId);

        int ChunksLeft(string jobId);

        int ActiveMembers(string conversationId);
    }

    private sealed record JobRow(int State, int NextChunk, int Processed, int Changed, string Owner);

    private sealed class SqliteRows(ServerData data) : IRows
    {
        public bool OnPostgres => false;

        public JobRow? Job(string jobId)
        {
            using var connection = data.OpenSqlite();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT state, next_chunk, processed, changed, owner FROM bulk_member_jobs WHERE job_id = $id;";
            command.Parameters.AddWithValue("$id", jobId);
            using var reader = command.ExecuteReader();
            return reader.Read() ? new JobRow(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4)) : null;
        }

        public int ChunksLeft(string jobId) => Count("SELECT COUNT(*) FROM bulk_member_job_chunks WHERE job_id = $p;", jobId);

        public int ActiveMembers(string conversationId) => Count("SELECT COUNT(*) FROM members m JOIN conversations k ON k.conv_key = m.conv_key WHERE k.conversation_id = $p AND m.active = 1;", conversationId);

        private int Count(string sql, string parameter)
        {
            using var connection = data.OpenSqlite();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$p", parameter);
            return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private sealed class PostgresRows(string schema) : IRows
    {
        public bool OnPostgres => true;

        public JobRow? Job(string jobId)
        {
            using var connection = ServerData.OpenPostgres();
            using var command = new NpgsqlCommand($"SELECT state, next_chunk, processed, changed, owner FROM \"{schema}\".bulk_member_jobs WHERE job_id = @id", connection);
            command.Parameters.AddWithValue("id", jobId);
            using var reader = command.ExecuteReader();
            return reader.Read() ? new JobRow(reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4)) : null;
        }

        public int ChunksLeft(string jobId) => Count("SELECT COUNT(*) FROM bulk_member_job_chunks WHERE job_id = @p", jobId);

        // Rows, else the slots of the packed pages (ADR 0021): the import compacts its group between chunks by the bound,
        // so its members end up in pages, not rows. members_of_conv names its tables unqualified: the schema goes first.
        public int ActiveMembers(string conversationId) => Count("SELECT COUNT(*) FROM conversation_keys k CROSS JOIN LATERAL members_of_conv(k.conv_key) m WHERE k.conversation_id = @p AND m.active", conversationId);

        private int Count(string sql, string parameter)
        {
            using var connection = ServerData.OpenPostgres();
            using (var path = new NpgsqlCommand($"SET search_path TO \"{schema}\"", connection))
            {
                path.ExecuteNonQuery();
            }

            using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue("p", parameter);
            return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
