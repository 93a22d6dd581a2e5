using System.Collections.Frozen;
using Parley.Protocol.V1;

namespace Parley.Core.Push;

/// <summary>One refused field of a client push request: its name (as the HTTP API spells it) and why.</summary>
public readonly record struct FieldProblem(string Field, string Reason)
{
    /// <summary>As a core refusal: INVALID_ARGUMENT with the message <c>"{field}: {reason}"</c>, which both SDKs show.</summary>
    public CoreFailure ToFailure() => CoreResult.Fail(CoreError.InvalidArgument, $"{Field}: {Reason}");
}

/// <summary>
/// The rules of device registration and push settings, for every edge (native frames, the device HTTP API): nothing the
/// push pipeline cannot use is stored. Before these rules a vendor of <c>"42"</c> or an undefined enum value was stored as
/// an unknown vendor whose pushes were dropped as <c>no_adapter</c> forever, <c>"apns,fcm"</c> parsed as a flags
/// combination, and a whitespace-only token went to FCM.
/// </summary>
public static class PushClientRules
{
    public const int MaxTokenLength = 8192;
    public const int MaxAppIdLength = 256;
    public const int MaxLocaleLength = 35;
    public const int MaxTimeZoneLength = 64;

    private const string VendorChoices = "apns, fcm, huawei, honor, xiaomi, oppo, vivo or webpush";
    private const string PrivacyChoices = "full, sender_only or generic";

    private static readonly FrozenDictionary<string, PushVendor> Vendors = new Dictionary<string, PushVendor>(StringComparer.OrdinalIgnoreCase)
    {
        ["apns"] = PushVendor.Apns,
        ["fcm"] = PushVendor.Fcm,
        ["huawei"] = PushVendor.Huawei,
        ["honor"] = PushVendor.Honor,
        ["xiaomi"] = PushVendor.Xiaomi,
        ["oppo"] = PushVendor.Oppo,
        ["vivo"] = PushVendor.Vivo,
        ["webpush"] = PushVendor.WebPush,
        ["web_push"] = PushVendor.WebPush,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, PushPrivacy> Privacies = new Dictionary<string, PushPrivacy>(StringComparer.OrdinalIgnoreCase)
    {
        ["full"] = PushPrivacy.Full,
        ["sender_only"] = PushPrivacy.SenderOnly,
        ["generic"] = PushPrivacy.Generic,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>A vendor by its name only: numbers, lists and unknown names are refused.</summary>
    public static bool TryParseVendor(string? name, out PushVendor vendor, out FieldProblem problem)
    {
        problem = new FieldProblem("vendor", name is null ? $"is required: one of {VendorChoices}" : $"must be one of {VendorChoices}");
        vendor = PushVendor.Unspecified;
        return name is not null && Vendors.TryGetValue(name, out vendor);
    }

    /// <summary>A privacy setting by its name only.</summary>
    public static bool TryParsePrivacy(string name, out PushPrivacy privacy, out FieldProblem problem)
    {
        problem = new FieldProblem("privacy", $"must be {PrivacyChoices}");
        return Privacies.TryGetValue(name, out privacy);
    }

    /// <summary>The first problem of a registration, or null when it can be stored.</summary>
    public static FieldProblem? Check(RegisterDeviceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Vendor == PushVendor.Unspecified || !Enum.IsDefined(request.Vendor))
        {
            return new FieldProblem("vendor", $"must be one of {VendorChoices}");
        }

        if (string.IsNullOrWhiteSpace(request.Token))
        {
            return new FieldProblem("token", "is required and must not be blank");
        }

        if (request.Token.Length > MaxTokenLength)
        {
            return new FieldProblem("token", $"must be at most {MaxTokenLength} characters");
        }

        if (request.Token.Any(char.IsControl))
        {
            return new FieldProblem("token", "must not contain control characters");
        }

        return request.AppId.Length > MaxAppIdLength ? new FieldProblem("appId", $"must be at most {MaxAppIdLength} characters")
            : request.Locale.Length > MaxLocaleLength ? new FieldProblem("locale", $"must be at most {MaxLocaleLength} characters")
            : request.TimeZone.Length > MaxTimeZoneLength ? new FieldProblem("timeZone", $"must be at most {MaxTimeZoneLength} characters")
            : null;
    }

    /// <summary>The first problem of a settings change, or null when it can be stored.</summary>
    public static FieldProblem? Check(UpdatePushSettingsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.HasDoNotDisturb && !request.HasPrivacy && !request.HasMarketingOptOut)
        {
            return new FieldProblem("doNotDisturb", "doNotDisturb, privacy or marketingOptOut is required");
        }

        return request.HasPrivacy && !Enum.IsDefined(request.Privacy) ? new FieldProblem("privacy", $"must be {PrivacyChoices}") : null;
    }
}
