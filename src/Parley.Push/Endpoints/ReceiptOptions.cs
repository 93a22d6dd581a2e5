namespace Parley.Push;

/// <summary>
/// Receipt callback settings, bound to <c>Parley:Push:Receipts</c>. A vendor with a <see cref="Secrets"/> entry must send
/// that secret with each callback, as the password of HTTP Basic authentication (Huawei/Honor HMS and vivo let the
/// callback be configured with credentials) or, for a vendor that only takes a URL, as the <c>secret</c> query parameter;
/// it is compared in constant time. Without an entry the callback is unauthenticated: keep its path private.
/// </summary>
public sealed class ReceiptOptions
{
    public const string Section = "Parley:Push:Receipts";

    /// <summary>Per vendor (huawei, honor, xiaomi, oppo, vivo): the shared callback secret.</summary>
    public Dictionary<string, string> Secrets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The largest callback body read (bytes).</summary>
    public int MaxBodyBytes { get; set; } = 256 * 1024;
}
