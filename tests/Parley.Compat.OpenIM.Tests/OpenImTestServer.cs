using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// The real Parley server built like <see cref="TestServer"/> does; the OpenIM edge is part of AddParleyServer/MapParley
/// and is switched on here through configuration.
/// </summary>
public sealed class OpenImTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly Dictionary<string, string?> _config;
    private readonly int? _apiPort;
    private readonly Action<IServiceCollection>? _services;
    private bool _keepData;

    private OpenImTestServer(WebApplication app, string dataDirectory, string openImSecret, int? apiPort, Dictionary<string, string?> config, Action<IServiceCollection>? services)
    {
        _app = app;
        _config = config;
        _apiPort = apiPort;
        _services = services;
        AdminSecret = app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["Parley:Admin:Secret"]!;
        _dataDirectory = dataDirectory;
        OpenImSecret = openImSecret;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => apiPort is null || new Uri(a).Port != apiPort);
        BaseUri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        WebSocketUri = new Uri($"ws://{BaseUri.Host}:{BaseUri.Port}/ws");
        Http = new HttpClient { BaseAddress = BaseUri };
    }

    public Uri BaseUri { get; }

    public Uri WebSocketUri { get; }

    public HttpClient Http { get; }

    public string OpenImSecret { get; }

    /// <summary>Parley's own admin API secret (bearer token of <c>/admin/v1</c>).</summary>
    public string AdminSecret { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts the server; with <paramref name="apiPort"/> it also listens on that port (for <c>Parley:OpenIM:ApiPort</c>);
    /// <paramref name="services"/> changes the server's services after AddParleyServer (a test's fault injection).
    /// </summary>
    public static Task<OpenImTestServer> StartAsync(IDictionary<string, string?>? settings = null, int? apiPort = null, Action<IServiceCollection>? services = null) =>
        TestServer.RetryOnPortRaceAsync(settings, () =>
        {
            var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-openim-test-" + Guid.NewGuid().ToString("N"));
            var openImSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            var config = TestServer.BaseSettings(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)), dataDirectory);
            config["Parley:OpenIM:Enabled"] = "true";
            config["Parley:OpenIM:Secret"] = openImSecret;
            config["Parley:OpenIM:ApiPort"] = apiPort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "0";
            config["Parley:OpenIM:WsPort"] = "0";
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                config[key] = value;
            }

            return StartAsync(config, dataDirectory, openImSecret, apiPort, port: 0, services);
        });

    /// <summary>
    /// Stops this server (its connections are drained as on a real shutdown) and starts a new one on the same port and data
    /// directory, as an operator's restart does; clients reconnect to the same address. Dispose the returned server, not this one.
    /// </summary>
    public async Task<OpenImTestServer> RestartAsync()
    {
        _keepData = true;
        await DisposeAsync();
        return await TestServer.RetryOnPortRaceAsync(null, () =>
        {
            var config = new Dictionary<string, string?>(_config);
            foreach (var (key, value) in TestServer.OrleansSettings())
            {
                config[key] = value;
            }

            return StartAsync(config, _dataDirectory, OpenImSecret, _apiPort, BaseUri.Port, _services);
        });
    }

    private static async Task<OpenImTestServer> StartAsync(Dictionary<string, string?> config, string dataDirectory, string openImSecret, int? apiPort, int port, Action<IServiceCollection>? services)
    {
        var main = $"http://127.0.0.1:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        string[] urls = apiPort is { } api ? [main, $"http://127.0.0.1:{api.ToString(System.Globalization.CultureInfo.InvariantCulture)}"] : [main];
        var app = await TestServer.StartAppAsync(config, urls, new ShiftableTimeProvider(), services is null ? null : builder => services(builder.Services));
        return new OpenImTestServer(app, dataDirectory, openImSecret, apiPort, config, services);
    }

    /// <summary>POSTs JSON the way the OpenIM SDKs do and returns the parsed envelope.</summary>
    public async Task<JsonElement> PostAsync(string path, object body, string? token = null, string? operationId = "op-test")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (operationId is not null)
        {
            request.Headers.Add("operationID", operationId);
        }

        if (token is not null)
        {
            request.Headers.Add("token", token);
        }

        using var response = await Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public async Task<string> AdminTokenAsync()
    {
        var response = await PostAsync("/auth/get_admin_token", new { secret = OpenImSecret, userID = "imAdmin" });
        Assert.Equal(0, response.GetProperty("errCode").GetInt32());
        return response.GetProperty("data").GetProperty("token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await TestServer.StopAppAsync(_app, _keepData ? null : _dataDirectory);
    }
}
