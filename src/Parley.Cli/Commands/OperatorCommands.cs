using System.CommandLine;
using System.Text.Json;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class OperatorCommands
{
    public static Command Build()
    {
        var operators = new Command("operators", "Operator tokens (admin secret only): issue, list, revoke");
        var name = Args.Required("name", "Who or what the token is for");
        var scopes = new Option<string[]>("--scope") { Description = "read, users, groups, directory, push, audit, data (repeat)", Required = true, AllowMultipleArgumentsPerToken = true };
        var ttl = new Option<long?>("--ttl") { Description = "Lifetime in seconds" };
        var issue = Args.Command("issue", "Issue an operator token (printed once)", name, scopes, ttl);
        issue.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.PostAsync("/admin/v1/operators", new Dictionary<string, object?> { ["name"] = p.GetValue(name), ["scopes"] = p.GetValue(scopes), ["ttlSeconds"] = p.GetValue(ttl) }, ct).ConfigureAwait(false);
            output.Print(result, r =>
            {
                AnsiConsole.MarkupLine("token (shown once): [bold]" + Markup.Escape(Output.Cell(r, "token")) + "[/]");
                Output.Fields(r.GetProperty("info"));
            });
            return 0;
        }));
        operators.Subcommands.Add(issue);

        var list = Args.Command("list", "Operator tokens (never the token itself)");
        list.SetAction(ParleyCli.Server(async (_, client, output, ct) =>
        {
            var result = await client.GetAsync("/admin/v1/operators", ct).ConfigureAwait(false);
            output.Print(result, r => Output.Table(r.ValueKind == JsonValueKind.Array ? r.EnumerateArray() : r.GetProperty("items").EnumerateArray(), "tokenId", "name", "scopes", "createdAt", "expiresAt", "active"));
            return 0;
        }));
        operators.Subcommands.Add(list);

        var id = Args.Required("tokenId", "The operator token id");
        var revoke = Args.Command("revoke", "Revoke an operator token", id);
        revoke.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.DeleteAsync($"/admin/v1/operators/{Args.Escape(p.GetValue(id)!)}", ct).ConfigureAwait(false);
            output.Print(result, _ => ParleyCli.Done(output, $"revoked {p.GetValue(id)}"));
            return 0;
        }));
        operators.Subcommands.Add(revoke);
        return operators;
    }
}
