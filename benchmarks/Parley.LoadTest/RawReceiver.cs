using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// <c>--raw-receivers</c>: a group step's receiving member on a plain socket with its own WebSocket framing (RFC 6455,
/// client side), instead of a <see cref="LeanConnection"/>'s ClientWebSocket. It reads whatever the socket holds (64 KB
/// at a time), walks the frames in it and counts each live text message from its bytes (<see cref="FastFrame"/>,
/// <see cref="StepLedger.OnMessage(ReadOnlySpan{byte})"/>): no receive call, no frame object and no string per delivery.
/// With ClientWebSocket the generator's core used about 4 µs per delivery, so it could not receive more than about
/// 300k deliveries a second, whatever the server (issue 17: the 1.8M target, and the relay, need a cheaper receiver). It
/// only receives: Hello, then a Ping every 20 s (the server's idle timeout); the member's messages are sent elsewhere.
/// </summary>
internal sealed class RawReceiver : IStepConnection, IKeepAlive, IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private static readonly long PingTicks = System.Diagnostics.Stopwatch.Frequency * 20;
    private readonly Socket _socket;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _sendLock = new();
    private byte[] _buffer = new byte[BufferSize];
    private int _filled;
    private Task _receive = Task.CompletedTask;
    private volatile StepLedger? _ledger;
    private volatile bool _open = true;
    private long _lastSend = System.Diagnostics.Stopwatch.GetTimestamp();

    private RawReceiver(Socket socket, string userId)
    {
        _socket = socket;
        UserId = userId;
    }

    public string UserId { get; }

    public StepLedger? Ledger
    {
        set => _ledger = value;
    }

    public bool IsOpen => _open;

    public string? CloseInfo { get; private set; }

    /// <summary>Upgrades, sends Hello and waits for the end of the connect-time sync.</summary>
    public static async Task<RawReceiver> ConnectAsync(Uri url, int index, string userId, string token, TimeSpan timeout)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var r = new RawReceiver(socket, userId);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(url.Host, url.Port, cts.Token).ConfigureAwait(false);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var head = $"GET {url.AbsolutePath} HTTP/1.1\r\nHost: {url.Host}:{url.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {FrameCodec.SubProtocol}\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, cts.Token).ConfigureAwait(false);
            int end;
            while ((end = r._buffer.AsSpan(0, r._filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                var n = await socket.ReceiveAsync(r._buffer.AsMemory(r._filled), SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0 || r._filled + n >= BufferSize)
                {
                    throw new InvalidOperationException("no upgrade answer");
                }

                r._filled += n;
            }

            if (!r._buffer.AsSpan().StartsWith("HTTP/1.1 101 "u8))
            {
                throw new InvalidOperationException("upgrade refused: " + Encoding.ASCII.GetString(r._buffer, 0, Math.Min(end, 80)));
            }

            r._filled -= end + 4;
            r._buffer.AsSpan(end + 4, r._filled).CopyTo(r._buffer);
            r._receive = Task.Run(r.ReceiveLoopAsync);
            r.Send(new ClientFrame
            {
                RequestId = 1,
                Hello = new Hello { Token = token, DeviceId = "lt-" + index, Platform = Platform.Linux, ClientVersion = "parley-loadtest/1" },
            }.ToByteArray());
            await r._synced.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            KeepAlive.Add(r);
            return r;
        }
        catch (Exception ex)
        {
            await r.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"raw connect of {userId} failed: {ex.GetType().Name}: {ex.Message}", ex);
        }
    }

    // One masked binary frame (the mask key is zero: the server only requires the mask bit), written whole.
    private void Send(byte[] payload)
    {
        var header = payload.Length < 126 ? 6 : 8;
        var frame = new byte[header + payload.Length];
        frame[0] = 0x82;
        if (header == 6)
        {
            frame[1] = (byte)(0x80 | payload.Length);
        }
        else
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }

        payload.CopyTo(frame, header);
        lock (_sendLock)
        {
            _socket.Send(frame);
        }

        Volatile.Write(ref _lastSend, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    public void PingIfDue(long now)
    {
        if (_open && now - Volatile.Read(ref _lastSend) >= PingTicks)
        {
            try
            {
                Send(new ClientFrame { Ping = new Ping { ClientTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } }.ToByteArray());
                LeanConnection.CountPing();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var consumed = Frames(_buffer.AsSpan(0, _filled));
                if (consumed < 0)
                {
                    return; // close frame
                }

                _filled -= consumed;
                if (_filled > 0 && consumed > 0)
                {
                    _buffer.AsSpan(consumed, _filled).CopyTo(_buffer);
                }

                if (_filled == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2); // a frame larger than the buffer (a big sync batch)
                }

                var n = await _socket.ReceiveAsync(_buffer.AsMemory(_filled), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    CloseInfo ??= "closed by the server";
                    return;
                }

                _filled += n;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            CloseInfo ??= ex.GetType().Name;
        }
        finally
        {
            _open = false;
            _synced.TrySetException(new InvalidOperationException("connection ended before sync: " + CloseInfo));
        }
    }

    // Handles every whole frame at the start of data; returns the bytes consumed, or -1 after a close frame.
    private int Frames(ReadOnlySpan<byte> data)
    {
        var consumed = 0;
        while (data.Length - consumed >= 2)
        {
            var frame = data[consumed..];
            var opcode = frame[0] & 0x0F;
            if ((frame[1] & 0x80) != 0 || (frame[0] & 0x80) == 0)
            {
                throw new InvalidDataException("a masked or fragmented server frame");
            }

            var length = (long)(frame[1] & 0x7F);
            var header = 2;
            if (length == 126)
            {
                if (frame.Length < 4)
                {
                    break;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(frame[2..]);
                header = 4;
            }
            else if (length == 127)
            {
                if (frame.Length < 10)
                {
                    break;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(frame[2..]);
                header = 10;
            }

            if (frame.Length - header < length)
            {
                break;
            }

            var payload = frame.Slice(header, (int)length);
            consumed += header + (int)length;
            switch (opcode)
            {
                case 0x2:
                    OnPayload(payload);
                    break;
                case 0x8:
                    CloseInfo = length >= 2 ? $"closed {BinaryPrimitives.ReadUInt16BigEndian(payload)}" : "closed";
                    return -1;
                case 0x9:
                    SendPong(payload);
                    break;
            }
        }

        return consumed;
    }

    private void SendPong(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[6 + payload.Length];
        frame[0] = 0x8A;
        frame[1] = (byte)(0x80 | payload.Length);
        payload.CopyTo(frame.AsSpan(6));
        lock (_sendLock)
        {
            _socket.Send(frame);
        }
    }

    private void OnPayload(ReadOnlySpan<byte> payload)
    {
        if (_synced.Task.IsCompleted && FastFrame.TryText(payload, out var text, out _))
        {
            _ledger?.OnMessage(text);
            return;
        }

        if (!FrameCodec.TryDecodeServer(payload, out var frame))
        {
            return;
        }

        switch (frame.BodyCase)
        {
            case ServerFrame.BodyOneofCase.SyncComplete:
                _synced.TrySetResult();
                break;
            case ServerFrame.BodyOneofCase.Error when !_synced.Task.IsCompleted:
                _synced.TrySetException(new InvalidOperationException($"hello refused: {frame.Error.Code}"));
                break;
            case ServerFrame.BodyOneofCase.Message when frame.Message.Content?.BodyCase == Content.BodyOneofCase.Text:
                _ledger?.OnMessage(frame.Message.Content.Text.Text);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        KeepAlive.Remove(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        try
        {
            await _receive.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
        _ = _synced.Task.Exception; // observed
    }
}
