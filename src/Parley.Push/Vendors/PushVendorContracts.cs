using System.Net.Security;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors;

/// <summary>Parley's one error taxonomy for vendor answers.</summary>
public enum PushOutcome
{
    Accepted = 0,

    /// <summary>The vendor says the token is dead. Deleted only when <see cref="PushSendResult.DeleteToken"/> (allow-list).</summary>
    InvalidToken = 1,

    /// <summary>Transient: 5xx, flow control, per-device throttling. Retry after <see cref="PushSendResult.RetryAfter"/> (or backoff).</summary>
    RetryAfter = 2,

    /// <summary>A vendor quota for this category is used up; non-IM pushes are dropped, IM waits.</summary>
    QuotaExceeded = 3,

    /// <summary>Our credentials or app configuration are wrong: a config alarm, never a token deletion.</summary>
    AuthError = 4,

    /// <summary>The request is wrong (payload, fields): retrying would not help; dead-lettered.</summary>
    PermanentBadRequest = 5,

    /// <summary>The request may have been written but no answer came (timeout, reset).</summary>
    OutcomeUnknown = 6,
}

/// <summary>The classified answer of one vendor request.</summary>
/// <param name="Reason">The vendor's reason/code, e.g. "Unregistered", "UNREGISTERED", "80300007".</param>
/// <param name="VendorWide">For RetryAfter/QuotaExceeded: the whole vendor lane must pause, not only this device.</param>
/// <param name="DeleteToken">For InvalidToken: the reason is on the vendor's allow-list of "token is dead".</param>
/// <param name="InvalidSince">APNs 410 timestamp (Unix ms): delete only if the token was registered before it.</param>
public sealed record PushSendResult(
    PushOutcome Outcome,
    string Reason,
    TimeSpan? RetryAfter = null,
    bool VendorWide = false,
    bool DeleteToken = false,
    long? InvalidSince = null,
    string? VendorMessageId = null)
{
    public static PushSendResult Accepted(string? vendorMessageId = null) => new(PushOutcome.Accepted, "ok", VendorMessageId: vendorMessageId);
}

/// <summary>A vendor channel. Implementations are stateless per call apart from auth caches; thread-safe.</summary>
public interface IPushVendorAdapter
{
    PushVendor Vendor { get; }

    /// <summary>The vendor de-duplicates on a key we send (OPPO app_message_id, vivo requestId): an unknown outcome may be re-sent.</summary>
    bool HasDedupKey { get; }

    VendorLimits Limits { get; }

    /// <summary>Sends one notification to one device. Never throws for vendor answers or network failures: classify them.</summary>
    Task<PushSendResult> SendAsync(PushDevice device, PushNotification notification, CancellationToken cancellationToken);
}

/// <summary>Settings every vendor adapter has.</summary>
public abstract class PushVendorOptions
{
    /// <summary>Vendor API base address (tests point it at a simulator).</summary>
    public Uri? BaseUri { get; set; }

    /// <summary>Per-request timeout; after it the outcome is unknown.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Requests per second (token bucket refill) and burst size, per vendor.</summary>
    public double RatePerSecond { get; set; } = 1000;

    public int RateBurst { get; set; } = 1000;

    /// <summary>Per-app daily quota by category (absent = unlimited). Counted at accept.</summary>
    public Dictionary<PushCategory, long> DailyQuota { get; } = [];

    /// <summary>Per-device daily quota by category (e.g. 2 marketing pushes per device per day).</summary>
    public Dictionary<PushCategory, int> PerDeviceDailyQuota { get; } = [];

    /// <summary>Optional server-certificate check (pinning, private CAs, simulators). Null = the system's validation.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Payload size limit the adapter enforces before sending (bytes).</summary>
    public int MaxPayloadBytes { get; set; } = 4096;

    /// <summary>Configuration problems, checked at start (so a missing secret fails fast with a clear message).</summary>
    internal virtual IEnumerable<string> Problems()
    {
        if (BaseUri is null)
        {
            yield return "BaseUri is required.";
        }

        if (RequestTimeout <= TimeSpan.Zero || RatePerSecond <= 0 || RateBurst < 1)
        {
            yield return "RequestTimeout, RatePerSecond and RateBurst must be positive.";
        }
    }

    internal static IEnumerable<string> Required(params (string Name, string? Value)[] fields) =>
        fields.Where(f => string.IsNullOrWhiteSpace(f.Value)).Select(f => f.Name + " is required.");
}
