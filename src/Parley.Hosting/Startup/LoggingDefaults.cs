using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace Parley.Hosting.Startup;

/// <summary>
/// The log levels of appsettings.json, as the lowest-priority configuration source. The host reads appsettings.json from
/// its content root, the working directory: a server started from anywhere else (a service unit, a script, a shell in
/// another folder) lost them, and Orleans' placement pipeline then logged two Polly lines at Information (Polly[2]
/// "pipeline executed", Polly[3] "execution attempt") per placement, besides every HTTP request. Polly stays at Warning:
/// a retried attempt is a Warning and still shows. appsettings.json, environment variables and arguments still override.
/// </summary>
internal static class LoggingDefaults
{
    internal static readonly KeyValuePair<string, string?>[] Levels =
    [
        new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
        new("Logging:LogLevel:Orleans", "Warning"),
        new("Logging:LogLevel:Orleans.Runtime.Silo", "Error"),
        new("Logging:LogLevel:Polly", "Warning"),
    ];

    public static void Apply(IConfigurationBuilder configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Levels });
}
