using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Parley.Core.Telemetry;

namespace Parley.Hosting.Telemetry;

/// <summary>
/// Metrics and traces on the OpenTelemetry .NET SDK (see docs/adr/0004-opentelemetry-metrics-and-traces.md): Parley's
/// meters, Orleans', ASP.NET Core's/Kestrel's and the runtime's, scraped at <c>/metrics</c>; Parley's and Orleans'
/// activity sources, with the trace id in every log scope; OTLP export when configured.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Meters exported at /metrics (and over OTLP when enabled). A trailing ".*" matches every sub-meter.</summary>
    public static IReadOnlyList<string> Meters { get; } =
    [
        ParleyMetrics.MeterName,
        ParleyMetrics.MeterName + ".*",
        "Microsoft.Orleans",
        "Microsoft.AspNetCore.*",
        "System.Runtime",
        "System.Net.Http",
        "System.Net.NameResolution",
    ];

    /// <summary>Kestrel's memory pool meter, part of <c>Microsoft.AspNetCore.*</c>; exported only with <see cref="TelemetryOptions.MemoryPoolMetrics"/>.</summary>
    public const string MemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>
    /// Orleans' gauge of the requests queued on every activation (<c>orleans_messaging_processing_activation_data</c>): its
    /// callback walks every activation of the silo on each collection; exported only with
    /// <see cref="TelemetryOptions.ActivationRequestsGauge"/>.
    /// </summary>
    public const string ActivationRequestsInstrument = "orleans-messaging-processing-activation-data";

    /// <summary>Activity sources recorded: Parley's own and Orleans' grain calls (made by AddActivityPropagation).</summary>
    public static IReadOnlyList<string> Sources { get; } =
    [
        ParleyActivities.SourceName,
        ParleyActivities.SourceName + ".*",
        "Microsoft.Orleans.Application",
        "System.Net.Http",
    ];

    /// <summary>Registers the telemetry options (validated on start) and the OpenTelemetry SDK.</summary>
    public static IServiceCollection AddParleyTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Bound once for the choices made here; the validated options (below) are what the running server reads.
        var registered = BindAtRegistration(configuration);
        var tracing = registered?.TracingEnabled ?? false;
        var memoryPool = registered?.MemoryPoolMetrics ?? false;
        var activationRequests = registered?.ActivationRequestsGauge ?? false;
        var cardinalityLimit = registered?.MetricCardinalityLimit is >= 1 and <= 100_000 and var limit ? limit : TelemetryOptions.DefaultMetricCardinalityLimit;
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();

        // Every log written inside a span carries its trace and span id as a scope (console: IncludeScopes).
        if (tracing)
        {
            services.Configure<LoggerFactoryOptions>(o => o.ActivityTrackingOptions |=
                ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        }

        services.AddHostedService<StorageMetrics>();

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddDetector(sp => new ServiceResourceDetector(sp.GetRequiredService<IOptions<TelemetryOptions>>().Value)))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. Meters]);

                // One view decides for every instrument: dropped, limited, or the SDK's defaults (View below).
                metrics.AddView(instrument => View(instrument, memoryPool, activationRequests, cardinalityLimit));

                metrics.AddPrometheusExporter(o =>
                {
                    // Every scrape sees the current values (the exporter's default caches a page for 300 ms).
                    o.ScrapeResponseCacheDurationMilliseconds = 0;
                    // No otel_scope_name label: series keep the exact label sets dashboards were written against.
                    o.ScopeInfoEnabled = false;
                });
            });
        if (!tracing)
        {
            // No tracer provider: nothing listens to the activity sources, so StartActivity is a null check per span.
            return services;
        }

        services.AddOpenTelemetry().WithTracing(t => t.AddSource([.. Sources]));

        // Deferred: which exporters and sampler apply depends on the validated options.
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            var otlp = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value.Otlp;
            if (otlp.Enabled && otlp.Metrics)
            {
                builder.AddReader(new PeriodicExportingMetricReader(new OtlpMetricExporter(ExporterOptions(otlp, "v1/metrics")), (int)otlp.MetricsInterval.TotalMilliseconds)
                {
                    TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
                });
            }
        });
        services.ConfigureOpenTelemetryTracerProvider((sp, builder) =>
        {
            var options = sp.GetRequiredService<IOptions<TelemetryOptions>>().Value;
            builder.SetSampler(new ParleyRootSampler(options.TraceSampleRatio));
            if (options.Otlp is { Enabled: true, Traces: true } otlp)
            {
                builder.AddProcessor(new BatchActivityExportProcessor(new OtlpTraceExporter(ExporterOptions(otlp, "v1/traces"))));
            }
        });
        return services;
    }

    // Dropped: Kestrel's memory pool meter unless turned on (dropped by a view, its instruments are not enabled: Kestrel
    // skips recording on every rent and return), and Orleans' activation-data gauge unless turned on (its callback sums the
    // request count of every activation, O(grains) per scrape: 3.6 % of the server's samples at 240,000 conversation grains
    // scraped every 5 s, issue 17). Every other meter but ASP.NET Core's: the cardinality limit (TelemetryOptions).
    private static MetricStreamConfiguration? View(Instrument instrument, bool memoryPool, bool activationRequests, int cardinalityLimit)
    {
        var meter = instrument.Meter.Name;
        if ((!memoryPool && meter == MemoryPoolMeter)
            || (!activationRequests && meter == "Microsoft.Orleans" && instrument.Name == ActivationRequestsInstrument))
        {
            return MetricStreamConfiguration.Drop;
        }

        return meter.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal)
            ? null
            : new MetricStreamConfiguration { CardinalityLimit = cardinalityLimit };
    }

    /// <summary>
    /// Whether spans are recorded (<see cref="TelemetryOptions.TracingEnabled"/>), read at service registration: the
    /// tracer provider and Orleans' grain-call activity filters are registered only then. Invalid values still fail
    /// the options validation at start-up.
    /// </summary>
    public static bool IsTracingEnabled(IConfiguration configuration) => BindAtRegistration(configuration)?.TracingEnabled ?? false;

    // The telemetry options as configured, for choices made at service registration; null when a value is malformed
    // (the switch then stays off: ValidateOnStart reports the setting by name before anything is traced or exported).
    private static TelemetryOptions? BindAtRegistration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new TelemetryOptions();
        try
        {
            configuration.GetSection(TelemetryOptions.Section).Bind(options);
        }
        catch (InvalidOperationException)
        {
            return null;
        }

        return options;
    }

    /// <summary>Maps <c>GET {pattern}</c> to the Prometheus text exposition of every exported meter.</summary>
    public static IEndpointConventionBuilder MapParleyMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPrometheusScrapingEndpoint(pattern);
    }

    private static OtlpExporterOptions ExporterOptions(OtlpOptions otlp, string signalPath)
    {
        var endpoint = otlp.Endpoint!;
        if (otlp.Protocol == OtlpTransport.HttpProtobuf && (endpoint.AbsolutePath.Length <= 1))
        {
            endpoint = new Uri(endpoint, signalPath);
        }

        return new OtlpExporterOptions
        {
            Endpoint = endpoint,
            Protocol = otlp.Protocol == OtlpTransport.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf,
            Headers = otlp.Headers,
            TimeoutMilliseconds = (int)otlp.Timeout.TotalMilliseconds,
        };
    }

    private sealed class ServiceResourceDetector(TelemetryOptions options) : IResourceDetector
    {
        public Resource Detect() => ResourceBuilder.CreateEmpty()
            .AddService(options.ServiceName, serviceVersion: typeof(TelemetryExtensions).Assembly.GetName().Version?.ToString(), serviceInstanceId: Environment.MachineName)
            .Build();
    }
}
