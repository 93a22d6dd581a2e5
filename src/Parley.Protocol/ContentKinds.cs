using Parley.Protocol.V1;

namespace Parley.Protocol;

/// <summary>Which content a user may send (and revoke), and how it reads in a one-line preview.</summary>
public static class ContentKinds
{
    /// <summary>True for content a client sends (text, custom, media, location); false for system notices.</summary>
    public static bool IsUserContent(int kind) => kind switch
    {
        (int)Content.BodyOneofCase.Text or (int)Content.BodyOneofCase.Custom
            or (int)Content.BodyOneofCase.Image or (int)Content.BodyOneofCase.Voice or (int)Content.BodyOneofCase.Video
            or (int)Content.BodyOneofCase.File or (int)Content.BodyOneofCase.Location => true,
        _ => false,
    };

    /// <summary>True for content that names stored objects (image, voice, video, file).</summary>
    public static bool IsMedia(Content.BodyOneofCase kind) =>
        kind is Content.BodyOneofCase.Image or Content.BodyOneofCase.Voice or Content.BodyOneofCase.Video or Content.BodyOneofCase.File;

    /// <summary>
    /// A short preview for notifications and conversation lists: the text itself, or a bracketed kind such as
    /// <c>[Image]</c>, <c>[Voice]</c>, <c>[Video]</c>, <c>[File] report.pdf</c>, <c>[Location] name</c> or <c>[type]</c>
    /// for custom content. Never null.
    /// </summary>
    public static string Preview(Content content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return content.BodyCase switch
        {
            Content.BodyOneofCase.Text => content.Text.Text,
            Content.BodyOneofCase.Custom => $"[{content.Custom.Type}]",
            Content.BodyOneofCase.Image => content.Image.Caption.Length > 0 ? "[Image] " + content.Image.Caption : "[Image]",
            Content.BodyOneofCase.Voice => "[Voice]",
            Content.BodyOneofCase.Video => "[Video]",
            Content.BodyOneofCase.File => content.File.FileName.Length > 0 ? "[File] " + content.File.FileName : "[File]",
            Content.BodyOneofCase.Location => content.Location.Name.Length > 0 ? "[Location] " + content.Location.Name : "[Location]",
            _ => string.Empty,
        };
    }

    /// <summary>The object ids a content names (original, thumbnail, poster), in that order; empty for other content.</summary>
    public static IReadOnlyList<string> ObjectIds(Content content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var ids = new List<string>(2);
        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Image:
                Add(ids, content.Image.ObjectId);
                Add(ids, content.Image.ThumbnailObjectId);
                break;
            case Content.BodyOneofCase.Voice:
                Add(ids, content.Voice.ObjectId);
                break;
            case Content.BodyOneofCase.Video:
                Add(ids, content.Video.ObjectId);
                Add(ids, content.Video.PosterObjectId);
                break;
            case Content.BodyOneofCase.File:
                Add(ids, content.File.ObjectId);
                break;
        }

        return ids;

        static void Add(List<string> list, string id)
        {
            if (id.Length > 0)
            {
                list.Add(id);
            }
        }
    }
}
