using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Parley.Gateway.Connections;
using Parley.Protocol;

namespace Parley.Gateway.Handshake;

/// <summary>
/// Kestrel connection middleware (ADR 0020): when the first request of a new connection is a plain, well-formed
/// <c>GET /ws</c> WebSocket upgrade, it answers the handshake itself and runs the WebSocket on the transport's pipes, so
/// the connection never becomes an HTTP/1.1 connection holding a request (its header tables, <c>HttpContext</c>, the
/// middleware chain's suspended frames, the hosting activity and log scopes) for as long as it stays open. Anything else
/// (another path, a query string, TLS not yet decrypted, HTTP/2, an unusual or incomplete header block, a listener that
/// does not serve <c>/ws</c>) is handed to Kestrel's HTTP layer untouched: nothing is consumed until the request is
/// accepted here, and the HTTP <c>/ws</c> endpoint stays mapped, so such a request is served exactly as before.
/// </summary>
internal sealed class DirectUpgrade(WebSocketEndpoint endpoint, Func<int, bool> servesGateway, TimeSpan firstBytesTimeout, WebSocketOptions webSockets)
{
    /// <summary>A larger header block (many cookies) goes to the HTTP layer, whose limits apply.</summary>
    internal const int MaxHeadBytes = 4096;

    public async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        if (context.LocalEndPoint is not IPEndPoint local || !servesGateway(local.Port))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var input = context.Transport.Input;
        var subProtocol = await ReadUpgradeAsync(input).ConfigureAwait(false);
        if (subProtocol is not { } accepted)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var output = context.Transport.Output;
        var written = accepted.WriteResponse(output.GetSpan(UpgradeRequest.MaxResponseBytes));
        output.Advance(written);
        try
        {
            await output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            return; // the client went away before the 101
        }

        var stream = new DuplexPipeStream(input, output);
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = accepted.SubProtocol ? FrameCodec.SubProtocol : null,
            KeepAliveInterval = webSockets.KeepAliveInterval,
            KeepAliveTimeout = webSockets.KeepAliveTimeout,
        });
        await endpoint.RunAsync(socket, context.Abort, stream).ConfigureAwait(false);
    }

    // The parsed upgrade (its head consumed from the pipe), or null with nothing consumed: the HTTP layer takes over.
    private async ValueTask<UpgradeRequest?> ReadUpgradeAsync(PipeReader input)
    {
        // Usually the whole head is there when the connection is dispatched: no timer then.
        if (input.TryRead(out var result) && Examine(input, result, out var request))
        {
            return request;
        }

        // A silent client is handed to the HTTP layer after the timeout, whose own timeouts then apply. The wait ends with
        // CancelPendingRead (a cancelled token would leave the reader mid-read for the HTTP layer).
        using var timeout = new CancellationTokenSource(firstBytesTimeout);
        var registration = timeout.Token.UnsafeRegister(static s => ((PipeReader)s!).CancelPendingRead(), input);
        var observed = false;
        try
        {
            while (true)
            {
                result = await input.ReadAsync().ConfigureAwait(false);
                observed = result.IsCanceled;
                if (Examine(input, result, out request))
                {
                    return request;
                }
            }
        }
        finally
        {
            // The timer may have fired after the last read completed: clear its cancellation here, or the next read (the
            // WebSocket's or the HTTP layer's) would return cancelled.
            await registration.DisposeAsync().ConfigureAwait(false);
            if (timeout.IsCancellationRequested && !observed && input.TryRead(out var stale))
            {
                input.AdvanceTo(stale.Buffer.Start);
            }
        }
    }

    // True when decided (request: the upgrade, its head consumed; null: not ours, nothing consumed); false: read more.
    private static bool Examine(PipeReader input, ReadResult result, out UpgradeRequest? request)
    {
        var buffer = result.Buffer;
        request = null;
        var parse = UpgradeRequest.TryParse(buffer, out var parsed, out var headLength);
        if (parse == UpgradeParse.Accepted)
        {
            input.AdvanceTo(buffer.GetPosition(headLength));
            request = parsed;
            return true;
        }

        if (parse == UpgradeParse.NotMine || result.IsCanceled || result.IsCompleted || buffer.Length >= MaxHeadBytes)
        {
            input.AdvanceTo(buffer.Start);
            return true;
        }

        input.AdvanceTo(buffer.Start, buffer.End); // incomplete: wait for more
        return false;
    }
}

internal enum UpgradeParse
{
    Accepted,
    Incomplete,
    NotMine,
}

