using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;

namespace Parley.Push.Vendors.Huawei;

/// <summary>Huawei Push Kit settings, bound to <c>Parley:Push:Huawei</c>.</summary>
public sealed class HuaweiOptions : HmsLikeOptions
{
    public HuaweiOptions()
    {
        BaseUri = new Uri("https://push-api.cloud.huawei.com");
        TokenUri = new Uri("https://oauth-login.cloud.huawei.com/oauth2/v3/token");
    }

    /// <summary>android.category per Parley category (needs the self-classification entitlement). Null = none (marketing).</summary>
    public Dictionary<PushCategory, string?> Categories { get; } = new()
    {
        [PushCategory.Im] = "IM",
        [PushCategory.Service] = "EXPRESS",
        [PushCategory.FollowedContent] = "SUBSCRIPTION",
        [PushCategory.Marketing] = null,
    };
}

/// <summary>
/// Huawei Push Kit v1 (<c>/v1/{appId}/messages:send</c>). Category mapping: android.category (IM, EXPRESS,
/// SUBSCRIPTION; none for marketing) and notification.importance NORMAL (IM/service) / LOW (content/marketing).
/// </summary>
public sealed class HuaweiAdapter(IOptions<HuaweiOptions> options, TimeProvider time, PushMetrics metrics)
    : HmsLikeAdapter(options.Value, time, metrics)
{
    private readonly HuaweiOptions _options = options.Value;

    public override PushVendor Vendor => PushVendor.Huawei;

    protected override string SendPath => $"/v1/{_options.AppId}/messages:send";

    protected override JsonObject AndroidConfig(PushNotification n)
    {
        var android = new JsonObject
        {
            ["collapse_key"] = -1,
            ["notification"] = new JsonObject
            {
                ["title"] = n.Title,
                ["body"] = n.Body,
                ["importance"] = PushPayloadFields.Urgent(n.Category) ? "NORMAL" : "LOW",
                ["tag"] = n.CollapseKey,
                ["badge"] = new JsonObject { ["set_num"] = n.Badge, ["class"] = "com.parley.app.MainActivity" },
                ["click_action"] = new JsonObject { ["type"] = 3 },
            },
        };
        if (_options.Categories.GetValueOrDefault(n.Category) is { } category)
        {
            android["category"] = category;
        }

        return android;
    }
}
