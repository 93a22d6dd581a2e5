using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Hosting.Startup;

namespace Parley.Push.Tests;

/// <summary>
/// The server's log levels hold without its appsettings.json (started from another working directory): Polly's
/// per-execution lines of Orleans' placement pipeline (Information) are off, its retries (Warning) still logged.
/// </summary>
public sealed class LoggingDefaultsTests
{
    [Fact]
    public void WithoutAppSettings_PollyExecutionsAreNotLogged_ItsRetriesAre()
    {
        var factory = Build([], out var provider);
        using (provider)
        {
            var polly = factory.CreateLogger("Polly");
            Assert.False(polly.IsEnabled(LogLevel.Information), "Polly[2]/Polly[3] per execution");
            Assert.True(polly.IsEnabled(LogLevel.Warning), "a retried attempt");
            Assert.False(factory.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
            Assert.True(factory.CreateLogger("Parley.Push.PushPipeline").IsEnabled(LogLevel.Information));
        }
    }

    [Fact]
    public void AnOperatorsLevel_StillWins()
    {
        var factory = Build(["--Logging:LogLevel:Polly=Debug"], out var provider);
        using (provider)
        {
            Assert.True(factory.CreateLogger("Polly").IsEnabled(LogLevel.Debug));
        }
    }

    private static ILoggerFactory Build(string[] args, out ServiceProvider provider)
    {
        // An empty content root: no appsettings.json, as for a server started outside its folder.
        var root = Directory.CreateTempSubdirectory("parley-logging-");
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = root.FullName, Args = args });
            LoggingDefaults.Apply(builder.Configuration);
            provider = builder.Services.BuildServiceProvider();
            return provider.GetRequiredService<ILoggerFactory>();
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
