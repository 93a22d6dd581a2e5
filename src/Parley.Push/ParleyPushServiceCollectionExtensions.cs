using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Pipeline;
using Parley.Push.Vendors;
using Parley.Push.Vendors.Apns;
using Parley.Push.Vendors.Fcm;
using Parley.Push.Vendors.Honor;
using Parley.Push.Vendors.Huawei;
using Parley.Push.Vendors.Oppo;
using Parley.Push.Vendors.Vivo;
using Parley.Push.Vendors.WebPush;
using Parley.Push.Vendors.Xiaomi;

namespace Parley.Push;

/// <summary>Registers the push pipeline and its vendors. Stores (IDeviceStore, IPushJournal) and the <see cref="DeviceTokenKey"/> come from the host (a storage provider, e.g. <c>AddParleySqliteStorage</c>, and the server keys).</summary>
public static class ParleyPushServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="PushPipeline"/> (singleton), its hosted dispatcher and metrics. Options bind to <c>Parley:Push</c>
    /// and are validated at start. Chain <c>.AddApns(...)</c>, <c>.AddFcm(...)</c> … for the vendors in use.
    /// </summary>
    public static ParleyPushBuilder AddParleyPush(this IServiceCollection services, Action<PushOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PushOptions>().BindConfiguration(PushOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<PushMetrics>();
        // Push ids are keyed by the server's device-token secret (loaded once at start-up by the host), so they cannot
        // be guessed from a message id alone.
        services.TryAddSingleton(sp => PushIdKey.Derive(sp.GetRequiredService<DeviceTokenKey>().Bytes.ToArray()));
        // Quotas, the marketing cap and the bandit's counts: in memory on one node; a cluster host registers shared ones first.
        services.TryAddSingleton<IPushCounters>(sp => new InMemoryPushCounters(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<PushPipeline>();
        services.AddHostedService<PushDispatcher>();
        return new ParleyPushBuilder(services);
    }
}

/// <summary>Vendor registration: each binds <c>Parley:Push:{Vendor}</c>, then applies the delegate.</summary>
public sealed class ParleyPushBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;

    public ParleyPushBuilder AddApns(Action<ApnsOptions>? configure = null) => Add<ApnsAdapter, ApnsOptions>("Apns", configure);

    public ParleyPushBuilder AddFcm(Action<FcmOptions>? configure = null) => Add<FcmAdapter, FcmOptions>("Fcm", configure);

    public ParleyPushBuilder AddHuawei(Action<HuaweiOptions>? configure = null) => Add<HuaweiAdapter, HuaweiOptions>("Huawei", configure);

    public ParleyPushBuilder AddHonor(Action<HonorOptions>? configure = null) => Add<HonorAdapter, HonorOptions>("Honor", configure);

    public ParleyPushBuilder AddXiaomi(Action<XiaomiOptions>? configure = null) => Add<XiaomiAdapter, XiaomiOptions>("Xiaomi", configure);

    public ParleyPushBuilder AddOppo(Action<OppoOptions>? configure = null) => Add<OppoAdapter, OppoOptions>("Oppo", configure);

    public ParleyPushBuilder AddVivo(Action<VivoOptions>? configure = null) => Add<VivoAdapter, VivoOptions>("Vivo", configure);

    public ParleyPushBuilder AddWebPush(Action<WebPushOptions>? configure = null) => Add<WebPushAdapter, WebPushOptions>("WebPush", configure);

    private ParleyPushBuilder Add<TAdapter, TOptions>(string section, Action<TOptions>? configure)
        where TAdapter : class, IPushVendorAdapter
        where TOptions : PushVendorOptions
    {
        var builder = Services.AddOptions<TOptions>().BindConfiguration(PushOptions.Section + ":" + section);
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        Services.AddSingleton<IValidateOptions<TOptions>>(new VendorOptionsValidator<TOptions>(section));

        Services.TryAddSingleton<TAdapter>();
        Services.AddSingleton<IPushVendorAdapter>(sp => sp.GetRequiredService<TAdapter>());
        return this;
    }
}

/// <summary>Fails start-up with every missing vendor setting listed (secrets are named, never printed).</summary>
internal sealed class VendorOptionsValidator<TOptions>(string vendor) : IValidateOptions<TOptions>
    where TOptions : PushVendorOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var problems = options.Problems().Select(p => $"{PushOptions.Section}:{vendor}: {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
