using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Parley.Push.Vendors.WebPush;

/// <summary>RFC 8291 message encryption (aes128gcm content coding, RFC 8188) with the framework's ECDH, HKDF and AES-GCM.</summary>
public static class WebPushCrypto
{
    private const int RecordSize = 4096;

    /// <summary>Encrypts <paramref name="plaintext"/> for a subscription's p256dh public key (65-byte uncompressed point) and 16-byte auth secret.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, byte[] userAgentPublicKey, byte[] authSecret, ECDiffieHellman? senderKey = null, byte[]? salt = null)
    {
        ArgumentNullException.ThrowIfNull(userAgentPublicKey);
        using var ownKey = senderKey is null ? ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256) : null;
        var asKey = senderKey ?? ownKey!;
        var asPublic = PublicKeyBytes(asKey);
        salt ??= RandomNumberGenerator.GetBytes(16);

        var (cek, nonce) = DeriveKeys(asKey, userAgentPublicKey, authSecret, userAgentPublicKey, asPublic, salt);

        // One record: plaintext || 0x02 (last-record delimiter), no extra padding.
        var padded = new byte[plaintext.Length + 1];
        plaintext.CopyTo(padded);
        padded[^1] = 0x02;
        if (padded.Length + 16 > RecordSize)
        {
            throw new ArgumentException("Web Push payload too large for one record.", nameof(plaintext));
        }

        var output = new byte[16 + 4 + 1 + asPublic.Length + padded.Length + 16];
        salt.CopyTo(output, 0);
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(16), RecordSize);
        output[20] = (byte)asPublic.Length;
        asPublic.CopyTo(output, 21);
        var header = 21 + asPublic.Length;
        using var aes = new AesGcm(cek, 16);
        aes.Encrypt(nonce, padded, output.AsSpan(header, padded.Length), output.AsSpan(header + padded.Length, 16));
        return output;
    }

    /// <summary>Decrypts a single-record aes128gcm body with the user agent's private key (used by tests' simulator).</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> body, ECDiffieHellman userAgentKey, byte[] authSecret)
    {
        ArgumentNullException.ThrowIfNull(userAgentKey);
        var salt = body[..16].ToArray();
        var idLength = body[20];
        var asPublic = body.Slice(21, idLength).ToArray();
        var cipher = body[(21 + idLength)..];
        using var peer = ImportPublicKey(asPublic);
        var uaPublic = PublicKeyBytes(userAgentKey);
        var (cek, nonce) = DeriveKeys(userAgentKey, asPublic, authSecret, uaPublic, asPublic, salt);
        var plain = new byte[cipher.Length - 16];
        using var aes = new AesGcm(cek, 16);
        aes.Decrypt(nonce, cipher[..^16], cipher[^16..], plain);
        var end = Array.LastIndexOf(plain, (byte)0x02);
        if (end < 0)
        {
            throw new CryptographicException("Missing record delimiter.");
        }

        return plain[..end];
    }

    public static byte[] PublicKeyBytes(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var p = key.ExportParameters(false);
        return [0x04, .. p.Q.X!, .. p.Q.Y!];
    }

    public static ECDiffieHellman ImportPublicKey(byte[] uncompressed)
    {
        ArgumentNullException.ThrowIfNull(uncompressed);
        if (uncompressed.Length != 65 || uncompressed[0] != 0x04)
        {
            throw new CryptographicException("Expected a 65-byte uncompressed P-256 point.");
        }

        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = uncompressed[1..33], Y = uncompressed[33..65] },
        });
    }

    private static (byte[] Cek, byte[] Nonce) DeriveKeys(ECDiffieHellman own, byte[] peerPublic, byte[] authSecret, byte[] uaPublic, byte[] asPublic, byte[] salt)
    {
        using var peer = ImportPublicKey(peerPublic);
        var ecdhSecret = own.DeriveRawSecretAgreement(peer.PublicKey);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. uaPublic, .. asPublic];
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, ecdhSecret, 32, authSecret, keyInfo);
        var cek = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 16, salt, Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0"));
        var nonce = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 12, salt, Encoding.ASCII.GetBytes("Content-Encoding: nonce\0"));
        return (cek, nonce);
    }
}
