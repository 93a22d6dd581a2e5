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
/// </summary>
internal sealed partial class SendAnswers : IDisposable
{
    private const int IndexBits = 24;
    private const long IndexMask = (1L << IndexBits) - 1;
    private static readonly KeyValuePair<string, object?> TimeoutLabel = new("reason", "timeout");
    private static readonly KeyValuePair<string, object?> LateLabel = new("reason", "late");
    private static readonly KeyValuePair<string, object?> ClosedLabel = new("reason", "closed");

    private readonly Lock _lock = new();
    private readonly Stack<Entry> _free = new();
    private readonly Timer _sweep;
    private readonly long _timeoutMs;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<SendAnswers> _logger;
    private Entry[] _slots = new Entry[64];
    private int _used; // slots handed out so far (free ones are on _free)
    private long _begun;

    public SendAnswers(IOptions<MessagingOptions> options, ParleyMetrics metrics, ILogger<SendAnswers> logger)
    {
        _metrics = metrics;
        _logger = logger;
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

    /// <summary>Sends awaiting their answer now (tests, diagnostics).</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _used - _free.Count;
            }
        }
    }

    /// <summary>
    /// Registers a send of <paramref name="connection"/> (request <paramref name="requestId"/>) before its grain call: the
    /// answer may come before the call returns. The entry's <see cref="Entry.Task"/> completes once it is answered.
    /// </summary>
    public Entry Begin(ClientConnection connection, uint requestId, SendTimes? times, long started, IDeliveryHub hub)
    {
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

            entry.Arm(connection, requestId, times, started, hub, Environment.TickCount64 + _timeoutMs);
            _begun++;
        }

        return entry;
    }

    /// <summary>The answer of the send <paramref name="ticket"/> (from a grain here or another node's stream); a late one is dropped.</summary>
    public void Answer(long ticket, CoreResult<MessageAck> outcome)
    {
        var index = ticket & IndexMask;
        var slots = Volatile.Read(ref _slots);
        if (index >= slots.Length || slots[index] is not { } entry || !entry.TryClaim(ticket))
        {
            _metrics.SendsUnanswered.Add(1, LateLabel);
            return;
        }

        entry.Write(outcome);
    }

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
                if (entry is null || !entry.IsArmed)
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
        private long _ticket; // the pending send's ticket; 0 once claimed
        private ClientConnection? _connection;
        private IDeliveryHub? _hub;
        private SendTimes? _times;
        private uint _requestId;
        private long _started;

        public Entry(SendAnswers owner, int index)
        {
            _owner = owner;
            _index = index;
        }

        public long Ticket => Volatile.Read(ref _ticket);

        public bool IsArmed => Volatile.Read(ref _ticket) != 0;

        public long Deadline { get; private set; }

        public bool ConnectionClosing => _connection is { IsClosing: true };

        /// <summary>The route's ticket of this send (set by <see cref="Begin"/>).</summary>
        public long RouteTicket { get; private set; }

        public ValueTask<RequestOutcome> Task => new(this, _core.Version);

        // Under the owner's lock.
        public void Arm(ClientConnection connection, uint requestId, SendTimes? times, long started, IDeliveryHub hub, long deadline)
        {
            _core.Reset();
            _connection = connection;
            _requestId = requestId;
            _times = times;
            _started = started;
            _hub = hub;
            Deadline = deadline;
            _generation++;
            var ticket = (_generation << IndexBits) | (long)_index;
            RouteTicket = ticket;
            Volatile.Write(ref _ticket, ticket);
        }

        public bool TryClaim(long ticket) => ticket != 0 && Interlocked.CompareExchange(ref _ticket, 0, ticket) == ticket;

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
                _owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
