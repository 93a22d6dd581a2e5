using SkiaSharp;

namespace Parley.Media.Internal;

/// <summary>Measures images and makes thumbnails with SkiaSharp (MIT), never decoding more pixels than allowed.</summary>
internal static class ImageProcessor
{
    /// <summary>The image's dimensions from its header only (no pixels decoded), or null when it cannot be decoded.</summary>
    public static (int Width, int Height)? Probe(byte[] bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            return null;
        }

        var info = codec.Info;
        var rotated = codec.EncodedOrigin is SKEncodedOrigin.RightTop or SKEncodedOrigin.LeftBottom;
        return rotated ? (info.Height, info.Width) : (info.Width, info.Height);
    }

    /// <summary>
    /// A JPEG thumbnail whose longer side is at most <paramref name="maxSide"/>, upright per the EXIF orientation; null
    /// when the image cannot be decoded. The caller has already refused images over the pixel limit; codecs that can
    /// (JPEG, WebP) decode at a reduced scale so memory stays near the thumbnail's size.
    /// </summary>
    public static (byte[] Jpeg, int Width, int Height)? Thumbnail(byte[] bytes, int maxSide)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            return null;
        }

        var source = codec.Info;
        var scale = Math.Min(1f, (float)maxSide / Math.Max(source.Width, source.Height));
        var decodeSize = codec.GetScaledDimensions(Math.Max(scale, 1f / 8));
        var decodeInfo = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var decoded = new SKBitmap(decodeInfo);
        var result = codec.GetPixels(decodeInfo, decoded.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            return null;
        }

        var width = Math.Max(1, (int)Math.Round(source.Width * scale));
        var height = Math.Max(1, (int)Math.Round(source.Height * scale));
        using var resized = decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        if (resized is null)
        {
            return null;
        }

        using var upright = Orient(resized, codec.EncodedOrigin);
        using var image = SKImage.FromBitmap(upright);
        using var encoded = image.Encode(SKEncodedImageFormat.Jpeg, 80);
        return (encoded.ToArray(), upright.Width, upright.Height);
    }

    // Rotations only (EXIF 3, 6, 8, the ones cameras write); mirrored orientations are left as stored.
    private static SKBitmap Orient(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        var swap = origin is SKEncodedOrigin.RightTop or SKEncodedOrigin.LeftBottom;
        var result = new SKBitmap(swap ? bitmap.Height : bitmap.Width, swap ? bitmap.Width : bitmap.Height);
        using var canvas = new SKCanvas(result);
        canvas.Clear(SKColors.White);
        switch (origin)
        {
            case SKEncodedOrigin.BottomRight:
                canvas.RotateDegrees(180, result.Width / 2f, result.Height / 2f);
                break;
            case SKEncodedOrigin.RightTop:
                canvas.Translate(result.Width, 0);
                canvas.RotateDegrees(90);
                break;
            case SKEncodedOrigin.LeftBottom:
                canvas.Translate(0, result.Height);
                canvas.RotateDegrees(270);
                break;
        }

        canvas.DrawBitmap(bitmap, 0, 0);
        return result;
    }
}
