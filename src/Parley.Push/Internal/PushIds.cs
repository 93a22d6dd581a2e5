using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Parley.Abstractions.Push;

namespace Parley.Push.Internal;

/// <summary>Stable ids: the same inputs give the same push id on every retry, resubmit and restart.</summary>
internal static class PushIds
{
    /// <summary>
    /// Stable and unguessable without the server's push id key: 4 bytes of the HMAC of the message, then 12 bytes of the
    /// HMAC of (message, user, device), base64url (22 characters, as before). The message's prefix puts all of a
    /// message's pushes next to each other in the journal's key order (issue 17): the SQLite journal is a WITHOUT ROWID
    /// table keyed by push id, and with ids that were one HMAC each, every insert, claim and result of a push wrote a
    /// page of its own at a random place in the table (about 35 KB of WAL and checkpoint writes per device-push at stop
    /// 41). A message's pushes are journaled and dispatched in this order (see <c>PushPipeline.SubmitAsync</c>), so a
    /// batch's rows share a few pages.
    /// </summary>
    public static string PushId(PushIdKey key, string messageId, string userId, string deviceId) =>
        PushId(key, MessagePrefix(key, messageId), messageId, userId, deviceId);

    /// <summary>A push id with its message's prefix computed once (<see cref="MessagePrefix"/>) for all of the message's pushes.</summary>
    public static string PushId(PushIdKey key, uint messagePrefix, string messageId, string userId, string deviceId)
    {
        Span<byte> device = stackalloc byte[32];
        key.Compute(messageId + "\n" + userId + "\n" + deviceId, device);
        Span<byte> id = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(id, messagePrefix);
        device[..12].CopyTo(id[4..]);
        return Base64Url(id);
    }

    /// <summary>The first 4 bytes of the HMAC of the message id: the prefix every push id of the message starts with.</summary>
    public static uint MessagePrefix(PushIdKey key, string messageId)
    {
        Span<byte> message = stackalloc byte[32];
        key.Compute("message\n" + messageId, message);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(message);
    }

    /// <summary>
    /// The push id before stop 41 (16 bytes of the HMAC of (message, user, device)): a message journaled by an earlier
    /// build keeps its ids when it is submitted again (see <c>PushPipeline.SubmitAsync</c>), so that a resubmission
    /// across the upgrade stays idempotent per device.
    /// </summary>
    public static string LegacyPushId(PushIdKey key, string messageId, string userId, string deviceId)
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
