using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;
using Parley.Push.Vendors.Apns;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

namespace Parley.Push.Tests;

/// <summary>
/// The real pipeline (SQLite stores on a temp file, hosted dispatcher, all eight adapters) wired to the eight vendor
/// simulators on loopback, on a manual clock.
/// </summary>
public sealed class PushHarness : IAsyncDisposable
{
    /// <summary>Vendor request timeout in tests: long, because the build machine is shared and often overloaded; tests of timeouts set their own.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    public static readonly DateTimeOffset Start = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IHostedService> _hosted = [];
    private readonly string _directory;
    private MeterListener? _listener;

    private PushHarness(string directory, ManualTimeProvider time)
    {
        _directory = directory;
        Time = time;
        Apns = new ApnsSimulator(time);
        Fcm = new FcmSimulator(time);
        Huawei = new HmsSimulator(time);
        Honor = new HmsSimulator(time, honor: true);
        Xiaomi = new XiaomiSimulator(time);
        Oppo = new OppoSimulator(time);
        Vivo = new VivoSimulator(time);
        WebPush = new WebPushSimulator(time);
    }

    public ManualTimeProvider Time { get; }

    public ApnsSimulator Apns { get; }

    public FcmSimulator Fcm { get; }

    public HmsSimulator Huawei { get; }

    public HmsSimulator Honor { get; }

    public XiaomiSimulator Xiaomi { get; }

    public OppoSimulator Oppo { get; }

    public VivoSimulator Vivo { get; }

    public WebPushSimulator WebPush { get; }

    public IEnumerable<SimServer> All => [Apns, Fcm, Huawei, Honor, Xiaomi, Oppo, Vivo, WebPush];

    public ServiceProvider Services { get; private set; } = null!;

    public PushPipeline Pipeline => Services.GetRequiredService<PushPipeline>();

    public IDeviceStore Devices => Services.GetRequiredService<IDeviceStore>();

    public IPushJournal Journal => Services.GetRequiredService<IPushJournal>();

    public string DatabasePath => Path.Combine(_directory, "push.db");

    /// <summary>Measurements of the "Parley.Push" meter of this harness: (instrument, tags, value).</summary>
    public List<(string Name, Dictionary<string, string> Tags, long Value)> Measurements { get; } = [];

    public static async Task<PushHarness> StartAsync(Action<PushOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "parley-push-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var harness = new PushHarness(directory, new ManualTimeProvider(Start));
        foreach (var sim in harness.All)
        {
            await sim.StartAsync();
        }

        await harness.BuildAsync(configure, services);
        return harness;
    }

    private async Task BuildAsync(Action<PushOptions>? configure, Action<IServiceCollection>? extra)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddParleySqliteStorage(_ => new SqliteStoreOptions { DataSource = DatabasePath });
        services.AddSingleton(new DeviceTokenKey(RandomNumberGenerator.GetBytes(32)));
        services.AddParleyPush(o =>
            {
                o.Workers = 4;
                o.RandomSeed = 7;
                configure?.Invoke(o);
            })
            .AddApns(o =>
            {
                o.BaseUri = Apns.BaseUri;
                o.SandboxBaseUri = Apns.BaseUri;
                o.TeamId = ApnsSimulator.TeamId;
                o.KeyId = ApnsSimulator.KeyId;
                o.PrivateKeyPem = Apns.PrivateKeyPem;
                o.BundleId = Apns.BundleId;
                o.ServerCertificateValidation = Apns.ValidateCertificate;
                o.RequestTimeout = Generous;
            })
            .AddFcm(o =>
            {
                o.BaseUri = Fcm.BaseUri;
                o.ProjectId = FcmSimulator.ProjectId;
                o.ServiceAccountJson = Fcm.ServiceAccountJson;
                o.RequestTimeout = Generous;
            })
            .AddHuawei(o =>
            {
                o.BaseUri = Huawei.BaseUri;
                o.TokenUri = new Uri(Huawei.BaseUri, Huawei.TokenPath);
                o.AppId = HmsSimulator.AppId;
                o.ClientSecret = HmsSimulator.Secret;
                o.RequestTimeout = Generous;
            })
            .AddHonor(o =>
            {
                o.BaseUri = Honor.BaseUri;
                o.TokenUri = new Uri(Honor.BaseUri, Honor.TokenPath);
                o.AppId = HmsSimulator.AppId;
                o.ClientSecret = HmsSimulator.Secret;
                o.RequestTimeout = Generous;
            })
            .AddXiaomi(o =>
            {
                o.BaseUri = Xiaomi.BaseUri;
                o.AppSecret = XiaomiSimulator.Secret;
                o.PackageName = XiaomiSimulator.Package;
                o.RequestTimeout = Generous;
            })
            .AddOppo(o =>
            {
                o.BaseUri = Oppo.BaseUri;
                o.AppKey = OppoSimulator.AppKey;
                o.MasterSecret = OppoSimulator.MasterSecret;
                o.RequestTimeout = Generous;
            })
            .AddVivo(o =>
            {
                o.BaseUri = Vivo.BaseUri;
                o.AppId = VivoSimulator.AppId;
                o.AppKey = VivoSimulator.AppKey;
                o.AppSecret = VivoSimulator.AppSecret;
                o.RequestTimeout = Generous;
            })
            .AddWebPush(o =>
            {
                o.Subject = "mailto:ops@parley.test";
                o.PublicKey = WebPush.VapidPublicKey;
                o.PrivateKey = WebPush.VapidPrivateKey;
                o.RequestTimeout = Generous;
            });
        extra?.Invoke(services);
        Services = services.BuildServiceProvider();

