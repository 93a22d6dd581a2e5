using System.Net;
using Microsoft.Extensions.Options;

namespace Parley.Hosting;

/// <summary>
/// How the co-hosted Orleans silo finds the other nodes, bound to <c>Parley:Cluster</c>. Ports and ids stay in
/// <c>Parley:Orleans</c> (<see cref="OrleansOptions"/>).
/// </summary>
public sealed class ParleyClusterOptions
{
    public const string Section = "Parley:Cluster";

    /// <summary><c>Standalone</c> (the default: one node, localhost clustering) or <c>Redis</c> (Orleans Redis membership).</summary>
    public ClusterMode Mode { get; set; } = ClusterMode.Standalone;

    /// <summary>
    /// The StackExchange.Redis configuration string of the membership store in <c>Redis</c> mode, e.g.
    /// <c>redis:6379,password=…</c>. Membership lives in the hash <c>{ServiceId}/members/{ClusterId}</c>.
    /// </summary>
    public string Redis { get; set; } = "";

    /// <summary>
    /// The IP address the other nodes reach this silo on (silo and gateway ports of <c>Parley:Orleans</c>). Empty: the
    /// first non-loopback IPv4 address of the machine, or 127.0.0.1 when it has none. The silo listens on all addresses.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "";
}

/// <summary>The clustering mode of <see cref="ParleyClusterOptions.Mode"/>.</summary>
public enum ClusterMode
{
    Standalone = 0,
    Redis = 1,
}

/// <summary>Refuses cluster settings that cannot work: a cluster needs a shared store and a membership store.</summary>
internal sealed class ClusterOptionsValidator(IOptions<StorageOptions> storage) : IValidateOptions<ParleyClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ParleyClusterOptions options) =>
        Check(options, storage.Value) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;

    /// <summary>The first problem of the settings, or null.</summary>
    public static string? Check(ParleyClusterOptions options, StorageOptions storage)
    {
        if (!Enum.IsDefined(options.Mode))
        {
            return "Parley:Cluster:Mode must be Standalone or Redis.";
        }

        if (options.Mode == ClusterMode.Standalone)
        {
            return null;
        }

        if (storage.Provider != StorageProvider.Postgres)
        {
            return "Parley:Cluster:Mode is Redis but Parley:Storage:Provider is Sqlite: a cluster needs a store all nodes share. Set Parley:Storage:Provider=Postgres (with Parley:Storage:Postgres:ConnectionString), or Parley:Cluster:Mode=Standalone for one node.";
        }

        if (string.IsNullOrWhiteSpace(options.Redis))
        {
            return "Parley:Cluster:Mode is Redis but Parley:Cluster:Redis is empty: give the membership store's address, e.g. 127.0.0.1:6379.";
        }

        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(options.Redis);
        }
        catch (ArgumentException ex)
        {
            return $"Parley:Cluster:Redis is not a valid Redis configuration string: {ex.Message}";
        }

        if (options.AdvertisedAddress.Length > 0 && !IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            return $"Parley:Cluster:AdvertisedAddress '{options.AdvertisedAddress}' is not an IP address.";
        }

        return null;
    }

    /// <summary>The address other silos reach this one on.</summary>
    public static IPAddress AdvertisedAddress(ParleyClusterOptions options)
    {
        if (options.AdvertisedAddress.Length > 0)
        {
            return IPAddress.Parse(options.AdvertisedAddress);
        }

        try
        {
            foreach (var address in Dns.GetHostAddresses(Dns.GetHostName()))
            {
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(address))
                {
                    return address;
                }
            }
        }
        catch (System.Net.Sockets.SocketException)
        {
            // no resolvable host name: loopback below
        }

        return IPAddress.Loopback;
    }
}
