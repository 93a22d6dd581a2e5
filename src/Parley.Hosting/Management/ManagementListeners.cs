using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Compat.OpenIM;
using Parley.Hosting.Startup;

namespace Parley.Hosting.Management;

/// <summary>Where the admin API and <c>/metrics</c> listen, bound to <c>Parley:Management</c>.</summary>
public sealed class ManagementOptions
{
    public const string Section = "Parley:Management";

    /// <summary>
    /// Listeners of their own for <c>/admin</c> and <c>/metrics</c> (e.g. <c>http://127.0.0.1:9090</c>; explicit ports,
    /// separated by ';'). When set, those routes answer only there and nothing but them and the health checks answer
    /// there. Empty (the default): they answer on the server's own URLs (loopback <c>127.0.0.1:5080</c> in the shipped
    /// appsettings.json), never on the OpenIM ports.
    /// </summary>
    public string Urls { get; set; } = string.Empty;

    internal IReadOnlyList<Uri> ParsedUrls => [.. Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u))];
}

/// <summary>Marks an endpoint as a management endpoint (admin API, metrics).</summary>
public sealed class ManagementEndpointMetadata
{
    public static readonly ManagementEndpointMetadata Instance = new();
}

/// <summary>Marks the health-check endpoints, which answer on the management listener too.</summary>
public sealed class HealthEndpointMetadata
{
    public static readonly HealthEndpointMetadata Instance = new();
}

/// <summary>
/// Keeps each listener to its routes by the port the connection arrived on (never the Host header, which a client
/// chooses): the OpenIM ports serve only the OpenIM routes, a management listener only management routes and health,
/// and management routes only the management listener (or the main listeners when none is configured).
/// </summary>
public static class ManagementListeners
{
    /// <summary>Validates <c>Parley:Management:Urls</c> and adds the listeners to the server's URLs. Call before <c>Build()</c>.</summary>
    public static WebApplicationBuilder AddParleyManagementListeners(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ManagementOptions>().Bind(builder.Configuration.GetSection(ManagementOptions.Section));
        var options = builder.Configuration.GetSection(ManagementOptions.Section).Get<ManagementOptions>() ?? new ManagementOptions();
        var urls = Validate(options);
        if (urls.Count == 0)
        {
            return builder;
        }

        var current = (builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? builder.Configuration["Urls"] ?? "http://localhost:5000")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (var url in urls)
        {
            if (current.Any(u => Port(u) == url.Port))
            {
                throw new StartupProblemException($"Parley:Management:Urls port {url.Port.ToString(CultureInfo.InvariantCulture)} is also a server URL: give the management listener a port of its own.");
            }

            current.Add(url.GetLeftPart(UriPartial.Authority));
        }

        builder.WebHost.UseUrls([.. current]);
        return builder;
    }

    /// <summary>Adds the per-port route filter. Call after the routes are mapped or before; it runs after routing.</summary>
    public static WebApplication UseParleyListenerIsolation(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var management = app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value.ParsedUrls.Select(u => u.Port).ToHashSet();
        var openIm = app.Services.GetRequiredService<IOptions<OpenImOptions>>().Value;
        var openImPorts = openIm.Enabled ? new[] { openIm.ApiPort, openIm.WsPort }.Where(p => p is > 0).Select(p => p!.Value).ToHashSet() : [];
        app.UseRouting();
        app.Use((context, next) =>
        {
            if (!Allowed(context, management, openImPorts))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }

    /// <summary>
    /// Whether a local port serves the native gateway's <c>/ws</c>, as <see cref="UseParleyListenerIsolation"/> decides for
    /// it (no host metadata, not a management route): neither an OpenIM port nor a management listener's port. The
    /// direct upgrade (ADR 0020) accepts <c>/ws</c> only there.
    /// </summary>
    public static Func<int, bool> ServesNativeGateway(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var management = services.GetRequiredService<IOptions<ManagementOptions>>().Value.ParsedUrls.Select(u => u.Port);
        var openIm = services.GetRequiredService<IOptions<OpenImOptions>>().Value;
        var excluded = (openIm.Enabled ? new[] { openIm.ApiPort, openIm.WsPort }.Where(p => p is > 0).Select(p => p!.Value) : []).Concat(management).ToHashSet();
        return port => !excluded.Contains(port);
    }

    private static bool Allowed(HttpContext context, HashSet<int> managementPorts, HashSet<int> openImPorts)
    {
        var port = context.Connection.LocalPort;
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return true;
        }

        var isManagement = endpoint.Metadata.GetMetadata<ManagementEndpointMetadata>() is not null;
        var hosts = endpoint.Metadata.GetOrderedMetadata<IHostMetadata>().SelectMany(h => h.Hosts).ToList();
        var portBound = hosts.Select(Port).Where(p => p > 0).ToList();
        if (portBound.Count > 0)
        {
            // RequireHost("*:port") matches the Host header; the connection must also really have arrived on that port.
            return portBound.Contains(port);
        }

        if (openImPorts.Contains(port))
        {
            return false;
        }

        if (managementPorts.Count == 0)
        {
            return true;
        }

        var isHealth = endpoint.Metadata.GetMetadata<HealthEndpointMetadata>() is not null;
        return managementPorts.Contains(port) ? isManagement || isHealth : !isManagement;
    }

    private static List<Uri> Validate(ManagementOptions options)
    {
        var result = new List<Uri>();
        foreach (var text in options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0)
            {
                throw new StartupProblemException($"Parley:Management:Urls entry '{text}' is not an http(s) URL with an port, e.g. http://127.0.0.1:9090.");
            }

            result.Add(uri);
        }

        return result;
    }

    private static int Port(string hostOrUrl)
    {
        var colon = hostOrUrl.TrimEnd('/').LastIndexOf(':');
        return colon >= 0 && int.TryParse(hostOrUrl.AsSpan(colon + 1).TrimEnd('/'), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 0;
    }
}
