using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Core.Auth;

namespace Parley.Media.Internal;

/// <summary>
/// Signs part and download URLs: HMAC-SHA256 over the purpose, the resource and the expiry, with a key derived from the
/// token signing key (so every node of a cluster verifies the same URLs and nothing new needs configuring).
/// </summary>
internal sealed class UrlSigner(TokenSigningKey signingKey)
{
    private readonly byte[] _key = HMACSHA256.HashData(signingKey.Key, "parley-media-url-v1"u8);

    public string Sign(string purpose, string resource, long expiresAt)
    {
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(Payload(purpose, resource, expiresAt)));
        return Base64Url.EncodeToString(mac);
    }

    /// <summary>True when <paramref name="signature"/> signs exactly this purpose, resource and expiry (constant time).</summary>
    public bool Verify(string purpose, string resource, long expiresAt, string? signature)
    {
        Span<byte> actual = stackalloc byte[48];
        if (string.IsNullOrEmpty(signature) || signature.Length > 64
            || !Base64Url.TryDecodeFromChars(signature, actual, out var written) || written != 32)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(Payload(purpose, resource, expiresAt)), expected);
        return CryptographicOperations.FixedTimeEquals(expected, actual[..32]);
    }

    private static string Payload(string purpose, string resource, long expiresAt) =>
        string.Create(CultureInfo.InvariantCulture, $"{purpose}\n{resource}\n{expiresAt}");
}
