using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Parley.Core.Messaging;

/// <summary>
/// Deactivates this node's 1:1 conversation grains that no caller used for <see cref="IdleAge"/>, which is shorter than
/// Orleans' idle age for every grain (<c>Parley:Orleans:IdleAge</c>). A 1:1 conversation is the grain a flood of new
/// conversations makes most of (issue 17's soak: 2,000 new ones a second kept ~260,000 activations of 4-6 KB each for the
/// 2-minute idle age; each survived the young collections and died in gen2); its next call reloads it from the store
/// exactly as after Orleans' own idle collection (the seq, the dedup keys, the hot tail).
/// </summary>
/// <remarks>
/// The grain registers a <see cref="Slot"/> once it is a 1:1 conversation and stamps it on its calls (a field write);
/// the slots wait in a first-in-first-out queue, swept every quantum: a slot whose grain deactivated is dropped, one
/// used within the idle age goes to the back, and the grain of one idle for the age is asked to deactivate
/// (<see cref="IGrainContext.Deactivate(DeactivationReason, CancellationToken)"/>, what Orleans' own collector calls: a
/// grain with a call running finishes it first, and calls that arrive meanwhile go to its next activation). A slot keeps
/// the grain's context only until the grain deactivates.
/// With <see cref="MaxActive"/> the node keeps at most that many 1:1 conversation grains (give or take one quantum's new
/// ones): while more are registered, a sweep also asks the least recently queued ones to deactivate before their idle age,
/// unless called within the last quantum (1 s at most) (issue 17's soak, stop 45: at 4,750 new conversations a second a 30 s age keeps
/// ~140,000 grains of ~4.7 KB, ~670 MB of the heap, nearly all of them never called again).
/// Neither goes while the grain has work in flight (<see cref="Slot.Begin"/> .. <see cref="Slot.End"/>: a one-way send between
/// its submission to the commit and its answer, which Orleans does not see as a running call), and a grain's last use is
/// when its last work ended, not when it was called (stop 46: a node seconds behind shed grains whose commits were still
/// running, ADR 0032).
/// </remarks>
public sealed partial class IdleDirectConversations : IDisposable
{
    private readonly ConcurrentQueue<Slot> _slots = new();
    private readonly Timer? _timer;
    private readonly long _ageMs;
    private readonly ILogger<IdleDirectConversations>? _logger;
    private readonly int _maxActive;
    private readonly long _recentMs;
    private int _sweeping;
    private int _active;
    private long _deactivated;
    private long _shed;
    private long _kept;
    private long _registered;

    /// <param name="idleAge">The idle age of a 1:1 conversation grain; zero or less: off (Orleans' idle age applies).</param>
    /// <param name="quantum">How often the queue is swept; null: a tenth of the age, 0.1 to 1 s.</param>
    /// <param name="logger">Where a failed deactivation request is logged.</param>
    /// <param name="maxActive">The most 1:1 conversation grains kept before their idle age; 0 or less: no bound.</param>
    public IdleDirectConversations(TimeSpan idleAge, TimeSpan? quantum = null, ILogger<IdleDirectConversations>? logger = null, int maxActive = 0)
    {
        IdleAge = idleAge;
        _logger = logger;
        _ageMs = (long)idleAge.TotalMilliseconds;
        _maxActive = Math.Max(0, maxActive);
        if (_ageMs > 0)
        {
            var period = quantum ?? TimeSpan.FromMilliseconds(Math.Clamp(_ageMs / 10, 100, 1_000));
            _recentMs = Math.Min(Math.Min((long)period.TotalMilliseconds, 1_000), _ageMs);
            _timer = new Timer(static state => ((IdleDirectConversations)state!).Sweep(), this, period, period);
        }
    }

    /// <summary>The most 1:1 conversation grains kept before their idle age (give or take a quantum's new ones); 0: no bound.</summary>
    public int MaxActive => _maxActive;

    /// <summary>Registered grains not yet deactivated.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>The grains asked to deactivate before their idle age because more than <see cref="MaxActive"/> were active.</summary>
    public long Shed => Interlocked.Read(ref _shed);

    /// <summary>
    /// How often a sweep met a grain due to go (idle for the age, or past <see cref="MaxActive"/>) with work in flight and kept
    /// it (<see cref="Slot.Begin"/>): a commit slower than the quantum, as when the node is seconds behind.
    /// </summary>
    public long KeptBusy => Interlocked.Read(ref _kept);

    /// <summary>The 1:1 conversation grains registered so far (their activations, once loaded).</summary>
    public long Registered => Interlocked.Read(ref _registered);

    /// <summary>The idle age after which a 1:1 conversation grain is deactivated; zero: off.</summary>
    public TimeSpan IdleAge { get; }

