using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;

namespace Parley.Push.Tests;

public sealed class PushEndpointTests
{
    [Fact]
    public async Task ReceiptAndAdminEndpoints_MarkArrival_TraceMessage_ReplayDeadLetter()
    {
        await using var h = await PushHarness.StartAsync(services: s => s.Configure<Vendors.Apns.ApnsOptions>(o => o.RequestTimeout = TimeSpan.FromSeconds(1)));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "hw", PushVendor.Huawei, "hms-endpoint"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "ios", PushVendor.Apns, PushHarness.ApnsToken(40)));
        h.Apns.Enqueue(new Simulators.SimFault(Hang: true));
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("e1", "c-e1", new PushRecipient("bob", 2)));
        var rows = await Task.WhenAll(result.AcceptedPushIds.Select(id => h.Journal.GetAsync(id)));
        var hwPush = rows.Single(r => r!.Vendor == PushVendor.Huawei)!.PushId;
        var iosPush = rows.Single(r => r!.Vendor == PushVendor.Apns)!.PushId;
        await h.WaitForStateAsync(hwPush, PushState.Accepted);
        await h.WaitForStateAsync(iosPush, PushState.DeadLettered);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(h.Pipeline);
        await using var app = builder.Build();
        app.MapParleyPushReceipts();
        app.MapParleyPushAdmin();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var receipt = await http.PostAsJsonAsync("/push/receipts/huawei", new { statuses = new[] { new { biTag = hwPush, status = 0, token = "x", appid = "10086" } } });
        Assert.Equal(HttpStatusCode.OK, receipt.StatusCode);
        Assert.NotNull((await h.Journal.GetAsync(hwPush))!.ArrivedAt);

        var trace = JsonNode.Parse(await http.GetStringAsync("/admin/push/messages/e1/pushes"))!.AsArray();
        Assert.Equal(2, trace.Count);
        Assert.Contains(trace, t => t!["state"]!.GetValue<string>() == "DeadLettered" && t["vendor"]!.GetValue<string>() == "apns");
        Assert.DoesNotContain("payload", trace.ToJsonString(), StringComparison.Ordinal);

        var dead = JsonNode.Parse(await http.GetStringAsync("/admin/push/dead-letters"))!.AsArray();
        Assert.Equal(iosPush, Assert.Single(dead)!["pushId"]!.GetValue<string>());
        h.Apns.ClearFaults();
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"/admin/push/dead-letters/{iosPush}/replay", null)).StatusCode);
        await PushHarness.WaitUntilAsync(
            async () => (await h.Journal.GetAsync(iosPush))!.State == PushState.Accepted,
            () => "replayed push accepted; APNs saw: " + string.Join(", ", h.Apns.Requests.Select(r => r.Status)));

        // vivo / OPPO / Xiaomi callbacks carry the push id as their callback parameter.
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "vivo", PushVendor.Vivo, "vivo-endpoint"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "oppo", PushVendor.Oppo, "oppo-endpoint"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "xm", PushVendor.Xiaomi, "xm-endpoint"));
        var more = await h.Pipeline.SubmitAsync(PushHarness.Im("e2", "c-e2", new PushRecipient("bob", 3)));
        var byVendor = (await Task.WhenAll(more.AcceptedPushIds.Select(id => h.WaitForStateAsync(id, PushState.Accepted)))).ToDictionary(r => r.Vendor, r => r.PushId);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/push/receipts/vivo", new Dictionary<string, object> { ["task1"] = new { param = byVendor[PushVendor.Vivo], targets = "x" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/push/receipts/oppo", new[] { new { messageId = "m", param = byVendor[PushVendor.Oppo], eventType = "push_arrive" } })).StatusCode);
        var xmData = new JsonObject { ["scm1"] = new JsonObject { ["param"] = byVendor[PushVendor.Xiaomi], ["type"] = 1 } }.ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/push/receipts/xiaomi", new FormUrlEncodedContent(new Dictionary<string, string> { ["data"] = xmData }))).StatusCode);
        foreach (var vendor in new[] { PushVendor.Vivo, PushVendor.Oppo, PushVendor.Xiaomi })
        {
            Assert.NotNull((await h.Journal.GetAsync(byVendor[vendor]))!.ArrivedAt);
        }

        var funnel = JsonNode.Parse(await http.GetStringAsync("/admin/push/funnel"))!.AsArray();
        Assert.Contains(funnel, f => f!["vendor"]!.GetValue<string>() == "huawei" && f["step"]!.GetValue<string>() == "arrived" && f["count"]!.GetValue<long>() == 1);
    }

    /// <summary>Issue 15, defect 8: wrongly typed receipts are typed errors, push ids are keyed, a callback speaks only for its vendor and, when configured, must carry its secret.</summary>
    [Fact]
    public async Task Receipts_WrongTypes_KeyedIds_VendorMustMatch_SecretChecked()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "hw", PushVendor.Huawei, "hms-endpoint"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "oppo", PushVendor.Oppo, "oppo-endpoint"));
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("k1", "c-k1", new PushRecipient("bob", 2)));
        var rows = (await Task.WhenAll(result.AcceptedPushIds.Select(id => h.WaitForStateAsync(id, PushState.Accepted)))).ToDictionary(r => r.Vendor, r => r.PushId);
        var hwPush = rows[PushVendor.Huawei];

        // Keyed: the id is the HMAC under the server's key, not the hash anyone (e.g. the sender) can compute.
        var key = h.Services.GetRequiredService<PushIdKey>();
        Assert.Equal(Internal.PushIds.PushId(key, "k1", "bob", "hw"), hwPush);
        var unkeyed = Internal.PushIds.Base64Url(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("k1\nbob\nhw")).AsSpan(0, 16));
        Assert.NotEqual(unkeyed, hwPush);
        Assert.NotEqual(Internal.PushIds.PushId(PushIdKey.Derive(new byte[32]), "k1", "bob", "hw"), hwPush);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(h.Pipeline);
        builder.Services.Configure<ReceiptOptions>(o => o.Secrets["oppo"] = "oppo-callback-secret");
        await using var app = builder.Build();
        app.MapParleyPushReceipts();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, string json, string contentType = "application/json")
        {
            using var response = await http.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, contentType));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
        }

        // Wrongly typed JSON: ignored entries or a typed 400, never a 500.
        foreach (var body in new[] { "{\"statuses\":[{\"biTag\":5,\"status\":\"0\"}]}", "{\"statuses\":\"x\"}", "[1,2]", "{\"statuses\":[null,7,{\"biTag\":{},\"status\":0}]}", "\"text\"" })
        {
            var (status, json) = await PostAsync("/push/receipts/huawei", body);
            Assert.True(status == HttpStatusCode.OK, $"{body} answered {(int)status}");
            Assert.Equal(0, json!["accepted"]!.GetValue<int>());
        }

        var (badStatus, badJson) = await PostAsync("/push/receipts/huawei", "{bad");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Equal("bad_request", badJson!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await PostAsync("/push/receipts/xiaomi", "{}")).Status);
        using (var form = await http.PostAsync("/push/receipts/xiaomi", new FormUrlEncodedContent(new Dictionary<string, string> { ["data"] = "{bad" })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, form.StatusCode);
        }

        var (vivoStatus, _) = await PostAsync("/push/receipts/vivo", "{\"t\":{\"param\":[1]},\"u\":5}");
        Assert.Equal(HttpStatusCode.OK, vivoStatus);

        // The vendor must match: the Huawei push id through vivo's (unauthenticated) callback changes nothing.
        var (_, viaVivo) = await PostAsync("/push/receipts/vivo", new JsonObject { ["task"] = new JsonObject { ["param"] = hwPush } }.ToJsonString());
        Assert.Equal(0, viaVivo!["accepted"]!.GetValue<int>());
        Assert.Null((await h.Journal.GetAsync(hwPush))!.ArrivedAt);
        var (_, viaHuawei) = await PostAsync("/push/receipts/huawei", new JsonObject { ["statuses"] = new JsonArray(new JsonObject { ["biTag"] = hwPush, ["status"] = 0 }) }.ToJsonString());
        Assert.Equal(1, viaHuawei!["accepted"]!.GetValue<int>());

        // OPPO has a configured secret: refused without it or with a wrong one, accepted with it (Basic password or query).
        var oppoBody = new JsonArray(new JsonObject { ["param"] = rows[PushVendor.Oppo], ["eventType"] = "push_arrive" }).ToJsonString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("/push/receipts/oppo", oppoBody)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync("/push/receipts/oppo?secret=guess", oppoBody)).Status);
        Assert.Null((await h.Journal.GetAsync(rows[PushVendor.Oppo]))!.ArrivedAt);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/push/receipts/oppo") { Content = new StringContent(oppoBody, System.Text.Encoding.UTF8, "application/json") })
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("oppo:oppo-callback-secret"u8.ToArray()));
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.NotNull((await h.Journal.GetAsync(rows[PushVendor.Oppo]))!.ArrivedAt);
    }
}
