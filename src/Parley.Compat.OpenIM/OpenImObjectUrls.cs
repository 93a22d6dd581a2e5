using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Parley.Compat.OpenIM;

/// <summary>
/// The URLs OpenIM messages carry for media: <c>{ObjectUrl}/object/{objectId}</c> (OpenIM's own shape,
/// <c>{apiURL}/object/{name}</c>). A URL names an object only; fetching it needs the caller's token (see
/// OpenImRest.Objects.cs), so a URL that leaks grants nothing.
/// </summary>
internal sealed partial class OpenImObjectUrls(IOptions<OpenImOptions> options, IServer server)
{
    private string? _base;

    /// <summary>The configured <see cref="OpenImOptions.ObjectUrl"/>, else the server's own address on the API port.</summary>
    public string Base => _base ??= Compute();

    public string UrlOf(string objectId) => Base + "/object/" + objectId;

    /// <summary>The object id in a Parley object URL (any host: a client may reach the server under another name), else null.</summary>
    public static string? ObjectIdOf(string? url)
    {
        if (string.IsNullOrEmpty(url) || url.Length > 2048)
        {
            return null;
        }

        var match = ObjectPath().Match(url);
        return match.Success ? match.Groups[1].Value : null;
    }

    private string Compute()
    {
        var o = options.Value;
        if (o.ObjectUrl.Length > 0)
        {
            return o.ObjectUrl.TrimEnd('/');
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var chosen = addresses
            .Select(a => Uri.TryCreate(a.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri) ? uri : null)
            .Where(u => u is not null)
            .FirstOrDefault(u => o.ApiPort is not > 0 || u!.Port == o.ApiPort);
        var host = chosen is null ? "127.0.0.1" : chosen.Host is "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : chosen.IdnHost;
        var port = chosen?.Port ?? (o.ApiPort is > 0 ? o.ApiPort.Value : OpenImOptions.DefaultApiPort);
        return $"{chosen?.Scheme ?? "http"}://{host}:{port}{o.PathPrefix.TrimEnd('/')}";
    }

    [GeneratedRegex("/object/([0-9a-f]{32})(?:[/?#]|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ObjectPath();
}
