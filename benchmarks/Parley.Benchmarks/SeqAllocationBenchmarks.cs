using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;

namespace Parley.Benchmarks;

/// <summary>
/// The in-grain allocation step of ConversationGrain.SendAsync, isolated (the grain itself is internal and needs a
/// silo): dedup lookup on (sender, clientMsgId), seq increment, a version-7 GUID server id, the content serialised
/// once and the StoredMessage record. The grain call and the commit are measured elsewhere (load test, store benchmark).
/// </summary>
[MemoryDiagnoser]
public class SeqAllocationBenchmarks
{
    private readonly Dictionary<(string Sender, string ClientMsgId), long> _dedup = [];
    private readonly Content _content = new() { Text = new TextContent { Text = new string('x', 100) } };
    private string[] _clientMsgIds = null!;
    private long _nextSeq = 1;
    private int _i;

    [GlobalSetup]
    public void Setup() => _clientMsgIds = [.. Enumerable.Range(0, 16_384).Select(i => "cm-" + i)];

    [Benchmark]
    public StoredMessage Allocate()
    {
        var clientMsgId = _clientMsgIds[_i++ & 16_383];
        if (_dedup.Count >= 16_384)
        {
            _dedup.Clear(); // the grain trims completed entries at the same size
        }

        var key = ("user-000042", clientMsgId);
        if (_dedup.TryGetValue(key, out _))
        {
            _dedup.Remove(key);
        }

        var seq = _nextSeq++;
        _dedup[key] = seq;
        return new StoredMessage("si_user-000042_user-000123", seq, Guid.CreateVersion7().ToString("N"), "user-000042", clientMsgId, 1_790_000_000_000, (int)Content.BodyOneofCase.Text, _content.ToByteArray(), false, 0);
    }
}
