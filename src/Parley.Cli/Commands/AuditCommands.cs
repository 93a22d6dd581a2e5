using System.CommandLine;
using System.Text.Json;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class AuditCommands
{
    public static Command Build()
    {
        var actor = Args.Text("--actor", "Actor or its name");
        var action = Args.Text("--action", "Action or prefix (users → users.*)");
        var target = Args.Text("--target", "Target contains this");
        var limit = Args.Number("--limit", "Rows (1..200)");
        var before = new Option<long?>("--before") { Description = "Entries older than this id (the previous page's next)" };
        var audit = Args.Command("audit", "The audit log, newest first (scope audit)", actor, action, target, limit, before);
        audit.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var page = await client.GetAsync("/admin/v1/audit" + Args.Query(("actor", p.GetValue(actor)), ("action", p.GetValue(action)), ("target", p.GetValue(target)), ("limit", p.GetValue(limit)), ("before", p.GetValue(before))), ct).ConfigureAwait(false);
            output.Print(page, v =>
            {
                Output.Table(v.GetProperty("items").EnumerateArray(), "id", "at", "actorName", "action", "target", "status", "detail");
                if (v.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.Number)
                {
                    AnsiConsole.MarkupLine("[grey]more: --before " + next.GetRawText() + "[/]");
                }
            });
            return 0;
        }));
        return audit;
    }
}
