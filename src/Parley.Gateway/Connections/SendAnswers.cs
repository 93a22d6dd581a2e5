using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core;
using Parley.Core.Delivery;
using Parley.Core.Messaging;
using Parley.Core.Telemetry;
using Parley.Gateway.Protocols;
using Parley.Gateway.Requests;

namespace Parley.Gateway.Connections;

/// <summary>
/// This node's table of one-way sends awaiting their answer (ADR 0022): a send's ticket (its <see cref="AckRoute"/>) names
/// its connection and request id here, so the grain's answer never carries them and a client can name nothing of it. The
/// answer is written as the request/response path writes it (the ack frame with the version clamped by the hub's
/// <see cref="IDeliveryHub.ResumeCursorFor"/>, or the refusal's error frame), and only then does the send's request end
/// (its in-flight slot is held until then, so the table is bounded by the connections' in-flight limits).
/// <para>
/// Exactly once: an entry is claimed by the first of its answer, its timeout (<see cref="MessagingOptions.AckTimeout"/>:
/// Unavailable, never an ack) or its connection's close (nothing written); whatever comes later for its ticket is dropped.
/// Entries are pooled and live at fixed slots, so a send allocates nothing here.
/// </para>
/// <para>
/// The bound (ADR 0031): a send is admitted by <see cref="TryBegin"/> only while this node's outstanding send work
/// (<see cref="SendBacklog"/>) and its connection's are under their bounds, and both count it until the grain's answer,
/// not until the request ended: a send answered Unavailable by the timeout keeps its entry (and its count) until its grain
/// answers late, or until the timeout passed once more, and at least 5 min (its one-way message was lost: nothing will
/// answer it). An entry goes
/// back to the pool only when both its request ended and its work was released, each exactly once.
/// </para>
/// </summary>
internal sealed partial class SendAnswers : IDisposable
{
    private const int IndexBits = 24;
    private const long IndexMask = (1L << IndexBits) - 1;

    // Work unanswered this long after its timeout is taken as lost (ADR 0031): at least 5 min, at least the timeout again (a
    // starved node can take minutes to drain its bound: stop 46 saw 30 s expire work that was still queued).
    private const long WorkExpiryMinMs = 300_000;
    private static readonly KeyValuePair<string, object?> TimeoutLabel = new("reason", "timeout");
    private static readonly KeyValuePair<string, object?> LateLabel = new("reason", "late");
    private static readonly KeyValuePair<string, object?> ClosedLabel = new("reason", "closed");
    private static readonly KeyValuePair<string, object?> ExpiredLabel = new("reason", "expired");

    private readonly Lock _lock = new();
    private readonly Stack<Entry> _free = new();
    private readonly Timer _sweep;
    private readonly long _timeoutMs;
    private readonly int _perConnection;
    private readonly SendBacklog _backlog;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<SendAnswers> _logger;
    private Entry[] _slots = new Entry[64];
    private int _used; // slots handed out so far (free ones are on _free)
    private long _begun;

    public SendAnswers(IOptions<MessagingOptions> options, IOptions<GatewayOptions> gateway, SendBacklog backlog, ParleyMetrics metrics, ILogger<SendAnswers> logger)
    {
        _metrics = metrics;
        _logger = logger;
        _backlog = backlog;
        _perConnection = gateway.Value.MaxInFlightRequests;
        _timeoutMs = (long)options.Value.AckTimeout.TotalMilliseconds;
        var every = TimeSpan.FromMilliseconds(Math.Clamp(_timeoutMs / 4, 50, 1000));
        _sweep = new Timer(static state => ((SendAnswers)state!).Sweep(), this, every, every);
    }

    /// <summary>This node's id in answer routes (and, in a cluster, in the node directory).</summary>
    public string NodeId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>One-way sends registered since the start (tests, diagnostics).</summary>
    public long Begun
    {
        get
        {
            lock (_lock)
            {
                return _begun;
            }
        }
    }

    /// <summary>Sends awaiting their answer now (tests, diagnostics); not the sends whose request ended but whose grain owes its answer (<see cref="Owed"/>).</summary>
    public int Pending => Count(static entry => entry.IsArmed);

    /// <summary>
    /// Registers a send of <paramref name="connection"/> (request <paramref name="requestId"/>) before its grain call: the
    /// answer may come before the call returns. The entry's <see cref="Entry.Task"/> completes once it is answered. Null:
    /// refused as busy (ADR 0031: the node's or the connection's outstanding send work is at its bound; nothing registered,
    /// nothing to call; the caller answers <see cref="SendBacklog.Busy"/>).
    /// </summary>
    public Entry? TryBegin(ClientConnection connection, uint requestId, SendTimes? times, long started, IDeliveryHub hub)
    {
        if (Interlocked.Increment(ref connection.OutstandingSends) > _perConnection)
        {
            Interlocked.Decrement(ref connection.OutstandingSends);
            _backlog.RefuseForConnection();
            return null;
        }

        if (!_backlog.TryEnter(out var stamp))
        {
            Interlocked.Decrement(ref connection.OutstandingSends);
            return null;
        }

        Entry entry;
        lock (_lock)
        {
            if (!_free.TryPop(out entry!))
            {
                if (_used == _slots.Length)
                {
                    if (_used > IndexMask)
                    {
                        throw new InvalidOperationException("Too many sends await their answer.");
                    }

                    var bigger = new Entry[_slots.Length * 2];
                    _slots.CopyTo(bigger, 0);
                    Volatile.Write(ref _slots, bigger);
                }

                entry = new Entry(this, _used);
                _slots[_used++] = entry;
            }

            var now = Environment.TickCount64;
            entry.Arm(connection, requestId, times, started, hub, now + _timeoutMs, now + _timeoutMs + Math.Max(_timeoutMs, WorkExpiryMinMs), stamp);
            _begun++;
        }

        return entry;
    }

