using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Google.Protobuf;
using Parley.Compat.OpenIM.Wire;

namespace Parley.LoadTest;

/// <summary>
/// A minimal OpenIM long-connection client that speaks what <c>@openim/client-sdk</c> 0.0.14 (<c>sdkType=js</c>) speaks
/// (docs/compat-openim.md, §2): the connect arguments in the query string and the handshake result as the first text
/// frame; binary frames of JSON envelopes <c>{reqIdentifier, msgIncr, sendID, operationID, data: base64 protobuf}</c>;
/// a send is 1003 with a <c>MsgData</c> (text 101, content <c>{"content": …}</c>), answered with the same msgIncr; messages
/// arrive as 2001 pushes of <c>PushMessages</c>, the sender's own echo (sender sync) included; text
/// <c>{"type":"ping"}</c> heartbeats answered with a pong. After the handshake it asks 1006 for its conversations, as the
/// SDK does on every connect, and the answer ends the connect. The receive loop is <see cref="LeanConnection"/>'s
/// (<see cref="PooledReceive"/>); the envelope is read with <see cref="Utf8JsonReader"/> (no reflection).
/// </summary>
internal sealed class OpenImConnection : IStepConnection, IAsyncDisposable
{
    public const int WebPlatform = 5;
    public const int SendMsg = 1003;
    public const int GetConvMaxReadSeq = 1006;
    public const int PushMsg = 2001;
    public const int KickOnlineMsg = 2002;
    public const int TextContentType = 101;
    private const int SingleChat = 1;
    private const int MsgFromUser = 100;
    private const int StatusSending = 1;
    private const string SyncIncr = "lt-sync";
    private const string SendOperation = "lt-op-";
    private static ReadOnlySpan<byte> SendOperationPrefix => "lt-op-"u8;
    private static readonly byte[] PingFrame = "{\"type\":\"ping\"}"u8.ToArray();

    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Task _receive = Task.CompletedTask;
    private volatile StepLedger? _ledger;
    private int _pongs;
    private int _echoes;

    private OpenImConnection(int index, string userId)
    {
        Index = index;
        UserId = userId;
        Nickname = "lt " + index.ToString(CultureInfo.InvariantCulture);
    }

    public int Index { get; }

    public string UserId { get; }

    public string Nickname { get; }

    public string? CloseInfo { get; private set; }

    /// <summary>Pongs received (answers to <see cref="PingAsync"/>).</summary>
    public int Pongs => Volatile.Read(ref _pongs);

    /// <summary>The connection's own messages pushed back to it (OpenIM's sender sync).</summary>
    public int Echoes => Volatile.Read(ref _echoes);

    public StepLedger? Ledger
    {
        get => _ledger;
        set => _ledger = value;
    }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    /// <summary>The address of the edge for <paramref name="userId"/>: the SDK's query string, values appended as they are.</summary>
    public static Uri Address(Uri edge, string userId, string token, string operationId) =>
        new($"{edge}?sendID={userId}&token={token}&platformID={WebPlatform}&operationID={operationId}&isBackground=false&isMsgResp=true&sdkType=js");

