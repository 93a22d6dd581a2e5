using System.CommandLine;
using Parley.Cli.Internal;
using Spectre.Console;

namespace Parley.Cli.Commands;

internal static class GroupCommands
{
    public static Command Build()
    {
        var groups = new Command("groups", "Groups: list, show, create, add and remove members, dismiss");
        var query = Args.Text("--query", "Id or name contains this");
        var limit = Args.Number("--limit", "Rows per page (1..200)");
        var after = Args.Text("--after", "Start after this group id");
        var list = Args.Command("list", "Every group (also dismissed ones) with member counts", query, limit, after);
        list.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var page = await client.GetAsync("/admin/v1/groups" + Args.Query(("q", p.GetValue(query)), ("limit", p.GetValue(limit)), ("after", p.GetValue(after))), ct).ConfigureAwait(false);
            output.Print(page, v => Output.Page(v, "groupId", "name", "ownerId", "memberCount", "dismissed", "createdAt"));
            return 0;
        }));
        groups.Subcommands.Add(list);

        var id = Args.Required("groupId", "The group id");
        var show = Args.Command("show", "A group and its members with roles", id);
        show.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var group = await client.GetAsync($"/admin/v1/groups/{Args.Escape(p.GetValue(id)!)}", ct).ConfigureAwait(false);
            output.Print(group, g =>
            {
                AnsiConsole.MarkupLine("[bold]" + Markup.Escape(Output.Cell(g, "name")) + "[/] " + Markup.Escape(Output.Cell(g, "groupId")) + ", owner " + Markup.Escape(Output.Cell(g, "ownerId")));
                Output.Table(g.GetProperty("members").EnumerateArray(), "userId", "role", "nickname", "joinedAt", "mutedUntil");
            });
            return 0;
        }));
        groups.Subcommands.Add(show);

        var name = Args.Text("--name", "Group name");
        var owner = new Option<string>("--owner") { Description = "Owner user id", Required = true };
        var members = new Option<string[]>("--member") { Description = "Member user id (repeat)", AllowMultipleArgumentsPerToken = true };
        var groupIdOption = Args.Text("--id", "Group id (generated when absent)");
        var create = Args.Command("create", "Create a group", groupIdOption, name, owner, members);
        create.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.PostAsync("/admin/v1/groups", new Dictionary<string, object?>
            {
                ["groupId"] = p.GetValue(groupIdOption),
                ["name"] = p.GetValue(name),
                ["ownerId"] = p.GetValue(owner),
                ["memberIds"] = p.GetValue(members) ?? [],
            }, ct).ConfigureAwait(false);
            output.Print(result, Output.Fields);
            return 0;
        }));
        groups.Subcommands.Add(create);

        var users = new Argument<string[]>("userIds") { Description = "User ids", Arity = ArgumentArity.OneOrMore };
        var add = Args.Command("add", "Add members (with the owner's authority; notifications as usual)", id, users);
        add.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.PostAsync($"/admin/v1/groups/{Args.Escape(p.GetValue(id)!)}/members", new Dictionary<string, object?> { ["userIds"] = p.GetValue(users) }, ct).ConfigureAwait(false);
            output.Print(result, Output.Fields);
            return 0;
        }));
        groups.Subcommands.Add(add);

        var user = Args.Required("userId", "The member to remove");
        var kick = Args.Command("kick", "Remove a member", id, user);
        kick.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.DeleteAsync($"/admin/v1/groups/{Args.Escape(p.GetValue(id)!)}/members/{Args.Escape(p.GetValue(user)!)}", ct).ConfigureAwait(false);
            output.Print(result, _ => ParleyCli.Done(output, $"removed {p.GetValue(user)}"));
            return 0;
        }));
        groups.Subcommands.Add(kick);

        var dismiss = Args.Command("dismiss", "Dismiss a group", id);
        dismiss.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var result = await client.PostAsync($"/admin/v1/groups/{Args.Escape(p.GetValue(id)!)}/dismiss", null, ct).ConfigureAwait(false);
            output.Print(result, _ => ParleyCli.Done(output, $"dismissed {p.GetValue(id)}"));
            return 0;
        }));
        groups.Subcommands.Add(dismiss);
        return groups;
    }
}
