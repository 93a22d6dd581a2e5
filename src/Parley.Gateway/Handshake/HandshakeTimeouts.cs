using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;
using Parley.Gateway.Connections;
using Parley.Protocol;

namespace Parley.Gateway.Handshake;

/// <summary>
/// The handshake timeout of every socket waiting for its Hello, on one shared timer. A login costs one small entry in a
/// list (removed when the Hello arrives) instead of a <c>Task.Delay</c> timer that stayed queued for the whole timeout
/// after every login, plus the <c>Task.WhenAny</c> around it (issue 17). Every entry has the same timeout, so the list is
/// in deadline order and a tick looks only at its head. A socket whose Hello did not arrive in time gets the 4004 close
/// (<see cref="CloseCodes.HandshakeTimeout"/>), and is aborted if its receive has not ended 2 s later: what the endpoint
/// did on its own timer before. The deadline is met within one tick (an eighth of the timeout, at most 1 s).
/// </summary>
internal sealed class HandshakeTimeouts : IDisposable
{
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ParleyMetrics _metrics;
    private readonly long _timeoutTicks;
    private readonly TimeSpan _tick;
    private ITimer? _timer;
    private bool _disposed;
    private Pending? _head;
    private Pending? _tail;

    public HandshakeTimeouts(IOptions<GatewayOptions> options, TimeProvider time, ParleyMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _metrics = metrics;
        var timeout = options.Value.HandshakeTimeout;
        _timeoutTicks = (long)(timeout.TotalSeconds * time.TimestampFrequency);
        _tick = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 8, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
    }

    /// <summary>Starts the timeout of a socket whose first frame is awaited; call <see cref="Pending.Finish"/> once its receive ended.</summary>
    public Pending Watch(WebSocket socket)
    {
        Pending entry;
        lock (_lock)
        {
            // The deadline is taken under the lock, so the list is in deadline order even when sockets arrive together.
            entry = new Pending(this, socket, _time.GetTimestamp() + _timeoutTicks);
            if (!_disposed)
            {
                _timer ??= _time.CreateTimer(static s => ((HandshakeTimeouts)s!).Tick(), this, _tick, _tick);
            }

            entry.Previous = _tail;
            if (_tail is null)
            {
                _head = entry;
            }
            else
            {
                _tail.Next = entry;
            }

            _tail = entry;
        }

        return entry;
    }

    /// <summary>Sockets now waiting for their first frame (tests).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                var count = 0;
                for (var e = _head; e is not null; e = e.Next)
                {
                    count++;
                }

                return count;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true; // a socket accepted during shutdown does not start the timer again
            _timer?.Dispose();
            _timer = null;
        }
    }

    private void Tick()
    {
        var now = _time.GetTimestamp();
        while (true)
        {
            Pending? expired;
            lock (_lock)
            {
                expired = _head;
                if (expired is null || expired.Deadline > now)
                {
                    return;
                }

                Unlink(expired);
                expired.State = Pending.Expired;
                expired.Closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _metrics.Handshakes.Add(1, new KeyValuePair<string, object?>("result", "timeout"));
            _ = CloseAsync(expired);
        }
    }

    // The close a handshake that timed out gets; the pending receive ends with the peer's close answer or the abort.
    private async Task CloseAsync(Pending expired)
    {
        try
        {
            await ConnectionHost.CloseQuietlyAsync(expired.Socket, CloseCodes.HandshakeTimeout, "handshake timeout").ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The socket is gone already.
        }
        finally
        {
            expired.Closed!.TrySetResult();
        }

        await Task.Delay(CloseGrace, _time).ConfigureAwait(false);
        if (Volatile.Read(ref expired.ReceiveEnded) == 0)
        {
            expired.Socket.Abort();
        }
    }

    // Under _lock.
    private void Unlink(Pending entry)
    {
        if (entry.Previous is null)
        {
            _head = entry.Next;
        }
        else
        {
            entry.Previous.Next = entry.Next;
        }

        if (entry.Next is null)
        {
            _tail = entry.Previous;
        }
        else
        {
            entry.Next.Previous = entry.Previous;
        }

        entry.Previous = entry.Next = null;
    }

    /// <summary>One socket's handshake timeout.</summary>
    internal sealed class Pending(HandshakeTimeouts owner, WebSocket socket, long deadline)
    {
        internal const int Waiting = 0;
        internal const int Expired = 1;
        internal const int Done = 2;

        internal int ReceiveEnded;

        internal WebSocket Socket { get; } = socket;

        internal long Deadline { get; } = deadline;

        internal Pending? Previous { get; set; }

        internal Pending? Next { get; set; }

        internal int State { get; set; } // under the owner's lock

        /// <summary>Completed once the timeout's close was sent (set under the owner's lock when it expired).</summary>
        internal TaskCompletionSource? Closed { get; set; }

        /// <summary>
        /// The first frame's receive ended (a frame, a close or a failure): true when in time. False when the timeout came
        /// first: the socket is being closed with 4004, and <see cref="WhenClosedAsync"/> waits for that close to be sent.
        /// </summary>
        public bool Finish()
        {
            Volatile.Write(ref ReceiveEnded, 1);
            lock (owner._lock)
            {
                if (State != Waiting)
                {
                    return State == Done;
                }

                owner.Unlink(this);
                State = Done;
                return true;
            }
        }

        /// <summary>After <see cref="Finish"/> returned false: completes once the timeout's close was sent.</summary>
        public Task WhenClosedAsync()
        {
            lock (owner._lock)
            {
                return Closed?.Task ?? Task.CompletedTask;
            }
        }
    }
}
