using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Abstractions.Push;
using Parley.Abstractions.Admin;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Api.DevSignIn;
using Parley.Hosting.Web;
using Parley.Compat.OpenIM;
using Parley.Gateway;
using Parley.Gateway.Cluster;
using Parley.Gateway.Requests;
using Parley.Core;
using Parley.Core.Auth;
using Parley.Core.Commit;
using Parley.Core.Limits;
using Parley.Core.Webhooks;
using Parley.Core.Sessions;
using Parley.Core.Social;
using Parley.Core.Telemetry;
using Parley.Core.Push;
using Parley.Hosting.Admin;
using Parley.Hosting.Backup;
using Parley.Hosting.Business;
using Parley.Hosting.Webhooks;
using Parley.Hosting.UserData;
using Parley.Hosting.Management;
using Parley.Hosting.OpenApi;
using Parley.Hosting.Push;
using Parley.Hosting.Startup;
using Parley.Hosting.Telemetry;
using Parley.Push;
using Parley.OrgDirectory;
using Parley.Media;
using Parley.OrgDirectory.Admin;
using Parley.Storage.Postgres;
using Parley.Storage.Sqlite;
using GatewayOptions = Parley.Gateway.GatewayOptions;
using MessagingOptions = Parley.Core.MessagingOptions;
using SessionOptions = Parley.Core.Sessions.SessionOptions;

namespace Parley.Hosting;

public static class ParleyServerExtensions
{
    /// <summary>
    /// Adds the whole Parley server to a web application: options (validated at start), the SQLite stores, the group
    /// commit pipeline, a co-hosted Orleans silo with localhost clustering, the gateway, the admin API, metrics and health.
    /// </summary>
    public static WebApplicationBuilder AddParleyServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;

