using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>Issue 15, defect 7: the admin API and /metrics never answer on the OpenIM ports, and can have a listener of their own.</summary>
public sealed class ListenerIsolationTests
{
    private static Dictionary<string, string?> OpenIm(int apiPort, int wsPort) => new()
    {
        ["Parley:OpenIM:Enabled"] = "true",
        ["Parley:OpenIM:Secret"] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        ["Parley:OpenIM:ApiPort"] = apiPort.ToString(CultureInfo.InvariantCulture),
        ["Parley:OpenIM:WsPort"] = wsPort.ToString(CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task OpenImPorts_ServeOnlyOpenImRoutes_EvenWithASpoofedHostHeader()
    {
        int apiPort = TestServer.FreePort(), wsPort = TestServer.FreePort();
        await using var server = await TestServer.StartAsync(OpenIm(apiPort, wsPort));
        var existing = await server.CreateUserAsync("iso");
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync($"/admin/v1/users/{existing}")).StatusCode);
        foreach (var port in new[] { apiPort, wsPort })
        {
            using var http = Authorized(server, port);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/admin/v1/users/{existing}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync("/api/v1/device")).StatusCode);
            using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            spoofed.Headers.Host = $"127.0.0.1:{server.BaseUri.Port}";
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(spoofed)).StatusCode);
        }

        // The OpenIM REST route still answers on its port, and a Host header naming that port does not carry it to the main port.
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
        Assert.Equal(HttpStatusCode.OK, (await PostOpenImAsync(api, null)).StatusCode);
        using var main = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal(HttpStatusCode.NotFound, (await PostOpenImAsync(main, $"127.0.0.1:{apiPort}")).StatusCode);

        // The main port keeps the admin API and metrics by default.
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync("/admin/v1/users", Json("{\"userId\":\"iso-main\"}"))).StatusCode);
    }

    [Fact]
    public async Task ManagementUrls_MoveAdminAndMetricsToTheirOwnListener()
    {
        var managementPort = TestServer.FreePort();
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Management:Urls"] = $"http://127.0.0.1:{managementPort}" });
        using var management = Authorized(server, managementPort);

        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync("/admin/v1/users", Json("{\"userId\":\"iso-a\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync("/readyz")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await management.PostAsync("/admin/v1/users", Json("{\"userId\":\"iso-b\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await management.DeleteAsync("/api/v1/device")).StatusCode);
    }

    private static HttpClient Authorized(TestServer server, int port)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminSecret);
        return http;
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> PostOpenImAsync(HttpClient http, string? host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/get_admin_token") { Content = Json("{\"secret\":\"wrong\",\"userID\":\"imAdmin\"}") };
        request.Headers.Add("operationID", "op-iso");
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        return await http.SendAsync(request);
    }
}
