using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Benchmarks;

/// <summary>Encode/decode of the frames on the send path: the client's Send, the server's Message event and SendAck.</summary>
[MemoryDiagnoser]
public class FrameCodecBenchmarks
{
    private ClientFrame _send = null!;
    private ServerFrame _message = null!;
    private ServerFrame _ack = null!;
    private byte[] _sendBytes = null!;
    private byte[] _messageBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var content = new Content { Text = new TextContent { Text = new string('x', 100) } };
        _send = new ClientFrame
        {
            RequestId = 4711,
            Send = new SendRequest { ClientMsgId = "0b7d5c1e-8f63-4c1a-9d21-6a3f0e9b2c44", Target = new Target { UserId = "user-000123" }, Content = content },
        };
        _message = new ServerFrame
        {
            Message = new Message
            {
                ConversationId = Ids.DirectConversationId("user-000042", "user-000123"),
                Seq = 123_456,
                ServerMsgId = Guid.CreateVersion7().ToString("N"),
                ClientMsgId = _send.Send.ClientMsgId,
                SenderId = "user-000042",
                ServerTime = 1_790_000_000_000,
                Content = content,
                Version = 9_876_543,
            },
        };
        _ack = new ServerFrame
        {
            RequestId = 4711,
            SendAck = new SendAck { ConversationId = _message.Message.ConversationId, Seq = 123_456, ServerMsgId = _message.Message.ServerMsgId, ServerTime = 1_790_000_000_000, Version = 9_876_543 },
        };
        _sendBytes = FrameCodec.Encode(_send);
        _messageBytes = FrameCodec.Encode(_message);
    }

    [Benchmark]
    public byte[] EncodeSend() => FrameCodec.Encode(_send);

    [Benchmark]
    public ClientFrame DecodeSend() => FrameCodec.TryDecodeClient(_sendBytes, out var f) ? f : throw new InvalidOperationException();

    [Benchmark]
    public byte[] EncodeMessageEvent() => FrameCodec.Encode(_message);

    [Benchmark]
    public ServerFrame DecodeMessageEvent() => FrameCodec.TryDecodeServer(_messageBytes, out var f) ? f : throw new InvalidOperationException();

    [Benchmark]
    public byte[] EncodeAck() => _ack.ToByteArray();
}
