using System.Globalization;
using System.Text.Json.Nodes;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors;

/// <summary>The ids every vendor payload carries so the app can ack arrival/clicks and the trace continues.</summary>
internal static class PushPayloadFields
{
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

    /// <summary>String-to-string map (FCM data, Huawei data JSON).</summary>
    public static Dictionary<string, string> Map(PushNotification n) =>
        Custom(n).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);

    public static bool Urgent(PushCategory c) => c is PushCategory.Im or PushCategory.Service;

    /// <summary>Seconds the vendor may hold the push: a day for IM/service, three for the rest, never past its expiry.</summary>
    public static long TtlSeconds(PushNotification n) => Math.Min(Urgent(n.Category) ? 86_400 : 259_200, n.TtlSeconds ?? long.MaxValue);

    public static string Truncate(string s, int maxChars) => s.Length <= maxChars ? s : s[..maxChars];
}
