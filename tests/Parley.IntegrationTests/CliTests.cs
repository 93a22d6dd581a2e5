using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>The real <c>parley</c> executable against the real server over HTTP, configured by environment or config file.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Cli_UsersTokensGroupsOperatorsAudit_WithEnvironmentOrConfigFile_TablesAndJson()
    {
        await using var server = await TestServer.StartAsync();
        var admin = new Dictionary<string, string?> { ["PARLEY_URL"] = server.BaseUri.ToString(), ["PARLEY_TOKEN"] = server.AdminSecret };
        var p = "cli" + Guid.NewGuid().ToString("N")[..6];

        // Without a URL or token: a usage error in one line, exit 2.
        var unconfigured = await CliProcess.RunAsync(new Dictionary<string, string?>(), "users", "list");
        Assert.Equal(2, unconfigured.ExitCode);
        Assert.Contains("No server URL", unconfigured.Error, StringComparison.Ordinal);

        var created = (await CliProcess.RunAsync(admin, "users", "create", $"{p}-alice", "--nickname", "Alice", "--json")).Json;
        Assert.Equal($"{p}-alice", created.GetProperty("userId").GetString());
        Assert.Equal(0, (await CliProcess.RunAsync(admin, "users", "create", $"{p}-bob", "--nickname", "Bob")).ExitCode);
        var duplicate = await CliProcess.RunAsync(admin, "users", "create", $"{p}-bob");
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("409 already_exists", duplicate.Error, StringComparison.Ordinal);

        var listed = (await CliProcess.RunAsync(admin, "users", "list", "--query", p, "--json")).Json;
        Assert.Equal([$"{p}-alice", $"{p}-bob"], listed.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("userId").GetString()!).Order().ToArray());
        // Tags: replaced with --set, shown, cleared.
        var tagged = (await CliProcess.RunAsync(admin, "users", "tags", $"{p}-alice", "--set", "vip, plan:pro,vip", "--json")).Json;
        Assert.Equal(["plan:pro", "vip"], tagged.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray());
        var tagList = await CliProcess.RunAsync(admin, "users", "tags", $"{p}-alice");
        Assert.Equal(0, tagList.ExitCode);
        Assert.Contains("plan:pro, vip", tagList.Out, StringComparison.Ordinal);
        Assert.Empty((await CliProcess.RunAsync(admin, "users", "tags", $"{p}-alice", "--clear", "--json")).Json.GetProperty("tags").EnumerateArray());
        Assert.Equal(1, (await CliProcess.RunAsync(admin, "users", "tags", $"{p}-alice", "--set", "not valid")).ExitCode);

        var table = await CliProcess.RunAsync(admin, "users", "list", "--query", p);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains($"{p}-alice", table.Out, StringComparison.Ordinal);
        Assert.Contains("2 row(s)", table.Out, StringComparison.Ordinal);

        // A device token issued by the CLI signs a real SDK client in.
        var token = (await CliProcess.RunAsync(admin, "tokens", "issue", $"{p}-alice", "--device", "laptop", "--platform", "linux", "--json")).Json;
        var client = await server.CreateClientAsync($"{p}-alice", "laptop", token: token.GetProperty("token").GetString());
        await client.ConnectAsync();
        var sent = await client.SendTextAsync($"{p}-bob", "hello from a CLI-issued token");
        Assert.Equal(1UL, sent.Seq);
        var tokens = (await CliProcess.RunAsync(admin, "tokens", "list", $"{p}-alice", "--json")).Json;
        Assert.Contains(tokens.EnumerateArray(), t => t.GetProperty("tokenId").GetString() == token.GetProperty("tokenId").GetString());

        var group = (await CliProcess.RunAsync(admin, "groups", "create", "--id", $"{p}-g", "--name", "Team", "--owner", $"{p}-alice", "--member", $"{p}-bob", "--json")).Json;
        Assert.Equal($"{p}-g", group.GetProperty("groupId").GetString());
        var shown = (await CliProcess.RunAsync(admin, "groups", "show", $"{p}-g", "--json")).Json;
        Assert.Equal(2, shown.GetProperty("members").GetArrayLength());

        // An operator token in a config file (owner-only), scopes users + read: may disable, may not read the audit log.
        var op = (await CliProcess.RunAsync(admin, "operators", "issue", "cli-helpdesk", "--scope", "users", "--scope", "read", "--ttl", "3600", "--json")).Json;
        var config = Path.Combine(Path.GetTempPath(), "parley-cli-" + Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { url = server.BaseUri.ToString(), token = op.GetProperty("token").GetString() }));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        try
        {
            var viaConfig = new Dictionary<string, string?> { ["PARLEY_CONFIG"] = config };
            var disabled = await CliProcess.RunAsync(viaConfig, "users", "disable", $"{p}-alice");
            Assert.True(disabled.ExitCode == 0, disabled.Error);
            Assert.Equal(ConnectionState.Disconnected, await WaitForStateAsync(client, ConnectionState.Disconnected));
            var refused = await CliProcess.RunAsync(viaConfig, "audit");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("403 forbidden", refused.Error, StringComparison.Ordinal);
            Assert.Contains("lacks the scope", refused.Error, StringComparison.Ordinal);
            var wrong = await CliProcess.RunAsync(new Dictionary<string, string?> { ["PARLEY_CONFIG"] = config, ["PARLEY_TOKEN"] = "pop_0000000000000000.AAAA" }, "status");
            Assert.Equal(1, wrong.ExitCode);
            Assert.Contains("401", wrong.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }

        // The audit log (admin) shows the operator's action; status answers.
        var audit = (await CliProcess.RunAsync(admin, "audit", "--action", "users.disable", "--json")).Json;
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("actorName").GetString() == "cli-helpdesk" && e.GetProperty("target").GetString() == $"user:{p}-alice");
        var status = (await CliProcess.RunAsync(admin, "status", "--json")).Json;
        Assert.True(status.GetProperty("ready").GetBoolean());
        var human = await CliProcess.RunAsync(admin, "status");
        Assert.Contains("ready", human.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_DirectoryImport_RunsToCompletion_AndListsBadLines()
    {
        await using var server = await TestServer.StartAsync();
        var admin = new Dictionary<string, string?> { ["PARLEY_URL"] = server.BaseUri.ToString(), ["PARLEY_TOKEN"] = server.AdminSecret };
        var carol = await server.CreateUserAsync("carol");
        var p = "imp" + Guid.NewGuid().ToString("N")[..6];
        var csv = new StringBuilder("kind,department_id,parent_id,name,order,user_id,position\n");
        csv.Append(CultureInfo($"department,{p},,Top,1,,\n"));
        for (var i = 0; i < 1500; i++)
        {
            csv.Append(CultureInfo($"department,{p}-{i},{p},Team {i},{i},,\n"));
        }

        csv.Append(CultureInfo($"member,{p}-7,,,1,{carol},Analyst\n"));
        csv.Append(CultureInfo($"member,{p}-8,,,1,ghost-{p},Nobody\n"));
        var file = Path.Combine(Path.GetTempPath(), p + ".csv");
        await File.WriteAllTextAsync(file, csv.ToString());
        try
        {
            var result = await CliProcess.RunAsync(admin, "directory", "import", file, "--json");
            Assert.Equal(1, result.ExitCode); // one line refused
            var status = JsonDocument.Parse(result.Out).RootElement;
            Assert.Equal("completed", status.GetProperty("state").GetString());
            Assert.Equal(1503, status.GetProperty("total").GetInt32());
            Assert.Equal(1502, status.GetProperty("applied").GetInt32());
            var error = Assert.Single(status.GetProperty("errors").EnumerateArray());
            Assert.Equal(1504, error.GetProperty("line").GetInt32());
            var tree = await server.Admin.GetStringAsync("/admin/v1/directory");
            Assert.Contains($"{p}-1499", tree, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Cli_Backup_Restore_Migrate_Export_Erase_RoundTrip()
    {
        var work = Path.Combine(Path.GetTempPath(), "parley-cli-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            string alice;
            string bob;
            SendReceipt last;
            var archive = Path.Combine(work, "backup.tar.gz");
            await using (var server = await TestServer.StartAsync())
            {
                var admin = new Dictionary<string, string?> { ["PARLEY_URL"] = server.BaseUri.ToString(), ["PARLEY_TOKEN"] = server.AdminSecret };
                alice = await server.CreateUserAsync("cli-a");
                bob = await server.CreateUserAsync("cli-b");
                var client = await server.ConnectAsync(alice);
                for (var i = 0; i < 20; i++)
                {
                    await client.SendTextAsync(bob, $"before backup {i}", $"m{i}");
                }

                last = await client.SendTextAsync(bob, "last before backup", "m-last");

                var backup = (await CliProcess.RunAsync(admin, "backup", "--out", archive, "--json")).Json;
                Assert.True(backup.GetProperty("verified").GetBoolean());
                Assert.Equal(21, backup.GetProperty("messages").GetInt64());
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(archive));
                }

                var again = await CliProcess.RunAsync(admin, "backup", "--out", archive);
                Assert.Equal(2, again.ExitCode); // never overwrites

                // Export, then erase (refused without --yes).
                var zipPath = Path.Combine(work, "alice.zip");
                var export = (await CliProcess.RunAsync(admin, "users", "export", alice, "--out", zipPath, "--json")).Json;
                Assert.Contains("messages.jsonl", export.GetProperty("entries").EnumerateArray().Select(e => e.GetString()));
                using (var zip = ZipFile.OpenRead(zipPath))
                {
                    using var reader = new StreamReader(zip.GetEntry("messages.jsonl")!.Open());
                    Assert.Equal(21, (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                }

                var unconfirmed = await CliProcess.RunAsync(admin, "users", "erase", alice);
                Assert.Equal(2, unconfirmed.ExitCode);
                Assert.Contains("--yes", unconfirmed.Error, StringComparison.Ordinal);
                var erased = (await CliProcess.RunAsync(admin, "users", "erase", alice, "--yes", "--json")).Json;
                Assert.Equal(21, erased.GetProperty("messagesTombstoned").GetInt32());
            }

            // Restore the backup (taken before the erasure) into a new directory, check and start a server on it.
            var restored = Path.Combine(work, "restored");
            var restore = (await CliProcess.RunAsync(new Dictionary<string, string?>(), "restore", archive, "--data-dir", restored, "--json")).Json;
            Assert.Equal(21, restore.GetProperty("messages").GetInt64());
            var intoUsed = await CliProcess.RunAsync(new Dictionary<string, string?>(), "restore", archive, "--data-dir", restored);
            Assert.Equal(1, intoUsed.ExitCode);
            Assert.Contains("not empty", intoUsed.Error, StringComparison.Ordinal);
            var check = await CliProcess.RunAsync(new Dictionary<string, string?>(), "migrate", "--data-dir", restored, "--check", "--json");
            Assert.Equal(0, check.ExitCode);
            Assert.Empty(check.Json.GetProperty("pending").EnumerateArray());

            await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:DataDirectory"] = restored }))
            {
                var reader = await server.ConnectAsync(bob);
                var history = await SendBurst.ReadAllAsync(reader, last.ConversationId);
                Assert.Equal(21, history.Count);
                Assert.Equal("last before backup", history[^1].Content.Text.Text);
                var alice2 = await server.ConnectAsync(alice, "d2");
                Assert.Equal(22UL, (await alice2.SendTextAsync(bob, "after restore")).Seq);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Cli_Migrate_AppliesPendingMigrations_OfAnOlderDatabase()
    {
        var dir = Path.Combine(Path.GetTempPath(), "parley-cli-migrate-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // A database as the release before the media feature left it: every migration but 9 (media tables).
            var path = Path.Combine(dir, "parley.db");
            await using (var database = new Parley.Storage.Sqlite.SqliteDatabase(new Parley.Storage.Sqlite.SqliteStoreOptions { DataSource = path }))
            {
                await database.InitializeAsync();
            }

            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
            {
                await connection.OpenAsync();
                using var command = connection.CreateCommand();
                command.CommandText = "DROP TABLE media_refs; DROP TABLE media_objects; DROP TABLE media_upload_parts; DROP TABLE media_uploads; DELETE FROM schema_migrations WHERE version = 9;";
                await command.ExecuteNonQueryAsync();
            }

            var pending = await CliProcess.RunAsync(new Dictionary<string, string?>(), "migrate", "--data-dir", dir, "--check", "--json");
            Assert.Equal(3, pending.ExitCode);
            Assert.Equal([9], JsonDocument.Parse(pending.Out).RootElement.GetProperty("pending").EnumerateArray().Select(v => v.GetInt32()));

            var applied = (await CliProcess.RunAsync(new Dictionary<string, string?>(), "migrate", "--data-dir", dir, "--json")).Json;
            Assert.Equal([9], applied.GetProperty("appliedNow").EnumerateArray().Select(v => v.GetInt32()));
            Assert.Empty(applied.GetProperty("pending").EnumerateArray());
            var table = await CliProcess.RunAsync(new Dictionary<string, string?>(), "migrate", "--data-dir", dir, "--check");
            Assert.Equal(0, table.ExitCode);
            Assert.Matches(@"schema (\d+) of \1\b", table.Out);

            var missing = await CliProcess.RunAsync(new Dictionary<string, string?>(), "migrate", "--data-dir", Path.Combine(dir, "nope"));
            Assert.Equal(2, missing.ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);

    private static async Task<ConnectionState> WaitForStateAsync(Parley.Sdk.ParleyClient client, ConnectionState state)
    {
        await Wait.UntilAsync(() => client.State == state, $"the client to be {state}", TimeSpan.FromSeconds(5));
        return client.State;
    }
}
