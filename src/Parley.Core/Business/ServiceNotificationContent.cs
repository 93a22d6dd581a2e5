using System.Text.Json;
using System.Text.Json.Serialization;
using Parley.Protocol.V1;

namespace Parley.Core.Business;

/// <summary>
/// A service notification as stored content: custom content of type <see cref="Type"/> whose JSON holds title, body, deep
/// link, template id and expiry. Clients render it as a notification card; the push bridge pushes it in the service
/// category when its sender is a notification account (a user sending the same type gets an ordinary IM push).
/// </summary>
public static class ServiceNotificationContent
{
    public const string Type = "parley.service";

    public const int MaxTitleLength = 128;
    public const int MaxBodyLength = 2048;
    public const int MaxDeepLinkLength = 1024;
    public const int MaxTemplateIdLength = 64;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The stored content, or a refusal naming the field.</summary>
    public static CoreResult<Content> Build(ServiceNotification notification, long now)
    {
        ArgumentNullException.ThrowIfNull(notification);
        if (string.IsNullOrWhiteSpace(notification.Title) || notification.Title.Length > MaxTitleLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"title must be 1..{MaxTitleLength} characters.");
        }

        if (string.IsNullOrWhiteSpace(notification.Body) || notification.Body.Length > MaxBodyLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"body must be 1..{MaxBodyLength} characters.");
        }

        if ((notification.DeepLink?.Length ?? 0) > MaxDeepLinkLength || (notification.TemplateId?.Length ?? 0) > MaxTemplateIdLength)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"deepLink is at most {MaxDeepLinkLength} and templateId at most {MaxTemplateIdLength} characters.");
        }

        if (notification.ExpiresAt is { } expires && expires <= now)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "expiresAt must be in the future (unix milliseconds).");
        }

        return CoreResult.Success(new Content { Custom = new CustomContent { Type = Type, Json = JsonSerializer.Serialize(notification, Json) } });
    }

    /// <summary>The notification in <paramref name="content"/>, or null when it is not one (or its JSON is not ours).</summary>
    public static ServiceNotification? TryRead(Content content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.BodyCase != Content.BodyOneofCase.Custom || content.Custom.Type != Type)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ServiceNotification>(content.Custom.Json, Json) is { Title: not null, Body: not null } n ? n : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <param name="ExpiresAt">Unix milliseconds after which the notification is no longer pushed (it stays in the conversation).</param>
public sealed record ServiceNotification(string Title, string Body, string? DeepLink = null, string? TemplateId = null, long? ExpiresAt = null);
