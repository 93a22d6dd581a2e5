using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors;

/// <summary>The ids every vendor payload carries so the app can ack arrival/clicks and the trace continues.</summary>
internal static class PushPayloadFields
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static JsonObject Custom(PushNotification n) => new()
    {
        ["push_id"] = n.PushId,
        ["trace_id"] = n.TraceId,
        ["message_id"] = n.MessageId,
        ["conversation_id"] = n.ConversationId,
        ["category"] = PushMetrics.CategoryTag(n.Category),
        ["badge"] = n.Badge.ToString(CultureInfo.InvariantCulture),
        ["digest_count"] = n.DigestCount.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// <see cref="Custom"/> as compact JSON in UTF-8 (the bytes of <c>Custom(n).ToJsonString()</c>), written by a
    /// Utf8JsonWriter into this thread's buffer: valid only until the next call on the same thread, so use it at once.
    /// </summary>
    public static ReadOnlySpan<byte> CustomUtf8(PushNotification n)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("push_id"u8, n.PushId);
        writer.WriteString("trace_id"u8, n.TraceId);
        writer.WriteString("message_id"u8, n.MessageId);
        writer.WriteString("conversation_id"u8, n.ConversationId);
        writer.WriteString("category"u8, PushMetrics.CategoryTag(n.Category));
        Span<char> digits = stackalloc char[11];
        n.Badge.TryFormat(digits, out var d, default, CultureInfo.InvariantCulture);
        writer.WriteString("badge"u8, digits[..d]);
        n.DigestCount.TryFormat(digits, out d, default, CultureInfo.InvariantCulture);
        writer.WriteString("digest_count"u8, digits[..d]);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan;
    }

    /// <summary><see cref="Custom"/> as a compact JSON string (a string-valued vendor field).</summary>
    public static string CustomJson(PushNotification n) => Encoding.UTF8.GetString(CustomUtf8(n));

    /// <summary>String-to-string map (FCM data, Vivo extras), in <see cref="Custom"/>'s order.</summary>
    public static Dictionary<string, string> Map(PushNotification n) => new(7, StringComparer.Ordinal)
    {
        ["push_id"] = n.PushId,
        ["trace_id"] = n.TraceId,
        ["message_id"] = n.MessageId,
        ["conversation_id"] = n.ConversationId,
        ["category"] = PushMetrics.CategoryTag(n.Category),
        ["badge"] = n.Badge.ToString(CultureInfo.InvariantCulture),
        ["digest_count"] = n.DigestCount.ToString(CultureInfo.InvariantCulture),
    };

    public static bool Urgent(PushCategory c) => c is PushCategory.Im or PushCategory.Service;

    /// <summary>Seconds the vendor may hold the push: a day for IM/service, three for the rest, never past its expiry.</summary>
    public static long TtlSeconds(PushNotification n) => Math.Min(Urgent(n.Category) ? 86_400 : 259_200, n.TtlSeconds ?? long.MaxValue);

    /// <summary><see cref="TtlSeconds(PushNotification)"/> within a vendor's allowed range (a vendor minimum can outlast the expiry a little).</summary>
    public static long TtlSeconds(PushNotification n, long minSeconds, long maxSeconds) => Math.Clamp(TtlSeconds(n), minSeconds, maxSeconds);

    public static string Truncate(string s, int maxChars) => s.Length <= maxChars ? s : s[..maxChars];
}