        var metrics = Services.GetRequiredService<PushMetrics>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var t in tags)
            {
                map[t.Key] = t.Value?.ToString() ?? "";
            }

            lock (Measurements)
            {
                Measurements.Add((instrument.Name, map, value));
            }
        });
        _listener.Start();

        foreach (var hosted in Services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
            _hosted.Add(hosted);
        }
    }

    public long Sum(string name, params (string Key, string Value)[] tags)
    {
        lock (Measurements)
        {
            return Measurements.Where(m => m.Name == name && tags.All(t => m.Tags.GetValueOrDefault(t.Key) == t.Value)).Sum(m => m.Value);
        }
    }

    public static PushDevice Device(string user, string device, PushVendor vendor, string token, string? appId = null, string timeZone = "UTC") =>
        new(user, device, vendor.ToString().ToLowerInvariant(), vendor, token, appId ?? DefaultApp(vendor), PushEnvironment.Production, true, "en-US", timeZone,
            Start.ToUnixTimeMilliseconds(), Start.ToUnixTimeMilliseconds() - 1000);

    public static string ApnsToken(int i) => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));

    private static string DefaultApp(PushVendor vendor) => vendor switch
    {
        PushVendor.Apns => "com.parley.app",
        PushVendor.Xiaomi => XiaomiSimulator.Package,
        _ => "com.parley.app",
    };

    public static PushRequest Im(string messageId, string conversation, params PushRecipient[] recipients) =>
        new(messageId, conversation, "alice", "Alice", PushCategory.Im, "see you at 6", recipients);

    /// <summary>Awaits a condition (polling; no fixed sleeps), failing with <paramref name="what"/> after the timeout.</summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 45000) => WaitUntilAsync(condition, () => what, timeoutMs);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> what, int timeoutMs = 45000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting for: " + what());
            }

            await Task.Delay(10);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 45000) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeoutMs);

    public static Task WaitUntilAsync(Func<bool> condition, Func<string> what, int timeoutMs = 45000) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeoutMs);

    public async Task<PushRecord> WaitForStateAsync(string pushId, PushState state, int timeoutMs = 45000)
    {
        PushRecord? row = null;
        await WaitUntilAsync(async () => (row = await Journal.GetAsync(pushId))?.State == state, () => $"push {pushId} to reach {state} (is {row?.State} {row?.Reason}, attempts {row?.Attempts})", timeoutMs);
        return row!;
    }

    /// <summary>Awaits a journal row matching <paramref name="predicate"/>; the failure message shows the row.</summary>
    public async Task<PushRecord> WaitForRowAsync(string pushId, Func<PushRecord, bool> predicate, string what, int timeoutMs = 45000)
    {
        PushRecord? row = null;
        await WaitUntilAsync(async () => (row = await Journal.GetAsync(pushId)) is { } r && predicate(r), () => $"{what} (push {pushId} is {row?.State} {row?.Reason}, attempts {row?.Attempts}, not before {row?.NotBefore}; requests seen: {string.Join(", ", All.SelectMany(s => s.Requests).Select(q => q.Path + "=" + q.Status))})", timeoutMs);
        return row!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hosted in _hosted.AsEnumerable().Reverse())
        {
            await hosted.StopAsync(CancellationToken.None);
        }

        _listener?.Dispose();
        await Services.DisposeAsync();
        foreach (var sim in All)
        {
            await sim.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
