using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class DirectoryCommands
{
    public static Command Build()
    {
        var directory = new Command("directory", "Organisation directory: bulk import");
        var file = Args.Required("file", "A JSON or CSV file (docs/directory.md)");
        var kind = Args.Text("--kind", "For CSV without a kind column: departments or members");
        var atomic = new Option<bool>("--atomic") { Description = "All or nothing: any bad line applies nothing" };
        var import = Args.Command("import", "Import departments and members with a live progress bar; per-line errors listed", file, kind, atomic);
        import.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new CliException($"No file at '{path}'.", 2);
            }

            var content = new ByteArrayContent(await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false));
            content.Headers.ContentType = new MediaTypeHeaderValue(path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "text/csv" : "application/json");
            var job = await client.PostAsync("/admin/v1/directory/imports" + Args.Query(("kind", p.GetValue(kind)), ("atomic", p.GetValue(atomic) ? "true" : null)), content, ct).ConfigureAwait(false);
            var id = job.GetProperty("id").GetString()!;
            var status = job;
            await DataCommands.Progress(output, "importing " + Path.GetFileName(path), job.GetProperty("total").GetInt32(), async report =>
            {
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
                while (!IsFinished(status))
                {
                    report(status.GetProperty("processed").GetInt32(), status.GetProperty("total").GetInt32());
                    await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
                    status = await client.GetAsync($"/admin/v1/directory/imports/{Args.Escape(id)}", ct).ConfigureAwait(false);
                }

                report(status.GetProperty("processed").GetInt32(), status.GetProperty("total").GetInt32());
            }).ConfigureAwait(false);

            output.Print(status, s =>
            {
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "import {0}: [bold]{1}[/], {2} of {3} rows applied, {4} error(s)", Markup.Escape(id), Markup.Escape(Output.Cell(s, "state")),
                    Output.Cell(s, "applied"), Output.Cell(s, "total"), Output.Cell(s, "errorCount"));
                if (s.GetProperty("errorCount").GetInt32() > 0)
                {
                    Output.Table(s.GetProperty("errors").EnumerateArray(), "line", "message");
                }
            });
            return status.GetProperty("state").GetString() == "completed" && status.GetProperty("errorCount").GetInt32() == 0 ? 0 : 1;
        }));
        directory.Subcommands.Add(import);
        return directory;
    }

    private static bool IsFinished(JsonElement status) => status.GetProperty("state").GetString() is "completed" or "failed";
}
