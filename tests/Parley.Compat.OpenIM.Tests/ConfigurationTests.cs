using System.Net;

namespace Parley.Compat.OpenIM.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task With_an_api_port_the_endpoints_answer_only_on_that_port()
    {
        var apiPort = TestServer.FreePort();
        await using var server = await OpenImTestServer.StartAsync(new Dictionary<string, string?> { ["Parley:OpenIM:ApiPort"] = apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture) }, apiPort);
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };

        using var onMainPort = await server.Http.PostAsync("/auth/get_admin_token", new StringContent("{}"));
        using var onApiPort = await api.PostAsync("/auth/get_admin_token", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, onMainPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onApiPort.StatusCode);
    }

    [Fact]
    public async Task A_disabled_edge_maps_nothing()
    {
        await using var server = await OpenImTestServer.StartAsync(new Dictionary<string, string?> { ["Parley:OpenIM:Enabled"] = "false", ["Parley:OpenIM:Secret"] = string.Empty });

        using var response = await server.Http.PostAsync("/auth/get_admin_token", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task An_enabled_edge_with_a_short_secret_refuses_to_start()
    {
        await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () =>
        {
            await using var server = await OpenImTestServer.StartAsync(new Dictionary<string, string?> { ["Parley:OpenIM:Secret"] = "short" });
        });
    }
}