    /// <summary>The answer of the send <paramref name="ticket"/> (from a grain here or another node's stream); a late one is dropped.</summary>
    public void Answer(long ticket, CoreResult<MessageAck> outcome)
    {
        var index = ticket & IndexMask;
        var slots = Volatile.Read(ref _slots);
        if (index >= slots.Length || slots[index] is not { } entry)
        {
            _metrics.SendsUnanswered.Add(1, LateLabel);
            return;
        }

        // Both claims first: the entry cannot return to the pool (and be re-armed) while this answer holds either of them.
        var work = entry.TryClaimWork(ticket);
        var request = entry.TryClaim(ticket);

        // The work is released before the answer ends the request: the request's end frees the connection's in-flight slot,
        // and a receive loop woken by it must find this send's work no longer counted, or its next send is refused busy
        // while the connection is within its bound (ADR 0031). An entry whose request is claimed here stays ours until that
        // request's task is read, so the release cannot return it to the pool before the write.
        if (work)
        {
            entry.ReleaseWork();
        }

        if (request)
        {
            entry.Write(outcome);
        }
        else
        {
            _metrics.SendsUnanswered.Add(1, LateLabel);
        }
    }

    /// <summary>Sends whose work is still counted (their grain has not answered) though their request ended (tests, diagnostics).</summary>
    public int Owed => Count(static entry => entry.IsOwed);

    private int Count(Func<Entry, bool> match) => Volatile.Read(ref _slots).Count(entry => entry is not null && match(entry));