    /// <summary>Whether 1:1 conversation grains are deactivated before Orleans' idle age.</summary>
    public bool Enabled => _timer is not null;

    /// <summary>Slots in the queue (grains registered and not yet swept out).</summary>
    public int Queued => _slots.Count;

    /// <summary>The grains asked to deactivate so far.</summary>
    public long Deactivated => Interlocked.Read(ref _deactivated);

    /// <summary>Registers a 1:1 conversation grain's activation; null when this is off.</summary>
    public Slot? Register(IGrainContext context)
    {
        if (!Enabled)
        {
            return null;
        }

        var slot = new Slot(this, context, Environment.TickCount64);
        Interlocked.Increment(ref _registered);
        Interlocked.Increment(ref _active);
        _slots.Enqueue(slot);
        return slot;
    }

    /// <summary>One pass over the queue's due slots (the timer's; public for tests).</summary>
    public void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            var now = Environment.TickCount64;
            // Past MaxActive, how many more to deactivate in this pass (from the front: the least recently queued).
            var over = _maxActive > 0 ? Volatile.Read(ref _active) - _maxActive : 0;
            // Each slot at most once per pass: one used meanwhile goes to the back and is not met again in this pass.
            for (var left = _slots.Count; left > 0 && _slots.TryPeek(out var slot); left--)
            {
                if (slot.Context is not null && now - slot.Queued < _ageMs && over <= 0)
                {
                    break; // the slots behind it were queued later (or used later: they come round in a later pass)
                }

                _slots.TryDequeue(out _);
                if (slot.Context is not { } context)
                {
                    continue; // deactivated (idle collection, a failed commit, a management call)
                }

                var used = slot.LastUsed;
                if (slot.Pending > 0)
                {
                    // Work in flight: a one-way send's commit resumes this activation when it is durable (ADR 0022), which
                    // Orleans does not count as a running call; deactivated now, its answer and any call that comes meanwhile
                    // would wait for a new activation that reads the store before the commit (stop 46). Never shed or aged.
                    Interlocked.Increment(ref _kept);
                    slot.Queued = now;
                    _slots.Enqueue(slot);
                    continue;
                }

                if (now - used < _ageMs && (over <= 0 || now - used < _recentMs))
                {
                    slot.Queued = used;
                    _slots.Enqueue(slot);
                    continue;
                }

                if (now - used < _ageMs)
                {
                    Interlocked.Increment(ref _shed); // before its age: more than MaxActive are active
                }

                slot.Release();
                over--;
                Interlocked.Increment(ref _deactivated);
                try
                {
                    context.Deactivate(new DeactivationReason(DeactivationReasonCode.ActivationIdle, "A 1:1 conversation idle for Parley:Orleans:DirectIdleAge."));
                }
                catch (Exception ex)
                {
                    if (_logger is not null)
                    {
                        LogDeactivateFailed(_logger, ex);
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 2240, Level = LogLevel.Warning, Message = "Asking an idle 1:1 conversation grain to deactivate failed")]
    private static partial void LogDeactivateFailed(ILogger logger, Exception exception);

    /// <summary>One registered activation: its context until it deactivates, and when it was last used.</summary>
    public sealed class Slot
    {
        private readonly IdleDirectConversations _owner;
        private IGrainContext? _context;
        private long _lastUsed;
        private int _pending;

        internal Slot(IdleDirectConversations owner, IGrainContext context, long now)
        {
            _owner = owner;
            _context = context;
            _lastUsed = now;
            Queued = now;
        }

        internal IGrainContext? Context => Volatile.Read(ref _context);

        internal long LastUsed => Volatile.Read(ref _lastUsed);

        // Works of the grain between their submission to the commit and the grain's resumption after it (Begin .. End).
        internal int Pending => Volatile.Read(ref _pending);

        // When the slot went to the back of the queue last (the sweep's thread only).
        internal long Queued { get; set; }

        /// <summary>The grain was called (from its turns).</summary>
        public void Touch() => Volatile.Write(ref _lastUsed, Environment.TickCount64);

        /// <summary>
        /// A work of the grain went to the commit (from its turn): until its <see cref="End"/> the grain is not deactivated by
        /// this queue, whatever its idle time or the node's count.
        /// </summary>
        public void Begin() => Interlocked.Increment(ref _pending);

        /// <summary>A work of the grain that <see cref="Begin"/> counted was resumed after its commit (or failed): the grain was used now.</summary>
        public void End()
        {
            Volatile.Write(ref _lastUsed, Environment.TickCount64);
            Interlocked.Decrement(ref _pending);
        }

        /// <summary>The grain is deactivating: the slot lets go of it.</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _context, null) is not null)
            {
                Interlocked.Decrement(ref _owner._active);
            }
        }
    }
}
