using System.Diagnostics;
using System.Globalization;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>freshlogin</c> (issue 17, "logins/s, fresh device with 10 conversations to sync"): every one of
/// <c>--login-users</c> is a member of <c>--fresh-conversations</c> groups of <c>--fresh-group-size</c> (one group per
/// layer; each layer is the users cut into consecutive blocks, rotated by 7 × the layer so co-members differ), and every
/// group holds <c>--fresh-messages</c> messages. Then every user logs in as a new device (resume cursor 0), as in
/// <c>login</c>: logins/s, login latency to SyncComplete, server CPU and allocation per login. Each login's SyncComplete
/// must report the user's conversations and messages (min(messages + the GroupCreated notice, the server's per-conversation
/// sync limit of 200) per conversation); a login that does not counts as lost. Against the relay (no storage) it is the plain login step.
/// </summary>
internal sealed partial class Runner
{
    private const int ServerSyncMessagesPerConversation = 200;

    private async Task<StepResult> FreshLoginAsync(int run, TargetProcess target, AdminClient admin, string prefix)
    {
        var n = o.LoginUsers;
        var tokens = await admin.CreateUsersAsync(prefix, n, n).ConfigureAwait(false);
        var conversationsPerUser = 0;
        var messagesPerUser = 0;
        if (target.Name == "parley")
        {
            var clock = Stopwatch.StartNew();
            (conversationsPerUser, messagesPerUser) = await SeedFreshConversationsAsync(target, admin, prefix, tokens).ConfigureAwait(false);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"[parley freshlogin r{run}] seeded {o.FreshConversations} layers of groups of {o.FreshGroupSize}, {o.FreshMessages} messages each, in {clock.Elapsed.TotalSeconds:F1} s: each login syncs {conversationsPerUser} conversations, {messagesPerUser} messages")).ConfigureAwait(false);
        }

        await WarmUpLoginsAsync(run, target, prefix, tokens).ConfigureAwait(false);
        await Task.Delay(1000).ConfigureAwait(false);
        var (connections, elapsed, su, gu, alloc0, alloc1, latency) = await MeasureLoginsAsync(target, prefix, tokens, n).ConfigureAwait(false);
        try
        {
            // Every login synced the user's conversations and their messages (the relay syncs nothing).
            var wrong = target.Name == "parley"
                ? connections.Count(c => c.SyncConversations != conversationsPerUser || c.SyncMessages != (ulong)messagesPerUser)
                : 0;
            var m = new Dictionary<string, double>
            {
                ["connections"] = n,
                ["sync_conversations_per_login"] = conversationsPerUser,
                ["sync_messages_per_login"] = messagesPerUser,
                ["logins_per_s"] = n / elapsed,
                ["login_p50_ms"] = latency.Percentile(50) / 1000.0,
                ["login_p99_ms"] = latency.Percentile(99) / 1000.0,
                ["login_max_ms"] = latency.Max / 1000.0,
                ["server_cpu_pct"] = su.CpuPercent,
                ["server_cpu_ms_per_login"] = su.CpuSeconds * 1000 / n,
                ["server_alloc_kb_per_login"] = (alloc1 - alloc0) / 1024 / n,
                ["gen_cpu_pct"] = gu.CpuPercent,
                ["gen_bound"] = GeneratorBound(gu) ? 1 : 0,
                ["wrong_sync"] = wrong,
                ["lost"] = wrong,
            };
            var r = new StepResult(run, "freshlogin", target.Name, "freshlogin", m);
            Steps.Add(r);
            var example = connections.FirstOrDefault(c => c.SyncConversations != conversationsPerUser || c.SyncMessages != (ulong)messagesPerUser);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"[{target.Name} freshlogin r{run}] {n} fresh logins ({conversationsPerUser} conversations, {messagesPerUser} messages each) in {elapsed:F2} s = {m["logins_per_s"]:F0}/s, p50 {m["login_p50_ms"]:F1} ms p99 {m["login_p99_ms"]:F1} ms | srv cpu {su.CpuPercent:F0}%, {m["server_cpu_ms_per_login"]:F2} ms/login, alloc {m["server_alloc_kb_per_login"]:F1} KB/login | gen cpu {gu.CpuPercent:F0}%{(GeneratorBound(gu) ? " GENERATOR-BOUND" : "")} | wrong sync {wrong}{(example is null ? "" : $" (e.g. {example.UserId}: {example.SyncConversations} conversations, {example.SyncMessages} messages)")}")).ConfigureAwait(false);
            return r;
        }
        finally
        {
            await DisposeAllAsync(connections).ConfigureAwait(false);
        }
    }

    /// <summary>Creates the groups and fills them; returns what one user's fresh sync must carry.</summary>
    private async Task<(int Conversations, int Messages)> SeedFreshConversationsAsync(TargetProcess target, AdminClient admin, string prefix, string[] tokens)
    {
        var n = o.LoginUsers;
        var size = Math.Min(o.FreshGroupSize, n);
        var blocks = (n + size - 1) / size;
        var groups = new List<(string GroupId, int Owner, string[] Members)>();
        for (var layer = 0; layer < o.FreshConversations; layer++)
        {
            var shift = (7 * layer) % n;
            for (var b = 0; b < blocks; b++)
            {
                var members = Enumerable.Range(b * size, Math.Min(size, n - (b * size))).Select(i => (i + shift) % n).ToArray();
                groups.Add(($"{prefix}f{layer}b{b}", members[0], [.. members.Select(i => prefix + i)]));
            }
        }

        var conversations = new string[groups.Count];
        await Parallel.ForAsync(0, groups.Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (k, _) =>
            conversations[k] = await admin.CreateGroupAsync(groups[k].GroupId, groups[k].Members).ConfigureAwait(false)).ConfigureAwait(false);

        // Each group's owner posts its messages; owners post in parallel, each one message at a time (acked).
        var byOwner = Enumerable.Range(0, groups.Count).GroupBy(k => groups[k].Owner).ToList();
        await Parallel.ForEachAsync(byOwner, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (owned, _) =>
        {
            var owner = owned.Key;
            await using var client = await MiniClient.ConnectAsync(target.WebSocketUrlFor(owner), prefix + owner, tokens[owner], 0, "lt-" + owner).ConfigureAwait(false);
            foreach (var k in owned)
            {
                for (var i = 0; i < o.FreshMessages; i++)
                {
                    await client.SendTextAsync(conversations[k], string.Create(CultureInfo.InvariantCulture, $"fresh {k}/{i} {new string('x', Math.Max(0, o.PayloadBytes - 16))}")).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);

        // A group's first message is its GroupCreated notice.
        return (o.FreshConversations, o.FreshConversations * Math.Min(o.FreshMessages + 1, ServerSyncMessagesPerConversation));
    }
}
