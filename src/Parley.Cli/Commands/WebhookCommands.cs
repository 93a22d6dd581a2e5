using System.CommandLine;
using System.Globalization;
using Parley.Cli.Internal;

namespace Parley.Cli.Commands;

internal static class WebhookCommands
{
    public static Command Build()
    {
        var webhooks = new Command("webhooks", "After-hook outbox: pending and dead-lettered events, replay");

        var outbox = Args.Command("outbox", "Events waiting for delivery and dead letters (every node's)");
        outbox.SetAction(ParleyCli.Server(async (_, client, output, ct) =>
        {
            var counts = await client.GetAsync("/admin/v1/webhooks/outbox", ct).ConfigureAwait(false);
            output.Print(counts, c => Output.Table([c], "pending", "deadLettered"));
            return 0;
        }));
        webhooks.Subcommands.Add(outbox);

        var hook = Args.Text("--hook", "Only this after-hook (e.g. afterSendSingleMsg)");
        var limit = Args.Number("--limit", "Rows (default 100, at most 500)");
        var deadLetters = Args.Command("dead-letters", "Events given up after their retries, newest first, with the last error", hook, limit);
        deadLetters.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var rows = await client.GetAsync("/admin/v1/webhooks/dead-letters" + Args.Query(("hook", p.GetValue(hook)), ("limit", p.GetValue(limit))), ct).ConfigureAwait(false);
            output.Print(rows, r => Output.Table(r.EnumerateArray(), "eventId", "hook", "attempts", "lastError", "createdAt", "deadLetteredAt"));
            return 0;
        }));
        webhooks.Subcommands.Add(deadLetters);

        var eventIds = new Argument<string[]>("eventIds") { Description = "Event ids to replay (delivered again with the same event id)", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Replay every dead letter (of --hook when given)" };
        var replayHook = Args.Text("--hook", "With --all: only this after-hook");
        var replay = Args.Command("replay", "Queue dead-lettered events again", eventIds, all, replayHook);
        replay.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var ids = p.GetValue(eventIds) ?? [];
            if ((ids.Length == 0) != p.GetValue(all))
            {
                throw new CliException("Name the event ids to replay, or pass --all (not both).", 2);
            }

            var body = ids.Length > 0
                ? new Dictionary<string, object?> { ["eventIds"] = ids, ["hook"] = p.GetValue(replayHook) }
                : new Dictionary<string, object?> { ["all"] = true, ["hook"] = p.GetValue(replayHook) };
            var result = await client.PostAsync("/admin/v1/webhooks/dead-letters/replay", body, ct).ConfigureAwait(false);
            if (output.Json)
            {
                output.Print(result, _ => { });
            }
            else
            {
                ParleyCli.Done(output, "replaying " + result.GetProperty("replayed").GetInt32().ToString(CultureInfo.InvariantCulture) + " event(s)");
            }

            return 0;
        }));
        webhooks.Subcommands.Add(replay);
        return webhooks;
    }
}
