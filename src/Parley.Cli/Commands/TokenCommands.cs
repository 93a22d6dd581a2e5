using System.CommandLine;
using System.Text.Json;
using Parley.Cli.Internal;

namespace Parley.Cli.Commands;

internal static class TokenCommands
{
    public static Command Build()
    {
        var tokens = new Command("tokens", "Device tokens of users: issue, list, revoke");
        var user = Args.Required("userId", "The user id");
        var device = new Option<string>("--device") { Description = "Device id", Required = true };
        var platform = new Option<string>("--platform") { Description = "ios, android, windows, macos, linux, web, ipad, android_pad, mini_program", DefaultValueFactory = _ => "linux" };
        var ttl = new Option<long?>("--ttl") { Description = "Lifetime in seconds (server default when absent)" };
        var issue = Args.Command("issue", "Issue a device token (printed once)", user, device, platform, ttl);
        issue.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.PostAsync($"/admin/v1/users/{Args.Escape(p.GetValue(user)!)}/tokens",
                new Dictionary<string, object?> { ["deviceId"] = p.GetValue(device), ["platform"] = p.GetValue(platform), ["ttlSeconds"] = p.GetValue(ttl) }, ct).ConfigureAwait(false);
            output.Print(result, Output.Fields);
            return 0;
        }));
        tokens.Subcommands.Add(issue);

        var list = Args.Command("list", "A user's device tokens (never the token itself)", user);
        list.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.GetAsync($"/admin/v1/users/{Args.Escape(p.GetValue(user)!)}/tokens", ct).ConfigureAwait(false);
            output.Print(result, r => Output.Table(r.ValueKind == JsonValueKind.Array ? r.EnumerateArray() : r.GetProperty("items").EnumerateArray(), "tokenId", "deviceId", "platform", "issuedAt", "expiresAt", "revokedAt", "active"));
            return 0;
        }));
        tokens.Subcommands.Add(list);

        var tokenId = Args.Required("tokenId", "The token id");
        var revoke = Args.Command("revoke", "Revoke a device token; its live connections close at once", tokenId);
        revoke.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.DeleteAsync($"/admin/v1/tokens/{Args.Escape(p.GetValue(tokenId)!)}", ct).ConfigureAwait(false);
            output.Print(result, r => ParleyCli.Done(output, $"revoked {p.GetValue(tokenId)}; {Output.Cell(r, "closedConnections")} connection(s) closed"));
            return 0;
        }));
        tokens.Subcommands.Add(revoke);
        return tokens;
    }
}
