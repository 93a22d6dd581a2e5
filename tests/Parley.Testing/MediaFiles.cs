using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace Parley.Testing;

/// <summary>Real media bytes made in the test: JPEGs with GPS EXIF, a PNG "bomb", WAV, MP4 and executable headers.</summary>
public static class MediaFiles
{
    /// <summary>Recognisable GPS latitude numerators: the test looks for these bytes after the upload.</summary>
    public static readonly byte[] GpsMarker = [0x13, 0x57, 0x9B, 0xDF];

    public static byte[] Jpeg(int width, int height, bool withGps = false)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.SkyBlue);
            using var paint = new SKPaint { Color = SKColors.OrangeRed };
            canvas.DrawCircle(width / 2f, height / 2f, Math.Min(width, height) / 3f, paint);
        }

        using var image = SKImage.FromBitmap(bitmap);
        var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 85).ToArray();
        return withGps ? InsertExifGps(jpeg) : jpeg;
    }

    // APP1 "Exif": big-endian TIFF, IFD0 with one entry (GPS IFD pointer), GPS IFD with GPSLatitudeRef and GPSLatitude
    // (three rationals stored out of line, each numerator starting with the marker).
    private static byte[] InsertExifGps(byte[] jpeg)
    {
        var tiff = new byte[8 + 2 + 12 + 4 + 2 + 24 + 4 + 24];
        "MM"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1);
        var gpsIfd = 8 + 2 + 12 + 4;
        WriteEntry(tiff, 10, 0x8825, 4, 1, (uint)gpsIfd);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(gpsIfd), 2);
        WriteEntry(tiff, gpsIfd + 2, 0x0001, 2, 2, 0x4E000000); // 'N'
        var values = gpsIfd + 2 + 24 + 4;
        WriteEntry(tiff, gpsIfd + 14, 0x0002, 5, 3, (uint)values);
        for (var i = 0; i < 3; i++)
        {
            GpsMarker.CopyTo(tiff, values + (i * 8));
            BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(values + (i * 8) + 4), 1);
        }

        var payload = new byte[6 + tiff.Length];
        "Exif\0\0"u8.CopyTo(payload);
        tiff.CopyTo(payload, 6);
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    private static void WriteEntry(byte[] tiff, int at, ushort tag, ushort type, uint count, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(at), tag);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(at + 2), type);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(at + 4), count);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(at + 8), value);
    }

    /// <summary>A valid PNG header claiming <paramref name="width"/> x <paramref name="height"/> pixels, a few hundred bytes long.</summary>
    public static byte[] PngBomb(int width, int height)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(output, "IHDR", ihdr);
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(new byte[64 * 1024]);
        }

        Chunk(output, "IDAT", compressed.ToArray());
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = Crc32([.. typeBytes, .. data]);
        BinaryPrimitives.WriteUInt32BigEndian(length, crc);
        output.Write(length);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>A short PCM WAV file (silence).</summary>
    public static byte[] Wav(int samples = 8000)
    {
        var data = samples * 2;
        var wav = new byte[44 + data];
        "RIFF"u8.CopyTo(wav);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(4), 36 + data);
        "WAVEfmt "u8.CopyTo(wav.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(24), 8000);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(28), 16000);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(32), 2);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(34), 16);
        "data"u8.CopyTo(wav.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(40), data);
        return wav;
    }

    /// <summary>An MP4 box header ("ftyp isom") followed by filler: enough for sniffing (the server does not decode video).</summary>
    public static byte[] Mp4(int length = 20_000)
    {
        var mp4 = new byte[length];
        BinaryPrimitives.WriteInt32BigEndian(mp4, 24);
        "ftypisom"u8.CopyTo(mp4.AsSpan(4));
        return mp4;
    }

    /// <summary>An ELF executable header with filler.</summary>
    public static byte[] Elf(int length = 4096)
    {
        var elf = new byte[length];
        elf[0] = 0x7F;
        "ELF"u8.CopyTo(elf.AsSpan(1));
        elf[4] = 2;
        return elf;
    }
}
