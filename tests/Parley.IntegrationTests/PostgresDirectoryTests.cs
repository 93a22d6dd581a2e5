using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// The organisation directory with <c>Parley:Storage:Provider = Postgres</c>: the real server driven by the admin API
/// (edits and a CSV import) and the real SDK (full fetch, live event, delta), the rows in PostgreSQL and none in the
/// node's parley.db, and a second server on the same schema (another node) continuing versions and cursors.
/// </summary>
public sealed class PostgresDirectoryTests : IAsyncLifetime
{
    private readonly string _schema = "itdir_" + Guid.NewGuid().ToString("N");

    private static string ConnectionString => PostgresFactAttribute.ConnectionString;

    private Dictionary<string, string?> Settings => PostgresFactAttribute.ServerSettings(_schema);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await PostgresFactAttribute.DropSchemaAsync(_schema);
    }

    [PostgresFact]
    public async Task Directory_OnPostgres_AdminEditsAndImport_SdkSyncsLive_ASecondNodeContinuesTheCursor()
    {
        ulong cursor;
        string staff;
        string analyst;
        await using (var server = await TestServer.StartAsync(Settings))
        {
            staff = await server.CreateUserAsync("staff");
            analyst = await server.CreateUserAsync("analyst");
            await PostOkAsync(server, "/admin/v1/directory/departments", new { departmentId = "co", name = "Company" });
            await PostOkAsync(server, "/admin/v1/directory/departments", new { departmentId = "co-eng", parentId = "co", name = "Engineering", order = 1 });
            await PostOkAsync(server, "/admin/v1/directory/departments/co-eng/members", new { userId = staff, position = "Engineer", ex = new { desk = 7 } });

            // The import path: a CSV whose member line comes before its department, and one line naming no user.
            var csv = "kind,department_id,parent_id,name,order,user_id,position\n" +
                      $"member,co-fin,,,1,{analyst},Analyst\n" +
                      "department,co-fin,co,Finance,2,,\n" +
                      "member,co-fin,,,1,ghost-user,Nobody\n";
            using (var content = new StringContent(csv, Encoding.UTF8, "text/csv"))
            using (var response = await server.Admin.PostAsync("/admin/v1/directory/imports", content))
            {
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                var status = await WaitForImportAsync(server, response.Headers.Location!.ToString());
                Assert.Equal(("completed", 3, 2), (status.GetProperty("state").GetString(), status.GetProperty("processed").GetInt32(), status.GetProperty("applied").GetInt32()));
                Assert.Equal(4, Assert.Single(status.GetProperty("errors").EnumerateArray()).GetProperty("line").GetInt32());
            }

            var client = await server.CreateClientAsync(staff);
            var changed = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
            client.DirectoryChanged += (_, e) => changed.TrySetResult(e.Version);
            await client.ConnectAsync();
            var full = await client.SyncDirectoryAsync(0);
            Assert.True(full.FullReset);
            Assert.Equal(["co", "co-eng", "co-fin"], full.Departments.Select(d => d.DepartmentId).Order(StringComparer.Ordinal));
            Assert.Equal("co", full.Departments.Single(d => d.DepartmentId == "co-fin").ParentId);
            Assert.Equal(("Engineer", """{"desk":7}"""), full.Members.Where(m => m.UserId == staff).Select(m => (m.Position, m.Ex)).Single());
            Assert.Contains(full.Members, m => m.UserId == analyst && m.DepartmentId == "co-fin");
            Assert.Equal(5UL, full.Version);

            using (var patch = await server.Admin.PatchAsJsonAsync($"/admin/v1/directory/departments/co-eng/members/{staff}", new { position = "Staff Engineer" }))
            {
                Assert.True(patch.IsSuccessStatusCode, await patch.Content.ReadAsStringAsync());
            }

            Assert.Equal(6UL, await Wait.ForAsync(changed.Task, "the live DirectoryChanged event"));
            var delta = await client.SyncDirectoryAsync(full.Version);
            Assert.False(delta.FullReset);
            Assert.Empty(delta.Departments);
            Assert.Equal("Staff Engineer", Assert.Single(delta.Members).Position);
            cursor = delta.Version;
        }

        // The directory lives in PostgreSQL, not in the node's own SQLite file.
        Assert.Equal(3L, Convert.ToInt64(await ScalarAsync($"SELECT COUNT(*) FROM \"{_schema}\".directory_departments"), CultureInfo.InvariantCulture));
        Assert.Equal(6L, Convert.ToInt64(await ScalarAsync($"SELECT version FROM \"{_schema}\".directory_state"), CultureInfo.InvariantCulture));

        // Another node: an empty data directory, the same schema. The cursor from the first node resumes exactly.
        await using (var server = await TestServer.StartAsync(Settings))
        {
            await PostOkAsync(server, "/admin/v1/directory/departments/co-fin/move", new { parentId = "co-eng" });
            using (var remove = await server.Admin.DeleteAsync($"/admin/v1/directory/departments/co-fin/members/{analyst}"))
            {
                Assert.True(remove.IsSuccessStatusCode, await remove.Content.ReadAsStringAsync());
            }

            var client = await server.ConnectAsync(staff, "d2");
            var delta = await client.SyncDirectoryAsync(cursor);
            Assert.False(delta.FullReset);
            Assert.Equal(8UL, delta.Version);
            var moved = Assert.Single(delta.Departments);
            Assert.Equal(("co-fin", "co-eng"), (moved.DepartmentId, moved.ParentId));
            var removed = Assert.Single(delta.DeletedMembers);
            Assert.Equal(("co-fin", analyst), (removed.DepartmentId, removed.UserId));
            Assert.Empty(delta.Members);

            var dataDirectory = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Parley.Hosting.StorageOptions>>().Value.DataDirectory;
            Assert.Equal(0L, SqliteCount(Path.Combine(dataDirectory, "parley.db"), "SELECT COUNT(*) FROM directory_departments"));
        }
    }

    private static async Task PostOkAsync(TestServer server, string path, object body)
    {
        using var response = await server.Admin.PostAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> WaitForImportAsync(TestServer server, string location)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var status = await server.Admin.GetFromJsonAsync<JsonElement>(location);
            if (status.GetProperty("state").GetString() is "completed" or "failed")
            {
                return status;
            }

            Assert.False(cts.IsCancellationRequested, $"The import did not finish: {status}");
            await Task.Delay(20, cts.Token);
        }
    }

    private static long SqliteCount(string path, string sql)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