/// <summary>
/// A strictly parsed <c>GET /ws HTTP/1.1</c> WebSocket upgrade (RFC 6455 §4.2.1): anything this parser does not accept
/// exactly is not answered here but by the HTTP layer, so it only has to recognise, never to reject.
/// </summary>
internal readonly struct UpgradeRequest
{
    public const int MaxResponseBytes = 256;
    private const int MaxHeaders = 64;
    private static ReadOnlySpan<byte> RequestLine => "GET /ws HTTP/1.1\r\n"u8;
    private static ReadOnlySpan<byte> WebSocketGuid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    private static readonly byte[] SubProtocolName = Encoding.ASCII.GetBytes(FrameCodec.SubProtocol);

    private readonly byte[] _accept;

    private UpgradeRequest(byte[] accept, bool subProtocol)
    {
        _accept = accept;
        SubProtocol = subProtocol;
    }

    /// <summary>True when the client offered <see cref="FrameCodec.SubProtocol"/>.</summary>
    public bool SubProtocol { get; }

    public static UpgradeParse TryParse(ReadOnlySequence<byte> buffer, out UpgradeRequest request, out int headLength)
    {
        request = default;
        headLength = 0;
        var length = (int)Math.Min(buffer.Length, DirectUpgrade.MaxHeadBytes);
        if (buffer.IsSingleSegment)
        {
            return TryParse(buffer.FirstSpan[..length], out request, out headLength);
        }

        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(copy);
            return TryParse(copy.AsSpan(0, length), out request, out headLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public static UpgradeParse TryParse(ReadOnlySpan<byte> head, out UpgradeRequest request, out int headLength)
    {
        request = default;
        headLength = 0;
        var prefix = Math.Min(head.Length, RequestLine.Length);
        if (!head[..prefix].SequenceEqual(RequestLine[..prefix]))
        {
            return UpgradeParse.NotMine;
        }

        var end = head.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return UpgradeParse.Incomplete;
        }

        var hosts = 0;
        var upgrades = 0;
        var connections = 0;
        var versions = 0;
        var keys = 0;
        var subProtocol = false;
        Span<byte> key = stackalloc byte[24];
        Span<byte> decoded = stackalloc byte[18];
        var lines = head[RequestLine.Length..(end + 2)];
        var count = 0;
        while (!lines.IsEmpty)
        {
            var eol = lines.IndexOf("\r\n"u8);
            var line = lines[..eol];
            lines = lines[(eol + 2)..];
            if (++count > MaxHeaders || !TrySplit(line, out var name, out var value))
            {
                return UpgradeParse.NotMine;
            }

            if (Is(name, "host"u8))
            {
                if (++hosts > 1 || !IsPlainHost(value))
                {
                    return UpgradeParse.NotMine;
                }
            }
            else if (Is(name, "upgrade"u8))
            {
                if (++upgrades > 1 || !Ascii.EqualsIgnoreCase(value, "websocket"u8))
                {
                    return UpgradeParse.NotMine;
                }
            }
            else if (Is(name, "connection"u8))
            {
                if (++connections > 1 || !HasToken(value, "upgrade"u8, ignoreCase: true))
                {
                    return UpgradeParse.NotMine;
                }
            }
            else if (Is(name, "sec-websocket-version"u8))
            {
                if (++versions > 1 || !value.SequenceEqual("13"u8))
                {
                    return UpgradeParse.NotMine;
                }
            }
            else if (Is(name, "sec-websocket-key"u8))
            {
                // Sixteen random bytes in base64 (RFC 6455 §4.1), as the HTTP layer's handshake checks it.
                if (++keys > 1 || value.Length != 24 || Base64.DecodeFromUtf8(value, decoded, out _, out var bytes) != OperationStatus.Done || bytes != 16)
                {
                    return UpgradeParse.NotMine;
                }

                value.CopyTo(key);
            }
            else if (Is(name, "sec-websocket-protocol"u8))
            {
                subProtocol |= HasToken(value, SubProtocolName, ignoreCase: false);
            }
            else if (Is(name, "content-length"u8) || Is(name, "transfer-encoding"u8))
            {
                return UpgradeParse.NotMine; // a body on an upgrade: the HTTP layer decides
            }

            // Other headers (Origin, User-Agent, Sec-WebSocket-Extensions, ...) are ignored, as the HTTP path ignores them:
            // it negotiates no extension and checks no origin (the Hello's token authenticates).

        }

        if (hosts != 1 || upgrades != 1 || connections != 1 || versions != 1 || keys != 1)
        {
            return UpgradeParse.NotMine;
        }

        // Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
        Span<byte> input = stackalloc byte[24 + 36];
        key.CopyTo(input);
        WebSocketGuid.CopyTo(input[24..]);
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // RFC 6455 defines the accept value with SHA-1; it protects nothing
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        var accept = new byte[28];
        Base64.EncodeToUtf8(hash, accept, out _, out _);
        request = new UpgradeRequest(accept, subProtocol);
        headLength = end + 4;
        return UpgradeParse.Accepted;
    }

    /// <summary>The 101 answer (no extensions: the HTTP path negotiates none either).</summary>
    public int WriteResponse(Span<byte> destination)
    {
        var w = 0;
        Append(destination, ref w, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: "u8);
        Append(destination, ref w, _accept);
        if (SubProtocol)
        {
            Append(destination, ref w, "\r\nSec-WebSocket-Protocol: "u8);
            Append(destination, ref w, SubProtocolName);
        }

        Append(destination, ref w, "\r\n\r\n"u8);
        return w;
    }

    private static void Append(Span<byte> destination, ref int written, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination[written..]);
        written += bytes.Length;
    }

    // "name: value" with a token name, no whitespace before the colon, optional whitespace around the value, and only
    // visible ASCII, space and tab in the value. Anything else (obs-fold, control bytes, non-ASCII) is not parsed here.
    private static bool TrySplit(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        name = default;
        value = default;
        var colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }

        name = line[..colon];
        foreach (var b in name)
        {
            if (!IsTokenChar(b))
            {
                return false;
            }
        }

        value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
        {
            if (b is not ((>= 0x20 and < 0x7F) or (byte)'\t'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lowerCase) => Ascii.EqualsIgnoreCase(name, lowerCase);

    // A comma-separated list (Connection, Sec-WebSocket-Protocol) contains the token.
    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token, bool ignoreCase)
    {
        while (true)
        {
            var comma = list.IndexOf((byte)',');
            var item = (comma < 0 ? list : list[..comma]).Trim(" \t"u8);
            if (ignoreCase ? Ascii.EqualsIgnoreCase(item, token) : item.SequenceEqual(token))
            {
                return true;
            }

            if (comma < 0)
            {
                return false;
            }

            list = list[(comma + 1)..];
        }
    }

    // A host name or address with an optional port; anything else goes to the HTTP layer, which validates Host itself.
    private static bool IsPlainHost(ReadOnlySpan<byte> host)
    {
        if (host.IsEmpty)
        {
            return false;
        }

        foreach (var b in host)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'.' or (byte)'-' or (byte)':' or (byte)'[' or (byte)']' or (byte)'_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTokenChar(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*'
            or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}

/// <summary>
/// The transport's two pipes as one stream for <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>.
/// A zero-byte read waits for data without consuming it (the receive loop's idle wait holds no buffer). Disposing it
/// does not close the connection: Kestrel does when the connection middleware returns.
/// <para>
/// It is also a <see cref="IFrameWriter"/>: the connection's send loop writes its queued messages as whole unmasked frames
/// straight into the output pipe, several per flush, instead of one <see cref="WebSocket.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, bool, CancellationToken)"/>
/// (and one flush, so one socket write) each (issue 17: a 500-member group's fan-out spent a sixth of the server's CPU in
/// the WebSocket's send). The WebSocket's own writes (pongs, its close) and those batches never interleave: both hold
/// <see cref="_writes"/> for as long as they write and flush.
/// </para>
/// </summary>
internal sealed class DuplexPipeStream(PipeReader input, PipeWriter output) : Stream, IFrameWriter
{
    private readonly SemaphoreSlim _writes = new(1, 1);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (result.IsCanceled)
            {
                input.AdvanceTo(data.Start);
                throw new OperationCanceledException(cancellationToken);
            }

            if (!data.IsEmpty)
            {
                var count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            input.AdvanceTo(data.End);
            if (result.IsCompleted)
            {
                return 0;
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var flush = await output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (flush.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <inheritdoc/>
    public Task BeginFramesAsync() => _writes.WaitAsync();

    // The pipe memory a batch writes its frames into, and how much of it they filled: advanced once per block (or at the
    // flush) rather than once per frame, a lock of the pipe's each (issue 17: Pipe.Advance was 6 % of a group fan-out).
    private Memory<byte> _block;
    private int _blockUsed;

    /// <inheritdoc/>
    public int WriteFrame(ReadOnlySpan<byte> payload, bool text)
    {
        // RFC 6455 §5.2, server to client: FIN, the opcode, no mask, the length in 7, 7+16 or 7+64 bits.
        var headerLength = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var size = headerLength + payload.Length;
        if (_block.Length - _blockUsed < size)
        {
            CommitFrames();
            _block = output.GetMemory(size); // the rest of the pipe's current block when it has room
        }

        var span = _block.Span[_blockUsed..];
        span[0] = (byte)(0x80 | (text ? 0x1 : 0x2));
        if (headerLength == 2)
        {
            span[1] = (byte)payload.Length;
        }
        else if (headerLength == 4)
        {
            span[1] = 126;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)payload.Length);
        }
        else
        {
            span[1] = 127;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(span[2..], (ulong)payload.Length);
        }

        payload.CopyTo(span[headerLength..]);
        _blockUsed += size;
        return size;
    }

    // Hands the frames written into the current block to the pipe.
    private void CommitFrames()
    {
        if (_blockUsed > 0)
        {
            output.Advance(_blockUsed);
        }

        _block = default;
        _blockUsed = 0;
    }

    /// <inheritdoc/>
    public async ValueTask FlushFramesAsync(CancellationToken cancellationToken)
    {
        CommitFrames();
        var flush = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flush.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <inheritdoc/>
    public void EndFrames()
    {
        CommitFrames(); // a batch that ended before its flush: what it wrote goes with the next flush
        _writes.Release();
    }

    public override void Flush() => throw new NotSupportedException("Asynchronous only.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
