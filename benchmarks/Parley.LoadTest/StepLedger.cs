using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// Accounts for every message of one step: send time, ack state and delivery count per message, plus latency
/// histograms. The send timestamp travels inside the message text (one monotonic clock: this process's Stopwatch).
/// </summary>
internal sealed class StepLedger : IFrameSink
{
    private const int Unanswered = 0;
    private const int Acked = 1;
    private const int Refused = 2;
    private const int SendFailed = 3;
    private readonly long[] _sendTs;
    private readonly int[] _delivered;
    private readonly int[] _ack;
    private long _issued;
    private long _deliveries;
    private long _acks;
    private long _errors;
    private long _busy;
    private long _duplicates;
    private long _stale;
    private long _sendFailed;
    private long _resent;
    private long _retried;
    private long _busyRetried;
    private long _syncDeliveries;
    private readonly bool _reconnect;

    // With keepFrames (--reconnect) or retryBusy (--retry-busy): each send's frame and connection slot, and how often it was retried.
    private readonly byte[]?[]? _frames;
    private readonly int[]? _slot;
    private readonly int[]? _tries;

    /// <param name="keepFrames">
    /// --reconnect: keep every send's frame to resend it after its connection's reconnect, or retry it after a transient
    /// error; answers to a send whose write failed count; the resume's sync batches count as deliveries.
    /// </param>
    /// <param name="timeline">--timeline-out: keep each message's ack and first delivery time (<see cref="WriteTimeline"/>).</param>
    /// <param name="retryBusy">--retry-busy: keep every send's frame to send it again after a busy refusal (<see cref="RetryBusy"/>).</param>
    public StepLedger(int stepId, int capacity, int expectedPerMessage, bool recordAcks = false, bool keepFrames = false, bool timeline = false, bool retryBusy = false)
    {
        _reconnect = keepFrames;
        AckedLog = recordAcks ? new ConcurrentQueue<string>() : null;
        if (timeline)
        {
            _ackAt = new long[capacity];
            _firstDeliveryAt = new long[capacity];
            _writtenAt = new long[capacity];
        }

        if (keepFrames || retryBusy)
        {
            _frames = new byte[capacity][];
            _slot = new int[capacity];
            _tries = new int[capacity];
        }

        StepId = stepId;
        Capacity = capacity;
        Expected = expectedPerMessage;
        _sendTs = new long[capacity];
        _delivered = new int[capacity];
        _ack = new int[capacity];
        Prefix = string.Create(CultureInfo.InvariantCulture, $"LT{stepId}-{ProcessNonce}:");
        _prefixUtf8 = System.Text.Encoding.ASCII.GetBytes(Prefix);
    }

    private readonly byte[] _prefixUtf8;

    // With a timeline: each message's ack and first delivery (Stopwatch timestamps; 0 until they happen).
    private readonly long[]? _ackAt;

    // With a timeline: when the message's send returned (its frame written to the socket; stop 44).
    private readonly long[]? _writtenAt;
    private readonly long[]? _firstDeliveryAt;

    /// <summary>
    /// Random per generator process: a step's client message ids and text prefix are unique across processes, so a run
    /// against a store an earlier run wrote (a prepared store opened in place) is neither answered by the server's
    /// <c>clientMsgId</c> dedup with the earlier run's acks nor counts the earlier run's messages, synced at login, as its own.
    /// </summary>
    private static readonly string ProcessNonce = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    /// <summary>The client message id of message <paramref name="idx"/> of this step (<paramref name="kind"/> names the scenario).</summary>
    public string ClientMsgId(char kind, int idx) => string.Create(CultureInfo.InvariantCulture, $"{kind}{StepId}-{ProcessNonce}-{idx}");

    public int StepId { get; }

    public int Capacity { get; }

    public int Expected { get; }

    public string Prefix { get; }

    /// <summary>Messages sent at or after this Stopwatch timestamp are recorded in the histograms.</summary>
    public long MeasureFrom { get; set; } = long.MaxValue;

    public LatencyHistogram Delivery { get; } = new();

    public LatencyHistogram Ack { get; } = new();

    /// <summary>How late each measured send left against the sender loop's schedule (µs; the generator's own delay).</summary>
    public LatencyHistogram SendLag { get; } = new();

