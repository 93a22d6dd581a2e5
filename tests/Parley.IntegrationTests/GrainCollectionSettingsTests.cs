using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Parley.Hosting;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 17's soak: Orleans deactivates every grain that became idle within one collection quantum in the same pass, so
/// the quantum sets the size of the deactivation bursts and how long past its idle age a grain stays. The server's silo
/// gets a tenth of Parley:Orleans:IdleAge (1 to 10 s) unless Parley:Orleans:CollectionQuantum says otherwise.
/// </summary>
public sealed class GrainCollectionSettingsTests
{
    [Theory]
    [InlineData("00:00:03", 1_000)] // at least 1 s
    [InlineData("00:00:30", 3_000)] // a tenth
    [InlineData("00:02:00", 10_000)] // at most 10 s (was 1 min: ~45,000 conversation grains per pass in the soak)
    [InlineData("00:30:00", 10_000)]
    [InlineData("00:00:02", 1_000)]
    public void TheDefaultQuantum_IsATenthOfTheIdleAge_Within1To10Seconds(string idleAge, int expectedMs)
    {
        var options = new OrleansOptions { IdleAge = TimeSpan.Parse(idleAge, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), options.EffectiveCollectionQuantum);
        Assert.True(options.EffectiveCollectionQuantum < options.IdleAge);
    }

    [Fact]
    public async Task TheSilo_CollectsWithTheDefaultQuantum_OrTheConfiguredOne()
    {
        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Orleans:IdleAge"] = "00:02:00" }))
        {
            var collection = server.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
            Assert.Equal(TimeSpan.FromMinutes(2), collection.CollectionAge);
            Assert.Equal(TimeSpan.FromSeconds(10), collection.CollectionQuantum);
        }

        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Parley:Orleans:IdleAge"] = "00:02:00",
            ["Parley:Orleans:CollectionQuantum"] = "00:00:30",
        }))
        {
            Assert.Equal(TimeSpan.FromSeconds(30), server.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.CollectionQuantum);
        }
    }

    /// <summary>
    /// By default a grain idle for two minutes is deactivated (stop 40; 30 minutes before, which under a steady load of new
    /// conversations kept memory growing for half an hour), and Orleans' workload analysis (status dumps for long requests) is
    /// off unless Parley:Orleans:WorkloadAnalysis turns it on: under an overload it took about half of the server's CPU.
    /// </summary>
    [Fact]
    public async Task TheSilo_ByDefault_CollectsAfterTwoMinutes_AndRunsNoWorkloadAnalysis_UnlessTurnedOn()
    {
        await using (var server = await TestServer.StartAsync())
        {
            var collection = server.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;
            Assert.Equal(TimeSpan.FromMinutes(2), collection.CollectionAge);
            Assert.Equal(TimeSpan.FromSeconds(10), collection.CollectionQuantum);
            Assert.Equal(TimeSpan.Zero, server.Services.GetRequiredService<IOptions<SiloMessagingOptions>>().Value.GrainWorkloadAnalysisPeriod);
        }

        await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Orleans:WorkloadAnalysis"] = "true" }))
        {
            Assert.Equal(TimeSpan.FromSeconds(10), server.Services.GetRequiredService<IOptions<SiloMessagingOptions>>().Value.GrainWorkloadAnalysisPeriod);
        }
    }
}
