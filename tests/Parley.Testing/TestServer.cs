using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Hosting;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.TestClock;

namespace Parley.Testing;

/// <summary>A clock the tests can move forward; timers still run in real time.</summary>
public sealed class ShiftableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

/// <summary>
/// The real Parley server (Kestrel on a loopback port, co-hosted Orleans silo, SQLite on a temp file), in process.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly List<ParleyClient> _clients = [];

    private TestServer(WebApplication app, string dataDirectory, string adminSecret, ShiftableTimeProvider clock)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        AdminSecret = adminSecret;
        Clock = clock;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        WebSocketUri = new Uri($"ws://{BaseUri.Host}:{BaseUri.Port}/ws");
        Admin = new HttpClient { BaseAddress = BaseUri };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminSecret);
    }

    public Uri BaseUri { get; }

    public Uri WebSocketUri { get; }

    public HttpClient Admin { get; }

    public string AdminSecret { get; }

    public ShiftableTimeProvider Clock { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a server with <paramref name="settings"/> over the base ones, <paramref name="configure"/> after
    /// AddParleyServer, and <paramref name="clock"/> (a new one, not shifted, when null) as the time of Parley's services.
    /// </summary>
    public static Task<TestServer> StartAsync(IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null, ShiftableTimeProvider? clock = null) =>
        RetryOnPortRaceAsync(settings, async () =>
        {
            var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-test-" + Guid.NewGuid().ToString("N"));
            var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
            var config = BaseSettings(secret, dataDirectory);

            // These suites drive one user far faster than a person (1000 conversations, send races); RateLimitTests and
            // the OpenIM and SDK suites run with the limits on.
            config["Parley:RateLimits:Enabled"] = "false";
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                config[key] = value;
            }

            var time = clock ?? new ShiftableTimeProvider();
            var app = await StartAppAsync(config, ["http://127.0.0.1:0"], time, configure);
            return new TestServer(app, dataDirectory, secret, time);
        });

    /// <summary>
    /// What every in-process server starts from: the admin secret, the data directory, free Orleans silo and gateway
    /// ports (picked now, see <see cref="RetryOnPortRaceAsync{T}"/>) and a cluster id of its own.
    /// </summary>
    public static Dictionary<string, string?> BaseSettings(string adminSecret, string dataDirectory)
    {
        var settings = OrleansSettings();
        settings["Parley:Admin:Secret"] = adminSecret;
        settings["Parley:Storage:DataDirectory"] = dataDirectory;
        return settings;
    }

    /// <summary>Free Orleans silo and gateway ports (picked now) and a fresh cluster id, e.g. for a restart.</summary>
    public static Dictionary<string, string?> OrleansSettings() => new()
    {
        ["Parley:Orleans:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Parley:Orleans:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Parley:Orleans:ClusterId"] = "test-" + Guid.NewGuid().ToString("N"),
    };

    /// <summary>
    /// Runs <paramref name="start"/> again, up to three attempts, when it failed because a port was taken: FreePort hands
    /// out a port that is free now, and another process of the run may bind it before the silo does. <paramref name="start"/>
    /// must pick new ports each time (<see cref="BaseSettings"/>). Never retried when the caller chose the Orleans ports
    /// itself (a <c>Parley:Orleans:…Port</c> key in <paramref name="settings"/>).
    /// </summary>
    public static async Task<T> RetryOnPortRaceAsync<T>(IDictionary<string, string?>? settings, Func<Task<T>> start)
    {
        var retry = settings is null || !settings.Keys.Any(k => k.StartsWith("Parley:Orleans:", StringComparison.Ordinal) && k.EndsWith("Port", StringComparison.Ordinal));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (Exception e) when (retry && attempt < 3 && IsAddressInUse(e))
            {
                // next attempt, new ports
            }
        }
    }

    private static bool IsAddressInUse(Exception e) =>
        e is Microsoft.AspNetCore.Connections.AddressInUseException
        || e.GetBaseException() is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse };

    /// <summary>
    /// Builds and starts the server in process as the tests run it: <paramref name="config"/> in memory, Kestrel on
    /// <paramref name="urls"/>, warnings only (Orleans: errors), <paramref name="clock"/> as its time when given, then
    /// <paramref name="configure"/> after AddParleyServer. A start that fails disposes what it built.
    /// The clock is the time of Parley's services only (<see cref="ClockServices.UseClock"/>, as the process tests' startup
    /// hook does): Orleans keeps the system clock, since its membership ends the process (FailFast) when a silo's clock
    /// is shifted far from the time it started at.
    /// </summary>
    public static async Task<WebApplication> StartAppAsync(IDictionary<string, string?> config, string[] urls, TimeProvider? clock, Action<WebApplicationBuilder>? configure)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(config);
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        builder.AddParleyServer();
        if (clock is not null)
        {
            ClockServices.UseClock(builder.Services, clock);
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapParley();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Registers a user with a unique id built from <paramref name="prefix"/>.</summary>
    public async Task<string> CreateUserAsync(string prefix = "u")
    {
        var userId = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 64)];
        var response = await Admin.PostAsJsonAsync("/admin/v1/users", new { userId, nickname = prefix });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return userId;
    }

    public async Task<string> IssueTokenAsync(string userId, string deviceId, string platform = "linux", long? ttlSeconds = null)
    {
        var response = await Admin.PostAsJsonAsync($"/admin/v1/users/{userId}/tokens", new { deviceId, platform, ttlSeconds });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<IssuedToken>();
        return body!.Token;
    }

    /// <summary>Creates a client (not yet connected) for a user and device.</summary>
    public async Task<ParleyClient> CreateClientAsync(string userId, string deviceId = "d1", Platform platform = Platform.Linux, IParleyClientState? state = null, string? token = null)
    {
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = WebSocketUri,
            Token = token ?? await IssueTokenAsync(userId, deviceId, PlatformName(platform)),
            DeviceId = deviceId,
            Platform = platform,
            LocalState = state ?? new InMemoryParleyClientState(),
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    /// <summary>Creates and connects a client (returns after the first sync completed).</summary>
    public async Task<ParleyClient> ConnectAsync(string userId, string deviceId = "d1", Platform platform = Platform.Linux)
    {
        var client = await CreateClientAsync(userId, deviceId, platform);
        await client.ConnectAsync();
        return client;
    }

    public static string PlatformName(Platform platform) => platform switch
    {
        Platform.Ios => "ios",
        Platform.Android => "android",
        Platform.Windows => "windows",
        Platform.Macos => "macos",
        Platform.Web => "web",
        Platform.Ipad => "ipad",
        Platform.AndroidPad => "android_pad",
        Platform.MiniProgram => "mini_program",
        _ => "linux",
    };

    public async ValueTask DisposeAsync()
    {
        List<ParleyClient> clients;
        lock (_clients)
        {
            clients = [.. _clients];
        }

        foreach (var client in clients)
        {
            try
            {
                await client.DisposeAsync();
            }
            catch (Exception)
            {
                // Best effort.
            }
        }

        Admin.Dispose();
        await StopAppAsync(_app, _dataDirectory);
    }

    /// <summary>
    /// Stops a server started by <see cref="StartAppAsync"/> (15 s for its drain), disposes it and deletes
    /// <paramref name="dataDirectory"/> (best effort; null keeps the data).
    /// </summary>
    public static async Task StopAppAsync(WebApplication app, string? dataDirectory)
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            await app.StopAsync(stop.Token);
        }

        await app.DisposeAsync();
        if (dataDirectory is null)
        {
            return;
        }

        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