    public long Issued => Math.Min(Interlocked.Read(ref _issued), Capacity);

    public long Deliveries => Interlocked.Read(ref _deliveries);

    public long Acks => Interlocked.Read(ref _acks);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Sends refused as busy (ADR 0031; among <see cref="Errors"/>).</summary>
    public long Busy => Interlocked.Read(ref _busy);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Stale => Interlocked.Read(ref _stale);

    /// <summary>Sends that could not be written (the connection had died: a node of the cluster was killed).</summary>
    public long SendsFailed => Interlocked.Read(ref _sendFailed);

    /// <summary>Unanswered sends written again on a reconnected connection (same request and client message id).</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Sends answered with a transient error (Internal, Unavailable) and sent again, as the SDK does.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Busy refusals answered by sending the message again (--retry-busy); a message refused twice counts twice.</summary>
    public long BusyRetried => Interlocked.Read(ref _busyRetried);

    /// <summary>
    /// --retry-busy: called for a send refused as busy (<see cref="IsBusy"/>; at most <see cref="MaxTries"/> times a message)
    /// with its index, connection slot, frame, the attempt (0 for the first retry) and the refusal's retry-after (ms); the
    /// caller sends it again after the SDK's wait.
    /// </summary>
    public Action<int, int, byte[], int, uint>? RetryBusy { get; set; }

    /// <summary>Deliveries that came in a resume's sync rather than live (a recipient's connection was re-established).</summary>
    public long SyncDeliveries => Interlocked.Read(ref _syncDeliveries);

    /// <summary>
    /// With keepFrames: called for a send answered with a transient error (at most <see cref="MaxTries"/> times a message)
    /// with its index, connection slot and frame; the caller sends it again after a back-off.
    /// </summary>
    public Action<int, int, byte[]>? RetryTransient { get; set; }

    public const int MaxTries = 100;

    /// <summary>With recordAcks: every acknowledged message as "conversation seq serverMsgId".</summary>
    public ConcurrentQueue<string>? AckedLog { get; }

    /// <summary>Reserves the next message index, or -1 when the step's bounded capacity is used up.</summary>
    public int Reserve()
    {
        var idx = Interlocked.Increment(ref _issued) - 1;
        return idx < Capacity ? (int)idx : -1;
    }

    public uint RequestId(int idx) => ((uint)StepId << 24) | (uint)(idx + 1);

    public void MarkSent(int idx, long timestamp) => Volatile.Write(ref _sendTs[idx], timestamp);

    /// <summary>With a timeline: message <paramref name="idx"/>'s send returned now (its frame is in the socket).</summary>
    public void MarkWritten(int idx)
    {
        if (_writtenAt is not null)
        {
            Volatile.Write(ref _writtenAt[idx], Stopwatch.GetTimestamp());
        }
    }

    /// <summary>With keepFrames: remembers the frame of <paramref name="idx"/> and the connection slot it is sent on.</summary>
    public void Track(int idx, int slot, byte[] frame)
    {
        if (_frames is not null)
        {
            _slot![idx] = slot;
            Volatile.Write(ref _frames[idx], frame);
        }
    }

    /// <summary>
    /// The sends of connection slot <paramref name="slot"/> still unanswered or not written, to write again on its new
    /// connection (a client resends them after a reconnect under the same client message id; the server answers one it
    /// stored as a duplicate with its seq). A not-written one counts as unanswered again.
    /// </summary>
    public List<byte[]> TakeForResend(int slot)
    {
        var frames = new List<byte[]>();
        if (_frames is null)
        {
            return frames;
        }

        var issued = (int)Issued;
        for (var i = 0; i < issued; i++)
        {
            if (_slot![i] != slot || Volatile.Read(ref _frames[i]) is not { } frame)
            {
                continue;
            }

            var state = Volatile.Read(ref _ack[i]);
            if (state == SendFailed && Interlocked.CompareExchange(ref _ack[i], Unanswered, SendFailed) == SendFailed)
            {
                Interlocked.Decrement(ref _sendFailed);
                state = Unanswered;
            }

            if (state == Unanswered)
            {
                frames.Add(frame);
                Interlocked.Increment(ref _resent);
            }
        }

        return frames;
    }

