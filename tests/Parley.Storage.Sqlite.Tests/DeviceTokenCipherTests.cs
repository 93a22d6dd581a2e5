using System.Security.Cryptography;
using System.Text;
using Parley.Abstractions.Push;

namespace Parley.Storage.Sqlite.Tests;

/// <summary>
/// Stop 40: the cipher keeps its AesGcm per thread and builds the associated data on the stack. Stored tokens (bound to
/// UTF-8 of user + "\n" + device) must still decrypt, the binding must still hold, and ciphers of different keys on one
/// thread, or one cipher on many threads, must not mix.
/// </summary>
public sealed class DeviceTokenCipherTests
{
    [Theory]
    [InlineData("bob", "phone", "regid-1")]
    [InlineData("用户", "手机", "令牌-ü")]
    [InlineData("a\uD800", "\uDC00b", "lone surrogates around the separator")]
    public void TokensStoredByTheEarlierCode_StillDecrypt(string user, string device, string token)
    {
        var master = RandomNumberGenerator.GetBytes(32);
        var stored = EarlierEncrypt(master, token, user, device);
        Assert.Equal(token, new DeviceTokenCipher(master).Decrypt(stored, user, device));
    }

    [Fact]
    public void LongTokensAndIds_RoundTrip_AndTheRowBindingHolds()
    {
        var cipher = new DeviceTokenCipher(RandomNumberGenerator.GetBytes(32));
        var user = new string('u', 700);
        var token = string.Concat(Enumerable.Repeat("tök", 400));
        var stored = cipher.Encrypt(token, user, "phone");
        Assert.Equal(token, cipher.Decrypt(stored, user, "phone"));
        Assert.ThrowsAny<CryptographicException>(() => cipher.Decrypt(stored, user, "tablet"));
        Assert.ThrowsAny<CryptographicException>(() => cipher.Decrypt(stored, "bob", "phone"));
        Assert.ThrowsAny<CryptographicException>(() => cipher.Decrypt(stored[..20], user, "phone"));
    }

    [Fact]
    public void TwoKeysInterleavedOnOneThread_AndOneKeyOnManyThreads_NeverMix()
    {
        var a = new DeviceTokenCipher(RandomNumberGenerator.GetBytes(32));
        var b = new DeviceTokenCipher(RandomNumberGenerator.GetBytes(32));
        for (var i = 0; i < 50; i++)
        {
            var fromA = a.Encrypt("a-" + i, "u", "d");
            var fromB = b.Encrypt("b-" + i, "u", "d");
            Assert.Equal("a-" + i, a.Decrypt(fromA, "u", "d"));
            Assert.Equal("b-" + i, b.Decrypt(fromB, "u", "d"));
            Assert.ThrowsAny<CryptographicException>(() => a.Decrypt(fromB, "u", "d"));
            Assert.ThrowsAny<CryptographicException>(() => b.Decrypt(fromA, "u", "d"));
        }

        var failures = 0;
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var c = i % 2 == 0 ? a : b;
            var token = "t-" + i;
            if (c.Decrypt(c.Encrypt(token, "u" + i, "d"), "u" + i, "d") != token)
            {
                Interlocked.Increment(ref failures);
            }
        });
        Assert.Equal(0, failures);
    }

    // The cipher as it was before stop 40: a new AesGcm per call, the associated data as one UTF-8 string.
    private static byte[] EarlierEncrypt(byte[] master, string token, string user, string device)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: "parley.push.token.enc"u8.ToArray());
        var plain = Encoding.UTF8.GetBytes(token);
        var output = new byte[12 + 16 + plain.Length];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(output.AsSpan(0, 12), plain, output.AsSpan(28), output.AsSpan(12, 16), Encoding.UTF8.GetBytes(user + "\n" + device));
        return output;
    }
}
