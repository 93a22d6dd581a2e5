// decode (stop 48, alloc): the exact bytes a warm text send's decode allocates, the protobuf way (base48's gateway:
// FrameCodec.TryDecodeClient, then ProtoMapper.Serialize's array of the parsed content for the row) against ADR 0027's
// reader (SendFrameReader.TryRead, the content copied once, and the ClientFrame/SendRequest the gateway dispatches). The
// frame is the generator's chat send (a 100-byte text, a client message id, a user target), with and without two mentions.
// Built against one build's Parley.Protocol.dll; the SendRequest object of that build is larger than base48's by the
// content-bytes field (sizes.txt has both), which the summary line subtracts from the protobuf path.
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

var text = "chat-1234567:1765140000000:" + new string('x', 100 - 27);
Run("generator's chat send (100-byte text, user target)", new TextContent { Text = text });
Run("the same with two mentions and mention_all", new TextContent { Text = text, MentionUserIds = { "u17", "u42" }, MentionAll = true });

static void Run(string what, TextContent body)
{
    var frame = new ClientFrame
    {
        RequestId = 123457,
        Send = new SendRequest { ClientMsgId = "m-0-123456", Target = new Target { UserId = "lt-u-000917" }, Content = new Content { Text = body } },
    }.ToByteArray();

    long Protobuf()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        FrameCodec.TryDecodeClient(frame, out var request);
        var content = request.Send.Content;
        var row = new byte[content.CalculateSize()]; // ProtoMapper.Serialize
        content.WriteTo(row.AsSpan());
        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(row);
        return after - before;
    }

    long Reader()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        if (!SendFrameReader.TryRead(frame, out var requestId, out var clientMsgId, out var target, out var content))
        {
            throw new InvalidOperationException("not read");
        }

        // The gateway's dispatch (NativeConnectionHandler.Decode): a ClientFrame with a SendRequest (the bytes set on it:
        // an inline field, nothing allocated).
        var request = new ClientFrame { RequestId = requestId, Send = new SendRequest { ClientMsgId = clientMsgId, Target = target } };
        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(request);
        GC.KeepAlive(content.Content);
        return after - before;
    }

    for (var i = 0; i < 1000; i++) { Protobuf(); Reader(); }
    long p = long.MaxValue, r = long.MaxValue;
    for (var i = 0; i < 100; i++) { p = Math.Min(p, Protobuf()); r = Math.Min(r, Reader()); }
    long Size(Type t) { RuntimeHelpers.GetUninitializedObject(t); var a = GC.GetAllocatedBytesForCurrentThread(); RuntimeHelpers.GetUninitializedObject(t); return GC.GetAllocatedBytesForCurrentThread() - a; }
    Console.WriteLine($"{what}: frame {frame.Length} B, content {new Content { Text = body }.CalculateSize()} B");
    Console.WriteLine($"  protobuf decode + Serialize's array: {p} B (this build's SendRequest {Size(typeof(SendRequest))} B)");
    Console.WriteLine($"  ADR 0027 reader + content copy + ClientFrame/SendRequest: {r} B");
}
