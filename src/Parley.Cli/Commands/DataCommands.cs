using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Parley.Cli.Internal;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Backup;
using Spectre.Console;

namespace Parley.Cli.Commands;

/// <summary>Backup, restore, migrations, per-user export and erasure.</summary>
internal static class DataCommands
{
    private const string DatabaseFile = "parley.db";

    public static Command Backup()
    {
        var output = new Option<string>("--out", "-o") { Description = "Archive to write (.tar.gz); refused if it exists", Required = true };
        var noVerify = new Option<bool>("--no-verify") { Description = "Skip reading the archive back after the download" };
        var command = Args.Command("backup", "Online backup while the server runs (scope data): database snapshot, keys, media → one .tar.gz, then read back and checked", output, noVerify);
        command.SetAction(ParleyCli.Server(async (p, client, o, ct) =>
        {
            var path = Path.GetFullPath(p.GetValue(output)!);
            if (File.Exists(path))
            {
                throw new CliException($"'{path}' exists; choose a new file.", 2);
            }

            var partial = path + ".partial";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/backup");
            try
            {
                using (var response = await client.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false))
                {
                    var file = OwnerOnlyFile(partial);
                    await using (file.ConfigureAwait(false))
                    {
                        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                        await using (body.ConfigureAwait(false))
                        {
                            await Progress(o, "downloading backup", null, async report =>
                            {
                                var buffer = new byte[81920];
                                long total = 0;
                                int read;
                                while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                                {
                                    await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                                    total += read;
                                    report(total, null);
                                }
                            }).ConfigureAwait(false);
                        }

                        await file.FlushAsync(ct).ConfigureAwait(false);
                        file.Flush(flushToDisk: true);
                    }
                }

                RestoreResult? verified = null;
                if (!p.GetValue(noVerify))
                {
                    var read = File.OpenRead(partial);
                    await using (read.ConfigureAwait(false))
                    {
                        verified = await BackupArchive.VerifyAsync(read, ct).ConfigureAwait(false);
                    }
                }

                File.Move(partial, path);
                var size = new FileInfo(path).Length;
                if (o.Json)
                {
                    WriteJson(new Dictionary<string, object?>
                    {
                        ["file"] = path,
                        ["bytes"] = size,
                        ["verified"] = verified is not null,
                        ["feedVersion"] = verified?.Manifest.FeedVersion,
                        ["messages"] = verified?.Database.Messages,
                        ["users"] = verified?.Database.Users,
                        ["mediaObjects"] = verified?.Objects,
                    });
                }
                else
                {
                    ParleyCli.Done(o, $"backup written to {path} ({size / 1024.0:0.#} KiB)" + (verified is null ? " — not verified" :
                        $", verified: {verified.Database.Messages} messages, {verified.Database.Users} users, {verified.Objects} media objects, feed version {verified.Manifest.FeedVersion}"));
                }

                return 0;
            }
            finally
            {
                File.Delete(partial);
            }
        }));
        return command;
    }

    public static Command Restore()
    {
        var archive = Args.Required("archive", "A backup made by `parley backup`");
        var dataDir = new Option<string>("--data-dir") { Description = "New, empty data directory (then start Parley with Parley__Storage__DataDirectory pointing at it)", Required = true };
        var command = Args.Command("restore", "Restore a backup into a new data directory (offline: no server involved)", archive, dataDir);
        command.SetAction(ParleyCli.Local(async (p, o, ct) =>
        {
            var source = p.GetValue(archive)!;
            if (!File.Exists(source))
            {
                throw new CliException($"No archive at '{source}'.", 2);
            }

            var input = File.OpenRead(source);
            RestoreResult result;
            await using (input.ConfigureAwait(false))
            {
                result = await BackupArchive.RestoreAsync(input, p.GetValue(dataDir)!, ct).ConfigureAwait(false);
            }

            var target = Path.GetFullPath(p.GetValue(dataDir)!);
            if (o.Json)
            {
                WriteJson(new Dictionary<string, object?>
                {
                    ["dataDirectory"] = target,
                    ["feedVersion"] = result.Manifest.FeedVersion,
                    ["createdAt"] = result.Manifest.CreatedAt,
                    ["provider"] = result.Manifest.Provider,
                    ["messages"] = result.Database.Messages,
                    ["conversations"] = result.Database.Conversations,
                    ["users"] = result.Database.Users,
                    ["mediaObjects"] = result.Objects,
                    ["keyFiles"] = result.Manifest.KeyFiles.ToArray(),
                    ["pendingMigrations"] = result.Database.Pending.Count,
                });
            }
            else
            {
                ParleyCli.Done(o, $"restored into {target}: {result.Database.Messages} messages in {result.Database.Conversations} conversations, {result.Database.Users} users, {result.Objects} media objects (backup of {DateTimeOffset.FromUnixTimeMilliseconds(result.Manifest.CreatedAt):u}).");
                if (result.Manifest.Provider != "Sqlite")
                {
                    AnsiConsole.MarkupLine("[yellow]The backup came from a server on " + Markup.Escape(result.Manifest.Provider) + ": restore its PostgreSQL database with pg_restore too (docs/backup.md).[/]");
                }

                if (result.Manifest.MediaStore != "FileSystem")
                {
                    AnsiConsole.MarkupLine("[yellow]Media lived in " + Markup.Escape(result.Manifest.MediaStore) + " object storage and are not in the archive.[/]");
                }

                AnsiConsole.MarkupLine("Start Parley with [bold]Parley__Storage__DataDirectory=" + Markup.Escape(target) + "[/].");
            }

            return 0;
        }));
        return command;
    }

    public static Command Migrate()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The data directory (server stopped)", Required = true };
        var check = new Option<bool>("--check") { Description = "Only report: exit 3 when migrations are pending" };
        var command = Args.Command("migrate", "Show and apply schema migrations of a data directory's database (the server also applies them at start)", dataDir, check);
        command.SetAction(ParleyCli.Local(async (p, o, ct) =>
        {
            var path = Path.Combine(Path.GetFullPath(p.GetValue(dataDir)!), DatabaseFile);
            if (!File.Exists(path))
            {
                throw new CliException($"No database at '{path}'.", 2);
            }

            var before = await SqliteDatabase.VerifyFileAsync(path, ct).ConfigureAwait(false);
            var applied = Array.Empty<int>();
            if (!p.GetValue(check) && before.Pending.Count > 0)
            {
                var database = new SqliteDatabase(new SqliteStoreOptions { DataSource = path });
                await using (database.ConfigureAwait(false))
                {
                    await database.InitializeAsync(ct).ConfigureAwait(false);
                }

                applied = [.. before.Pending];
            }

            var after = await SqliteDatabase.VerifyFileAsync(path, ct).ConfigureAwait(false);
            if (o.Json)
            {
                WriteJson(new Dictionary<string, object?>
                {
                    ["database"] = path,
                    ["latest"] = after.Latest,
                    ["applied"] = after.Applied.ToArray(),
                    ["pending"] = after.Pending.ToArray(),
                    ["appliedNow"] = applied,
                });
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumn("version").AddColumn("state");
                foreach (var v in after.Applied)
                {
                    table.AddRow(v.ToString(CultureInfo.InvariantCulture), applied.Contains(v) ? "[green]applied now[/]" : "applied");
                }

                foreach (var v in after.Pending)
                {
                    table.AddRow(v.ToString(CultureInfo.InvariantCulture), "[yellow]pending[/]");
                }

                AnsiConsole.Write(table);
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "{0}: schema {1} of {2}", Markup.Escape(path), after.Applied.Count > 0 ? after.Applied[^1] : 0, after.Latest);
            }

            return p.GetValue(check) && after.Pending.Count > 0 ? 3 : 0;
        }));
        return command;
    }

    /// <summary>The top-level <c>export</c> command: the same as <c>users export</c>.</summary>
    public static Command Export() => ExportUser("export");

    public static Command ExportUser(string name)
    {
        var user = Args.Required("userId", "The user whose data to export");
        var output = new Option<string?>("--out", "-o") { Description = "Zip to write (default parley-user-{userId}.zip); refused if it exists" };
        var command = Args.Command(name, "Everything Parley stores about a user as a zip (scope data; audited)", user, output);
        command.SetAction(ParleyCli.Server(async (p, client, o, ct) =>
        {
            var userId = p.GetValue(user)!;
            var path = Path.GetFullPath(p.GetValue(output) ?? $"parley-user-{userId}.zip");
            if (File.Exists(path))
            {
                throw new CliException($"'{path}' exists; choose a new file.", 2);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/users/{Args.Escape(userId)}/export");
            using var response = await client.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var file = OwnerOnlyFile(path);
            await using (file.ConfigureAwait(false))
            {
                await response.Content.CopyToAsync(file, ct).ConfigureAwait(false);
            }

            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            if (o.Json)
            {
                WriteJson(new Dictionary<string, object?> { ["file"] = path, ["bytes"] = new FileInfo(path).Length, ["entries"] = zip.Entries.Select(e => e.FullName).ToArray() });
            }
            else
            {
                ParleyCli.Done(o, $"exported {userId} to {path} ({zip.Entries.Count} files)");
            }

            return 0;
        }));
        return command;
    }

    public static Command EraseUser()
    {
        var user = Args.Required("userId", "The user to erase");
        var yes = new Option<bool>("--yes") { Description = "Confirm: erasure cannot be undone" };
        var command = Args.Command("erase", "Erase a user: messages become tombstones, devices, tokens, relations and media removed, profile anonymised (scope data; audited)", user, yes);
        command.SetAction(ParleyCli.Server(async (p, client, o, ct) =>
        {
            var userId = p.GetValue(user)!;
            if (!p.GetValue(yes))
            {
                throw new CliException($"Erasing {userId} cannot be undone: run again with --yes (export first with `parley users export {userId}`).", 2);
            }

            var result = await client.PostAsync($"/admin/v1/users/{Args.Escape(userId)}/erase", new Dictionary<string, object?> { ["confirm"] = userId }, ct).ConfigureAwait(false);
            o.Print(result, r =>
            {
                ParleyCli.Done(o, $"erased {userId}");
                Output.Fields(r);
            });
            return 0;
        }));
        return command;
    }

    /// <summary>Runs <paramref name="work"/> under a live progress bar (plain when output is not a terminal or with --json).</summary>
    internal static async Task Progress(Output output, string title, long? total, Func<Action<long, long?>, Task> work)
    {
        if (output.Json || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            await work((_, _) => { }).ConfigureAwait(false);
            return;
        }

        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(title, maxValue: total ?? 1);
                task.IsIndeterminate = total is null;
                await work((done, max) =>
                {
                    if (max is { } m)
                    {
                        task.MaxValue = m;
                        task.IsIndeterminate = false;
                    }
                    else if (task.IsIndeterminate)
                    {
                        task.MaxValue = Math.Max(task.MaxValue, done);
                    }

                    task.Value = done;
                }).ConfigureAwait(false);
                task.Value = task.MaxValue;
                task.StopTask();
            }).ConfigureAwait(false);
    }

    internal static void WriteJson(Dictionary<string, object?> value) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(value, CliJsonContext.Default.DictionaryStringObject));

    private static FileStream OwnerOnlyFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }
}
