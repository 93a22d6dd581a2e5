using System.Text.Json;

namespace Parley.Cli.Internal;

/// <summary>
/// Where the CLI finds the server and its credential: the <c>--url</c>/<c>--token</c> options, else the environment
/// (<c>PARLEY_URL</c>, <c>PARLEY_TOKEN</c>), else the config file (<c>--config</c>, <c>PARLEY_CONFIG</c>, or
/// <c>~/.config/parley/cli.json</c>: <c>{"url": "...", "token": "..."}</c>).
/// </summary>
internal sealed record CliSettings(Uri Url, string Token)
{
    public const string UrlVariable = "PARLEY_URL";
    public const string TokenVariable = "PARLEY_TOKEN";
    public const string ConfigVariable = "PARLEY_CONFIG";

    public static string DefaultConfigPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "parley", "cli.json");

    /// <exception cref="CliException">No URL or token anywhere, an unreadable config file, or a malformed URL.</exception>
    public static CliSettings Resolve(string? url, string? token, string? configPath)
    {
        url ??= Environment.GetEnvironmentVariable(UrlVariable);
        token ??= Environment.GetEnvironmentVariable(TokenVariable);
        var explicitConfig = configPath ?? Environment.GetEnvironmentVariable(ConfigVariable);
        var path = explicitConfig ?? DefaultConfigPath;
        if ((url is null || token is null) && File.Exists(path))
        {
            ConfigFile file;
            try
            {
                file = JsonSerializer.Deserialize(File.ReadAllText(path), CliJsonContext.Default.ConfigFile) ?? new ConfigFile(null, null);
            }
            catch (JsonException e)
            {
                throw new CliException($"The config file '{path}' is not valid JSON: {e.Message}", 2);
            }

            if (file.Token is not null && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
            {
                Console.Error.WriteLine($"warning: '{path}' holds a token and is readable by other users; chmod 600 it.");
            }

            url ??= file.Url;
            token ??= file.Token;
        }
        else if (explicitConfig is not null && !File.Exists(explicitConfig))
        {
            throw new CliException($"The config file '{explicitConfig}' does not exist.", 2);
        }

        if (string.IsNullOrWhiteSpace(url))
        {
            throw new CliException($"No server URL: pass --url, set {UrlVariable}, or put \"url\" in {path}.", 2);
        }

        if (string.IsNullOrWhiteSpace(token))
        {
            throw new CliException($"No operator token: pass --token, set {TokenVariable}, or put \"token\" in {path} (the admin secret or an operator token).", 2);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"The server URL '{url}' is not an http(s) URL (the management listener, e.g. http://127.0.0.1:9090).", 2);
        }

        return new CliSettings(uri, token.Trim());
    }
}

internal sealed record ConfigFile(string? Url, string? Token);

/// <summary>A failure the CLI reports in one line on stderr, with its exit code (1 = refused by the server or failed, 2 = usage).</summary>
internal sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
