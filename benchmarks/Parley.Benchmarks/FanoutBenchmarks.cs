using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Parley.Protocol.V1;

namespace Parley.Benchmarks;

/// <summary>
/// Fan-out as ConnectionRegistry.Fanout does it: serialise the event once, then TryWrite the same bytes into N
/// bounded single-reader outboxes (capacity 2048, as GatewayOptions.OutboxCapacity). Each operation also drains the
/// outboxes (what the per-connection send loops' TryRead does) so they never fill; socket writes are not included.
/// </summary>
[MemoryDiagnoser]
public class FanoutBenchmarks
{
    private Channel<byte[]>[] _outboxes = null!;
    private ServerFrame _event = null!;

    [Params(1, 100, 1000)]
    public int Connections { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _outboxes = [.. Enumerable.Range(0, Connections).Select(_ => Channel.CreateBounded<byte[]>(new BoundedChannelOptions(2048) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait }))];
        _event = new ServerFrame
        {
            Message = new Message
            {
                ConversationId = "sg_benchmark-group",
                Seq = 42,
                ServerMsgId = Guid.CreateVersion7().ToString("N"),
                ClientMsgId = "cm-42",
                SenderId = "user-000042",
                ServerTime = 1_790_000_000_000,
                Content = new Content { Text = new TextContent { Text = new string('x', 100) } },
                Version = 4242,
            },
        };
    }

    [Benchmark]
    public int SerializeOnceAndEnqueue()
    {
        var bytes = _event.ToByteArray();
        var queued = 0;
        foreach (var outbox in _outboxes)
        {
            queued += outbox.Writer.TryWrite(bytes) ? 1 : 0;
        }

        foreach (var outbox in _outboxes)
        {
            outbox.Reader.TryRead(out _);
        }

        return queued;
    }
}
