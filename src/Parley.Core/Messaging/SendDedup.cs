using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Parley.Core.Messaging;

/// <summary>
/// The sends a conversation has seen, by (sender, client message id): a retry gets the first attempt's outcome (marked
/// duplicate) instead of a second message, also while the first is still committing. A failed attempt is forgotten so
/// its retry is sent again. Bounded: over <c>limit</c> keys the completed ones are dropped, and from then on the
/// caller must ask the store about keys this table does not know (<see cref="AllKeysKnown"/>).
/// </summary>
/// <remarks>
/// The first key lives in fields; the dictionary comes with the second. Most conversations of a random-pairs load see one
/// send per activation, and a dictionary with its entries and buckets for one key was about 240 B of every active 1:1
/// conversation (issue 17's soak census). A key holds its outcome itself once known, and a <see cref="PendingSend"/>
/// while in flight: a task source and its task per send were about 0.1 KB of every message, and a completed task per
/// remembered send was kept for as long as the key (issue 17). A successful outcome is kept as its ack's fields, in the
/// dictionary's entry (or the first key's fields) itself: the <see cref="MessageAck"/> and the result around it are made
/// again for a retry. Each remembered key of a stored send was a <c>CoreResult</c> (43 B, until stop 41) and a
/// <see cref="MessageAck"/> (64 B, until stop 43) that every sent message and every key an activation preloads (up to
/// <c>DedupPreloadLimit</c>) kept alive for as long as the key, through the young collections into gen2 (issue 17's soak).
/// </remarks>
internal sealed class SendDedup(int limit)
{
    private string? _firstSender;
    private string? _firstClientMsgId;
    private Outcome _first; // empty while no first key
    private Dictionary<(string Sender, string ClientMsgId), Outcome>? _sends;
    private string? _conversationId; // of every ack this table kept (one conversation's)

    /// <summary>True while every send of the conversation is in this table (a miss means "new").</summary>
    public bool AllKeysKnown { get; set; }

    public int Count => _sends?.Count ?? (_first.IsEmpty ? 0 : 1);

    /// <summary>The earlier attempt of this key: its outcome, or a task that completes with it while it is in flight.</summary>
    public bool TryGet(string senderId, string clientMsgId, out Task<CoreResult<MessageAck>> earlier)
    {
        Outcome found = default;
        if (_sends is { } sends)
        {
            sends.TryGetValue((senderId, clientMsgId), out found);
        }
        else if (IsFirst(senderId, clientMsgId))
        {
            found = _first;
        }

        earlier = found.Value switch
        {
            null => null!,
            string serverMsgId => Task.FromResult(CoreResult.Success(new MessageAck(_conversationId!, found.Seq, serverMsgId, found.ServerTime, false, found.Version))), // only for a retry
            PendingSend pending => pending.Outcome,
            var refusal => Task.FromResult((CoreResult<MessageAck>)refusal),
        };
        return !found.IsEmpty;
    }

    /// <summary>Remembers a known outcome of this key.</summary>
    public void Remember(string senderId, string clientMsgId, CoreResult<MessageAck> outcome) => Set(senderId, clientMsgId, Kept(outcome));

    /// <summary>Remembers the ack of a stored send of this key.</summary>
    public void Remember(string senderId, string clientMsgId, MessageAck ack) => Set(senderId, clientMsgId, Kept(ack));

    /// <summary>Remembers a stored message of <paramref name="conversationId"/> (an activation's preload): no ack is made.</summary>
    public void Remember(string conversationId, Parley.Abstractions.Messaging.StoredMessage message)
    {
        _conversationId ??= conversationId;
        Set(message.SenderId, message.ClientMsgId, new Outcome(message.ServerMsgId, message.Seq, message.ServerTime, message.Version));
    }

    /// <summary>Remembers a send in flight; <see cref="Settle"/> or <see cref="Forget"/> ends it.</summary>
    public void Remember(string senderId, string clientMsgId, PendingSend pending) => Set(senderId, clientMsgId, new Outcome(pending));

    /// <summary>
    /// The send in flight under this key has its outcome: retries waiting for it get it, and the key keeps the outcome
    /// instead of the send (unless the key was forgotten or given to another attempt meanwhile).
    /// </summary>
    public void Settle(string senderId, string clientMsgId, PendingSend pending, CoreResult<MessageAck> outcome)
    {
        if (_sends is { } sends)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(sends, (senderId, clientMsgId));
            if (!Unsafe.IsNullRef(ref slot) && ReferenceEquals(slot.Other, pending))
            {
                slot = Kept(outcome);
            }
        }
        else if (ReferenceEquals(_first.Other, pending))
        {
            _first = Kept(outcome);
        }

