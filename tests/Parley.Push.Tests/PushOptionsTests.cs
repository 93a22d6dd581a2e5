using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Push.Vendors.Apns;
using Parley.Push.Vendors.Fcm;

namespace Parley.Push.Tests;

public sealed class PushOptionsTests
{
    [Fact]
    public void VendorWithoutCredentials_FailsWithEveryMissingSettingNamed()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddParleyPush().AddApns().AddFcm(o => o.ProjectId = "p");
        using var provider = services.BuildServiceProvider();

        var apns = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ApnsOptions>>().Value);
        Assert.Contains(apns.Failures, f => f.Contains("Parley:Push:Apns: TeamId is required.", StringComparison.Ordinal));
        Assert.Contains(apns.Failures, f => f.Contains("PrivateKeyPem is required.", StringComparison.Ordinal));
        var fcm = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<FcmOptions>>().Value);
        Assert.Equal(["Parley:Push:Fcm: ServiceAccountJson is required."], fcm.Failures);
    }

    [Fact]
    public void VendorOptions_BindFromConfiguration()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Parley:Push:CoalesceWindow"] = "00:00:10",
            ["Parley:Push:Fcm:ProjectId"] = "from-config",
            ["Parley:Push:Fcm:ServiceAccountJson"] = "{}",
            ["Parley:Push:Fcm:RatePerSecond"] = "50",
        }).Build());
        services.AddParleyPush().AddFcm();
        using var provider = services.BuildServiceProvider();

        Assert.Equal(TimeSpan.FromSeconds(10), provider.GetRequiredService<IOptions<PushOptions>>().Value.CoalesceWindow);
        var fcm = provider.GetRequiredService<IOptions<FcmOptions>>().Value;
        Assert.Equal("from-config", fcm.ProjectId);
        Assert.Equal(50, fcm.RatePerSecond);
    }
}