    /// <summary>The send of <paramref name="idx"/> could not be written: it is not waited for and not counted lost.</summary>
    public void MarkSendFailed(int idx)
    {
        if (Interlocked.CompareExchange(ref _ack[idx], SendFailed, Unanswered) == Unanswered)
        {
            Interlocked.Increment(ref _sendFailed);
        }
    }

    public void OnFrame(LeanConnection connection, ServerFrame frame)
    {
        switch (frame.BodyCase)
        {
            case ServerFrame.BodyOneofCase.SendAck:
                if (OnAck(frame.RequestId))
                {
                    AckedLog?.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{frame.SendAck.ConversationId} {frame.SendAck.Seq} {frame.SendAck.ServerMsgId}"));
                }

                break;
            case ServerFrame.BodyOneofCase.Error:
                if (!TryRetryBusy(frame) && !TryRetry(frame))
                {
                    OnRefused(frame.RequestId, IsBusy(frame.Error));
                }

                break;
            case ServerFrame.BodyOneofCase.Message when frame.Message.Content?.BodyCase == Content.BodyOneofCase.Text:
                // With --reconnect, not the sender's own message: a send committed after its sender reconnected reaches
                // the sender's new connection too (the server skips only the connection it came from).
                if (!_reconnect || frame.Message.SenderId != connection.UserId)
                {
                    OnMessage(frame.Message.Content.Text.Text);
                }

                break;
            case ServerFrame.BodyOneofCase.SyncBatch when _reconnect:
                // A resume after a reconnect: the messages committed after the connection's cursor. Its own sends are there
                // too (a sender is a member); they are not deliveries.
                foreach (var conversation in frame.SyncBatch.Conversations)
                {
                    foreach (var message in conversation.Messages)
                    {
                        if (message.SenderId != connection.UserId && message.Content?.BodyCase == Content.BodyOneofCase.Text && OnMessage(message.Content.Text.Text))
                        {
                            Interlocked.Increment(ref _syncDeliveries);
                        }
                    }
                }

                break;
        }
    }

    // "Retry": a send answered Internal or Unavailable (e.g. Orleans timed out the grain call while a node died) is sent
    // again under the same client message id after a back-off, as the SDK does.
    private bool TryRetry(ServerFrame frame)
    {
        if (RetryTransient is not { } retry || frame.Error.Code is not (ErrorCode.Internal or ErrorCode.Unavailable) || frame.RequestId >> 24 != (uint)StepId)
        {
            return false;
        }

        var idx = (int)(frame.RequestId & 0xFFFFFF) - 1;
        if ((uint)idx >= (uint)Capacity || Volatile.Read(ref _ack[idx]) != Unanswered || Volatile.Read(ref _frames![idx]) is not { } again
            || Interlocked.Increment(ref _tries![idx]) > MaxTries)
        {
            return false;
        }

        Interlocked.Increment(ref _retried);
        retry(idx, _slot![idx], again);
        return true;
    }

    // --retry-busy: a busy refusal (nothing was done) is sent again under the same ids after the SDK's wait.
    private bool TryRetryBusy(ServerFrame frame)
    {
        if (RetryBusy is not { } retry || !IsBusy(frame.Error) || frame.RequestId >> 24 != (uint)StepId)
        {
            return false;
        }

        var idx = (int)(frame.RequestId & 0xFFFFFF) - 1;
        if ((uint)idx >= (uint)Capacity || Volatile.Read(ref _ack[idx]) != Unanswered || Volatile.Read(ref _frames![idx]) is not { } again)
        {
            return false;
        }

        var attempt = Interlocked.Increment(ref _tries![idx]);
        if (attempt > MaxTries)
        {
            return false;
        }

        Interlocked.Increment(ref _busyRetried);
        retry(idx, _slot![idx], again, attempt - 1, frame.Error.RetryAfterMs);
        return true;
    }

    // The first answer to a send: it was unanswered, or (with keepFrames) its write failed on a dying connection while a
    // resend of it was already on its way through the new one.
    private bool TryAnswer(int idx, int answer)
    {
        if (Interlocked.CompareExchange(ref _ack[idx], answer, Unanswered) == Unanswered)
        {
            return true;
        }

        if (_reconnect && Interlocked.CompareExchange(ref _ack[idx], answer, SendFailed) == SendFailed)
        {
            Interlocked.Decrement(ref _sendFailed);
            return true;
        }

        return false;
    }

