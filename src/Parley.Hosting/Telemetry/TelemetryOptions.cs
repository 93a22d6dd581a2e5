using Microsoft.Extensions.Options;

namespace Parley.Hosting.Telemetry;

/// <summary>Metrics and traces, bound to <c>Parley:Telemetry</c>. Prometheus scraping is always on; OTLP export is off until an endpoint is set.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Parley:Telemetry";

    /// <summary>The <c>service.name</c> resource attribute of exported traces and metrics.</summary>
    public string ServiceName { get; set; } = "parley";

    /// <summary>
    /// Whether Parley records spans (one trace per message) and puts trace ids into log scopes. Unset (the default):
    /// only when spans are exported (<see cref="OtlpOptions.Endpoint"/> set, <see cref="OtlpOptions.Traces"/> on), because
    /// recording every message's spans for nobody cost ~10 % of 1:1 throughput (docs/performance.md). <c>true</c>
    /// records without an exporter (trace ids in logs only); <c>false</c> never records, even with an exporter.
    /// </summary>
    public bool? Tracing { get; set; }

    /// <summary>Whether spans are recorded: <see cref="Tracing"/> if set, else whether an OTLP trace exporter is configured.</summary>
    public bool TracingEnabled => Tracing ?? Otlp is { Enabled: true, Traces: true };

    /// <summary>Share of new traces recorded, 0 to 1 (parent-based: a sampled caller's trace is always continued).</summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>
    /// Whether Kestrel's memory pool meter (<c>Microsoft.AspNetCore.MemoryPool</c>: <c>aspnetcore_memory_pool_*</c>) is
    /// exported. Off by default: it records on every buffer rent and return of every socket, about 1 % of the server's CPU
    /// on the 1:1 send path (issue 17). Read at start-up.
    /// </summary>
    public bool MemoryPoolMetrics { get; set; }

    /// <summary>
    /// Whether Orleans' gauge of the requests queued on all activations (<c>orleans_messaging_processing_activation_data</c>) is
    /// exported. Off by default: each collection walks every activation of the silo, so with hundreds of thousands of
    /// conversation grains a scrape costs milliseconds of CPU (issue 17). Read at start-up.
    /// </summary>
    public bool ActivationRequestsGauge { get; set; }

    /// <summary>The default of <see cref="MetricCardinalityLimit"/>.</summary>
    public const int DefaultMetricCardinalityLimit = 200;

    /// <summary>
    /// The most label sets (data points) one metric keeps, for every meter but ASP.NET Core's (<c>Microsoft.AspNetCore.*</c>:
    /// their label sets follow the requests' routes, methods and status codes, and keep the SDK's 2,000). Further label sets
    /// are counted in one point labelled <c>otel_metric_overflow="true"</c>. The SDK reserves an array of this many points
    /// per metric at start: at its default of 2,000 that was 144 KB for each of ~170 metrics, 24.6 MB of the live heap
    /// (issue 17, stop 44), where Parley's and Orleans' metrics have at most a few dozen label sets each (hops, grain
    /// types, outcomes). 1–100,000; read at start-up.
    /// </summary>
    public int MetricCardinalityLimit { get; set; } = DefaultMetricCardinalityLimit;

    /// <summary>The OTLP exporter; off while <see cref="OtlpOptions.Endpoint"/> is empty.</summary>
    public OtlpOptions Otlp { get; set; } = new();
}

/// <summary>OTLP export of traces and metrics (to an OpenTelemetry Collector, Jaeger, Tempo, ...), bound to <c>Parley:Telemetry:Otlp</c>.</summary>
public sealed class OtlpOptions
{
    /// <summary>The collector's absolute http(s) URI, e.g. <c>http://collector:4317</c> (gRPC) or <c>http://collector:4318</c> (HTTP). Empty: no export.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary><c>Grpc</c> (port 4317) or <c>HttpProtobuf</c> (port 4318; the signal path <c>/v1/traces</c>, <c>/v1/metrics</c> is appended).</summary>
    public OtlpTransport Protocol { get; set; } = OtlpTransport.Grpc;

    /// <summary>Extra request headers, <c>key1=value1,key2=value2</c> (e.g. a collector's API key). Never logged.</summary>
    public string? Headers { get; set; }

    /// <summary>Export spans over OTLP.</summary>
    public bool Traces { get; set; } = true;

    /// <summary>Export metrics over OTLP too (Prometheus scraping stays on).</summary>
    public bool Metrics { get; set; }

    /// <summary>How often metrics are pushed, 1 s to 1 h.</summary>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Per-export timeout, 1 s to 5 min.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => Endpoint is not null;
}

/// <summary>The OTLP wire transport.</summary>
public enum OtlpTransport
{
    Grpc,
    HttpProtobuf,
}

/// <summary>Refuses telemetry settings that cannot work, at start-up, with the setting's name.</summary>
internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            errors.Add("Parley:Telemetry:ServiceName must not be empty.");
        }

        if (double.IsNaN(options.TraceSampleRatio) || options.TraceSampleRatio is < 0 or > 1)
        {
            errors.Add("Parley:Telemetry:TraceSampleRatio must be between 0 and 1.");
        }

        if (options.MetricCardinalityLimit is < 1 or > 100_000)
        {
            errors.Add("Parley:Telemetry:MetricCardinalityLimit must be between 1 and 100000.");
        }

        var otlp = options.Otlp;
        if (otlp.Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add("Parley:Telemetry:Otlp:Endpoint must be an absolute http:// or https:// URI (e.g. http://collector:4317).");
        }

        if (!Enum.IsDefined(otlp.Protocol))
        {
            errors.Add("Parley:Telemetry:Otlp:Protocol must be Grpc or HttpProtobuf.");
        }

        if (otlp.MetricsInterval < TimeSpan.FromSeconds(1) || otlp.MetricsInterval > TimeSpan.FromHours(1))
        {
            errors.Add("Parley:Telemetry:Otlp:MetricsInterval must be between 00:00:01 and 01:00:00.");
        }

        if (otlp.Timeout < TimeSpan.FromSeconds(1) || otlp.Timeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("Parley:Telemetry:Otlp:Timeout must be between 00:00:01 and 00:05:00.");
        }

        if (!string.IsNullOrEmpty(otlp.Headers) && otlp.Headers.Split(',').Any(h => h.IndexOf('=', StringComparison.Ordinal) <= 0))
        {
            errors.Add("Parley:Telemetry:Otlp:Headers must be key=value pairs separated by commas.");
        }

        if (otlp.Enabled && !otlp.Traces && !otlp.Metrics)
        {
            errors.Add("Parley:Telemetry:Otlp:Endpoint is set but both Traces and Metrics are false.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
