using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

// ADR 0028 (stop 45): a message's derived rows written once per flush instead of in every commit.
//
// A commit that holds messages writes the message rows and feed_state as before, but not the three raises (the
// conversation's max/last seq, updated_at and head version; every active member's feed version; the sender's read seq) of
// a conversation it did not open: the writer keeps them in memory, per conversation and per (conversation, sender), and
// records the conversation's key in feed_state.pending (the page every commit writes anyway). The flush runs the same
// raises (MAX, so order and repetition do not matter) once per dirty conversation, empties pending and moves
// derived_through to max_version. It rides on the first commit after DerivedRowsFlushMs, or runs as a write of its own
// (a timer, or a read that must see one's own writes). What the file says is the truth: after a rolled-back write (the
// memory may be ahead of the file) or at start (the last process's pending), the next write derives the rows of every
// pending conversation from its messages instead (Recover).
//
// Readers: the sync's version is derived_through while anything is pending, so no cursor passes a row not written yet;
// the calls that promise read-your-writes ask for a flush and wait when anything acknowledged is not flushed; a grain's
// activation takes the messages' last seq too (GetConversationAsync).
public sealed partial class SqliteMessageStore
{
    // Above this many bytes of pending keys the commit flushes in its own transaction instead of growing the row (a 4 KiB
    // page holds the row with ~1,000 conversations' keys; 500 warm conversations are ~1.5 KB).
    private const int PendingBytesLimit = 3000;

    // The writer's memory of what is not flushed (writer loop only).
    private readonly Dictionary<long, PendingConversation> _pending = [];
    private readonly Dictionary<(long Key, string Sender), long> _pendingSenders = [];
    private readonly Dictionary<string, long> _convKeys = new(StringComparer.Ordinal);
    private byte[] _pendingBytes = new byte[256];
    private int _pendingLength;
    private long _pendingSince; // when the oldest pending row was deferred (written by the writer loop, read by the timer)
    private bool _recoverDue = true; // at start: the last process may have left conversations pending
    private long _seenRollbacks;

    // Counted on the writer loop each time a commit defers something; published after the commit of a flush that covered
    // them. A reader that must see its own writes flushes when the first is ahead of the second (both only grow).
    private long _deferred = 1; // 1 > 0 at start: the file's pending list is unknown until the first flush
    private long _flushedThrough;

    // Conversations with deferred rows, and the _deferred count when they were last deferred (for the per-conversation reads:
    // a grain's members, a conversation's view). Entries at or below _flushedThrough are flushed; pruned at each flush.
    private readonly ConcurrentDictionary<string, long> _pendingIds = new(StringComparer.Ordinal);
    private int _timerArmed;

    private int DerivedFlushMs => _database.Options.DerivedRowsFlushMs;

    /// <summary>True when rows derived from an acknowledged message may not be written yet (ADR 0028).</summary>
    internal bool DerivedRowsPending => Volatile.Read(ref _deferred) > Volatile.Read(ref _flushedThrough);

    private bool ConversationPending(string conversationId) =>
        _pendingIds.TryGetValue(conversationId, out var at) && at > Volatile.Read(ref _flushedThrough);

    /// <summary>Writes every pending derived row now, in a write of its own (shared by whatever else the writer groups with it).</summary>
    internal async Task FlushDerivedRowsAsync(CancellationToken cancellationToken = default)
    {
        var through = await _database.WriteAsync(
            writer =>
            {
                var c = _commands ??= new WriterCommands(writer);
                var covered = EnsureDerivedConsistent(c);
                if (_pending.Count > 0)
                {
                    covered = FlushDerived(c);
                    WriteFeedState(c, 0);
                }

                // Nothing is pending now: every deferral so far is flushed by this transaction or by one before it.
                return Math.Max(covered, Volatile.Read(ref _deferred));
            },
            cancellationToken).ConfigureAwait(false);
        PublishFlushed(through);
    }

    // In a write of this store's (the search recovery's): every derived row written in its transaction. Not published:
    // a reader that asks later flushes again, finding nothing.
    private void FlushDerivedInWrite(WriterCommands c)
    {
        EnsureDerivedConsistent(c);
        if (_pending.Count > 0)
        {
            FlushDerived(c);
            WriteFeedState(c, 0);
        }
    }

    // Before a read that must see the caller's own acknowledged writes.
    private Task FlushIfPendingAsync(CancellationToken cancellationToken) =>
        DerivedRowsPending ? FlushDerivedRowsAsync(cancellationToken) : Task.CompletedTask;

    private Task FlushIfPendingAsync(string conversationId, CancellationToken cancellationToken) =>
        _recoverDueForReaders || ConversationPending(conversationId) ? FlushDerivedRowsAsync(cancellationToken) : Task.CompletedTask;

    private volatile bool _recoverDueForReaders = true;

