namespace Parley.Push.Vendors.Fcm;

/// <summary>FCM HTTP v1 settings, bound to <c>Parley:Push:Fcm</c>.</summary>
public sealed class FcmOptions : PushVendorOptions
{
    public FcmOptions()
    {
        BaseUri = new Uri("https://fcm.googleapis.com");
    }

    public string ProjectId { get; set; } = "";

    /// <summary>The service-account JSON (client_email, private_key). A secret.</summary>
    public string ServiceAccountJson { get; set; } = "";

    /// <summary>OAuth token endpoint; null = the token_uri in the JSON, else https://oauth2.googleapis.com/token.</summary>
    public Uri? TokenUri { get; set; }

    /// <summary>Android notification channel per category; the IM channel must exist in the app with high importance.</summary>
    public Dictionary<Parley.Abstractions.Push.PushCategory, string> ChannelIds { get; } = new()
    {
        [Parley.Abstractions.Push.PushCategory.Im] = "parley_im",
        [Parley.Abstractions.Push.PushCategory.Service] = "parley_service",
        [Parley.Abstractions.Push.PushCategory.FollowedContent] = "parley_content",
        [Parley.Abstractions.Push.PushCategory.Marketing] = "parley_marketing",
    };

    internal override IEnumerable<string> Problems()
    {
        return base.Problems().Concat(Required((nameof(ProjectId), ProjectId), (nameof(ServiceAccountJson), ServiceAccountJson)));
    }
}
