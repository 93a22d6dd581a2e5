using System.CommandLine;
using System.Globalization;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class StatusCommands
{
    public static Command Status()
    {
        var command = Args.Command("status", "Server version, uptime, readiness, memory, dead letters and key metrics (GET /admin/v1/system)");
        command.SetAction(ParleyCli.Server(async (_, client, output, ct) =>
        {
            var system = await client.GetAsync("/admin/v1/system", ct).ConfigureAwait(false);
            var session = await client.GetAsync("/admin/v1/session", ct).ConfigureAwait(false);
            output.Print(system, s =>
            {
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "Parley [bold]{0}[/] — {1}, up {2}", Markup.Escape(Output.Cell(s, "version")),
                    s.GetProperty("ready").GetBoolean() ? "[green]ready[/]" : "[red]not ready[/]", TimeSpan.FromSeconds(s.GetProperty("uptimeSeconds").GetInt64()));
                AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "signed in as [bold]{0}[/] ({1})", Markup.Escape(Output.Cell(session, "name")), Markup.Escape(Output.Cell(session, "scopes")));
                var table = new Table().Border(TableBorder.Rounded).AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
                table.AddRow("working set", $"{s.GetProperty("workingSetBytes").GetInt64() / (1024 * 1024)} MiB");
                table.AddRow("managed heap", $"{s.GetProperty("managedHeapBytes").GetInt64() / (1024 * 1024)} MiB");
                table.AddRow("threads", Output.Cell(s, "threads"));
                table.AddRow("push dead letters", Output.Cell(s, "deadLetters"));
                if (s.TryGetProperty("metrics", out var metrics))
                {
                    foreach (var metric in metrics.EnumerateObject())
                    {
                        table.AddRow(Markup.Escape(metric.Name), Markup.Escape(metric.Value.ValueKind == System.Text.Json.JsonValueKind.Object && metric.Value.TryGetProperty("value", out var v) ? v.GetRawText() : metric.Value.GetRawText()));
                    }
                }

                AnsiConsole.Write(table);
            });
            return 0;
        }));
        return command;
    }
}
