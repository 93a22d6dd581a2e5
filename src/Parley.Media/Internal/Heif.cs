using System.Buffers.Binary;
using System.Text;

namespace Parley.Media.Internal;

/// <summary>
/// HEIF containers (HEIC from phones, AVIF) read from their boxes only, without decoding a pixel (no HEVC or AV1 decoder
/// ships with Parley): the primary image's size from its <c>ispe</c> property (turned by <c>irot</c>), and location data
/// removed in place: the EXIF item's GPS directory emptied as in JPEGs and XMP items blanked with spaces, so no box or
/// item offset moves and the picture is untouched. Malformed boxes give null, never an exception or an unbounded read.
/// </summary>
internal static class Heif
{
    /// <summary>The primary image's displayed width and height, or null when the container does not say.</summary>
    public static (int Width, int Height)? Probe(byte[] file)
    {
        var meta = Parse(file);
        if (meta is null || !meta.Properties.TryGetValue(meta.PrimaryItem, out var props))
        {
            return null;
        }

        (int W, int H)? size = null;
        var rotated = false;
        foreach (var box in props)
        {
            if (box.Type == "ispe" && box.Length >= 8)
            {
                var w = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(box.Start));
                var h = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(box.Start + 4));
                if (w is 0 or > int.MaxValue || h is 0 or > int.MaxValue)
                {
                    return null;
                }

                size = ((int)w, (int)h);
            }
            else if (box.Type == "irot" && box.Length >= 1)
            {
                rotated = (file[box.Start] & 1) == 1;
            }
        }

        return size is { } s ? (rotated ? (s.H, s.W) : (s.W, s.H)) : null;
    }

    /// <summary>The file without location data (a copy), or null when it had none or is not a HEIF container it can read.</summary>
    public static byte[]? StripLocation(byte[] file)
    {
        var meta = Parse(file);
        if (meta is null)
        {
            return null;
        }

        byte[]? output = null;
        foreach (var (itemId, type, contentType) in meta.Items)
        {
            var isXmp = type == "mime" && contentType.StartsWith("application/rdf+xml", StringComparison.OrdinalIgnoreCase);
            if ((type != "Exif" && !isXmp) || !meta.Locations.TryGetValue(itemId, out var extent))
            {
                continue;
            }

            output ??= (byte[])file.Clone();
            var data = output.AsSpan(extent.Offset, extent.Length);
            if (isXmp)
            {
                data.Fill((byte)' ');
            }
            else if (data.Length >= 4)
            {
                var tiffOffset = BinaryPrimitives.ReadUInt32BigEndian(data);
                if (tiffOffset <= (uint)(data.Length - 4))
                {
                    ExifLocation.EmptyGpsDirectory(data[(4 + (int)tiffOffset)..]);
                }
            }
        }

        return output is not null && !output.AsSpan().SequenceEqual(file) ? output : null;
    }

    private sealed record Meta(uint PrimaryItem, List<(uint Id, string Type, string ContentType)> Items, Dictionary<uint, (int Offset, int Length)> Locations, Dictionary<uint, List<(string Type, int Start, int Length)>> Properties);

    private static Meta? Parse(byte[] file)
    {
        try
        {
            foreach (var (type, start, length) in Boxes(file, 0, file.Length))
            {
                if (type == "meta" && length >= 4)
                {
                    return ParseMeta(file, start + 4, length - 4);
                }
            }
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException)
        {
            // A box that claims more than it holds.
        }

        return null;
    }

    private static Meta? ParseMeta(byte[] file, int start, int length)
    {
        uint primary = 0;
        var items = new List<(uint, string, string)>();
        var extents = new Dictionary<uint, (int Method, long Offset, long Length)>();
        (int Start, int Length)? idat = null;
        var properties = new List<(string Type, int Start, int Length)>();
        var associations = new Dictionary<uint, List<(string, int, int)>>();
        var ipma = new List<(int Start, int Length)>();
        foreach (var (type, s, l) in Boxes(file, start, length))
        {
            var body = file.AsSpan(s, l);
            switch (type)
            {
                case "pitm":
                    primary = body[0] == 0 ? BinaryPrimitives.ReadUInt16BigEndian(body[4..]) : BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
                    break;
                case "iinf":
                    var first = body[0] == 0 ? 6 : 8;
                    foreach (var (entryType, es, el) in Boxes(file, s + first, l - first))
                    {
                        if (entryType == "infe" && ReadInfe(file.AsSpan(es, el)) is { } item)
                        {
                            items.Add(item);
                        }
                    }

                    break;
                case "iloc":
                    ReadIloc(body, extents);
                    break;
                case "idat":
                    idat = (s, l);
                    break;
                case "iprp":
                    foreach (var (child, cs, cl) in Boxes(file, s, l))
                    {
                        if (child == "ipco")
                        {
                            properties.AddRange(Boxes(file, cs, cl).Select(p => (p.Type, IsFullBox(p.Type) ? p.Start + 4 : p.Start, IsFullBox(p.Type) ? p.Length - 4 : p.Length)));
                        }
                        else if (child == "ipma")
                        {
                            ipma.Add((cs, cl));
                        }
                    }

                    break;
            }
        }

        foreach (var (s, l) in ipma)
        {
            ReadIpma(file.AsSpan(s, l), properties, associations);
        }

        var locations = new Dictionary<uint, (int, int)>();
        foreach (var (id, (method, offset, len)) in extents)
        {
            var (baseStart, limit) = method switch
            {
                0 => (0L, (long)file.Length),
                1 when idat is { } d => (d.Start, (long)d.Start + d.Length),
                _ => (-1L, 0L),
            };
            var from = baseStart + offset;
            if (baseStart >= 0 && offset >= 0 && len > 0 && from + len <= limit)
            {
                locations[id] = ((int)from, (int)len);
            }
        }

        return new Meta(primary, items, locations, associations);
    }

    // Properties read here that are full boxes (a version and flags before their fields); irot is a plain box.
    private static bool IsFullBox(string type) => type is "ispe" or "pixi" or "auxC";

    private static (uint, string, string)? ReadInfe(ReadOnlySpan<byte> body)
    {
        var version = body[0];
        if (version < 2)
        {
            return null;
        }

        var at = 4;
        uint id = version == 2 ? BinaryPrimitives.ReadUInt16BigEndian(body[at..]) : BinaryPrimitives.ReadUInt32BigEndian(body[at..]);
        at += version == 2 ? 2 : 4;
        at += 2; // item_protection_index
        var type = Encoding.ASCII.GetString(body.Slice(at, 4));
        at += 4;
        var nameEnd = body[at..].IndexOf((byte)0);
        var contentType = string.Empty;
        if (type == "mime" && nameEnd >= 0)
        {
            var rest = body[(at + nameEnd + 1)..];
            var end = rest.IndexOf((byte)0);
            contentType = Encoding.ASCII.GetString(end >= 0 ? rest[..end] : rest);
        }

        return (id, type, contentType);
    }

    private static void ReadIloc(ReadOnlySpan<byte> body, Dictionary<uint, (int, long, long)> extents)
    {
        var version = body[0];
        var offsetSize = body[4] >> 4;
        var lengthSize = body[4] & 0xF;
        var baseOffsetSize = body[5] >> 4;
        var indexSize = version is 1 or 2 ? body[5] & 0xF : 0;
        var at = 6;
        uint count;
        if (version < 2)
        {
            count = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
            at += 2;
        }
        else
        {
            count = BinaryPrimitives.ReadUInt32BigEndian(body[at..]);
            at += 4;
        }

        for (var i = 0u; i < count && i < 10_000; i++)
        {
            uint id;
            if (version < 2)
            {
                id = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
                at += 2;
            }
            else
            {
                id = BinaryPrimitives.ReadUInt32BigEndian(body[at..]);
                at += 4;
            }

            var method = 0;
            if (version is 1 or 2)
            {
                method = BinaryPrimitives.ReadUInt16BigEndian(body[at..]) & 0xF;
                at += 2;
            }

            at += 2; // data_reference_index
            var baseOffset = ReadSized(body, ref at, baseOffsetSize);
            var extentCount = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
            at += 2;
            for (var e = 0; e < extentCount; e++)
            {
                _ = ReadSized(body, ref at, indexSize);
                var offset = ReadSized(body, ref at, offsetSize);
                var length = ReadSized(body, ref at, lengthSize);

                // Metadata items are one extent; an item split over several is left alone (its data is not contiguous).
                if (extentCount == 1)
                {
                    extents[id] = (method, baseOffset + offset, length);
                }
            }
        }
    }

    private static long ReadSized(ReadOnlySpan<byte> body, ref int at, int size)
    {
        long value = size switch
        {
            0 => 0,
            4 => BinaryPrimitives.ReadUInt32BigEndian(body[at..]),
            8 => checked((long)BinaryPrimitives.ReadUInt64BigEndian(body[at..])),
            _ => throw new ArgumentOutOfRangeException(nameof(size)),
        };
        at += size;
        return value;
    }

    private static void ReadIpma(ReadOnlySpan<byte> body, List<(string Type, int Start, int Length)> properties, Dictionary<uint, List<(string, int, int)>> associations)
    {
        var version = body[0];
        var wide = (body[3] & 1) == 1;
        var count = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        var at = 8;
        for (var i = 0u; i < count && i < 10_000; i++)
        {
            uint id;
            if (version < 1)
            {
                id = BinaryPrimitives.ReadUInt16BigEndian(body[at..]);
                at += 2;
            }
            else
            {
                id = BinaryPrimitives.ReadUInt32BigEndian(body[at..]);
                at += 4;
            }

            int n = body[at++];
            var list = associations.TryGetValue(id, out var existing) ? existing : associations[id] = [];
            for (var j = 0; j < n; j++)
            {
                int index;
                if (wide)
                {
                    index = BinaryPrimitives.ReadUInt16BigEndian(body[at..]) & 0x7FFF;
                    at += 2;
                }
                else
                {
                    index = body[at++] & 0x7F;
                }

                if (index >= 1 && index <= properties.Count)
                {
                    list.Add(properties[index - 1]);
                }
            }
        }
    }

    // The boxes in file[start .. start+length): type, body start, body length (after the size/type header).
    private static List<(string Type, int Start, int Length)> Boxes(byte[] file, int start, int length)
    {
        var boxes = new List<(string, int, int)>();
        var end = (long)start + length;
        if (start < 0 || end > file.Length)
        {
            return boxes;
        }

        long at = start;
        while (at + 8 <= end && boxes.Count < 10_000)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)at));
            var type = Encoding.ASCII.GetString(file, (int)at + 4, 4);
            var header = 8;
            if (size == 1)
            {
                if (at + 16 > end)
                {
                    break;
                }

                size = checked((long)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)at + 8)));
                header = 16;
            }
            else if (size == 0)
            {
                size = end - at;
            }

            if (size < header || at + size > end)
            {
                break;
            }

            boxes.Add((type, (int)at + header, (int)size - header));
            at += size;
        }

        return boxes;
    }
}
