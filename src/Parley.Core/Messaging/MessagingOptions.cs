using System.ComponentModel.DataAnnotations;

namespace Parley.Core;

/// <summary>Messaging behaviour, bound to <c>Parley:Messaging</c>.</summary>
public sealed class MessagingOptions
{
    public const string Section = "Parley:Messaging";

    /// <summary>How long after sending a sender may revoke a message.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RevokeWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Largest serialized message content accepted.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxContentBytes { get; set; } = 16 * 1024;

    /// <summary>Largest ordinary (write-diffusion) group.</summary>
    [Range(2, 100_000)]
    public int MaxGroupMembers { get; set; } = 2000;

    /// <summary>Largest super group or channel (read diffusion, ADR 0017).</summary>
    [Range(2, 10_000_000)]
    public int MaxSuperGroupMembers { get; set; } = 1_000_000;

    /// <summary>
    /// An ordinary group that grows past this many members becomes a super group (0 = never automatically; the admin
    /// API promotes explicitly). Must not exceed <see cref="MaxGroupMembers"/> to take effect before the cap refuses.
    /// </summary>
    [Range(0, 100_000)]
    public int SuperGroupPromotionThreshold { get; set; }

    /// <summary>
    /// A super group refuses a new send at once (Unavailable, nothing stored, the client retries) while the oldest of its
    /// sends still waiting for their commit has waited longer than this (issue 12): an overloaded node answers fast instead
    /// of queueing sends behind its commits and fan-out until Orleans' 30 s response timeout.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:25")]
    public TimeSpan SuperGroupSendQueueLimit { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest a super-group send waits for its commit (and the dispatch before it) before it is answered Unavailable. It
    /// may still be stored: a retry with the same client message id returns its ack. Below Orleans' 30 s response timeout.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:25")]
    public TimeSpan SuperGroupSendAckTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Newest messages per conversation kept in memory.</summary>
    [Range(0, 100_000)]
    public int HotTailSize { get; set; } = 256;

    /// <summary>Conversations with at most this many messages load all dedup keys on activation, so a send needs no lookup.</summary>
    [Range(0, 1_000_000)]
    public int DedupPreloadLimit { get; set; } = 4096;

    [Range(1, 1000)]
    public int HistoryDefaultLimit { get; set; } = 50;

    [Range(1, 1000)]
    public int HistoryMaxLimit { get; set; } = 200;

    /// <summary>Largest number of work items in one group commit.</summary>
    [Range(1, 100_000)]
    public int MaxCommitBatch { get; set; } = 1024;

    /// <summary>
    /// While a committed batch is fanned out, its recipients' send loops are woken once every this many of its messages
    /// (and at its end) instead of at each recipient's first frame (issue 17: fewer wake-ups and socket writes per frame
    /// in a busy group); 1 (the default until a quiet A/B shows it) wakes at once, as before stop 43.
    /// </summary>
    [Range(1, 1024)]
    public int FanOutWakeEntries { get; set; } = 1;

    /// <summary>How long after sending a sender may edit a text message (0 = edits are off).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Most edits of one message.</summary>
    [Range(1, 1000)]
    public int MaxEditsPerMessage { get; set; } = 50;

    /// <summary>Members may read a message's earlier revisions (the sender always may).</summary>
    public bool EditHistoryVisible { get; set; } = true;

    /// <summary>Longest reaction, in UTF-8 bytes (one emoji, including skin tones and joined sequences).</summary>
    [Range(4, 64)]
    public int MaxReactionBytes { get; set; } = 32;

    /// <summary>Most distinct emoji on one message.</summary>
    [Range(1, 100)]
    public int MaxDistinctReactions { get; set; } = 20;

    /// <summary>Most distinct emoji one user may have on one message.</summary>
    [Range(1, 100)]
    public int MaxReactionsPerUser { get; set; } = 3;

    /// <summary>Most members one message may mention by id.</summary>
    [Range(1, 10_000)]
    public int MaxMentions { get; set; } = 100;

    /// <summary>Most @all messages per group per hour (owners and admins only).</summary>
    [Range(0, 1000)]
    public int MentionAllPerHour { get; set; } = 5;

    /// <summary>
    /// Whether the server keeps a full-text index of message texts (ADR 0019). Off: no text is queued or indexed at the
    /// commit, edits leave the index alone, and a search is refused with Unsupported, for deployments that must not keep a
    /// second, searchable copy of what users write, or do not need server-side search. Texts queued while it was on stay
    /// queued and are indexed when it is turned on again; an index already written stays until then (erasure and revoke
    /// still remove rows from it).
    /// </summary>
    public bool FullTextSearch { get; set; } = true;

    /// <summary>Shortest full-text search query, in characters (the trigram indexes need three).</summary>
    [Range(3, 100)]
    public int SearchMinQueryChars { get; set; } = 3;

    /// <summary>
    /// How often the search indexer looks for queued texts when the last look found less than a batch (ADR 0019); a
    /// search indexes whatever is still queued first, so this bounds the index's lag, not what a search sees.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan SearchIndexInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most index matches one search page looks at after its cursor, the ones its user may not see included: bounds the cost
    /// of a very common word. A page that reaches it with fewer hits than asked is returned as it is, with a next-page token;
    /// one that reaches it with none is refused (InvalidArgument: add words or search one conversation).
    /// </summary>
    [Range(10, 10_000_000)]
    public int SearchScanLimit { get; set; } = 5_000;

    /// <summary>
    /// Whether a native WebSocket text send (no before-send hook, not media) is a one-way grain call answered on the
    /// connection's own path (ADR 0022) instead of an Orleans request/response. REST, the OpenIM edge, media and hooked
    /// sends always take the request/response call. On by default since stop 43 (issue 17: 1.45 KB less allocated per warm
    /// 1:1 message); <c>false</c> puts every send back on the request/response call.
    /// </summary>
    public bool OneWaySend { get; set; } = true;

    /// <summary>
    /// How long a one-way send (<see cref="OneWaySend"/>) waits for its answer before the gateway answers it Unavailable
    /// ("retry"; never an ack: the message may still be stored, and the retry is deduplicated). Orleans' response timeout
    /// for the request/response call.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Most send work outstanding on this node (ADR 0031), counted from a send's admission until its grain's answer (not
    /// <see cref="AckTimeout"/>'s); past it a new send is refused at once with Unavailable and a retry-after
    /// (<see cref="BusyRetryAfter"/>), before any work. 0: no bound (a node that is behind then holds every queued send in
    /// memory: stop 45's soak grew to 13 GB).
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxOutstandingSends { get; set; } = 20_000;

    /// <summary>
    /// With <see cref="MaxOutstandingSendAge"/>, the count bound is this node's drain rate (sends answered per second, measured
    /// each second) times that age, never above <see cref="MaxOutstandingSends"/> and never below this (ADR 0035, stop 48): a
    /// burst after a quiet second, whose drain rate says nothing of the node's capacity, is admitted up to here.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MinOutstandingSends { get; set; } = 2_000;

    /// <summary>
    /// The bound in time of outstanding send work (ADR 0035): while at least <see cref="Messaging.SendBacklog.AgeTolerance"/> (16) one-way
    /// sends admitted within <see cref="AckTimeout"/> are older than this, a new send is refused as
    /// <see cref="MaxOutstandingSends"/> refuses it (Unavailable with a retry-after, before any work). 5 s: above the
    /// spikes of a node that keeps up (stop 46's soak: p99.9 2.0 s, max 2.3 s), half the SDK's 10-s request timeout (past
    /// which its clients re-send), while a core starved to 300 msg/s would take 60 s to drain the count bound. 0: none.
    /// Below <see cref="AckTimeout"/> to have an effect.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxOutstandingSendAge { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The retry-after of a busy refusal (<see cref="MaxOutstandingSends"/>), with ±50 % jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan BusyRetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most queued texts the search indexer indexes in one write.</summary>
    [Range(1, 100_000)]
    public int SearchIndexBatch { get; set; } = 500;
}
