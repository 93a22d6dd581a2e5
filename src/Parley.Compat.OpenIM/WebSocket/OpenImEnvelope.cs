using System.Buffers;
using System.Text.Json;
using Google.Protobuf;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>OpenIM's request codes on the long connection (msggateway constant.go; the JS SDK's enum names differ for 1002/1005).</summary>
internal static class OpenImReq
{
    public const int GetNewestSeq = 1001;
    public const int PullMsgByRange = 1002;
    public const int SendMsg = 1003;
    public const int PullMsgBySeqList = 1005;
    public const int GetConvMaxReadSeq = 1006;
    public const int PushMsg = 2001;
    public const int KickOnlineMsg = 2002;
    public const int Logout = 2003;
    public const int SetBackgroundStatus = 2004;
    public const int SubUserOnlineStatus = 2005;
}

/// <summary>A client request: <c>{reqIdentifier, msgIncr, sendID, operationID, data: base64 protobuf}</c>.</summary>
internal sealed record OpenImRequest(int ReqIdentifier, string MsgIncr, string SendId, string OperationId, byte[] Data)
{
    /// <summary>For a send (1003): the MsgData decoded from <see cref="Data"/> when it parsed.</summary>
    public Wire.MsgData? Message { get; init; }
}

/// <summary>Reads and writes the JSON envelopes of OpenIM's JS encoding (binary frames of UTF-8 JSON).</summary>
internal static class OpenImEnvelope
{
    private const int MaxIdLength = 128;

    /// <summary>Parses a client frame; returns null and an error message when it is not a valid envelope.</summary>
    public static OpenImRequest? TryParse(ReadOnlySpan<byte> utf8, out string? error)
    {
        error = null;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "the frame must be a JSON object";
                return null;
            }

            int? reqIdentifier = null;
            string msgIncr = string.Empty, sendId = string.Empty, operationId = string.Empty;
            byte[] data = [];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "reqIdentifier" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var code):
                        reqIdentifier = code;
                        break;
                    case "msgIncr" when reader.TokenType == JsonTokenType.String:
                        msgIncr = reader.GetString() ?? string.Empty;
                        break;
                    case "sendID" when reader.TokenType == JsonTokenType.String:
                        sendId = reader.GetString() ?? string.Empty;
                        break;
                    case "operationID" when reader.TokenType == JsonTokenType.String:
                        operationId = reader.GetString() ?? string.Empty;
                        break;
                    case "data" when reader.TokenType == JsonTokenType.String:
                        data = reader.GetBytesFromBase64();
                        break;
                    case "data" when reader.TokenType == JsonTokenType.Null:
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (reqIdentifier is null || msgIncr.Length is 0 or > MaxIdLength || sendId.Length == 0 || operationId.Length is 0 or > MaxIdLength)
            {
                error = "reqIdentifier, msgIncr, sendID and operationID are required";
                return null;
            }

            return new OpenImRequest(reqIdentifier.Value, msgIncr, sendId, operationId, data);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            error = "the frame is not valid JSON with a base64 data field";
            return null;
        }
    }

    /// <summary>A server frame: <c>{reqIdentifier, msgIncr, operationID, errCode, errMsg, data}</c>; data is padded base64 or null.</summary>
    public static byte[] Response(int reqIdentifier, string msgIncr, string operationId, int errCode, string errMsg, IMessage? data)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("reqIdentifier", reqIdentifier);
            writer.WriteString("msgIncr", msgIncr);
            writer.WriteString("operationID", operationId);
            writer.WriteNumber("errCode", errCode);
            writer.WriteString("errMsg", errMsg);
            if (data is null)
            {
                writer.WriteNull("data");
            }
            else
            {
                writer.WriteBase64String("data", data.ToByteArray());
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The handshake result, sent as a text frame: <c>{"errCode":0,"errMsg":"","errDlt":""}</c>.</summary>
    public static byte[] HandshakeResult(int errCode, string errMsg)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("errCode", errCode);
            writer.WriteString("errMsg", errMsg);
            writer.WriteString("errDlt", string.Empty);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static readonly byte[] Pong = "{\"type\":\"pong\",\"body\":null}"u8.ToArray();

    /// <summary>The <c>type</c> of a text frame (<c>{"type":"ping"}</c>), or null when it is not such an object.</summary>
    public static string? TextType(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                if (name == "type" && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.Skip();
            }

            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 (GetString transcodes); found by OpenImFuzzTests.
            return null;
        }
    }
}
