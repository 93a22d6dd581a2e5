using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Core.Auth;
using Parley.Hosting.Startup;

namespace Parley.Hosting;

/// <summary>The push section's key setting, bound to <c>Parley:Push</c>.</summary>
public sealed class PushKeyOptions
{
    public const string Section = "Parley:Push";

    /// <summary>Base64 of the 32-byte key that encrypts device tokens at rest; generated into the data directory when empty.</summary>
    public string? TokenKey { get; set; }
}

/// <summary>
/// The server's secret keys, loaded (or created once) in ONE place when the host starts: the token signing key
/// (<c>Parley:Tokens:SigningKey</c> or <c>DataDirectory/token-signing.key</c>) and the device-token encryption key
/// (<c>Parley:Push:TokenKey</c> or <c>DataDirectory/push-token.key</c>). A configured key wins; otherwise the key file is
/// read, or created with 32 random bytes (owner read/write only). Any problem is a <see cref="StartupProblemException"/>
/// whose one line names the setting or file, what is wrong and the fix; the executable prints it and exits 2.
/// </summary>
public sealed partial class ServerKeys
{
    internal const string SigningKeyFile = "token-signing.key";
    internal const string PushKeyFile = "push-token.key";

    public ServerKeys(IOptions<StorageOptions> storage, IOptions<TokenOptions> tokens, IOptions<PushKeyOptions> push, ILogger<ServerKeys> logger)
    {
        var directory = Path.GetFullPath(storage.Value.DataDirectory);
        var signing = Load(tokens.Value.SigningKey, "Parley:Tokens:SigningKey", directory, SigningKeyFile, minLength: 32, exactLength: false, logger);
        var device = Load(push.Value.TokenKey, "Parley:Push:TokenKey", directory, PushKeyFile, minLength: 32, exactLength: true, logger);
        TokenSigningKey = new TokenSigningKey(signing);
        DeviceTokenKey = new DeviceTokenKey(device);
    }

    public TokenSigningKey TokenSigningKey { get; }

    public DeviceTokenKey DeviceTokenKey { get; }

    private static byte[] Load(string? configured, string setting, string directory, string fileName, int minLength, bool exactLength, ILogger logger)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Decode(configured, $"{setting} (configured)", "set it to `openssl rand -base64 32`", minLength, exactLength);
        }

        var path = Path.Combine(directory, fileName);
        try
        {
            Directory.CreateDirectory(directory);
            if (File.Exists(path))
            {
                return Decode(
                    File.ReadAllText(path),
                    $"the key file '{path}' ({setting} is not set)",
                    "restore the file from a backup, or delete it to generate a new key (which invalidates what the old one protects)",
                    minLength,
                    exactLength);
            }

            var key = RandomNumberGenerator.GetBytes(32);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(path, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(Convert.ToBase64String(key));
            }

            LogKeyCreated(logger, path, setting);
            return key;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupProblemException($"The key file '{path}' cannot be read or created ({ex.Message}): check Parley:Storage:DataDirectory and its permissions, or set {setting}.", ex);
        }
    }

    // One line naming the setting or file, what is wrong and the fix; the executable prints it and exits 2.
    private static byte[] Decode(string text, string what, string fix, int minLength, bool exactLength)
    {
        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var length))
        {
            throw new StartupProblemException($"{what} is not base64: {fix}.");
        }

        if (exactLength ? length != minLength : length < minLength)
        {
            var need = minLength.ToString(CultureInfo.InvariantCulture);
            throw new StartupProblemException(
                $"{what} decodes to {length.ToString(CultureInfo.InvariantCulture)} bytes; a key needs {(exactLength ? "exactly " + need : "at least " + need)}: {fix}.");
        }

        return buffer[..length];
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Generated a new secret key into {Path} (set {Setting} to use a configured key; every node of a cluster needs the same key)")]
    private static partial void LogKeyCreated(ILogger logger, string path, string setting);
}

/// <summary>Loads the keys when the host starts (before any hosted service), so a bad key stops the server at once.</summary>
internal sealed class ServerKeysStartup(ServerKeys keys) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(keys);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
