namespace Parley.Core.Telemetry;

/// <summary>
/// Where one send's time goes inside the server (issue 17): a <see cref="System.Diagnostics.Stopwatch"/> timestamp at each
/// hop, from its frame read on the connection to its ack written to the sender's socket. The gateway rents one per native
/// send and records the hops once the ack is written (<c>parley_send_hop_duration_seconds</c>, docs/observability.md); the
/// conversation grain and the commit pipeline stamp theirs when the grain runs in this process (the object travels in
/// <see cref="Messaging.SendCommand.Times"/>, never serialized: a send whose grain is on another node has no grain stamps
/// and is not recorded). Zero means "not reached". Stamps only, no logic: the hops are contiguous, so they add up to the
/// whole time in the server.
/// </summary>
public sealed class SendTimes
{
    /// <summary>The send's frame was read whole from the socket.</summary>
    public long Received { get; set; }

    /// <summary>The request handler started the send (after decoding, the rate limits and the in-flight slot).</summary>
    public long Handled { get; set; }

    /// <summary>The conversation grain's turn started (after the content checks, the Orleans call and its queue).</summary>
    public long Turn { get; set; }

    /// <summary>The message was handed to the commit pipeline (after the grain's ordered section: authorisation, dedup, seq).</summary>
    public long Submitted { get; set; }

    /// <summary>The pipeline's writer took the message's batch (after the previous group commit).</summary>
    public long Taken { get; set; }

    /// <summary>The batch was durable (the store's transaction and fsync, the SQLite writer's queue included).</summary>
    public long Durable { get; set; }

    /// <summary>The dispatch loop finished the message's fan-out (live delivery queued, push handed over).</summary>
    public long FannedOut { get; set; }

    /// <summary>The grain's continuation after the commit ran (the grain's scheduler).</summary>
    public long Resumed { get; set; }

    /// <summary>The gateway's continuation got the grain's answer (the Orleans response and the thread pool).</summary>
    public long Returned { get; set; }

    /// <summary>The send's client message id (a reference to the request's string), for the gateway's send trace.</summary>
    public string? ClientMsgId { get; set; }

    /// <summary>The version the commit gave the message (its live event frames carry it), for the gateway's send trace.</summary>
    public long Version { get; set; }

    /// <summary>Clears every stamp (a pooled object is reused).</summary>
    public void Reset()
    {
        Received = Handled = Turn = Submitted = Taken = Durable = FannedOut = Resumed = Returned = Version = 0;
        ClientMsgId = null;
    }
}
