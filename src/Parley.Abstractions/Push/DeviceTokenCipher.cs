using System.Security.Cryptography;
using System.Text;

namespace Parley.Abstractions.Push;

/// <summary>
/// Encrypts vendor tokens at rest with AES-256-GCM, bound to their (user, device) row as associated data so a
/// ciphertext copied to another row does not decrypt. A stolen database file without the key yields no usable token.
/// </summary>
public sealed class DeviceTokenCipher
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _encryptionKey;
    private readonly byte[] _hashKey;

    public DeviceTokenCipher(ReadOnlySpan<byte> masterKey)
    {
        if (masterKey.Length != 32)
        {
            throw new ArgumentException("The push token key must be 32 bytes (256 bits).", nameof(masterKey));
        }

        // Separate keys per use: the lookup HMAC must not weaken the encryption key.
        _encryptionKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), 32, info: "parley.push.token.enc"u8.ToArray());
        _hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.ToArray(), 32, info: "parley.push.token.hash"u8.ToArray());
    }

    public byte[] Encrypt(string token, string userId, string deviceId)
    {
        var plain = Encoding.UTF8.GetBytes(token);
        var output = new byte[NonceSize + TagSize + plain.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_encryptionKey, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Aad(userId, deviceId));
        return output;
    }

    public string Decrypt(byte[] cipher, string userId, string deviceId)
    {
        if (cipher.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Stored push token is truncated.");
        }

        var plain = new byte[cipher.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_encryptionKey, TagSize);
        aes.Decrypt(cipher.AsSpan(0, NonceSize), cipher.AsSpan(NonceSize + TagSize), cipher.AsSpan(NonceSize, TagSize), plain, Aad(userId, deviceId));
        return Encoding.UTF8.GetString(plain);
    }

    public byte[] Hash(string token) => HMACSHA256.HashData(_hashKey, Encoding.UTF8.GetBytes(token));

    private static byte[] Aad(string userId, string deviceId) => Encoding.UTF8.GetBytes(userId + "\n" + deviceId);
}