    // Answers what waited too long (Unavailable: retry) and drops the entries of closed connections.
    private void Sweep()
    {
        try
        {
            var now = Environment.TickCount64;
            var slots = Volatile.Read(ref _slots);
            int used;
            lock (_lock)
            {
                used = _used;
            }

            for (var i = 0; i < used && i < slots.Length; i++)
            {
                var entry = slots[i];
                if (entry is null)
                {
                    continue;
                }

                // Work whose grain never answered in twice the timeout (at least 5 min after it): its one-way message was lost (an activation that
                // failed, a node that died); nothing will answer it, so it stops counting against the bounds.
                var work = entry.WorkTicket;
                if (work != 0 && entry.WorkDeadline <= now && entry.TryClaimWork(work))
                {
                    var claimed = entry.TryClaim(work);
                    _metrics.SendsUnanswered.Add(1, ExpiredLabel);

                    // Released before the answer ends the request, as in Answer.
                    entry.ReleaseWork();
                    if (claimed)
                    {
                        entry.Write(CoreResult.Fail(CoreError.Unavailable, "The send was not answered in time; it may still be stored: retry."));
                    }

                    continue;
                }

                if (!entry.IsArmed)
                {
                    continue;
                }

                var ticket = entry.Ticket;
                if (entry.Deadline <= now)
                {
                    if (entry.TryClaim(ticket))
                    {
                        _metrics.SendsUnanswered.Add(1, TimeoutLabel);
                        entry.Write(CoreResult.Fail(CoreError.Unavailable, "The send was not answered in time; it may still be stored: retry."));
                    }
                }
                else if (entry.ConnectionClosing && entry.TryClaim(ticket))
                {
                    _metrics.SendsUnanswered.Add(1, ClosedLabel);
                    entry.Drop();
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSweepFailed(_logger, ex);
        }
    }

    private void Return(Entry entry)
    {
        lock (_lock)
        {
            _free.Push(entry);
        }
    }

    public void Dispose() => _sweep.Dispose();

    [LoggerMessage(EventId = 2262, Level = LogLevel.Error, Message = "Writing the answer of a one-way send failed")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2263, Level = LogLevel.Error, Message = "The sweep of one-way sends awaiting their answer failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    /// <summary>
    /// One send awaiting its answer, at a fixed slot: its ticket is the slot and a generation, so a reused slot never takes
    /// an earlier send's answer. The send's request awaits <see cref="Task"/>, which completes once the answer was queued
    /// on the connection (or dropped); the entry goes back to the pool when that result was read.
    /// </summary>
    internal sealed class Entry : IValueTaskSource<RequestOutcome>
    {
        private readonly SendAnswers _owner;
        private readonly int _index;
        private ManualResetValueTaskSourceCore<RequestOutcome> _core;
        private long _generation;
        private long _ticket; // the pending send's ticket; 0 once claimed (the request's end)
        private long _work; // the same ticket while the send's work counts (ADR 0031); 0 once its grain answered
        private int _holds; // 2 when armed: the request and the work; back to the pool at 0
        private ClientConnection? _connection;
        private ClientConnection? _workConnection;
        private IDeliveryHub? _hub;
        private SendTimes? _times;
        private uint _requestId;
        private long _started;
        private long _admitted; // the backlog's admission stamp (the age bound, ADR 0035)

        public Entry(SendAnswers owner, int index)
        {
            _owner = owner;
            _index = index;
        }

        public long Ticket => Volatile.Read(ref _ticket);

        public bool IsArmed => Volatile.Read(ref _ticket) != 0;

        public long WorkTicket => Volatile.Read(ref _work);

        /// <summary>The request ended (answered or dropped) but the grain has not answered yet.</summary>
        public bool IsOwed => Volatile.Read(ref _work) != 0 && Volatile.Read(ref _ticket) == 0;

        public long Deadline { get; private set; }

        public long WorkDeadline { get; private set; }

        public bool ConnectionClosing => _connection is { IsClosing: true };

        /// <summary>The route's ticket of this send (set by <see cref="TryBegin"/>).</summary>
        public long RouteTicket { get; private set; }

        public ValueTask<RequestOutcome> Task => new(this, _core.Version);

        // Under the owner's lock.
        public void Arm(ClientConnection connection, uint requestId, SendTimes? times, long started, IDeliveryHub hub, long deadline, long workDeadline, long admitted)
        {
            _core.Reset();
            _admitted = admitted;
            _connection = connection;
            _workConnection = connection;
            WorkDeadline = workDeadline;
            Volatile.Write(ref _holds, 2);
            _requestId = requestId;
            _times = times;
            _started = started;
            _hub = hub;
            Deadline = deadline;
            _generation++;
            var ticket = (_generation << IndexBits) | (long)_index;
            RouteTicket = ticket;
            Volatile.Write(ref _work, ticket);
            Volatile.Write(ref _ticket, ticket);
        }

        public bool TryClaim(long ticket) => ticket != 0 && Interlocked.CompareExchange(ref _ticket, 0, ticket) == ticket;

        /// <summary>Claims the release of the send's work (its grain's answer, or its expiry): true once per send.</summary>
        public bool TryClaimWork(long ticket) => ticket != 0 && Interlocked.CompareExchange(ref _work, 0, ticket) == ticket;

        /// <summary>The send's work stops counting against the node's and the connection's bounds (claimed first).</summary>
        public void ReleaseWork()
        {
            var connection = _workConnection!;
            _workConnection = null;
            Interlocked.Decrement(ref connection.OutstandingSends);
            _owner._backlog.Exit(_admitted);
            Release();
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _holds) == 0)
            {
                _owner.Return(this);
            }
        }

        /// <summary>Writes the answer on the connection (claimed first); the request ends once it is queued.</summary>
        public void Write(CoreResult<MessageAck> outcome)
        {
            var connection = _connection!;
            var times = _times;
            ValueTask<bool> written;
            try
            {
                var returned = Stopwatch.GetTimestamp();
                if (times is not null)
                {
                    times.Returned = returned;
                }

                if (outcome.IsOk)
                {
                    var ack = outcome.Value!;
                    _owner._metrics.AckDuration.Record(Stopwatch.GetElapsedTime(_started, returned).TotalSeconds);
                    var version = (ulong)Math.Max(_hub!.ResumeCursorFor(ack.Version), 0);
                    var frame = AckFrame.Rent(_requestId, ack.ConversationId, (ulong)ack.Seq, ack.ServerMsgId, ack.ServerTime, ack.Duplicate, version, out var length);
                    written = connection.WritePooledAsync(frame, length, times);
                }
                else
                {
                    written = connection.WriteAsync(NativeErrors.Frame(outcome.Failure, _requestId), times);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogWriteFailed(_owner._logger, ex);
                Finish();
                return;
            }

            if (written.IsCompleted)
            {
                Observe(written);
                Finish();
            }
            else
            {
                FinishWhenWritten(written);
            }
        }

        // The outbox is full: the write waits for space (as the request/response path's did), then the request ends. Its own
        // method: a lambda in Write made every answer allocate its closure, full outbox or not (0.04 KB per message).
        private void FinishWhenWritten(ValueTask<bool> written) =>
            written.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() =>
            {
                Observe(written);
                Finish();
            });

        /// <summary>Ends the request without an answer (its connection closed; claimed first).</summary>
        public void Drop() => Finish();

        private static void Observe(ValueTask<bool> written)
        {
            try
            {
                _ = written.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The connection went away meanwhile: nothing to answer.
            }
        }

        private void Finish()
        {
            _connection = null;
            _hub = null;
            _times = null;
            _core.SetResult(RequestOutcome.Continue);
        }

        public RequestOutcome GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Release();
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
