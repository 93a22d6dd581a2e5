using Parley.Protocol.V1;

namespace Parley.Core.Sessions;

/// <summary>Which logins of one user may stay connected together.</summary>
public enum MultiLoginPolicy
{
    /// <summary>Any number of devices; only a reconnect of the same device replaces its old connection.</summary>
    AllowAll,

    /// <summary>One connection per platform class (mobile, pad, desktop, web, mini program). The default.</summary>
    OnePerPlatformClass,

    /// <summary>One connection per platform (iOS, Android, Windows, ...).</summary>
    OnePerPlatform,

    /// <summary>One connection in all.</summary>
    OneInAll,
}

/// <summary>Session settings, bound to <c>Parley:Sessions</c>.</summary>
public sealed class SessionOptions
{
    public const string Section = "Parley:Sessions";

    public MultiLoginPolicy MultiLogin { get; set; } = MultiLoginPolicy.OnePerPlatformClass;
}

public static class SessionPolicy
{
    public enum PlatformClass
    {
        Other,
        Mobile,
        Pad,
        Desktop,
        Web,
        MiniProgram,
    }

    public static PlatformClass ClassOf(Platform platform) => platform switch
    {
        Platform.Ios or Platform.Android => PlatformClass.Mobile,
        Platform.Ipad or Platform.AndroidPad => PlatformClass.Pad,
        Platform.Windows or Platform.Macos or Platform.Linux => PlatformClass.Desktop,
        Platform.Web => PlatformClass.Web,
        Platform.MiniProgram => PlatformClass.MiniProgram,
        _ => PlatformClass.Other,
    };

    /// <summary>True when a new login (<paramref name="incomingDevice"/>, <paramref name="incomingPlatform"/>) displaces an existing one.</summary>
    public static bool Displaces(MultiLoginPolicy policy, string existingDevice, Platform existingPlatform, string incomingDevice, Platform incomingPlatform)
    {
        if (string.Equals(existingDevice, incomingDevice, StringComparison.Ordinal))
        {
            return true;
        }

        return policy switch
        {
            MultiLoginPolicy.AllowAll => false,
            MultiLoginPolicy.OnePerPlatformClass => ClassOf(existingPlatform) == ClassOf(incomingPlatform),
            MultiLoginPolicy.OnePerPlatform => existingPlatform == incomingPlatform,
            MultiLoginPolicy.OneInAll => true,
            _ => false,
        };
    }
}

/// <summary>Ends live sessions; implemented by the gateway, used by the admin API.</summary>
public interface ISessionControl
{
    /// <summary>Kicks every connection of a user (optionally one device). Returns how many were closed.</summary>
    int KickUser(string userId, string? deviceId, KickReason reason);

    /// <summary>Kicks the connections authenticated with one of the given token ids. Returns how many were closed.</summary>
    int KickTokens(string userId, IReadOnlyCollection<string> tokenIds, KickReason reason);

    /// <summary>Number of live connections of a user on this node.</summary>
    int CountConnections(string userId);

    /// <summary>Device ids of the user's live connections whose app is in the foreground (these need no push).</summary>
    IReadOnlyList<string> ForegroundDevices(string userId);
}
