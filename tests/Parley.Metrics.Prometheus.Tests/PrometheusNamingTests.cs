using Parley.Metrics.Prometheus.Internal;

namespace Parley.Metrics.Prometheus.Tests;

public class PrometheusNamingTests
{
    [Theory]
    [InlineData("http.server.request.duration", "s", "Histogram", "http_server_request_duration_seconds")]
    [InlineData("kestrel.active_connections", "{connection}", "Gauge", "kestrel_active_connections")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("requests_total", "{request}", "Counter", "requests_total")]
    [InlineData("latency_seconds", "s", "Histogram", "latency_seconds")]
    [InlineData("cache.hit", "1", "Gauge", "cache_hit_ratio")]
    [InlineData("cache.hits", "1", "Counter", "cache_hits_total")]
    [InlineData("a..b--c", null, "Gauge", "a_b_c")]
    [InlineData("ns:metric", "ms", "Gauge", "ns:metric_milliseconds")]
    [InlineData("custom", "widgets", "Gauge", "custom_widgets")]
    [InlineData("throughput", "{packet}/s", "Gauge", "throughput_per_second")]
    public void MetricName_OpenTelemetryConventions(string name, string? unit, string kind, string expected) =>
        Assert.Equal(expected, PrometheusNaming.MetricName(name, unit, Enum.Parse<MetricKind>(kind)));

    [Theory]
    [InlineData("http.route", "http_route")]
    [InlineData("1st", "key_1st")]
    [InlineData("__name__", "key__name__")]
    [InlineData("ok_label", "ok_label")]
    public void LabelName_Sanitised(string key, string expected) =>
        Assert.Equal(expected, PrometheusNaming.LabelName(key));
}
