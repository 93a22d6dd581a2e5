using System.CommandLine;
using System.Text.Json;
using Parley.Cli.Internal;

namespace Parley.Cli.Commands;

/// <summary><c>parley campaigns …</c>: marketing campaigns and the marketing opt-out (docs/business.md).</summary>
internal static class CampaignCommands
{
    public static Command Build()
    {
        var campaigns = new Command("campaigns", "Marketing campaigns: create from a JSON file, list, report, cancel; a user's marketing opt-out");

        var file = Args.Required("file", "The campaign as JSON: {campaignId?, name, audience: {userIds | departmentId | all}, templates: [{templateId, title, body}], startAt?, expiresAt, ratePerSecond?}");
        var create = Args.Command("create", "Create (schedule) a campaign", file);
        create.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new CliException($"No file at '{path}'.", 2);
            }

            JsonElement body;
            try
            {
                using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false));
                body = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new CliException($"'{path}' is not JSON: {e.Message}", 2);
            }

            output.Print(await client.PostAsync("/admin/v1/business/campaigns", body, ct).ConfigureAwait(false), Output.Fields);
            return 0;
        }));
        campaigns.Subcommands.Add(create);

        var state = Args.Text("--state", "Only campaigns in this state: scheduled, running, cancelled, done, expired");
        var after = Args.Text("--after", "Continue after this campaign id");
        var list = Args.Command("list", "Campaigns by id", state, after);
        list.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var page = await client.GetAsync("/admin/v1/business/campaigns" + Args.Query(("state", p.GetValue(state)), ("after", p.GetValue(after))), ct).ConfigureAwait(false);
            output.Print(page, v => Output.Table(v.GetProperty("campaigns").EnumerateArray(), "campaignId", "name", "state", "audience", "audienceSize", "ratePerSecond", "startAt", "expiresAt"));
            return 0;
        }));
        campaigns.Subcommands.Add(list);

        var id = Args.Required("campaignId", "The campaign");
        var show = Args.Command("show", "A campaign's progress, delivery funnel and per-template results", id);
        show.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var report = await client.GetAsync($"/admin/v1/business/campaigns/{Args.Escape(p.GetValue(id)!)}", ct).ConfigureAwait(false);
            output.Print(report, r =>
            {
                Output.Fields(r.GetProperty("campaign"));
                Output.Fields(r.GetProperty("progress"));
                Output.Fields(r.GetProperty("delivery"));
                Output.Table(r.GetProperty("templates").EnumerateArray(), "templateId", "users", "accepted", "arrived", "clicked");
            });
            return 0;
        }));
        campaigns.Subcommands.Add(show);

        var cancelId = Args.Required("campaignId", "The campaign");
        var cancel = Args.Command("cancel", "Stop a scheduled or running campaign; its pushes not sent yet are dropped", cancelId);
        cancel.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var report = await client.PostAsync($"/admin/v1/business/campaigns/{Args.Escape(p.GetValue(cancelId)!)}/cancel", null, ct).ConfigureAwait(false);
            output.Print(report, r => Output.Fields(r.GetProperty("progress")));
            return 0;
        }));
        campaigns.Subcommands.Add(cancel);

        var user = Args.Required("userId", "The user");
        var off = new Option<bool>("--off") { Description = "Opt the user back in" };
        var optOut = Args.Command("opt-out", "Opt a user out of marketing campaigns (or back in with --off)", user, off);
        optOut.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var value = !p.GetValue(off);
            await client.PutAsync($"/admin/v1/business/marketing-opt-out/{Args.Escape(p.GetValue(user)!)}", new Dictionary<string, object?> { ["optOut"] = value }, ct).ConfigureAwait(false);
            ParleyCli.Done(output, value ? $"{p.GetValue(user)} opted out of marketing" : $"{p.GetValue(user)} receives marketing again");
            return 0;
        }));
        campaigns.Subcommands.Add(optOut);
        return campaigns;
    }
}
