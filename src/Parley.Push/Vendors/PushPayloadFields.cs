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
    /// <summary>
    /// The seven fields in their order: the one list <see cref="Custom"/>, <see cref="Map"/> and <see cref="CustomUtf8"/>
    /// are written from. The accessors are static lambdas (cached delegates), the UTF-8 names encoded once: walking the
    /// list allocates nothing, and the numbers reach the Utf8JsonWriter as digits on the stack, not as strings.
    /// </summary>
    private static readonly PayloadField[] Fields =
    [
        PayloadField.Text("push_id", static n => n.PushId),
        PayloadField.Text("trace_id", static n => n.TraceId),
        PayloadField.Text("message_id", static n => n.MessageId),
        PayloadField.Text("conversation_id", static n => n.ConversationId),
        PayloadField.Text("category", static n => PushMetrics.CategoryTag(n.Category)),
        PayloadField.Number("badge", static n => n.Badge),
        PayloadField.Number("digest_count", static n => n.DigestCount),
    ];

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>The fields as a JSON object of strings (numbers in invariant digits), in order.</summary>
    public static JsonObject Custom(PushNotification n)
    {
        var custom = new JsonObject();
        foreach (var field in Fields)
        {
            custom[field.Name] = field.ValueText(n);
        }

        return custom;
    }

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
        Span<char> digits = stackalloc char[11];
        foreach (var field in Fields)
        {
            if (field.NumberOf is { } number)
            {
                number(n).TryFormat(digits, out var d, default, CultureInfo.InvariantCulture);
                writer.WriteString(field.Utf8Name, digits[..d]);
            }
            else
            {
                writer.WriteString(field.Utf8Name, field.TextOf!(n));
            }
        }

        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan;
    }

    /// <summary><see cref="Custom"/> as a compact JSON string (a string-valued vendor field).</summary>
    public static string CustomJson(PushNotification n) => Encoding.UTF8.GetString(CustomUtf8(n));

    /// <summary>String-to-string map, in <see cref="Custom"/>'s order.</summary>
    public static Dictionary<string, string> Map(PushNotification n)
    {
        var map = new Dictionary<string, string>(Fields.Length, StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            map[field.Name] = field.ValueText(n);
        }

        return map;
    }

    public static bool Urgent(PushCategory c) => c is PushCategory.Im or PushCategory.Service;

    /// <summary>Seconds the vendor may hold the push: a day for IM/service, three for the rest, never past its expiry.</summary>
    public static long TtlSeconds(PushNotification n) => Math.Min(Urgent(n.Category) ? 86_400 : 259_200, n.TtlSeconds ?? long.MaxValue);

    /// <summary><see cref="TtlSeconds(PushNotification)"/> within a vendor's allowed range (a vendor minimum can outlast the expiry a little).</summary>
    public static long TtlSeconds(PushNotification n, long minSeconds, long maxSeconds) => Math.Clamp(TtlSeconds(n), minSeconds, maxSeconds);

    public static string Truncate(string s, int maxChars) => s.Length <= maxChars ? s : s[..maxChars];

    /// <summary>One payload field: its name (and UTF-8 JSON name) and how to read its value, a string or an int.</summary>
    private sealed class PayloadField
    {
        private PayloadField(string name, Func<PushNotification, string>? text, Func<PushNotification, int>? number)
        {
            Name = name;
            Utf8Name = JsonEncodedText.Encode(name);
            TextOf = text;
            NumberOf = number;
        }

        public string Name { get; }

        public JsonEncodedText Utf8Name { get; }

        public Func<PushNotification, string>? TextOf { get; }

        public Func<PushNotification, int>? NumberOf { get; }

        public static PayloadField Text(string name, Func<PushNotification, string> value) => new(name, value, null);

        public static PayloadField Number(string name, Func<PushNotification, int> value) => new(name, null, value);

        public string ValueText(PushNotification n) => NumberOf is { } number ? number(n).ToString(CultureInfo.InvariantCulture) : TextOf!(n);
    }
}