    /// <summary>
    /// The server acknowledged request <paramref name="requestId"/> (any protocol: the native SendAck, OpenIM's 1003 answer).
    /// True when it is a message of this step acknowledged for the first time.
    /// </summary>
    public bool OnAck(uint requestId)
    {
        if (requestId >> 24 != (uint)StepId)
        {
            return false;
        }

        var idx = (int)(requestId & 0xFFFFFF) - 1;
        if ((uint)idx >= (uint)Capacity || !TryAnswer(idx, Acked))
        {
            return false;
        }

        Interlocked.Increment(ref _acks);
        if (_ackAt is not null)
        {
            _ackAt[idx] = Stopwatch.GetTimestamp();
        }

        var sent = Volatile.Read(ref _sendTs[idx]);
        if (sent >= MeasureFrom)
        {
            Ack.Record((long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds);
        }

        return true;
    }

    /// <summary>The server refused request <paramref name="requestId"/> (an error answer, any protocol).</summary>
    public void OnRefused(uint requestId) => OnRefused(requestId, busy: false);

    /// <summary>
    /// A busy refusal (ADR 0031): the server was at its bound of outstanding send work and did nothing with the send; it says
    /// so with UNAVAILABLE and a retry-after (a timeout's UNAVAILABLE has none). Counted apart from other refusals, never lost.
    /// </summary>
    public static bool IsBusy(Error error) => error.Code == ErrorCode.Unavailable && error.RetryAfterMs > 0;

    /// <summary>The server refused request <paramref name="requestId"/>; <paramref name="busy"/>: as busy (<see cref="IsBusy"/>).</summary>
    public void OnRefused(uint requestId, bool busy)
    {
        if (requestId >> 24 != (uint)StepId)
        {
            return;
        }

        var idx = (int)(requestId & 0xFFFFFF) - 1;
        if ((uint)idx < (uint)Capacity && TryAnswer(idx, Refused))
        {
            Interlocked.Increment(ref _errors);
            if (busy)
            {
                Interlocked.Increment(ref _busy);
            }
        }
    }

    /// <summary>
    /// <see cref="OnMessage(string)"/> on the text's UTF-8 bytes, without decoding them (<see cref="RawReceiver"/>: a group
    /// step's receivers count hundreds of thousands a second on the generator's one core).
    /// </summary>
    public bool OnMessage(ReadOnlySpan<byte> text)
    {
        if (!text.StartsWith("LT"u8))
        {
            return false;
        }

        if (!text.StartsWith(_prefixUtf8))
        {
            Interlocked.Increment(ref _stale);
            return false;
        }

        var rest = text[_prefixUtf8.Length..];
        var c1 = rest.IndexOf((byte)':');
        var c2 = c1 < 0 ? -1 : rest[(c1 + 1)..].IndexOf((byte)':');
        if (c1 < 0 || c2 < 0
            || !System.Buffers.Text.Utf8Parser.TryParse(rest[..c1], out int idx, out var n1) || n1 != c1
            || !System.Buffers.Text.Utf8Parser.TryParse(rest.Slice(c1 + 1, c2), out long sentTs, out var n2) || n2 != c2
            || (uint)idx >= (uint)Capacity)
        {
            Interlocked.Increment(ref _stale);
            return false;
        }

        return Delivered(idx, sentTs);
    }

    /// <summary>A delivered message's text (any protocol): counted, with its latency, when it is one of this step's (then true).</summary>
    public bool OnMessage(string text)
    {
        if (!text.StartsWith("LT", StringComparison.Ordinal))
        {
            return false;
        }

        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _stale);
            return false;
        }

        var rest = text.AsSpan(Prefix.Length);
        var c1 = rest.IndexOf(':');
        var c2 = c1 < 0 ? -1 : rest[(c1 + 1)..].IndexOf(':');
        if (c1 < 0 || c2 < 0
            || !int.TryParse(rest[..c1], NumberStyles.None, CultureInfo.InvariantCulture, out var idx)
            || !long.TryParse(rest.Slice(c1 + 1, c2), NumberStyles.None, CultureInfo.InvariantCulture, out var sentTs)
            || (uint)idx >= (uint)Capacity)
        {
            Interlocked.Increment(ref _stale);
            return false;
        }

