using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Parley.Abstractions.Push;

namespace Parley.Push.Internal;

/// <summary>Stable ids: the same inputs give the same push id on every retry, resubmit and restart.</summary>
internal static class PushIds
{
    /// <summary>HMAC of (message, user, device) under the server's push id key: stable, and unguessable without the key.</summary>
    public static string PushId(PushIdKey key, string messageId, string userId, string deviceId)
    {
        Span<byte> hash = stackalloc byte[32];
        key.Compute(messageId + "\n" + userId + "\n" + deviceId, hash);
        return Base64Url(hash[..16]);
    }

    public static string TraceId(string messageId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(messageId), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>A UUID derived from the push id (APNs apns-id must be a canonical UUID; it stays the same on retries).</summary>
    public static Guid Uuid(string pushId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(pushId), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true);
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        return Convert.FromBase64String(s);
    }
}

[JsonSerializable(typeof(PushNotification))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class PushJsonContext : JsonSerializerContext;
