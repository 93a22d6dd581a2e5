using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Parley.IntegrationTests.Infrastructure;
using Parley.Sdk;
using Parley.Storage.Sqlite.Backup;

namespace Parley.IntegrationTests;

/// <summary>
/// The PostgreSQL backup of docs/backup.md: <c>pg_dump</c> of the Parley schema while a client sends, <c>pg_restore</c>
/// into a new database, the data directory restored from <c>POST /admin/v1/backup</c>, and a server on both has every
/// message acked before the dump and continues the seqs.
/// </summary>
public sealed class PostgresBackupTests : IAsyncLifetime
{
    private readonly string _schema = "it_bk_" + Guid.NewGuid().ToString("N");
    private readonly string _database = "parley_restore_" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-pg-bk-" + Guid.NewGuid().ToString("N"));

    private static string ConnectionString => PostgresFactAttribute.ConnectionString;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresFactAttribute.Variable)))
        {
            await ExecuteAsync(ConnectionString, $"DROP SCHEMA IF EXISTS \"{_schema}\" CASCADE");
            await ExecuteAsync(ConnectionString, $"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [PostgresFact]
    public async Task PgDump_WhileSending_PgRestoreIntoNewDatabase_ServerHasEveryAckedMessage_AndContinuesSeqs()
    {
        Directory.CreateDirectory(_root);
        var dump = Path.Combine(_root, "parley.dump");
        var archive = Path.Combine(_root, "data.tar.gz");
        var acked = new ConcurrentDictionary<string, SendReceipt>();
        Dictionary<string, SendReceipt> ackedBeforeDump;
        string sender;
        string receiver;
        await using (var server = await TestServer.StartAsync(Settings(ConnectionString)))
        {
            sender = await server.CreateUserAsync("pgbk-s");
            receiver = await server.CreateUserAsync("pgbk-r");
            var client = await server.ConnectAsync(sender);
            using var stop = new CancellationTokenSource();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var load = Task.Run(async () =>
            {
                for (var k = 0; !stop.IsCancellationRequested; k++)
                {
                    var receipt = await client.SendTextAsync(receiver, $"pg {k}", $"pg-{k}");
                    acked[receipt.ClientMsgId] = receipt;
                    if (acked.Count >= 100)
                    {
                        started.TrySetResult();
                    }
                }
            });
            await Wait.ForAsync(started.Task.ContinueWith(_ => true, TaskScheduler.Default), "100 acks before the dump", TimeSpan.FromSeconds(60));
            ackedBeforeDump = acked.ToDictionary(kv => kv.Key, kv => kv.Value);
            await RunToolAsync("pg_dump", "--format=custom", $"--schema={_schema}", $"--file={dump}", Libpq(ConnectionString));
            using (var response = await server.Admin.PostAsync("/admin/v1/backup", null))
            {
                response.EnsureSuccessStatusCode();
                await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
            }

            var afterDump = acked.Count;
            await Wait.UntilAsync(() => acked.Count > afterDump + 10, "sends to go on after the dump", TimeSpan.FromSeconds(30));
            await stop.CancelAsync();
            await load;
        }

        await ExecuteAsync(ConnectionString, $"CREATE DATABASE \"{_database}\"");
        var restoredConnection = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = _database }.ConnectionString;
        // A --schema dump carries no extensions; the documented restore creates the search index's pg_trgm and btree_gin
        // (the index on conversation and text, PostgreSQL migration 24) first.
        await ExecuteAsync(restoredConnection, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public");
        await RunToolAsync("pg_restore", "--exit-on-error", "--no-owner", "-d", Libpq(restoredConnection), dump);
        var dataDirectory = Path.Combine(_root, "data");
        await using (var input = File.OpenRead(archive))
        {
            var restored = await BackupArchive.RestoreAsync(input, dataDirectory);
            Assert.Equal("Postgres", restored.Manifest.Provider);
        }

        var settings = Settings(restoredConnection);
        settings["Parley:Storage:DataDirectory"] = dataDirectory;
        await using (var server = await TestServer.StartAsync(settings))
        {
            var reader = await server.ConnectAsync(receiver);
            var conversation = ackedBeforeDump.Values.First().ConversationId;
            var stored = await SendBurst.ReadAllAsync(reader, conversation);
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
            var byId = stored.ToDictionary(m => m.ClientMsgId);
            foreach (var (id, receipt) in ackedBeforeDump)
            {
                Assert.True(byId.TryGetValue(id, out var m), $"{id} was acked before pg_dump but is not in the restored database");
                Assert.Equal(receipt.Seq, m.Seq);
            }

            Assert.All(byId.Keys, id => Assert.True(acked.ContainsKey(id), $"{id} restored but never acked"));
            var next = await (await server.ConnectAsync(sender, "d2")).SendTextAsync(receiver, "after restore");
            Assert.Equal(stored[^1].Seq + 1, next.Seq);
        }
    }

    private Dictionary<string, string?> Settings(string connectionString) => PostgresFactAttribute.ServerSettings(_schema, connectionString);

    private static string Libpq(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var parts = new List<string> { $"host={b.Host}", $"port={b.Port}", $"dbname={b.Database}" };
        if (!string.IsNullOrEmpty(b.Username))
        {
            parts.Add($"user={b.Username}");
        }

        if (!string.IsNullOrEmpty(b.Password))
        {
            parts.Add($"password={b.Password}");
        }

        return string.Join(' ', parts);
    }

    private static async Task RunToolAsync(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(FindTool(tool)) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, $"{tool} exited {process.ExitCode}: {await error}{await output}");
    }

    // The server's own binaries (Debian: /usr/lib/postgresql/N/bin), so pg_dump is never older than the server.
    private static string FindTool(string tool)
    {
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", tool)).Where(File.Exists)
                .OrderByDescending(p => int.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p))), out var v) ? v : 0).FirstOrDefault()
            : null;
        return installed ?? tool;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
