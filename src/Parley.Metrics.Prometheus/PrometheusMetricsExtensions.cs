using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Parley.Metrics.Prometheus;

/// <summary>Registration of the Prometheus collector and its scrape endpoint.</summary>
public static class PrometheusMetricsExtensions
{
    /// <summary>
    /// Registers <see cref="PrometheusMeterCollector"/> as a singleton, created (and so listening) when
    /// the host starts, so measurements from start-up on are counted.
    /// </summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, Action<PrometheusMetricsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PrometheusMetricsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options
            .Validate(o => o.MeterPrefixes.All(p => !string.IsNullOrWhiteSpace(p)), "Meter prefixes must not be empty.")
            .Validate(o => o.MaxSeriesPerInstrument >= 1, "MaxSeriesPerInstrument must be at least 1.")
            .ValidateOnStart();

        services.TryAddSingleton(sp => new PrometheusMeterCollector(sp.GetRequiredService<IOptions<PrometheusMetricsOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CollectorStarter>(
            sp => new CollectorStarter(sp.GetRequiredService<PrometheusMeterCollector>())));
        return services;
    }

    /// <summary>Maps <c>GET {pattern}</c> to the Prometheus text exposition of the registered collector.</summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var collector = endpoints.ServiceProvider.GetService<PrometheusMeterCollector>()
            ?? throw new InvalidOperationException($"Call {nameof(AddPrometheusMetrics)} before {nameof(MapPrometheusMetrics)}.");
        return endpoints.MapGet(pattern, async context =>
        {
            context.Response.ContentType = PrometheusMeterCollector.ContentType;
            context.Response.Headers.CacheControl = "no-store";
            await collector.WriteAsync(context.Response.BodyWriter, context.RequestAborted).ConfigureAwait(false);
        });
    }

    /// <summary>Resolves the collector at host start; the container disposes it.</summary>
    private sealed class CollectorStarter(PrometheusMeterCollector collector) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(collector);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