        services.AddOptions<StorageOptions>().Bind(config.GetSection(StorageOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OrleansOptions>().Bind(config.GetSection(OrleansOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MessagingOptions>().Bind(config.GetSection(MessagingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<GatewayOptions>().Bind(config.GetSection(GatewayOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ShutdownOptions>().Bind(config.GetSection(ShutdownOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) => host.ShutdownTimeout = shutdown.Value.Timeout);
        services.AddOptions<TokenOptions>().Bind(config.GetSection(TokenOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SocialOptions>().Bind(config.GetSection(SocialOptions.Section));
        services.AddOptions<SessionOptions>().Bind(config.GetSection(SessionOptions.Section)).ValidateOnStart();
        services.AddOptions<DevSignInOptions>().Bind(config.GetSection(DevSignInOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DevSignInOptions>, DevSignInOptionsValidator>();
        services.AddOptions<WebClientOptions>().Bind(config.GetSection(WebClientOptions.Section));
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddOptions<ParleyClusterOptions>().Bind(config.GetSection(ParleyClusterOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ParleyClusterOptions>, ClusterOptionsValidator>();

        services.TryAddTimeProvider();
        services.AddMetrics();
        services.AddSingleton<ParleyMetrics>();

        // Secrets: loaded or created once, when the host starts (never while registering services).
        services.AddOptions<PushKeyOptions>().Bind(config.GetSection(PushKeyOptions.Section));
        services.AddSingleton<ServerKeys>();
        services.AddSingleton<IHostedService, ServerKeysStartup>();
        services.AddSingleton(sp => sp.GetRequiredService<ServerKeys>().TokenSigningKey);
        services.AddSingleton(sp => sp.GetRequiredService<ServerKeys>().DeviceTokenKey);

        // Stores: with Parley:Storage:Provider = Postgres, the PostgreSQL owner and its stores are registered first
        // (the SQLite registrations are TryAdd, so PostgreSQL's win; the SQLite owner stays for the backup endpoint and
        // the CLI's offline commands). Otherwise one owner of the one database file under the data directory, every store a view over it.
        // Each owner migrates before any hosted service starts.
        var storageSettings = config.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        if (storageSettings.Provider == StorageProvider.Postgres)
        {
            services.AddParleyPostgresStorage(sp =>
            {
                var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
                return new PostgresStoreOptions { ConnectionString = o.Postgres.ConnectionString, Schema = o.Postgres.Schema, Durable = o.Durable, MaxPoolSize = o.Postgres.MaxPoolSize };
            });
        }

        services.AddParleySqliteStorage(sp =>
        {
            var o = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return new SqliteStoreOptions
            {
                DataSource = Path.Combine(Path.GetFullPath(o.DataDirectory), "parley.db"),
                Durable = o.Durable,
                Synchronous = o.Synchronous,
                WriterCacheSizeKb = o.Sqlite.WriterCacheSizeKb,
                WriterLargeFileCacheSizeKb = o.Sqlite.WriterLargeFileCacheSizeKb,
                MmapSizeBytes = o.Sqlite.MmapSizeBytes,
                PageSize = o.Sqlite.PageSize,
                WriterMmapSizeBytes = o.Sqlite.WriterMmapSizeBytes,
                WalAutoCheckpointPages = o.Sqlite.WalAutoCheckpointPages,
                CheckpointInBackground = o.Sqlite.CheckpointInBackground,
                SearchRowAllowance = o.Sqlite.SearchRowAllowance,
                SearchMergePages = o.Sqlite.SearchMergePages,
                SearchMergeShare = o.Sqlite.SearchMergeShare,
                SearchMergePagesPerRow = o.Sqlite.SearchMergePagesPerRow,
                DerivedRowsFlushMs = o.Sqlite.DerivedRowsFlushMs,
            };
        });
        services.AddParleySocial();

        services.AddSingleton<TokenService>();
        services.AddParleyRateLimits(config);
        services.AddParleyWebhooks(config);

        var clustered = config.GetSection(ParleyClusterOptions.Section).Get<ParleyClusterOptions>()?.Mode == ClusterMode.Redis;
        // In a cluster the versions come from the shared store's order (ADR 0016); one node counts them itself.
        services.AddSingleton(sp => new CommitPipeline(
            sp.GetRequiredService<IMessageStore>(),
            sp.GetRequiredService<ParleyMetrics>(),
            sp.GetRequiredService<IOptions<MessagingOptions>>(),
            sp.GetRequiredService<ILogger<CommitPipeline>>(),
            clustered ? sp.GetRequiredService<IMessageStore>() as IOrderedCommitStore : null,
            sp.GetRequiredService<Optional<Parley.Core.Webhooks.AfterHooks>>().Value));
        services.AddHostedService(sp => sp.GetRequiredService<CommitPipeline>());
        // 1:1 conversation grains idle for Parley:Orleans:DirectIdleAge are deactivated before Orleans' idle age (issue 17's soak).
        // Past Parley:Orleans:DirectMaxActive of them, the least recently used go before their age (stop 45).
        services.AddSingleton(sp =>
        {
            var idle = new Parley.Core.Messaging.IdleDirectConversations(
                sp.GetRequiredService<IOptions<OrleansOptions>>().Value.EffectiveDirectIdleAge,
                logger: sp.GetRequiredService<ILogger<Parley.Core.Messaging.IdleDirectConversations>>(),
                maxActive: sp.GetRequiredService<IOptions<OrleansOptions>>().Value.DirectMaxActive);
            sp.GetRequiredService<ParleyMetrics>().ObserveDirectGrains(idle);
            return idle;
        });
        // Shed 1:1 conversations' state for their next activation (ADR 0033): one node only, where every write of a 1:1 goes
        // through its one grain and every relation change through this node's friendship grain.
        services.AddSingleton(sp =>
        {
            var orleans = sp.GetRequiredService<IOptions<OrleansOptions>>().Value;
            var shed = new Parley.Core.Messaging.ShedDirectConversations(Parley.Core.Messaging.ShedDirectConversations.CapacityFor(
                orleans.DirectShedCacheBytes,
                clustered,
                sp.GetRequiredService<IOptions<Parley.Core.Social.SocialOptions>>().Value.FriendsOnlyDirectMessages,
                orleans.EffectiveDirectIdleAge > TimeSpan.Zero));
            sp.GetRequiredService<ParleyMetrics>().ObserveShedDirect(shed);
            return shed;
        });
        // What every conversation grain uses, resolved once (issue 17, stop 45: sixteen resolutions per activation before).
        services.AddSingleton<Parley.Core.Messaging.ConversationGrainServices>();

        // The full-text index, written after the commit (ADR 0019); a store that keeps queued texts in memory reads a
        // stopped process's unindexed texts back from stored content by the send path's rule (stop-36 amendment).
        services.TryAddSingleton<ISearchTextExtractor>(sp => new Parley.Core.Messaging.ContentSearchText(sp.GetRequiredService<IOptions<MessagingOptions>>()));
        services.AddHostedService(sp => new Parley.Core.Messaging.SearchIndexer(
            sp.GetRequiredService<ISearchIndexQueue>(),
            sp.GetRequiredService<IOptions<MessagingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Parley.Core.Messaging.SearchIndexer>>()));
        services.AddParleyWebhookDelivery(config, sharedOutbox: clustered);

        services.AddParleyAdminApi(config).AddParleyDeviceAuthentication();
        services.AddSingleton<MetricsSnapshot>();
        services.AddSingleton<UserData.UserDataService>();
        services.AddSingleton<Parley.Core.Business.BusinessMessagingService>();
        services.AddSingleton<Parley.Core.Business.NotificationAccountIds>();
        services.AddHostedService(sp => sp.GetRequiredService<Parley.Core.Business.NotificationAccountIds>());
        services.AddSingleton<Parley.Core.Delivery.INodeBroadcastObserver>(sp => sp.GetRequiredService<Parley.Core.Business.NotificationAccountIds>());
        AddPush(services, config);
        MediaHosting.AddMedia(services, config);
        services.AddParleyGateway();
        if (clustered)
        {
            services.AddParleyClusterDelivery();
        }
        services.AddParleyDirectory();
        services.AddParleyOpenImCompat(config);
        builder.AddParleyOpenImListeners();
        builder.AddParleyManagementListeners();
        // The native gateway's plain upgrades are accepted below the HTTP layer on the listeners that serve /ws (ADR 0020).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.UseParleyDirectUpgrade(ManagementListeners.ServesNativeGateway)));
        if (config.GetSection(GatewayOptions.Section).Get<GatewayOptions>() is { InlineSocketScheduling: true })
        {
            // Issue 17 (stop 44, edge): socket reads and the code they wake run on the socket engine's thread (behind the setting).
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        services.AddParleyTelemetry(config);
        services.AddParleyOpenApi();
        services.AddHealthChecks()
            .AddCheck("live", () => HealthCheckResult.Healthy(), tags: ["live"])
            .AddCheck<ReadinessCheck>("ready", tags: ["ready"]);

        var orleans = config.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
        var cluster = config.GetSection(ParleyClusterOptions.Section).Get<ParleyClusterOptions>() ?? new ParleyClusterOptions();
        builder.Host.UseOrleans(silo =>
        {
            var clusteredSilo = cluster.Mode == ClusterMode.Redis && ClusterOptionsValidator.Check(cluster, storageSettings) is null;
            if (clusteredSilo)
            {
                // Membership in Redis; grains, the node's delivery observer and everything else route through Orleans.
                silo.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis));
                silo.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = orleans.ClusterId;
                    o.ServiceId = orleans.ServiceId;
                });
                silo.ConfigureEndpoints(ClusterOptionsValidator.AdvertisedAddress(cluster), orleans.SiloPort, orleans.GatewayPort, listenOnAnyHostAddress: true);
                // Liveness (ADR 0016, docs/deploy.md#cluster): a dead node's grains (conversations, the node directory)
                // reactivate elsewhere only once membership declares it dead. Orleans' defaults (5 s probes, 3 missed)
                // take 15-30 s; probing every 2 s declares a killed node dead in about 6-10 s. The probe timeout still
                // stretches while this node itself is starved of CPU (ExtendProbeTimeoutDuringDegradation), so a busy
                // node does not vote a healthy one dead.
                silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
                {
                    o.ProbeTimeout = TimeSpan.FromSeconds(2);
                    o.NumMissedProbesLimit = 3;
                });
            }
            else
            {
                silo.UseLocalhostClustering(orleans.SiloPort, orleans.GatewayPort, serviceId: orleans.ServiceId, clusterId: orleans.ClusterId);
            }

            // One node: no directory cache unless configured (OrleansOptions.DirectoryCacheSize): its entries duplicated the
            // node's own directory partition, and those of deactivated grains stayed until evicted at a million (issue 17).
            if (orleans.DirectoryCacheSize is not null || !clusteredSilo)
            {
                // Orleans' LRU refuses fewer than 3 entries; "no cache" is its None strategy (a CacheSize of 0 fails at start).
                silo.Configure<GrainDirectoryOptions>(o =>
                {
                    if (orleans.DirectoryCacheSize is > 0 and var size)
                    {
                        o.CacheSize = Math.Max(3, size);
                    }
                    else
                    {
                        o.CachingStrategy = GrainDirectoryOptions.CachingStrategyType.None;
                    }
                });
            }

            silo.Configure<GrainCollectionOptions>(o =>
            {
                o.CollectionAge = orleans.IdleAge;
                // Orleans looks for idle grains once per quantum (shorter than the age) and deactivates all that became due
                // in it at once: a short quantum spreads the deactivations (OrleansOptions.CollectionQuantum).
                o.CollectionQuantum = orleans.EffectiveCollectionQuantum;
                o.EnableActivationSheddingOnMemoryPressure = orleans.ShedOnMemoryPressure;
                o.MemoryUsageLimitPercentage = orleans.MemoryLimitPercent;
                o.MemoryUsageTargetPercentage = orleans.MemoryTargetPercent;
                // The node directory is renewed every few seconds by every node: never collected for being idle between them.
                o.ClassSpecificCollectionAge[typeof(Parley.Gateway.Cluster.NodeDirectoryGrain).FullName!] = orleans.IdleAge < TimeSpan.FromMinutes(10) ? TimeSpan.FromMinutes(10) : orleans.IdleAge;
            });
            // Zero turns Orleans' workload analysis off (OrleansOptions.WorkloadAnalysis); its own default is 10 s.
            silo.Configure<Orleans.Configuration.SiloMessagingOptions>(o =>
                o.GrainWorkloadAnalysisPeriod = orleans.WorkloadAnalysis ? TimeSpan.FromSeconds(10) : TimeSpan.Zero);
            if (TelemetryExtensions.IsTracingEnabled(config))
            {
                silo.AddActivityPropagation(); // grain calls continue the caller's trace
            }
        });
        return builder;
    }

    /// <summary>
    /// Maps /ws, the admin API, /healthz, /readyz, /metrics, the development sign-in and the web clients; the admin API and
    /// /metrics answer only where <c>Parley:Management:Urls</c> says (default: the server's own URLs), never on the OpenIM ports.
    /// </summary>
    public static WebApplication MapParley(this WebApplication app)
    {
        app.UseWebSockets();
        app.UseParleyListenerIsolation();
        // The native gateway authenticates with the token in its Hello frame, has no authorization metadata and no body
        // limit: the HTTP authentication and authorization middleware would do nothing for it but keep their state (a
        // request scope, the handler provider, two middleware frames) for the whole life of every connection (issue 17).
        app.UseWhen(static context => context.GetEndpoint()?.Metadata.GetMetadata<NativeGatewayEndpointMetadata>() is null, static branch => branch.UseParleyAuthAndBodyLimits());
        _ = app.Services.GetRequiredService<MetricsSnapshot>(); // listens from the start
        app.MapParleyGateway("/ws").WithMetadata(NativeGatewayEndpointMetadata.Instance);
        app.MapParleyAdminApi().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyDirectoryAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyPushAdmin("/admin/v1/push").RequireParleyAdmin(OperatorScopes.Push).WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleySystemAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        BackupAdminApi.CleanUp(app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory);
        app.MapParleyBackupAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyUserDataAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyBusinessAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyWebhookAdmin().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyPushReceipts("/push/receipts");
        app.MapParleyDeviceApi();
        app.MapParleyMedia();
        app.MapParleyOpenImCompat();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live") }).WithMetadata(HealthEndpointMetadata.Instance);
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).WithMetadata(HealthEndpointMetadata.Instance);
        app.MapParleyMetrics("/metrics").WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyOpenApi().WithMetadata(ManagementEndpointMetadata.Instance);
        app.MapParleyDevSignIn();
        app.MapParleyWebClients();
        return app;
    }

    // Offline push: the device registry, journal and settings come from the storage provider; a vendor is enabled by
    // configuring its section (Parley:Push:{Apns|Fcm|Huawei|Honor|Xiaomi|Oppo|Vivo|WebPush}).
    private static void AddPush(IServiceCollection services, IConfiguration config)
    {
        var push = services.AddParleyPush();
        // A cluster shares the vendor quotas, the marketing cap and the bandit's counts in Redis (ADR 0014 §6); one node
        // keeps them in memory.
        var clusterSettings = config.GetSection(ParleyClusterOptions.Section).Get<ParleyClusterOptions>() ?? new ParleyClusterOptions();
        if (clusterSettings.Mode == ClusterMode.Redis && !string.IsNullOrWhiteSpace(clusterSettings.Redis))
        {
            var serviceId = (config.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions()).ServiceId;
            services.Replace(ServiceDescriptor.Singleton<IPushCounters>(_ => new RedisPushCounters(clusterSettings.Redis, serviceId + "/push/")));
        }

        // The journal owner's stable name (ADR 0014): unique per node; a restarted node adopts its own rows at once.
        services.PostConfigure<PushOptions>(o =>
        {
            if (o.NodeName.Length == 0)
            {
                var cluster = config.GetSection(ParleyClusterOptions.Section).Get<ParleyClusterOptions>() ?? new ParleyClusterOptions();
                var orleans = config.GetSection(OrleansOptions.Section).Get<OrleansOptions>() ?? new OrleansOptions();
                var port = orleans.SiloPort.ToString(CultureInfo.InvariantCulture);
                // SQLite: one process owns the file, so one constant name. A shared store without Redis clustering can
                // still have several processes on it (each its own silo port on a host): the name must tell them apart.
                o.NodeName = cluster.Mode == ClusterMode.Redis
                    ? $"{ClusterOptionsValidator.AdvertisedAddress(cluster)}:{port}"
                    : string.Equals(config["Parley:Storage:Provider"], "Postgres", StringComparison.OrdinalIgnoreCase)
                        ? $"{Environment.MachineName}:{port}"
                        : "standalone";
            }
        });
        var section = config.GetSection("Parley:Push");
        if (section.GetSection("Apns").Exists())
        {
            push.AddApns();
        }

        if (section.GetSection("Fcm").Exists())
        {
            push.AddFcm();
        }

        if (section.GetSection("Huawei").Exists())
        {
            push.AddHuawei();
        }

        if (section.GetSection("Honor").Exists())
        {
            push.AddHonor();
        }

        if (section.GetSection("Xiaomi").Exists())
        {
            push.AddXiaomi();
        }

        if (section.GetSection("Oppo").Exists())
        {
            push.AddOppo();
        }

        if (section.GetSection("Vivo").Exists())
        {
            push.AddVivo();
        }

        if (section.GetSection("WebPush").Exists())
        {
            push.AddWebPush();
        }

        services.AddOptions<PushBridgeOptions>().Bind(section);
        services.AddOptions<ReceiptOptions>().Bind(config.GetSection(ReceiptOptions.Section));
        services.AddSingleton<PushBridge>();
        services.AddSingleton<IMessageCommittedObserver>(sp => sp.GetRequiredService<PushBridge>());
        services.AddSingleton<IPushClientApi>(sp => sp.GetRequiredService<PushBridge>());
        services.Replace(ServiceDescriptor.Singleton(sp => new Optional<IPushClientApi>(sp.GetRequiredService<PushBridge>())));
        services.AddHostedService(sp => sp.GetRequiredService<PushBridge>());

        // Daily activity counts (OpenIM's /statistics/*/active): coalesced per node, flushed every few seconds.
        services.AddSingleton<Parley.Core.Statistics.ActivityCounter>();
        services.AddSingleton<IMessageCommittedObserver>(sp => sp.GetRequiredService<Parley.Core.Statistics.ActivityCounter>());
        services.AddHostedService(sp => sp.GetRequiredService<Parley.Core.Statistics.ActivityCounter>());

        services.AddOptions<Business.CampaignOptions>().Bind(config.GetSection(Business.CampaignOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Business.CampaignService>();
        services.AddHostedService<Business.CampaignRunner>();
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}

/// <summary>
/// Ready when the group commit pipeline runs (the stores were initialised before it started) and the node is not shutting
/// down (a load balancer stops sending new connections while it drains).
/// </summary>
internal sealed class ReadinessCheck(CommitPipeline pipeline, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            lifetime.ApplicationStopping.IsCancellationRequested ? HealthCheckResult.Unhealthy("Shutting down: draining connections.")
            : pipeline.IsRunning ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The commit pipeline is not running."));
}

/// <summary>In durable mode, refuses settings that can lose acked messages.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (options.Durable && options.Synchronous != SqliteSynchronous.Full)
        {
            return ValidateOptionsResult.Fail("Parley:Storage:Durable is true but Synchronous is not Full: acked messages could be lost on power failure. Use Full, or set Durable=false for throw-away benchmarks.");
        }

        if (!Enum.IsDefined(options.Provider))
        {
            return ValidateOptionsResult.Fail("Parley:Storage:Provider must be Sqlite or Postgres.");
        }

        if (options.Provider == StorageProvider.Postgres)
        {
            // The owner's own checks: connection string present and well-formed, schema a plain identifier.
            if (PostgresDatabase.Check(new PostgresStoreOptions { ConnectionString = options.Postgres.ConnectionString, Schema = options.Postgres.Schema, MaxPoolSize = options.Postgres.MaxPoolSize }) is { } problem)
            {
                return ValidateOptionsResult.Fail(problem);
            }
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>Marks the native WebSocket gateway endpoint, which skips the HTTP authentication and authorization middleware.</summary>
internal sealed class NativeGatewayEndpointMetadata
{
    public static readonly NativeGatewayEndpointMetadata Instance = new();
}
