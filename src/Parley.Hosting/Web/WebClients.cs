using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Parley.Hosting.Web;

/// <summary>One single-page web client: its folder name under the web root and the path it is served at.</summary>
public sealed record WebClient(string Name, string MountPath, string Source);

/// <summary>
/// Serves the single-page web clients listed in <c>spa/spas.json</c>: their files (hashed <c>assets/</c> cached for a
/// year, <c>index.html</c> revalidated) and <c>index.html</c> for any other page address under the mount path, so client-side
/// routes survive a reload. A client whose build output is missing answers its pages with instructions to build it.
/// </summary>
public static partial class WebClients
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Reads the client list; empty when the build wrote none (e.g. a server built without the web clients).</summary>
    public static IReadOnlyList<WebClient> Load(string root)
    {
        var manifest = Path.Combine(root, "spas.json");
        if (!File.Exists(manifest))
        {
            return [];
        }

        var clients = JsonSerializer.Deserialize<List<WebClient>>(File.ReadAllText(manifest), Json) ?? [];
        return [.. clients
            .Where(c => !string.IsNullOrWhiteSpace(c.Name) && c.MountPath.StartsWith('/'))
            .Select(c => c with { MountPath = c.MountPath.Length > 1 ? c.MountPath.TrimEnd('/') : c.MountPath })
            .OrderByDescending(c => c.MountPath.Length)];
    }

    /// <summary>Maps every web client; call after the API endpoints (their fallbacks have the lowest priority).</summary>
    public static WebApplication MapParleyWebClients(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<WebClientOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var root = Path.GetFullPath(options.Root, AppContext.BaseDirectory);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebClients).FullName!);
        foreach (var client in Load(root))
        {
            var folder = Path.Combine(root, client.Name);
            var built = File.Exists(Path.Combine(folder, "index.html"));
            if (built)
            {
                LogServing(logger, client.Name, client.MountPath);
            }
            else
            {
                LogNotBuilt(logger, client.Name, client.MountPath, client.Source);
            }

            // Fallback endpoints: any API endpoint wins over them, and the longest mount path is mapped first.
            var files = built ? new PhysicalFileProvider(folder) : null;
            var pattern = client.MountPath == "/" ? "{**path}" : client.MountPath + "/{**path}";
            app.MapFallback(pattern, context => ServeAsync(context, client, files));
            if (client.MountPath != "/")
            {
                app.MapGet(client.MountPath, context => ServeAsync(context, client, files));
            }
        }

        return app;
    }

    private static async Task ServeAsync(HttpContext context, WebClient client, PhysicalFileProvider? files)
    {
        var path = context.Request.Path.Value ?? "/";
        var relative = client.MountPath == "/" ? path : path[Math.Min(client.MountPath.Length, path.Length)..];
        if (files is not null && relative.Length > 1 && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            // PhysicalFileProvider refuses paths that leave its folder.
            var file = files.GetFileInfo(relative);
            if (file.Exists && !file.IsDirectory && file.PhysicalPath is not null)
            {
                context.Response.ContentType = ContentTypes.TryGetContentType(file.Name, out var type) ? type : "application/octet-stream";
                context.Response.Headers.CacheControl = file.Name.Equals("index.html", StringComparison.Ordinal)
                    ? "no-cache"
                    : relative.StartsWith("/assets/", StringComparison.Ordinal) ? "public, max-age=31536000, immutable" : "public, max-age=300";
                await context.Response.SendFileAsync(file).ConfigureAwait(false);
                return;
            }
        }

        // Only page navigations get the app: a missing asset or API address stays a 404.
        var accept = context.Request.Headers.Accept.ToString();
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method)
            || Path.HasExtension(path) || !(accept.Length == 0 || accept.Contains("text/html", StringComparison.Ordinal)))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentType = "text/html; charset=utf-8";
        if (files is not null)
        {
            await context.Response.SendFileAsync(files.GetFileInfo("index.html")).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        var source = WebUtility.HtmlEncode(client.Source);
        await context.Response.WriteAsync($$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Parley: web client not built</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
            <h1>The {{WebUtility.HtmlEncode(client.Name)}} web client is not built</h1>
            <p>The server runs: the WebSocket at <code>/ws</code>, the admin API and <code>/healthz</code> work. The web client
            is built with Node.js (20.19 or later) and npm during <code>dotnet build</code>; this build found no Node.js or the
            npm build failed (see the build output).</p>
            <p>Install Node.js and npm, then build the server again, or build the client by hand:</p>
            <pre>cd {{source}} &amp;&amp; npm ci &amp;&amp; npm run build
            dotnet build src/Parley.Server</pre>
            </body></html>
            """).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Web client {Name} served at {MountPath}")]
    private static partial void LogServing(ILogger logger, string name, string mountPath);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Web client {Name} at {MountPath} is not built (no index.html); its pages explain how to build {Source}")]
    private static partial void LogNotBuilt(ILogger logger, string name, string mountPath, string source);
}
