using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Core.Auth;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM admin tokens: <c>oia1.{base64url userId}.{expires unix ms}.{signature}</c>, HMAC-SHA256 with a key derived from
/// <c>Parley:OpenIM:Secret</c>. They are valid only on the OpenIM REST edge, never as Parley device tokens; changing the
/// secret revokes them all.
/// </summary>
public sealed class OpenImAdminTokens(IOptions<OpenImOptions> options, TimeProvider time)
{
    private const string Prefix = "oia1.";
    private const int MaxTokenLength = 512;

    public (string Token, long ExpiresAt) Issue(string userId)
    {
        var expires = time.GetUtcNow().Add(options.Value.AdminTokenLifetime).ToUnixTimeMilliseconds();
        var body = Prefix + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(userId)) + "." + expires.ToString(CultureInfo.InvariantCulture);
        return (body + "." + Base64Url.EncodeToString(Sign(body)), expires);
    }

    /// <summary>Returns an OpenIM error code (0 when valid) and the admin user id.</summary>
    public (int ErrCode, string? UserId) Validate(string token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return (OpenImErrors.TokenMalformed, null);
        }

        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 3)
        {
            return (OpenImErrors.TokenMalformed, null);
        }

        var body = token[..token.LastIndexOf('.')];
        Span<byte> actual = stackalloc byte[32];
        if (!TokenEncoding.TryDecodeSignature(parts[2], actual) || !CryptographicOperations.FixedTimeEquals(Sign(body), actual))
        {
            return (OpenImErrors.TokenInvalid, null);
        }

        if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return (OpenImErrors.TokenMalformed, null);
        }

        string userId;
        if (!TokenEncoding.IsBase64UrlAlphabet(parts[0]))
        {
            return (OpenImErrors.TokenMalformed, null);
        }

        try
        {
            userId = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0]));
        }
        catch (FormatException)
        {
            return (OpenImErrors.TokenMalformed, null);
        }

        if (expires <= time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return (OpenImErrors.TokenExpired, userId);
        }

        return options.Value.EffectiveAdminUserIds.Contains(userId, StringComparer.Ordinal) ? (0, userId) : (OpenImErrors.TokenInvalid, userId);
    }

    private byte[] Sign(string body)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Secret), "parley-openim-admin-token-v1"u8);
        return HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body));
    }
}
