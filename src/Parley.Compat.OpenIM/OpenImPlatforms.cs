using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>Maps OpenIM platform ids onto Parley platforms and the device id an OpenIM login uses.</summary>
public static class OpenImPlatforms
{
    /// <summary>OpenIM's PlatformID2Name for the platforms a user can log in on (10 Admin is not a user platform).</summary>
    public static bool TryMap(int platformId, out Platform platform, out string name)
    {
        (platform, name) = platformId switch
        {
            1 => (Platform.Ios, "IOS"),
            2 => (Platform.Android, "Android"),
            3 => (Platform.Windows, "Windows"),
            4 => (Platform.Macos, "OSX"),
            5 => (Platform.Web, "Web"),
            6 => (Platform.MiniProgram, "MiniWeb"),
            7 => (Platform.Linux, "Linux"),
            8 => (Platform.AndroidPad, "AndroidPad"),
            9 => (Platform.Ipad, "IPad"),
            11 => (Platform.Android, "HarmonyOS"),
            _ => (Platform.Unspecified, string.Empty),
        };
        return platform != Platform.Unspecified;
    }

    /// <summary>
    /// OpenIM keeps one token per user and platform; Parley keeps tokens per device. An OpenIM login on platform N is
    /// the Parley device <c>openim-{N}</c>, so a new token, force logout and kicks address exactly that platform.
    /// </summary>
    public static string DeviceId(int platformId) => "openim-" + platformId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
