namespace Parley.Abstractions.Push;

/// <summary>The push channel a device is reached through.</summary>
public enum PushVendor
{
    Apns = 1,
    Fcm = 2,
    Huawei = 3,
    Honor = 4,
    Xiaomi = 5,
    Oppo = 6,
    Vivo = 7,
    WebPush = 8,
}

/// <summary>The vendor environment a token belongs to (APNs sandbox vs production; others use production).</summary>
public enum PushEnvironment
{
    Production = 0,
    Sandbox = 1,
}

/// <summary>
/// Parley's push classification. Derived server-side from the message type, never trusted from a caller, because
/// vendors punish marketing sent as IM. Lower value = higher lane priority.
/// </summary>
public enum PushCategory
{
    /// <summary>A chat message: IM lane, never delayed by quiet hours or send-time learning.</summary>
    Im = 0,

    /// <summary>Service/order/account notifications.</summary>
    Service = 1,

    /// <summary>Content the user follows (subscriptions, feeds).</summary>
    FollowedContent = 2,

    /// <summary>Marketing/operation pushes: templates chosen by the bandit, quotas apply.</summary>
    Marketing = 3,
}

/// <summary>
/// One registered device. <see cref="Token"/> is the vendor token in clear, in memory only: stores keep it encrypted
/// and nothing logs it. For Web Push the token is the subscription JSON <c>{"endpoint":…,"keys":{"p256dh":…,"auth":…}}</c>.
/// </summary>
/// <param name="Platform">Free-form platform name reported by the app (ios, android, web, harmony …).</param>
/// <param name="AppId">Bundle id / package name / vendor app id the token was issued for.</param>
/// <param name="TimeZone">IANA time zone id, used for quiet hours and send-time learning.</param>
/// <param name="LastSeenAt">Unix milliseconds of the device's last app start or token refresh.</param>
/// <param name="RegisteredAt">Unix milliseconds when this token was registered (APNs 410 timestamps are compared with it).</param>
/// <param name="TokenInvalidAt">Unix milliseconds when a vendor declared the token invalid, or null.</param>
public sealed record PushDevice(
    string UserId,
    string DeviceId,
    string Platform,
    PushVendor Vendor,
    string Token,
    string AppId,
    PushEnvironment Environment,
    bool NotificationsEnabled,
    string Locale,
    string TimeZone,
    long LastSeenAt,
    long RegisteredAt,
    long? TokenInvalidAt = null)
{
    /// <summary>Never prints the token.</summary>
    public override string ToString() => $"PushDevice {{ UserId = {UserId}, DeviceId = {DeviceId}, Vendor = {Vendor}, Platform = {Platform} }}";
}
