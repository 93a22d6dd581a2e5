using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Parley.Push.Vendors;

/// <summary>
/// An <c>application/x-www-form-urlencoded</c> request body written straight into a pooled buffer (issue 17): the same
/// bytes <see cref="FormUrlEncodedContent"/> writes for the same fields in the same order (RFC 3986 unreserved characters
/// kept, a space as <c>+</c>, every other UTF-8 byte as <c>%XX</c>), without its dictionary, escaped strings and copies.
/// The buffer goes back to the pool when the content (the request) is disposed.
/// </summary>
internal sealed class FormBody : HttpContent
{
    private static readonly MediaTypeHeaderValue FormType = new("application/x-www-form-urlencoded");

    // RFC 3986's unreserved characters: what FormUrlEncodedContent (Uri.EscapeDataString) leaves as they are.
    private static readonly SearchValues<byte> UnreservedBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"u8);

    private byte[] _buffer;
    private int _length;

    public FormBody(int capacity = 1024)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
        Headers.ContentType = FormType;
    }

    /// <summary>The body written so far (for tests).</summary>
    internal ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Appends <c>&amp;key=value</c> (no <c>&amp;</c> before the first field), both form-encoded.</summary>
    public FormBody Add(string key, string? value)
    {
        Separator(key);
        AppendEncoded(value ?? "");
        return this;
    }

    /// <summary>Appends a field whose value is already UTF-8 (e.g. a JSON payload written by a Utf8JsonWriter).</summary>
    public FormBody AddUtf8(string key, ReadOnlySpan<byte> value)
    {
        Separator(key);
        AppendEncoded(value);
        return this;
    }

    /// <summary>Appends a field with an integer value (digits and '-' need no escaping).</summary>
    public FormBody Add(string key, long value)
    {
        Separator(key);
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
        Append(digits[..n]);
        return this;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(_buffer, 0, _length);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(_buffer, 0, _length);

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }

        base.Dispose(disposing);
    }

    private void Separator(string key)
    {
        if (_length > 0)
        {
            Append("&"u8);
        }

        AppendEncoded(key);
        Append("="u8);
    }

    private void AppendEncoded(string value)
    {
        if (value.Length == 0)
        {
            return;
        }

        // Invalid UTF-16 (a lone surrogate, e.g. a title cut inside a pair) becomes U+FFFD, as Uri.EscapeDataString does.
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var utf8 = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            AppendEncoded(utf8[..Encoding.UTF8.GetBytes(value, utf8)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void AppendEncoded(ReadOnlySpan<byte> utf8)
    {
        Ensure(utf8.Length * 3);
        var dst = _buffer.AsSpan(_length);
        var w = 0;

        // A run of unreserved bytes (ids, tokens, numbers, names) is found by a vectorised search and copied at once (issue 17,
        // stop 48: the byte-by-byte loop was 2.2 % of a warm push's CPU); a byte to escape is written as before, so text
        // that is all escapes (CJK) never pays for a search.
        var i = 0;
        while (i < utf8.Length)
        {
            var b = utf8[i];
            if (UnreservedBytes.Contains(b))
            {
                var rest = utf8[i..];
                var run = rest.IndexOfAnyExcept(UnreservedBytes);
                if (run < 0)
                {
                    run = rest.Length;
                }

                rest[..run].CopyTo(dst[w..]);
                w += run;
                i += run;
            }
            else if (b == (byte)' ')
            {
                dst[w++] = (byte)'+';
                i++;
            }
            else
            {
                dst[w] = (byte)'%';
                dst[w + 1] = Hex[b >> 4];
                dst[w + 2] = Hex[b & 0xF];
                w += 3;
                i++;
            }
        }

        _length += w;
    }

    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    private void Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
