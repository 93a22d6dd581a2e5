using System.ComponentModel.DataAnnotations;

namespace Parley.Gateway;

/// <summary>Network limits of the WebSocket gateway, bound to <c>Parley:Gateway</c>. Defaults are safe for the public internet.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Parley:Gateway";

    /// <summary>Largest client frame accepted; larger frames close the connection with 1009.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>Time allowed between the WebSocket upgrade and a valid Hello.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often clients are told to send Ping.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>A connection that sends nothing for this long is closed (4010).</summary>
    [Range(typeof(TimeSpan), "00:00:02", "02:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>Frames queued per connection; a live event that finds it full closes the connection (4008) and the client resyncs.</summary>
    [Range(8, 1_000_000)]
    public int OutboxCapacity { get; set; } = 2048;

    /// <summary>Requests one connection may have in progress; reading pauses beyond it.</summary>
    [Range(1, 10_000)]
    public int MaxInFlightRequests { get; set; } = 256;

    /// <summary>Malformed frames tolerated (each answered with BAD_FRAME) before the connection is closed (4009).</summary>
    [Range(0, 1000)]
    public int MaxMalformedFrames { get; set; } = 3;

    /// <summary>Newest messages per conversation sent in a sync; older ones are pulled by the client.</summary>
    [Range(1, 10_000)]
    public int SyncMessagesPerConversation { get; set; } = 200;

    /// <summary>Target size of one SyncBatch frame.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int SyncBatchBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// Accept plain <c>GET /ws</c> WebSocket upgrades below Kestrel's HTTP layer (ADR 0020): an idle connection then holds
    /// no HTTP request (about 7 KB less each) and a login skips the HTTP request pipeline. Other requests, and every
    /// upgrade this does not recognise exactly, are served by the HTTP endpoint as before. False: every upgrade goes
    /// through HTTP.
    /// </summary>
    public bool DirectUpgrade { get; set; } = true;

    /// <summary>
    /// A send that takes longer than this inside the server (frame read to ack written) is counted in
    /// <c>parley_send_slow_total</c> by the hop that took most of its time, and its hops' times are added to
    /// <c>parley_send_slow_time_seconds_total</c> (docs/observability.md). Zero counts every send.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan SlowSendThreshold { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// A diagnostics switch, off (null) by default: a file path. When set, every native send's hop stamps (frame read → ack
    /// written), every live event frame's queue and socket-write times, and the thread pool's queue every millisecond are
    /// kept in rings of <see cref="SendTraceCapacity"/> records and written to this file when the server stops
    /// (docs/observability.md; benchmarks/scripts/send-trace.py reads it with the load generator's timeline).
    /// </summary>
    public string? SendTraceFile { get; set; }

    /// <summary>Records per ring of the send trace (rounded up to a power of two; the oldest are overwritten).</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int SendTraceCapacity { get; set; } = 256 * 1024;

    /// <summary>
    /// Kestrel's <c>UnsafePreferInlineScheduling</c> for the server's listeners (issue 17, stop 44; default false, ADR 0023
    /// proposed): the code a socket's read wakes (the WebSocket receive loop: frame decode, a send's checks and its grain
    /// call) runs on the thread-pool item that completed the read, and a connection's writes reach its socket on the
    /// writer's thread, instead of one more hop each through the pool's global queue (stop 46: about one work item less per
    /// message). On Linux the socket engine's epoll thread never runs this code (it queues each completion to the pool), so a
    /// handler that blocks holds its pool thread as it would without the setting. Read at start-up only. The runtime's own
    /// inlining (the epoll thread runs the continuations) is <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, not this.
    /// </summary>
    public bool InlineSocketScheduling { get; set; }

    /// <summary>Typing events one connection may send per second; more are dropped.</summary>
    [Range(1, 1000)]
    public int TypingPerSecond { get; set; } = 5;
}