        return Delivered(idx, sentTs);
    }

    private bool Delivered(int idx, long sentTs)
    {
        var n = Interlocked.Increment(ref _delivered[idx]);
        Interlocked.Increment(ref _deliveries);
        if (n == 1 && _firstDeliveryAt is not null)
        {
            _firstDeliveryAt[idx] = Stopwatch.GetTimestamp();
        }

        if (n > Expected)
        {
            Interlocked.Increment(ref _duplicates);
        }

        if (sentTs >= MeasureFrom)
        {
            Delivery.Record((long)Stopwatch.GetElapsedTime(sentTs).TotalMicroseconds);
        }

        return true;
    }

    /// <summary>
    /// With a timeline (--timeline-out, issue 17): one line per message sent in the measured window, in send order:
    /// "sent_ns ack_us delivery_us id written_us" (sent as a <see cref="Stopwatch"/> timestamp in ns, on Linux CLOCK_MONOTONIC: the
    /// clock of <c>perf record -k mono</c> and bpftrace, so slow messages line up with a kernel trace of the server; -1 for
    /// an answer that never came; id: the message's client message id without its scenario letter, which the server's send
    /// trace, <c>Parley:Gateway:SendTraceFile</c>, names it by; written_us: when the generator's send of it returned, its
    /// frame in the socket, or -1).
    /// </summary>
    public void WriteTimeline(string path)
    {
        if (_ackAt is null || _firstDeliveryAt is null)
        {
            return;
        }

        var issued = (int)Issued;
        var order = new List<(long Sent, int Idx)>(issued);
        for (var i = 0; i < issued; i++)
        {
            var sent = Volatile.Read(ref _sendTs[i]);
            if (sent >= MeasureFrom && sent != 0)
            {
                order.Add((sent, i));
            }
        }

        order.Sort();
        var toNs = 1e9 / Stopwatch.Frequency;
        var toUs = 1e6 / Stopwatch.Frequency;
        using var w = new StreamWriter(path);
        foreach (var (sent, i) in order)
        {
            var ack = Volatile.Read(ref _ackAt[i]);
            var del = Volatile.Read(ref _firstDeliveryAt[i]);
            var written = Volatile.Read(ref _writtenAt![i]);
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(long)(sent * toNs)} {(ack == 0 ? -1 : (long)((ack - sent) * toUs))} {(del == 0 ? -1 : (long)((del - sent) * toUs))} {StepId}-{ProcessNonce}-{i} {(written == 0 ? -1 : (long)((written - sent) * toUs))}"));
        }
    }

    /// <summary>Builds the message text: prefix, index, send timestamp, padding to the payload size.</summary>
    public string Text(int idx, long timestamp, int payloadBytes)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{idx}:{timestamp}:");
        return head.Length >= payloadBytes ? head : head + new string('x', payloadBytes - head.Length);
    }

    /// <summary>True once every issued message is answered and every acked message fully delivered.</summary>
    public bool Settled()
    {
        var issued = Issued;
        return Acks + Errors + SendsFailed >= issued && Deliveries - Duplicates >= Acks * Expected && Account().Lost == 0;
    }

    /// <summary>The final accounting: what was sent, answered, delivered, and what is missing.</summary>
    public Accounting Account()
    {
        var issued = (int)Issued;
        long unanswered = 0, missing = 0, acked = 0, refused = 0;
        for (var i = 0; i < issued; i++)
        {
            switch (Volatile.Read(ref _ack[i]))
            {
                case Acked:
                    acked++;
                    missing += Math.Max(0, Expected - Volatile.Read(ref _delivered[i]));
                    break;
                case Refused:
                    refused++;
                    break;
                case SendFailed:
                    break;
                default:
                    unanswered++;
                    break;
            }
        }

        return new Accounting(issued, acked, refused, unanswered, acked * Expected, Deliveries, missing, Duplicates, unanswered + missing, SendsFailed);
    }
}

internal readonly record struct Accounting(
    long Sent, long Acked, long Refused, long Unanswered, long ExpectedDeliveries, long Delivered, long MissingDeliveries, long Duplicates, long Lost, long SendsFailed);