        pending.Complete(outcome);
    }

    private void Set(string senderId, string clientMsgId, Outcome outcome)
    {
        if (_sends is null)
        {
            if (_first.IsEmpty || IsFirst(senderId, clientMsgId))
            {
                (_firstSender, _firstClientMsgId, _first) = (senderId, clientMsgId, outcome);
                return;
            }

            // A second key: from here on the dictionary holds them all (and the limit applies as it always did).
            _sends = new() { [(_firstSender!, _firstClientMsgId!)] = _first };
            (_firstSender, _firstClientMsgId, _first) = (null, null, default);
        }

        if (_sends.Count >= limit && !_sends.ContainsKey((senderId, clientMsgId)))
        {
            foreach (var key in _sends.Where(kv => kv.Value.Other is not PendingSend).Select(kv => kv.Key).ToList())
            {
                _sends.Remove(key);
            }

            AllKeysKnown = false;
        }

        _sends[(senderId, clientMsgId)] = outcome;
    }

    /// <summary>Forgets a failed attempt, so that a retry is a new send.</summary>
    public void Forget(string senderId, string clientMsgId)
    {
        if (_sends is { } sends)
        {
            sends.Remove((senderId, clientMsgId));
        }
        else if (IsFirst(senderId, clientMsgId))
        {
            (_firstSender, _firstClientMsgId, _first) = (null, null, default);
        }
    }

    /// <summary>The earlier attempt's outcome as a retry sees it: the same ack marked duplicate, or the same refusal.</summary>
    public static async Task<CoreResult<MessageAck>> AsDuplicateAsync(Task<CoreResult<MessageAck>> earlier)
    {
        var result = await earlier;
        return result.IsOk ? CoreResult.Success(result.Value! with { Duplicate = true }) : result;
    }

    // What a key keeps of an outcome: a success's ack fields, or the refusal.
    private Outcome Kept(CoreResult<MessageAck> outcome) => outcome is { IsOk: true, Value: { } ack } ? Kept(ack) : new Outcome(outcome);

    private Outcome Kept(MessageAck ack)
    {
        _conversationId ??= ack.ConversationId;
        return new Outcome(ack);
    }

    private bool IsFirst(string senderId, string clientMsgId) =>
        !_first.IsEmpty && string.Equals(_firstSender, senderId, StringComparison.Ordinal) && string.Equals(_firstClientMsgId, clientMsgId, StringComparison.Ordinal);

    /// <summary>
    /// What a key holds, in the table itself: a stored send's ack as its fields (the ack object is made again for a
    /// retry), or a <see cref="PendingSend"/> in flight or a refusal (<c>CoreResult&lt;MessageAck&gt;</c>).
    /// </summary>
    /// <remarks>
    /// One reference field for either the ack's server message id (a string) or the other outcome: the two fields it had were
    /// never both set, and 8 B of every entry is 8 B of every message while a conversation's table grows (its entries
    /// reallocated at each resize: 0.23 KB of a warm fixed-pair send in stop 45's quiet trace) and of every key it keeps
    /// (issue 17, stop 46).
    /// </remarks>
    private readonly struct Outcome
    {
        /// <summary>The server message id of a stored send (a string), a <see cref="PendingSend"/>, or a refusal; null: empty.</summary>
        public readonly object? Value;
        public readonly long Seq;
        public readonly long ServerTime;
        public readonly long Version;

        public Outcome(object other) => Value = other;

        public Outcome(MessageAck ack)
            : this(ack.ServerMsgId, ack.Seq, ack.ServerTime, ack.Version)
        {
        }

        public Outcome(string serverMsgId, long seq, long serverTime, long version) =>
            (Value, Seq, ServerTime, Version) = (serverMsgId, seq, serverTime, version);

        /// <summary>The pending send or refusal (null for a stored send's ack fields and for an empty key).</summary>
        public object? Other => Value is string ? null : Value;

        public bool IsEmpty => Value is null;
    }
}

/// <summary>
/// A send in flight in a <see cref="SendDedup"/> (the grain's commit work of the message derives from it). A retry that
/// arrives before it completes waits on <see cref="Outcome"/>, whose task source is made for the first such retry only.
/// Used inside the grain's turns only.
/// </summary>
/// <remarks>A <see cref="Parley.Core.Commit.CommitEntry"/> too: the send in flight is its own entry in the commit pipeline (issue 17).</remarks>
internal abstract class PendingSend : Parley.Core.Commit.CommitEntry
{
    private TaskCompletionSource<CoreResult<MessageAck>>? _retries;
    private CoreResult<MessageAck>? _outcome;

    /// <summary>The send's outcome, once <see cref="Complete"/> was called.</summary>
    public Task<CoreResult<MessageAck>> Outcome => _outcome is { } outcome
        ? Task.FromResult(outcome)
        : (_retries ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Completes the send: retries waiting for it continue (asynchronously) with <paramref name="outcome"/>.</summary>
    public void Complete(CoreResult<MessageAck> outcome)
    {
        _outcome ??= outcome;
        _retries?.TrySetResult(outcome);
    }
}
