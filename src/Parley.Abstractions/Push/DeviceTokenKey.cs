namespace Parley.Abstractions.Push;

/// <summary>
/// The 32 secret bytes that encrypt device tokens at rest (<see cref="DeviceTokenCipher"/>). The host loads or creates
/// it once at start-up (configuration secret or key file) and registers it; a device store takes it from DI.
/// </summary>
public sealed class DeviceTokenKey
{
    private readonly byte[] _key;

    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public DeviceTokenKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException($"The device-token key must be 32 bytes (256 bits); got {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>The key bytes (a copy is not made: do not modify).</summary>
    public ReadOnlySpan<byte> Bytes => _key;
}
