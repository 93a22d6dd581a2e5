using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using Xunit.Abstractions;

namespace Parley.Push.Tests;

/// <summary>
/// A vendor's quota answer for one category (vivo's 10070: the day's pushes of that category are used up) blocks the
/// category on every node of a cluster (issue 11, ADR 0014's counters): two real server processes on PostgreSQL and one
/// Redis, the loopback vivo simulator. The node vivo told drops the category's pushes until the next UTC day; the other
/// node, which vivo told nothing, drops them too without a request to vivo, while IM pushes still go out.
/// </summary>
public sealed class PushClusterCategoryBlockTests(ITestOutputHelper output) : ClusterTest("pcb", output)
{
    private const int MaxRecipients = 40;
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly string _account = "shop-" + Guid.NewGuid().ToString("N")[..8];

    // Service notifications (the service category) go to offline vivo phones; each notification's 1:1 conversation has its
    // own grain, so its push is journaled and sent by whichever node the grain lives on (the row's owner names it). vivo
    // answers the first one 10070; every later one, on either node, must be filtered vendor_quota and never reach vivo.
    // Notifications go on (through both nodes' admin APIs in turn, so the grains land on both) until the node vivo did not
    // tell has dropped at least one. Per-node blocks would send that node's first one to vivo (which would accept it).
    [ClusterFact]
    public async Task AVendorsCategoryQuotaAnswerToOneNode_BlocksTheCategoryOnTheOtherNode_ImStillPushed()
    {
        // vivo's answer blocks the category until the next UTC day: a run that would cross midnight starts after it.
        var day = DateTime.UtcNow.Date;
        if (DateTime.UtcNow > day.AddDays(1).AddMinutes(-10))
        {
            await Wait.UntilAsync(() => DateTime.UtcNow.Date != day, "the UTC day to end (the block would end mid-test)", TimeSpan.FromMinutes(11));
        }

        await using var vivo = new VivoSimulator(TimeProvider.System);
        await vivo.StartAsync();
        await Cluster.StartAsync(2, (i, node) =>
        {
            node.Settings["Parley__Push__Vivo__BaseUri"] = vivo.BaseUri.ToString();
            node.Settings["Parley__Push__Vivo__AppId"] = VivoSimulator.AppId;
            node.Settings["Parley__Push__Vivo__AppKey"] = VivoSimulator.AppKey;
            node.Settings["Parley__Push__Vivo__AppSecret"] = VivoSimulator.AppSecret;
            node.Settings["Parley__Push__CoalesceWindow"] = "00:00:00";
            node.Settings["Parley__Push__NodeName"] = $"n{i}";
        });

        var created = await Cluster[0].Admin.PostAsJsonAsync("/admin/v1/business/accounts", new { userId = _account, nickname = "Shop" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var recipients = Enumerable.Range(0, MaxRecipients).Select(i => $"v{i}").ToList();
        foreach (var user in recipients.Append("sender"))
        {
            await Cluster.CreateUserAsync(user);
        }

        // vivo's answer to the first send: the day's quota of the message's category is used up.
        vivo.Enqueue(new SimFault(200, """{"result":10070,"desc":"超过单日推送量"}""", Path: "/message/send"));
        await RegisterOfflineVivoPhoneAsync(0, recipients[0]);
        var first = await NotifyAsync(0, recipients[0], "first");
        Assert.Equal((3, "vendor_quota"), (first.State, first.Reason));
        Assert.Equal(1, vivo.RequestsByPushId.GetValueOrDefault(first.PushId));
        var told = NodeOf(first);
        Output.WriteLine($"vivo answered 10070 to node n{told}");

        // Later notifications, on either node: dropped, no request to vivo, until the other node has dropped one.
        var dropped = new List<PushServerProcesses.JournalRow>();
        for (var i = 1; i < MaxRecipients && !dropped.Exists(r => NodeOf(r) != told); i++)
        {
            await RegisterOfflineVivoPhoneAsync(i % 2, recipients[i]);
            var row = await NotifyAsync(i % 2, recipients[i], $"n{i}");
            Assert.True(row is { State: 3, Reason: "vendor_quota" }, $"the service push to {recipients[i]} on node n{NodeOf(row)} ended in state {row.State} ({row.Reason}), not filtered vendor_quota");
            Assert.False(vivo.RequestsByPushId.ContainsKey(row.PushId), $"the service push to {recipients[i]} on node n{NodeOf(row)} reached vivo");
            dropped.Add(row);
        }

        Output.WriteLine($"{dropped.Count} later service pushes dropped: {dropped.Count(r => NodeOf(r) == told)} by n{told}, {dropped.Count(r => NodeOf(r) != told)} by n{1 - told}");
        Assert.True(dropped.Exists(r => NodeOf(r) != told), $"none of {dropped.Count} service pushes was journaled by node n{1 - told}; the test could not check it");
        Assert.Single(vivo.Requests, r => r.Path.Contains("/message/send", StringComparison.Ordinal));

        // IM is never held by a category block: a chat message to each of those recipients is pushed to vivo, on both nodes.
        var sender = await Cluster[1 - told].ConnectAsync("sender", Clients, sendTimeout: TimeSpan.FromSeconds(60));
        var im = new List<PushServerProcesses.JournalRow>();
        foreach (var recipient in dropped.Select(r => r.UserId).Take(6))
        {
            var receipt = await sender.SendTextAsync(recipient, "are you there?");
            im.Add(await SettledAsync(receipt.ServerMsgId));
        }

        Assert.All(im, r => Assert.True(r.State == 2, $"the IM push to {r.UserId} on node n{NodeOf(r)} ended in state {r.State} ({r.Reason})"));
        Assert.All(im, r => Assert.Equal(1, vivo.Delivered.GetValueOrDefault(r.PushId)));
    }

    private static int NodeOf(PushServerProcesses.JournalRow row) => row.Owner.StartsWith("n0/", StringComparison.Ordinal) ? 0 : row.Owner.StartsWith("n1/", StringComparison.Ordinal) ? 1 : -1;

    // A vivo phone of the user, registered through the node and then offline.
    private async Task RegisterOfflineVivoPhoneAsync(int node, string userId)
    {
        var phone = await Cluster[node].ConnectAsync(userId, Clients, "phone", Platform.Android, TimeSpan.FromSeconds(60));
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Vivo, Token = "vivo-token-" + userId, AppId = "com.example.shop", NotificationsEnabled = true });
        await phone.DisposeAsync();
        Clients.Remove(phone);
    }

    // A service notification from the shop account to the user, through the node's admin API; returns its settled journal row.
    private async Task<PushServerProcesses.JournalRow> NotifyAsync(int node, string userId, string key)
    {
        var response = await Cluster[node].Admin.PostAsJsonAsync("/admin/v1/business/notifications", new
        {
            senderId = _account,
            recipientIds = new[] { userId },
            idempotencyKey = key,
            title = "Order shipped",
            body = "Your order is on its way",
        });
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(JsonOptions);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"notifications answered {(int)response.StatusCode}: {json}");
        return await SettledAsync(json.GetProperty("results")[0].GetProperty("serverMsgId").GetString()!);
    }

    // The message's one push row once it is settled (neither pending nor sending).
    private async Task<PushServerProcesses.JournalRow> SettledAsync(string messageId)
    {
        PushServerProcesses.JournalRow? row = null;
        await Wait.UntilAsync(
            () => (row = PushServerProcesses.PostgresJournal(Cluster.Schema, messageId).SingleOrDefault()) is { State: not (0 or 1) },
            $"the push of message {messageId} to be journaled and settled",
            TimeSpan.FromSeconds(60));
        return row!;
    }
}