    private void PublishFlushed(long through)
    {
        var seen = Volatile.Read(ref _flushedThrough);
        while (through > seen)
        {
            var was = Interlocked.CompareExchange(ref _flushedThrough, through, seen);
            if (was == seen)
            {
                break;
            }

            seen = was;
        }

        if (through > 0)
        {
            _recoverDueForReaders = false;
        }
    }

    // In a write, before anything else: when a write was rolled back since (or at start), the memory may hold raises the
    // file never got, and the file pending conversations the memory does not know: derive them all from the messages.
    // Returns the deferred count this covered (0 when nothing was done).
    private long EnsureDerivedConsistent(WriterCommands c)
    {
        var rollbacks = _database.Rollbacks;
        if (!_recoverDue && rollbacks == _seenRollbacks)
        {
            return 0;
        }

        _seenRollbacks = rollbacks;
        _recoverDue = false;
        return Recover(c);
    }

    private long Recover(WriterCommands c)
    {
        var keys = new HashSet<long>(_pending.Keys);
        long derivedThrough;
        var state = c.ReadFeedState;
        try
        {
            if (!state.Read())
            {
                return 0;
            }

            derivedThrough = state.GetInt64(0);
            if (!state.IsDBNull(1))
            {
                DecodeKeys(state.GetBlobSpan(1), keys);
            }
        }
        finally
        {
            state.Reset();
        }

        foreach (var key in keys)
        {
            var d = c.DeriveConversation;
            d.Bind(0, key);
            d.Execute();
            var f = c.DeriveMembersFeed;
            f.Bind(0, key);
            f.Execute();
            var r = c.DeriveSendersRead;
            r.Bind(0, key);
            r.Bind(1, derivedThrough);
            r.Execute();
        }

        if (keys.Count > 0)
        {
            LogDerivedRowsRecovered(_logger, keys.Count);
        }

        var through = Volatile.Read(ref _deferred);
        ClearPending();
        WriteFeedState(c, 0);
        return through;
    }

    // The conversations a commit did not open: their raises kept for the flush instead of run now.
    // With DerivedRowsFlushMs = 0 the flush at the end of the same commit writes them (FlushDue), and nothing is published
    // as pending: no reader waits, no timer runs.
    private void Defer(WriterCommands c, Dictionary<string, (long MaxSeq, long LastTime, long MaxVersion)> touched, Dictionary<(string Conversation, string Sender), long> senders, HashSet<string> opened, Abstractions.Messaging.CommitBatch batch)
    {
        var later = DerivedFlushMs > 0;
        var deferred = Volatile.Read(ref _deferred) + (later ? 1 : 0);
        var any = false;
        foreach (var (conversationId, t) in touched)
        {
            if (opened.Contains(conversationId))
            {
                continue;
            }

            var key = ConvKeyOf(c, conversationId);
            if (_pending.Count == 0)
            {
                Volatile.Write(ref _pendingSince, Stopwatch.GetTimestamp());
            }

            if (!_pending.TryGetValue(key, out var p))
            {
                _pending[key] = p = new PendingConversation();
                AppendKey(key);
            }

            p.MaxSeq = Math.Max(p.MaxSeq, t.MaxSeq);
            p.LastTime = Math.Max(p.LastTime, t.LastTime);
            p.MaxVersion = Math.Max(p.MaxVersion, t.MaxVersion);
            p.WriteDiffusion |= !batch.ReadDiffusion.Contains(conversationId);
            if (later)
            {
                _pendingIds[conversationId] = deferred;
                any = true;
            }
        }

        foreach (var ((conversationId, senderId), seq) in senders)
        {
            if (opened.Contains(conversationId))
            {
                continue;
            }

            var key = (ConvKeyOf(c, conversationId), senderId);
            _pendingSenders[key] = _pendingSenders.TryGetValue(key, out var was) ? Math.Max(was, seq) : seq;
        }

        if (any)
        {
            Volatile.Write(ref _deferred, deferred);
            ArmFlushTimer();
        }
    }

    private bool FlushDue() =>
        _pending.Count > 0
        && (DerivedFlushMs == 0 || _pendingLength > PendingBytesLimit || Stopwatch.GetElapsedTime(_pendingSince).TotalMilliseconds >= DerivedFlushMs);

    // The raises of every pending conversation, then nothing pending. The caller writes feed_state. Returns the deferred
    // count covered, to publish once the transaction committed.
    private long FlushDerived(WriterCommands c)
    {
        foreach (var ((key, sender), seq) in _pendingSenders)
        {
            var r = c.RaiseSenderReadSeqByKey;
            r.Bind(0, key);
            r.Bind(1, sender);
            r.Bind(2, seq);
            r.Execute();
        }

        foreach (var (key, p) in _pending)
        {
            var u = c.RaiseConversationByKey;
            u.Bind(0, key);
            u.Bind(1, p.MaxSeq);
            u.Bind(2, p.LastTime);
            u.Bind(3, p.MaxVersion);
            u.Execute();
            if (p.WriteDiffusion)
            {
                var f = c.RaiseAllMembersFeedByKey;
                f.Bind(0, key);
                f.Bind(1, p.MaxVersion);
                f.Execute();
            }
        }

        var through = Volatile.Read(ref _deferred);
        ClearPending();
        return through;
    }

