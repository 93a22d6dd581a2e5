using System.Security.Cryptography;
using System.Text;

namespace Parley.Abstractions.Push;

/// <summary>
/// The server secret that keys push ids: a push id is HMAC-SHA256(key, message, user, device), so nobody without the
/// key (in particular the sender of the message) can compute the recipient's push id and mark it arrived through a
/// receipt callback. Stable across restarts (derived from the persisted device-token key), so a resubmit after a crash
/// still finds its journal row.
/// </summary>
public sealed class PushIdKey
{
    private readonly byte[] _key;

    public PushIdKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key.Length >= 32 ? (byte[])key.Clone() : throw new ArgumentException("A push id key needs at least 32 bytes.", nameof(key));
    }

    /// <summary>Derives the push id key from another server secret (the device-token encryption key) with a fixed label.</summary>
    public static PushIdKey Derive(byte[] serverSecret) => new(HMACSHA256.HashData(serverSecret, "parley-push-id-v1"u8));

    public void Compute(string text, Span<byte> destination) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text), destination);
}