    /// <summary>Connects to <paramref name="edge"/> (the WebSocket URL of the OpenIM edge), waits for the handshake result and the 1006 answer.</summary>
    public static async Task<OpenImConnection> ConnectAsync(Uri edge, int index, string userId, string token, TimeSpan timeout)
    {
        var c = new OpenImConnection(index, userId);
        c._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await c._socket.ConnectAsync(Address(edge, userId, token, "lt-connect-" + index.ToString(CultureInfo.InvariantCulture)), cts.Token).ConfigureAwait(false);
            c._receive = c.ReceiveLoopAsync();
            await c._handshake.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            var sync = new GetConversationsHasReadAndMaxSeqReq { UserID = userId };
            await c.SendAsync(Envelope(GetConvMaxReadSeq, SyncIncr, userId, "lt-sync-" + index.ToString(CultureInfo.InvariantCulture), sync.ToByteArray())).ConfigureAwait(false);
            await c._synced.Task.WaitAsync(cts.Token).ConfigureAwait(false);
            return c;
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A 1:1 text message to <paramref name="recvId"/> as the SDK's sendMessage builds it: MsgData with the sender's
    /// platform and nickname, sessionType 1, msgFrom 100, contentType 101, status 1 (sending), no options; the envelope's
    /// msgIncr is <paramref name="requestId"/> in decimal, which the answer carries back.
    /// </summary>
    public byte[] TextMessage(uint requestId, string recvId, string clientMsgId, string text, long createTimeMs)
    {
        var content = new ArrayBufferWriter<byte>(text.Length + 16);
        using (var writer = new Utf8JsonWriter(content))
        {
            writer.WriteStartObject();
            writer.WriteString("content", text);
            writer.WriteEndObject();
        }

        var data = new MsgData
        {
            SendID = UserId,
            RecvID = recvId,
            ClientMsgID = clientMsgId,
            SenderPlatformID = WebPlatform,
            SenderNickname = Nickname,
            SessionType = SingleChat,
            MsgFrom = MsgFromUser,
            ContentType = TextContentType,
            Content = ByteString.CopyFrom(content.WrittenSpan),
            CreateTime = createTimeMs,
            Status = StatusSending,
        };
        var incr = requestId.ToString(CultureInfo.InvariantCulture);
        return Envelope(SendMsg, incr, UserId, SendOperation + incr, data.ToByteArray());
    }

    /// <summary>A request envelope: <c>{reqIdentifier, msgIncr, sendID, operationID, data}</c>, data as padded base64.</summary>
    public static byte[] Envelope(int reqIdentifier, string msgIncr, string sendId, string operationId, ReadOnlySpan<byte> data)
    {
        var buffer = new ArrayBufferWriter<byte>(96 + msgIncr.Length + sendId.Length + operationId.Length + Base64.GetMaxEncodedToUtf8Length(data.Length));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("reqIdentifier", reqIdentifier);
            writer.WriteString("msgIncr", msgIncr);
            writer.WriteString("sendID", sendId);
            writer.WriteString("operationID", operationId);
            writer.WriteBase64String("data", data);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The SDK's heartbeat: a text frame <c>{"type":"ping"}</c> (it sends one every 10 s).</summary>
    public ValueTask PingAsync() => SendAsync(PingFrame, text: true);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> frame, bool text = false)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(frame, text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, _stop.Token).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            await PooledReceive.RunAsync(_socket, OnMessage, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidDataException or JsonException or InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            CloseInfo ??= ex.GetType().Name;
        }
        finally
        {
            if (_socket.CloseStatus is { } status)
            {
                CloseInfo = $"closed {(int)status} {_socket.CloseStatusDescription}";
            }

            _handshake.TrySetException(new InvalidOperationException("connection ended before the handshake result: " + CloseInfo));
            _synced.TrySetException(new InvalidOperationException("connection ended before the 1006 answer: " + CloseInfo));
        }
    }

    private void OnMessage(ReadOnlySpan<byte> message, WebSocketMessageType type)
    {
        if (type == WebSocketMessageType.Text)
        {
            OnText(message);
        }
        else
        {
            OnEnvelope(message);
        }
    }

