namespace Parley.Push.Vendors.Apns;

/// <summary>APNs token-based auth settings, bound to <c>Parley:Push:Apns</c>.</summary>
public sealed class ApnsOptions : PushVendorOptions
{
    public ApnsOptions()
    {
        BaseUri = new Uri("https://api.push.apple.com");
    }

    /// <summary>Host for sandbox (development) tokens.</summary>
    public Uri SandboxBaseUri { get; set; } = new("https://api.sandbox.push.apple.com");

    /// <summary>10-character Team ID (JWT iss).</summary>
    public string TeamId { get; set; } = "";

    /// <summary>10-character Key ID of the .p8 key (JWT kid).</summary>
    public string KeyId { get; set; } = "";

    /// <summary>The .p8 file's PEM text (PKCS#8 P-256 private key). A secret: keep it out of logs and the repository.</summary>
    public string PrivateKeyPem { get; set; } = "";

    /// <summary>Default apns-topic when a device has no app id.</summary>
    public string BundleId { get; set; } = "";

    /// <summary>Provider token reuse: Apple rejects tokens older than 1 h and throttles refreshes more often than every 20 min.</summary>
    public TimeSpan TokenRefreshInterval { get; set; } = TimeSpan.FromMinutes(50);

    public TimeSpan TokenMinRefreshInterval { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Expiry for IM/service pushes (apns-expiration); content/marketing get 3× this.</summary>
    public TimeSpan Expiration { get; set; } = TimeSpan.FromDays(1);

    internal override IEnumerable<string> Problems()
    {
        return base.Problems().Concat(Required((nameof(TeamId), TeamId), (nameof(KeyId), KeyId), (nameof(PrivateKeyPem), PrivateKeyPem), (nameof(BundleId), BundleId)));
    }
}
