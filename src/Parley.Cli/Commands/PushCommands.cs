using System.CommandLine;
using Parley.Cli.Internal;

namespace Parley.Cli.Commands;

internal static class PushCommands
{
    public static Command Build()
    {
        var push = new Command("push", "Offline push: dead letters and replay, funnel");
        var limit = Args.Number("--limit", "Rows (default 100)");
        var deadLetters = Args.Command("dead-letters", "Pushes that were given up, with the reason", limit);
        deadLetters.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            var rows = await client.GetAsync("/admin/v1/push/dead-letters" + Args.Query(("limit", p.GetValue(limit))), ct).ConfigureAwait(false);
            output.Print(rows, r => Output.Table(r.EnumerateArray(), "pushId", "userId", "deviceId", "vendor", "category", "reason", "attempts", "createdAt"));
            return 0;
        }));
        push.Subcommands.Add(deadLetters);

        var pushIds = new Argument<string[]>("pushIds") { Description = "Push ids to replay (same push id: the vendor dedups)", Arity = ArgumentArity.OneOrMore };
        var replay = Args.Command("replay", "Queue dead-lettered pushes again", pushIds);
        replay.SetAction(ParleyCli.Server(async (p, client, output, ct) =>
        {
            foreach (var id in p.GetValue(pushIds)!)
            {
                await client.PostAsync($"/admin/v1/push/dead-letters/{Args.Escape(id)}/replay", null, ct).ConfigureAwait(false);
                ParleyCli.Done(output, $"replaying {id}");
            }

            if (output.Json)
            {
                Console.Out.WriteLine("{\"replayed\":" + p.GetValue(pushIds)!.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}");
            }

            return 0;
        }));
        push.Subcommands.Add(replay);

        var funnel = Args.Command("funnel", "Sent → accepted → arrived → clicked per vendor and category");
        funnel.SetAction(ParleyCli.Server(async (_, client, output, ct) =>
        {
            var rows = await client.GetAsync("/admin/v1/push/funnel", ct).ConfigureAwait(false);
            output.Print(rows, r => Output.Table(r.EnumerateArray(), "vendor", "category", "sent", "accepted", "arrived", "clicked"));
            return 0;
        }));
        push.Subcommands.Add(funnel);
        return push;
    }
}
