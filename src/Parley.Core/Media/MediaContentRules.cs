using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Media;

/// <summary>
/// Shape rules for media, location and reply content: what can be checked without reading storage. The object checks
/// are <see cref="IMediaContentResolver"/>'s.
/// </summary>
public static class MediaContentRules
{
    public const int MaxObjectIdLength = 64;
    public const int MaxCaptionLength = 4096;
    public const int MaxFileNameLength = 255;
    public const uint MaxVoiceDurationMs = 3_600_000;
    public const uint MaxVideoDurationMs = 86_400_000;
    public const int MaxPlaceNameLength = 256;
    public const int MaxAddressLength = 1024;

    /// <summary>Null when the content's media fields are well formed, otherwise a message for BAD_REQUEST.</summary>
    public static string? Validate(Content content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.ReplyTo is { } reply && reply.Seq == 0)
        {
            return "reply_to needs the seq of the quoted message.";
        }

        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.Image:
                return !IsObjectId(content.Image.ObjectId) ? "An image needs the object_id of a completed upload."
                    : content.Image.Caption.Length > MaxCaptionLength ? $"A caption has at most {MaxCaptionLength} characters."
                    : null;
            case Content.BodyOneofCase.Voice:
                return !IsObjectId(content.Voice.ObjectId) ? "A voice message needs the object_id of a completed upload."
                    : content.Voice.DurationMs is 0 or > MaxVoiceDurationMs ? $"duration_ms must be 1..{MaxVoiceDurationMs}."
                    : null;
            case Content.BodyOneofCase.Video:
                return !IsObjectId(content.Video.ObjectId) ? "A video needs the object_id of a completed upload."
                    : content.Video.PosterObjectId.Length > 0 && !IsObjectId(content.Video.PosterObjectId) ? "poster_object_id is not an object id."
                    : content.Video.DurationMs is 0 or > MaxVideoDurationMs ? $"duration_ms must be 1..{MaxVideoDurationMs}."
                    : null;
            case Content.BodyOneofCase.File:
                return !IsObjectId(content.File.ObjectId) ? "A file needs the object_id of a completed upload."
                    : content.File.FileName.Length > 0 && FileNames.Sanitize(content.File.FileName) != content.File.FileName
                        ? $"file_name must be 1..{MaxFileNameLength} characters without path separators or control characters."
                    : null;
            case Content.BodyOneofCase.Location:
                var l = content.Location;
                return !double.IsFinite(l.Latitude) || l.Latitude is < -90 or > 90 || !double.IsFinite(l.Longitude) || l.Longitude is < -180 or > 180
                    ? "latitude must be -90..90 and longitude -180..180."
                    : l.Name.Length > MaxPlaceNameLength || l.Address.Length > MaxAddressLength
                        ? $"A place name has at most {MaxPlaceNameLength} characters and an address at most {MaxAddressLength}."
                    : null;
            default:
                return null;
        }
    }

    /// <summary>Object ids are 32 lowercase hex characters (128 random bits).</summary>
    public static bool IsObjectId(string? id)
    {
        if (id is null || id.Length != 32)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
