using System.Text;
using Parley.Abstractions.Media;

namespace Parley.Media.Internal;

/// <summary>What the first bytes of an object say it is. The name and the client's claim are never trusted.</summary>
internal static class Sniffer
{
    public const int HeadLength = 64;

    /// <summary>The kind and the MIME type to serve. Unknown or dangerous content is a file served as octet-stream.</summary>
    public static (MediaKind Kind, string ContentType) Sniff(ReadOnlySpan<byte> head)
    {
        // Images a browser renders safely (never SVG: it carries script).
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return (MediaKind.Image, "image/jpeg");
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return (MediaKind.Image, "image/png");
        }

        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8))
        {
            return (MediaKind.Image, "image/gif");
        }

        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
        {
            return (MediaKind.Image, "image/webp");
        }

        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8))
        {
            return (MediaKind.Voice, "audio/wav");
        }

        if (head.StartsWith("BM"u8) && head.Length >= 26)
        {
            return (MediaKind.Image, "image/bmp");
        }

        // ISO base media (MP4, MOV, M4A, 3GP, HEIC): the brand after "ftyp".
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(head[8..12]);
            return brand switch
            {
                "M4A " or "M4B " => (MediaKind.Voice, "audio/mp4"),
                "avif" or "avis" => (MediaKind.Image, "image/avif"),
                "heic" or "heix" or "heim" or "heis" or "hevc" or "hevx" => (MediaKind.Image, "image/heic"),
                "mif1" or "msf1" => (MediaKind.Image, HasCompatibleBrand(head, "avif"u8) ? "image/avif" : HasCompatibleBrand(head, "heic"u8) ? "image/heic" : "image/heif"),
                "qt  " => (MediaKind.Video, "video/quicktime"),
                _ when brand.StartsWith("3g", StringComparison.Ordinal) => (MediaKind.Video, "video/3gpp"),
                _ => (MediaKind.Video, "video/mp4"),
            };
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]))
        {
            return (MediaKind.Video, "video/webm");
        }

        if (head.StartsWith("OggS"u8))
        {
            return (MediaKind.Voice, "audio/ogg");
        }

        if (head.StartsWith("#!AMR"u8))
        {
            return (MediaKind.Voice, "audio/amr");
        }

        if (head.StartsWith("ID3"u8) || (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && (head[1] & 0x06) != 0))
        {
            return (MediaKind.Voice, "audio/mpeg");
        }

        if (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xF6) == 0xF0)
        {
            return (MediaKind.Voice, "audio/aac");
        }

        if (head.StartsWith("%PDF-"u8))
        {
            return (MediaKind.File, "application/pdf");
        }

        if (head.StartsWith("PK\x03\x04"u8))
        {
            return (MediaKind.File, "application/zip");
        }

        // Everything else, executables (ELF, PE "MZ", Mach-O, scripts) and HTML/SVG included, is a file that is only
        // ever served as an attachment of type application/octet-stream.
        return (MediaKind.File, "application/octet-stream");
    }

    /// <summary>True for the HEIF family (HEIC, AVIF), which is measured from its container, not decoded.</summary>
    public static bool IsHeif(string contentType) => contentType is "image/heic" or "image/heif" or "image/avif";

    // The ftyp box's compatible brands (after major brand and minor version), within the sniffed head.
    private static bool HasCompatibleBrand(ReadOnlySpan<byte> head, ReadOnlySpan<byte> brand)
    {
        var size = Math.Min(head.Length, (int)Math.Min(int.MaxValue, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(head)));
        for (var at = 16; at + 4 <= size; at += 4)
        {
            if (head.Slice(at, 4).SequenceEqual(brand))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True for types served inline (rendered by the client) rather than as an attachment.</summary>
    public static bool IsInline(string contentType) =>
        contentType is "image/jpeg" or "image/png" or "image/gif" or "image/webp" or "image/bmp" or "image/avif" or "image/heic" or "image/heif"
        || contentType.StartsWith("audio/", StringComparison.Ordinal)
        || contentType.StartsWith("video/", StringComparison.Ordinal);
}