    private void ClearPending()
    {
        _pending.Clear();
        _pendingSenders.Clear();
        _pendingLength = 0;

        // What a committed flush covered is no longer pending for the per-conversation reads.
        var flushed = Volatile.Read(ref _flushedThrough);
        foreach (var (id, at) in _pendingIds)
        {
            if (at <= flushed)
            {
                _pendingIds.TryRemove(new KeyValuePair<string, long>(id, at));
            }
        }
    }

    // feed_state, as every commit writes it: the version, and the pending keys (NULL when none).
    private void WriteFeedState(WriterCommands c, long maxVersion)
    {
        var s = c.RaiseFeedState;
        s.Bind(0, maxVersion);
        s.BindBlobOrNull(1, _pendingBytes.AsSpan(0, _pendingLength));
        s.Execute();
    }

    private long ConvKeyOf(WriterCommands c, string conversationId)
    {
        if (_convKeys.TryGetValue(conversationId, out var key))
        {
            return key;
        }

        var q = c.ConvKeyOf;
        try
        {
            q.Bind(0, conversationId);
            if (!q.Read())
            {
                // Never: a message row needs its conversation's row (migration 30). Refused, so the batch rolls back.
                throw new InvalidOperationException("A committed message names a conversation without a row.");
            }

            key = q.GetInt64(0);
        }
        finally
        {
            q.Reset();
        }

        // Bounded: a random-pair load touches a new conversation per message; the keys never change.
        if (_convKeys.Count >= 65536)
        {
            _convKeys.Clear();
        }

        _convKeys[conversationId] = key;
        return key;
    }

    private void AppendKey(long key)
    {
        if (_pendingLength + 10 > _pendingBytes.Length)
        {
            Array.Resize(ref _pendingBytes, _pendingBytes.Length * 2);
        }

        var v = (ulong)key;
        while (v >= 0x80)
        {
            _pendingBytes[_pendingLength++] = (byte)(v | 0x80);
            v >>= 7;
        }

        _pendingBytes[_pendingLength++] = (byte)v;
    }

    internal static void DecodeKeys(ReadOnlySpan<byte> bytes, HashSet<long> keys)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            ulong v = 0;
            var shift = 0;
            byte b;
            do
            {
                b = bytes[i++];
                v |= (ulong)(b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0 && i < bytes.Length && shift < 64);
            keys.Add((long)v);
        }
    }

    private void ArmFlushTimer()
    {
        if (Interlocked.CompareExchange(ref _timerArmed, 1, 0) == 0)
        {
            _ = FlushLaterAsync();
        }
    }

    // The flush of a quiet writer: a commit after the interval carries it under load, but none may come. One loop at a
    // time; it waits until the oldest pending row is one interval old (a commit may have flushed meanwhile: then it waits
    // for the next pending row's interval), and ends once nothing is pending.
    private async Task FlushLaterAsync()
    {
        try
        {
            var wait = DerivedFlushMs;
            while (true)
            {
                await Task.Delay(Math.Max(1, wait)).ConfigureAwait(false);
                if (_disposed || !_database.IsReady)
                {
                    Volatile.Write(ref _timerArmed, 0);
                    return;
                }

                if (!DerivedRowsPending)
                {
                    Volatile.Write(ref _timerArmed, 0);
                    if (!DerivedRowsPending || Interlocked.CompareExchange(ref _timerArmed, 1, 0) != 0)
                    {
                        return;
                    }
                }

                var age = Stopwatch.GetElapsedTime(Volatile.Read(ref _pendingSince)).TotalMilliseconds;
                if (age < DerivedFlushMs)
                {
                    wait = (int)Math.Ceiling(DerivedFlushMs - age);
                    continue;
                }

                await FlushDerivedRowsAsync().ConfigureAwait(false);
                wait = DerivedFlushMs;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The rows stay pending (the file says so); the next commit, read or restart writes them.
            Volatile.Write(ref _timerArmed, 0);
            LogDerivedFlushFailed(_logger, ex);
        }
    }

    private sealed class PendingConversation
    {
        public long MaxSeq;
        public long LastTime;
        public long MaxVersion;
        public bool WriteDiffusion;
    }

    [LoggerMessage(EventId = 2242, Level = LogLevel.Warning, Message = "SQLite: the timed write of messages' derived rows failed; they stay pending")]
    private static partial void LogDerivedFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2241, Level = LogLevel.Information, Message = "SQLite: derived the rows of {Conversations} pending conversations from their messages")]
    private static partial void LogDerivedRowsRecovered(ILogger logger, int conversations);
}
