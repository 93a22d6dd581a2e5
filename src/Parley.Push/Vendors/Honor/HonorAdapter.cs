using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Push;
using Parley.Push.Vendors.Huawei;

namespace Parley.Push.Vendors.Honor;

/// <summary>Honor Push settings, bound to <c>Parley:Push:Honor</c>.</summary>
public sealed class HonorOptions : HmsLikeOptions
{
    public HonorOptions()
    {
        BaseUri = new Uri("https://push-api.cloud.honor.com");
        TokenUri = new Uri("https://iam.developer.honor.com/auth/token");
    }
}

/// <summary>
/// Honor Push (<c>/api/v1/{appId}/sendMessage</c>), Huawei-like body. Classification is only
/// android.notification.importance: NORMAL = service and communication (IM/service), LOW = content/marketing.
/// </summary>
public sealed class HonorAdapter(IOptions<HonorOptions> options, TimeProvider time, PushMetrics metrics)
    : HmsLikeAdapter(options.Value, time, metrics)
{
    private readonly HonorOptions _options = options.Value;

    public override PushVendor Vendor => PushVendor.Honor;

    protected override string SendPath => $"/api/v1/{_options.AppId}/sendMessage";

    protected override JsonObject AndroidConfig(PushNotification n) => new()
    {
        ["notification"] = new JsonObject
        {
            ["title"] = n.Title,
            ["body"] = n.Body,
            ["importance"] = PushPayloadFields.Urgent(n.Category) ? "NORMAL" : "LOW",
            ["tag"] = n.CollapseKey,
            ["badge"] = new JsonObject { ["setNum"] = n.Badge, ["badgeClass"] = "com.parley.app.MainActivity" },
            ["clickAction"] = new JsonObject { ["type"] = 3 },
        },
    };
}
