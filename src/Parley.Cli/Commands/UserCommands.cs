using System.CommandLine;
using System.Text.Json;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class UserCommands
{
    private static readonly string[] Columns = ["userId", "nickname", "createdAt", "disabledAt"];

    public static Command Build()
    {
        var users = new Command("users", "Users: list, show, create, update, disable, enable, logout, tags, export, erase");

        var query = Args.Text("--query", "Id or nickname contains this");
        var limit = Args.Number("--limit", "Rows per page (1..200)");
        var after = Args.Text("--after", "Start after this user id (the previous page's next)");
        var list = Args.Command("list", "Search users (keyset pages by id)", query, limit, after);
        list.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var page = await client.GetAsync("/admin/v1/users" + Args.Query(("q", p.GetValue(query)), ("limit", p.GetValue(limit)), ("after", p.GetValue(after))), ct).ConfigureAwait(false);
            output.Print(page, v => Output.Page(v, Columns));
            return 0;
        }));
        users.Subcommands.Add(list);

        var id = Args.Required("userId", "The user id");
        var show = Args.Command("show", "One user's profile and device tokens", id);
        show.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var user = await client.GetAsync($"/admin/v1/users/{Args.Escape(p.GetValue(id)!)}", ct).ConfigureAwait(false);
            var tokens = await client.GetAsync($"/admin/v1/users/{Args.Escape(p.GetValue(id)!)}/tokens", ct).ConfigureAwait(false);
            output.Print(user, u =>
            {
                Output.Fields(u);
                Output.Table(tokens.ValueKind == JsonValueKind.Array ? tokens.EnumerateArray() : tokens.GetProperty("items").EnumerateArray(), "tokenId", "deviceId", "platform", "issuedAt", "expiresAt", "active");
            });
            return 0;
        }));
        users.Subcommands.Add(show);

        var nickname = Args.Text("--nickname", "Display name");
        var avatar = Args.Text("--avatar-url", "Avatar URL");
        var create = Args.Command("create", "Create a user", id, nickname, avatar);
        create.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var user = await client.PostAsync("/admin/v1/users", new Dictionary<string, object?> { ["userId"] = p.GetValue(id), ["nickname"] = p.GetValue(nickname), ["avatarUrl"] = p.GetValue(avatar) }, ct).ConfigureAwait(false);
            output.Print(user, Output.Fields);
            return 0;
        }));
        users.Subcommands.Add(create);

        var update = Args.Command("update", "Change a user's nickname or avatar", id, nickname, avatar);
        update.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var user = await client.SendAsync(HttpMethod.Patch, $"/admin/v1/users/{Args.Escape(p.GetValue(id)!)}", new Dictionary<string, object?> { ["nickname"] = p.GetValue(nickname), ["avatarUrl"] = p.GetValue(avatar) }, ct).ConfigureAwait(false);
            output.Print(user, Output.Fields);
            return 0;
        }));
        users.Subcommands.Add(update);

        foreach (var (name, description) in new[] { ("disable", "Disable a user: revokes every token and closes live connections"), ("enable", "Enable a disabled user"), ("logout", "Revoke every token of a user and close its connections") })
        {
            var command = Args.Command(name, description, id);
            command.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
            {
                var result = await client.PostAsync($"/admin/v1/users/{Args.Escape(p.GetValue(id)!)}/{name}", null, ct).ConfigureAwait(false);
                output.Print(result, r => ParleyCli.Done(output, $"{name}: {p.GetValue(id)} {(r.ValueKind == JsonValueKind.Object && r.EnumerateObject().Any() ? r.GetRawText() : "done")}"));
                return 0;
            }));
            users.Subcommands.Add(command);
        }

        var set = Args.Text("--set", "Replace the user's tags with these (comma-separated)");
        var clear = new Option<bool>("--clear") { Description = "Remove all of the user's tags" };
        var tags = Args.Command("tags", "A user's tags (campaign audiences select users by tag): show them, or replace them with --set or --clear", id, set, clear);
        tags.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var path = $"/admin/v1/users/{Args.Escape(p.GetValue(id)!)}/tags";
            var replace = p.GetValue(set);
            var result = replace is null && !p.GetValue(clear)
                ? await client.GetAsync(path, ct).ConfigureAwait(false)
                : await client.PutAsync(path, new Dictionary<string, object?> { ["tags"] = replace?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [] }, ct).ConfigureAwait(false);
            output.Print(result, r => ParleyCli.Done(output, $"{p.GetValue(id)}: {string.Join(", ", r.GetProperty("tags").EnumerateArray().Select(t => t.GetString()))}"));
            return 0;
        }));
        users.Subcommands.Add(tags);

        users.Subcommands.Add(DataCommands.ExportUser("export"));
        users.Subcommands.Add(DataCommands.EraseUser());
        return users;
    }
}
