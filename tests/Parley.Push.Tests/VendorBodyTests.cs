using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push;
using Parley.Push.Vendors;
using Parley.Push.Vendors.Xiaomi;

namespace Parley.Push.Tests;

/// <summary>
/// Stop 33: the MiPush form body and the payload JSON are written straight into pooled buffers. They must be the bytes
/// the documented shape gave through FormUrlEncodedContent and JsonObject (the reference built here, field by field).
/// </summary>
public sealed class VendorBodyTests
{
    public static TheoryData<string, string, string> Texts => new()
    {
        { "Alice", "hello", "c-1" },
        { "Ærøskøbing 张三 🙂", "a+b=c&d; <tag> 'quote' \"dq\" ~_.- %20 \\ / ? #", "conv with spaces/🙂" },
        { new string('x', 60), new string('é', 140), "" },
        { "cut inside a pair: " + new string('y', 29) + "🙂🙂", "tab\tnewline\ncr\r\u0000\u007f\u2028", "c" },
        { "", "", "c-empty" },
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public async Task XiaomiBody_IsTheDocumentedFormByteForByte(string title, string body, string conversation)
    {
        foreach (var callback in new[] { null, new Uri("https://parley.example/push/receipts/xiaomi?x=1&y=two words") })
        {
            foreach (var category in new[] { PushCategory.Im, PushCategory.Marketing, PushCategory.FollowedContent })
            {
                var options = new XiaomiOptions { AppSecret = "s", PackageName = "com.parley.app", ReceiptCallbackUri = callback };
                using var adapter = new XiaomiAdapter(Options.Create(options), TimeProvider.System);
                var device = new PushDevice("u1", "d1", "android", PushVendor.Xiaomi, "regid/+= 1", category == PushCategory.Im ? "" : "com.other.app", PushEnvironment.Production, true, "en", "UTC", 0, 0);
                // The dispatcher's seconds left until the push's expiry (none: the category's default) bound time_to_live.
                var n = Notification(category, title, body, conversation) with { TtlSeconds = callback is null ? 3_601 : null };

                using var actual = adapter.Body(device, n);
                var expected = await Reference(options, device, n).ReadAsByteArrayAsync();

                Assert.Equal(Encoding.ASCII.GetString(expected), Encoding.ASCII.GetString(actual.Written));
                Assert.Equal(expected, await actual.ReadAsByteArrayAsync());
                Assert.Equal("application/x-www-form-urlencoded", actual.Headers.ContentType!.ToString());
                Assert.Equal(expected.Length, actual.Headers.ContentLength);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void PayloadJson_IsJsonObjectsCompactText(string title, string body, string conversation)
    {
        _ = title;
        var n = Notification(PushCategory.Service, "t", body, conversation) with { Badge = -3, DigestCount = int.MaxValue, TraceId = body };
        Assert.Equal(Payload(n).ToJsonString(), PushPayloadFields.Custom(n).ToJsonString());
        Assert.Equal(PushPayloadFields.Custom(n).ToJsonString(), Encoding.UTF8.GetString(PushPayloadFields.CustomUtf8(n)));
        Assert.Equal(PushPayloadFields.Custom(n).ToJsonString(), PushPayloadFields.CustomJson(n));
        Assert.Equal(
            PushPayloadFields.Custom(n).Select(kv => (kv.Key, kv.Value!.GetValue<string>())),
            PushPayloadFields.Map(n).Select(kv => (kv.Key, kv.Value)));
    }

    [Fact]
    public void PayloadUtf8_OnceWarm_AllocatesNothingPerPush()
    {
        var n = Notification(PushCategory.Im, "t", "b", "c-1") with { Badge = 12_345, DigestCount = 678 };
        var expected = Payload(n).ToJsonString();
        Assert.Equal(expected, Encoding.UTF8.GetString(PushPayloadFields.CustomUtf8(n))); // this thread's buffer and writer

        var before = GC.GetAllocatedBytesForCurrentThread();
        var length = 0;
        for (var i = 0; i < 100; i++)
        {
            length += PushPayloadFields.CustomUtf8(n).Length;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100 * Encoding.UTF8.GetByteCount(expected), length);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task FormBody_GrowsPastItsFirstBuffer_AndEncodesEveryByteAsFormUrlEncodedContentDoes()
    {
        var all = new string(Enumerable.Range(0, 0x800).Select(i => (char)i).ToArray()) + "\U0001F600" + '\uD800' + "x" + '\uDC00';
        var big = string.Concat(Enumerable.Repeat(all, 8));
        using var form = new FormBody(16).Add("k", big).Add("k 2", "").Add("n", -12345);
        using var reference = new FormUrlEncodedContent([new("k", big), new("k 2", ""), new("n", "-12345")]);
        var expected = await reference.ReadAsByteArrayAsync();
        Assert.Equal(Encoding.ASCII.GetString(expected), Encoding.ASCII.GetString(form.Written));
    }

    [Theory]
    [InlineData("""{"result":"ok","code":0,"data":{"id":"m1"}}""", PushOutcome.Accepted, "ok")]
    [InlineData("""{"result":"ok","code":0,"data":{"id":"m1","bad_regids":"a,tok,b"}}""", PushOutcome.InvalidToken, "bad_regids")]
    [InlineData("""{"result":"ok","code":0,"data":{"id":"m1","bad_regids":"a,tok2"}}""", PushOutcome.Accepted, "ok")]
    [InlineData("""{"result":"error","code":20301}""", PushOutcome.InvalidToken, "20301")]
    [InlineData("""{"result":"error","code":"22022"}""", PushOutcome.AuthError, "22022")]
    [InlineData("""{"result":"error","code":200001}""", PushOutcome.RetryAfter, "200001")]
    [InlineData("""{"result":"error","code":200002}""", PushOutcome.QuotaExceeded, "200002")]
    [InlineData("""{"result":"error","code":10017,"reason":"x"}""", PushOutcome.PermanentBadRequest, "10017")]
    [InlineData("""{"result":"error","code":null}""", PushOutcome.PermanentBadRequest, "")]
    [InlineData("""{"result":1}""", PushOutcome.PermanentBadRequest, "")]
    [InlineData("null", PushOutcome.PermanentBadRequest, "")]
    [InlineData("[1,2]", PushOutcome.PermanentBadRequest, "")]
    [InlineData("not json", PushOutcome.OutcomeUnknown, "unparseable")]
    [InlineData("", PushOutcome.OutcomeUnknown, "unparseable")]
    public void XiaomiAnswer_Classified(string answer, PushOutcome outcome, string reason)
    {
        var r = XiaomiAdapter.Classify(answer, "tok");
        Assert.Equal(outcome, r.Outcome);
        Assert.Equal(reason, r.Reason);
        Assert.Equal(outcome == PushOutcome.InvalidToken, r.DeleteToken);
        if (outcome == PushOutcome.Accepted)
        {
            Assert.Equal("m1", r.VendorMessageId);
        }
    }

    private static PushNotification Notification(PushCategory category, string title, string body, string conversation) =>
        new("p-" + Guid.NewGuid().ToString("N"), "m-1", "0af7651916cd43dd8448eb211c80319c", "u1", conversation, category, title, body, 7, "collapse:" + conversation, 2, null, null);

    // The seven ids every vendor payload carries, in this order, as strings, field by field.
    private static JsonObject Payload(PushNotification n) => new()
    {
        ["push_id"] = n.PushId,
        ["trace_id"] = n.TraceId,
        ["message_id"] = n.MessageId,
        ["conversation_id"] = n.ConversationId,
        ["category"] = PushMetrics.CategoryTag(n.Category),
        ["badge"] = n.Badge.ToString(CultureInfo.InvariantCulture),
        ["digest_count"] = n.DigestCount.ToString(CultureInfo.InvariantCulture),
    };

    // The shape MiPush documents for /v3/message/regid, as the adapter built it before stop 33 (a dictionary in this order).
    private static FormUrlEncodedContent Reference(XiaomiOptions o, PushDevice device, PushNotification n)
    {
        var urgent = n.Category is PushCategory.Im or PushCategory.Service;
        var payload = new JsonObject
        {
            ["push_id"] = n.PushId,
            ["trace_id"] = n.TraceId,
            ["message_id"] = n.MessageId,
            ["conversation_id"] = n.ConversationId,
            ["category"] = PushMetrics.CategoryTag(n.Category),
            ["badge"] = n.Badge.ToString(CultureInfo.InvariantCulture),
            ["digest_count"] = n.DigestCount.ToString(CultureInfo.InvariantCulture),
        };
        var form = new List<KeyValuePair<string, string>>
        {
            new("registration_id", device.Token),
            new("restricted_package_name", string.IsNullOrEmpty(device.AppId) ? o.PackageName : device.AppId),
            new("title", n.Title.Length <= 49 ? n.Title : n.Title[..49]),
            new("description", n.Body.Length <= 127 ? n.Body : n.Body[..127]),
            new("payload", payload.ToJsonString()),
            new("pass_through", "0"),
            new("notify_type", "-1"),
            new("notify_id", ((uint)StringComparer.Ordinal.GetHashCode(n.CollapseKey) % 1_000_000).ToString(CultureInfo.InvariantCulture)),
            new("time_to_live", (Math.Min(urgent ? 86_400L : 259_200L, n.TtlSeconds ?? long.MaxValue) * 1000).ToString(CultureInfo.InvariantCulture)),
            new("extra.channel_id", o.ChannelIds[n.Category]),
            new("extra.push_id", n.PushId),
            new("extra.trace_id", n.TraceId),
        };
        if (o.ReceiptCallbackUri is { } callback)
        {
            form.Add(new("extra.callback", callback.ToString()));
            form.Add(new("extra.callback.param", n.PushId));
            form.Add(new("extra.callback.type", "3"));
        }

        return new FormUrlEncodedContent(form);
    }
}
