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
    private const int StackBytes = 512;
    private readonly byte[] _encryptionKey;
    private readonly byte[] _hashKey;

    // The AesGcm (an OpenSSL cipher context with the key set) of the cipher this thread used last (issue 17, stop 40: one was
    // built and freed per token, twice per device-push). A server has one key, so it is built once per thread; an AesGcm is
    // used by one thread at a time. A thread that switches between ciphers (tests) builds a new one and frees the old.
    [ThreadStatic]
    private static AesGcm? t_aes;

    [ThreadStatic]
    private static byte[]? t_aesKey;

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
        ArgumentNullException.ThrowIfNull(token);
        var plain = Encoding.UTF8.GetBytes(token);
        var output = new byte[NonceSize + TagSize + plain.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> aadBuffer = stackalloc byte[StackBytes];
        Aes().Encrypt(nonce, plain, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), Aad(userId, deviceId, aadBuffer));
        return output;
    }

    public string Decrypt(byte[] cipher, string userId, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        if (cipher.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("Stored push token is truncated.");
        }

        var length = cipher.Length - NonceSize - TagSize;
        Span<byte> plain = length <= StackBytes ? stackalloc byte[StackBytes] : new byte[length];
        plain = plain[..length];
        Span<byte> aadBuffer = stackalloc byte[StackBytes];
        Aes().Decrypt(cipher.AsSpan(0, NonceSize), cipher.AsSpan(NonceSize + TagSize), cipher.AsSpan(NonceSize, TagSize), plain, Aad(userId, deviceId, aadBuffer));
        return Encoding.UTF8.GetString(plain);
    }

    public byte[] Hash(string token) => HMACSHA256.HashData(_hashKey, Encoding.UTF8.GetBytes(token));

    private AesGcm Aes()
    {
        if (!ReferenceEquals(t_aesKey, _encryptionKey) || t_aes is null)
        {
            t_aes?.Dispose();
            t_aes = null;
            t_aes = new AesGcm(_encryptionKey, TagSize);
            t_aesKey = _encryptionKey;
        }

        return t_aes;
    }

    // The bytes of UTF-8(userId + "\n" + deviceId), as stored ciphertexts were bound to (the '\n' between them is one byte on
    // both sides, so encoding the parts apart gives the same bytes), in the caller's buffer when they fit.
    private static ReadOnlySpan<byte> Aad(string userId, string deviceId, Span<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(deviceId);
        var max = Encoding.UTF8.GetMaxByteCount(userId.Length + deviceId.Length + 1);
        var aad = max <= buffer.Length ? buffer : new byte[max];
        var n = Encoding.UTF8.GetBytes(userId, aad);
        aad[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(deviceId, aad[n..]);
        return aad[..n];
    }
}
