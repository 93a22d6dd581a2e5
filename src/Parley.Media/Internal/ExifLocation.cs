using System.Buffers.Binary;

namespace Parley.Media.Internal;

/// <summary>
/// Removes location data from a JPEG without re-encoding it: the EXIF GPS directory is emptied in place (its entries
/// and their out-of-line values zeroed, its count set to 0; no offset moves) and XMP packets, which may repeat the
/// location, are dropped. Everything else, orientation included, is kept byte for byte.
/// </summary>
internal static class ExifLocation
{
    private static ReadOnlySpan<byte> ExifHeader => "Exif\0\0"u8;

    private static ReadOnlySpan<byte> XmpHeader => "http://ns.adobe.com/xap/1.0/\0"u8;

    /// <summary>The JPEG without location data, or null when there was none (or it is not a JPEG).</summary>
    public static byte[]? Strip(byte[] jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
        {
            return null;
        }

        var output = (byte[])jpeg.Clone();
        var removed = new List<(int Start, int Length)>();
        var changed = false;
        var position = 2;
        while (position + 4 <= output.Length && output[position] == 0xFF)
        {
            var marker = output[position + 1];
            if (marker is 0xD9 or 0xDA)
            {
                break; // end of image, or start of scan: no metadata after this
            }

            if (marker is 0x01 or >= 0xD0 and <= 0xD7)
            {
                position += 2;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(position + 2));
            var end = position + 2 + length;
            if (length < 2 || end > output.Length)
            {
                break;
            }

            if (marker == 0xE1)
            {
                var payload = output.AsSpan(position + 4, length - 2);
                if (payload.StartsWith(ExifHeader))
                {
                    changed |= EmptyGpsDirectory(payload[ExifHeader.Length..]);
                }
                else if (payload.StartsWith(XmpHeader))
                {
                    removed.Add((position, end - position));
                    changed = true;
                }
            }

            position = end;
        }

        if (!changed)
        {
            return null;
        }

        if (removed.Count == 0)
        {
            return output;
        }

        using var result = new MemoryStream(output.Length);
        var from = 0;
        foreach (var (start, count) in removed)
        {
            result.Write(output, from, start - from);
            from = start + count;
        }

        result.Write(output, from, output.Length - from);
        return result.ToArray();
    }

    /// <summary>Empties the GPS directory of a TIFF (EXIF) block in place; true when it had entries.</summary>
    internal static bool EmptyGpsDirectory(Span<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return false;
        }

        var little = tiff[0] == (byte)'I' && tiff[1] == (byte)'I';
        if (!little && !(tiff[0] == (byte)'M' && tiff[1] == (byte)'M'))
        {
            return false;
        }

        var ifd0 = ReadUInt32(tiff, 4, little);
        if (ifd0 + 2 > (uint)tiff.Length)
        {
            return false;
        }

        var count = ReadUInt16(tiff, (int)ifd0, little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd0 + 2 + (i * 12);
            if (entry + 12 > tiff.Length)
            {
                return false;
            }

            if (ReadUInt16(tiff, entry, little) != 0x8825)
            {
                continue;
            }

            var gps = ReadUInt32(tiff, entry + 8, little);
            if (gps + 2 > (uint)tiff.Length)
            {
                return false;
            }

            var gpsCount = ReadUInt16(tiff, (int)gps, little);
            for (var j = 0; j < gpsCount; j++)
            {
                var gpsEntry = (int)gps + 2 + (j * 12);
                if (gpsEntry + 12 > tiff.Length)
                {
                    break;
                }

                var type = ReadUInt16(tiff, gpsEntry + 2, little);
                var values = ReadUInt32(tiff, gpsEntry + 4, little);
                var size = (long)values * TypeSize(type);
                if (size > 4)
                {
                    var offset = ReadUInt32(tiff, gpsEntry + 8, little);
                    if (offset + size <= tiff.Length)
                    {
                        tiff.Slice((int)offset, (int)size).Clear();
                    }
                }

                tiff.Slice(gpsEntry, 12).Clear();
            }

            tiff.Slice((int)gps, 2).Clear();
            return gpsCount > 0;
        }

        return false;
    }

    private static int TypeSize(ushort type) => type switch
    {
        1 or 2 or 6 or 7 => 1,
        3 or 8 => 2,
        4 or 9 or 11 => 4,
        5 or 10 or 12 => 8,
        _ => 1,
    };

    private static ushort ReadUInt16(Span<byte> s, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(s[offset..]) : BinaryPrimitives.ReadUInt16BigEndian(s[offset..]);

    private static uint ReadUInt32(Span<byte> s, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]) : BinaryPrimitives.ReadUInt32BigEndian(s[offset..]);
}