    /// <summary>A text frame: the handshake result <c>{"errCode":…}</c> first, then pongs <c>{"type":"pong"}</c>.</summary>
    private void OnText(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        int? errCode = null;
        string? errMsg = null;
        var pong = false;
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueTextEquals("errCode"u8) ? 1 : reader.ValueTextEquals("errMsg"u8) ? 2 : reader.ValueTextEquals("type"u8) ? 3 : 0;
                reader.Read();
                switch (name)
                {
                    case 1 when reader.TokenType == JsonTokenType.Number:
                        errCode = reader.GetInt32();
                        break;
                    case 2 when reader.TokenType == JsonTokenType.String:
                        errMsg = reader.GetString();
                        break;
                    case 3 when reader.TokenType == JsonTokenType.String:
                        pong = reader.ValueTextEquals("pong"u8);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }

        if (pong)
        {
            Interlocked.Increment(ref _pongs);
        }
        else if (errCode == 0)
        {
            _handshake.TrySetResult();
        }
        else if (errCode is { } code)
        {
            _handshake.TrySetException(new InvalidOperationException($"handshake refused: errCode {code} {errMsg}"));
        }
    }

    /// <summary>A server envelope <c>{reqIdentifier, msgIncr, operationID, errCode, errMsg, data}</c>.</summary>
    private void OnEnvelope(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        var reqIdentifier = 0;
        var errCode = 0;
        uint requestId = 0;
        var sync = false;
        var echo = false;
        byte[]? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("reqIdentifier"u8))
            {
                reader.Read();
                reqIdentifier = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : 0;
            }
            else if (reader.ValueTextEquals("msgIncr"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                {
                    sync = reader.ValueTextEquals(SyncIncr);
                    if (!sync && (!Utf8Parser.TryParse(reader.ValueSpan, out requestId, out var consumed) || consumed != reader.ValueSpan.Length))
                    {
                        requestId = 0;
                    }
                }
            }
            else if (reader.ValueTextEquals("operationID"u8))
            {
                reader.Read();
                // The push of the sender's own message carries the send's operationID (as OpenIM's sender sync does).
                echo = reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.StartsWith(SendOperationPrefix);
            }
            else if (reader.ValueTextEquals("errCode"u8))
            {
                reader.Read();
                errCode = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : -1;
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                // An echo's data is not decoded: the generator spends its CPU on the deliveries it measures.
                data = reader.TokenType == JsonTokenType.String && !(echo && reqIdentifier == PushMsg) ? reader.GetBytesFromBase64() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        switch (reqIdentifier)
        {
            case SendMsg when requestId != 0:
                if (errCode == 0)
                {
                    _ledger?.OnAck(requestId);
                }
                else
                {
                    _ledger?.OnRefused(requestId);
                }

                break;
            case PushMsg when echo:
                Interlocked.Increment(ref _echoes);
                break;
            case PushMsg when data is not null:
                OnPush(PushMessages.Parser.ParseFrom(data));
                break;
            case GetConvMaxReadSeq when sync:
                if (errCode == 0)
                {
                    _synced.TrySetResult();
                }
                else
                {
                    _synced.TrySetException(new InvalidOperationException($"1006 refused: errCode {errCode}"));
                }

                break;
            case KickOnlineMsg:
                CloseInfo = "kicked (2002)";
                break;
        }
    }

    private void OnPush(PushMessages push)
    {
        var ledger = _ledger;
        foreach (var pulled in push.Msgs.Values)
        {
            foreach (var message in pulled.Msgs)
            {
                if (message.SendID == UserId)
                {
                    // Sender sync: the server pushes the sender's own message back (how the SDK learns its seq); not a delivery.
                    Interlocked.Increment(ref _echoes);
                    continue;
                }

                if (message.ContentType == TextContentType && ledger is not null && ContentText(message.Content.Span) is { } text)
                {
                    ledger.OnMessage(text);
                }
            }
        }
    }

    /// <summary>The <c>content</c> of a text element <c>{"content": …}</c>.</summary>
    private static string? ContentText(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isContent = reader.ValueTextEquals("content"u8);
            reader.Read();
            if (isContent && reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString();
            }

            reader.Skip();
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _receive.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        _socket.Abort();
        _socket.Dispose();
        _sendLock.Dispose();
        _stop.Dispose();
        _ = _handshake.Task.Exception; // observed
        _ = _synced.Task.Exception;
    }
}
