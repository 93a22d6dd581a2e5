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
/// remembered send was kept for as long as the key (issue 17). A successful outcome is kept as its <see cref="MessageAck"/>
/// alone (the result around it is made again for a retry): the <c>CoreResult</c> was 43 B of every active conversation and
/// of every key a conversation's activation preloads (up to <c>DedupPreloadLimit</c>, issue 17's soak census, stop 41).
/// </remarks>
internal sealed class SendDedup(int limit)
{
    private string? _firstSender;
    private string? _firstClientMsgId;
    private object? _firstOutcome; // a MessageAck (a success), a CoreResult<MessageAck> (a refusal) or a PendingSend
    private Dictionary<(string Sender, string ClientMsgId), object>? _sends;

    /// <summary>True while every send of the conversation is in this table (a miss means "new").</summary>
    public bool AllKeysKnown { get; set; }

    public int Count => _sends?.Count ?? (_firstOutcome is null ? 0 : 1);

    /// <summary>The earlier attempt of this key: its outcome, or a task that completes with it while it is in flight.</summary>
    public bool TryGet(string senderId, string clientMsgId, out Task<CoreResult<MessageAck>> earlier)
    {
        object? found;
        if (_sends is { } sends)
        {
            sends.TryGetValue((senderId, clientMsgId), out found);
        }
        else
        {
            found = IsFirst(senderId, clientMsgId) ? _firstOutcome : null;
        }

        earlier = found switch
        {
            null => null!,
            PendingSend pending => pending.Outcome,
            MessageAck ack => Task.FromResult(CoreResult.Success(ack)), // only for a retry
            _ => Task.FromResult((CoreResult<MessageAck>)found),
        };
        return found is not null;
    }

    /// <summary>Remembers a known outcome of this key.</summary>
    public void Remember(string senderId, string clientMsgId, CoreResult<MessageAck> outcome) => Set(senderId, clientMsgId, Kept(outcome));

    /// <summary>Remembers the ack of a stored send of this key.</summary>
    public void Remember(string senderId, string clientMsgId, MessageAck ack) => Set(senderId, clientMsgId, ack);

    /// <summary>Remembers a send in flight; <see cref="Settle"/> or <see cref="Forget"/> ends it.</summary>
    public void Remember(string senderId, string clientMsgId, PendingSend pending) => Set(senderId, clientMsgId, pending);

    /// <summary>
    /// The send in flight under this key has its outcome: retries waiting for it get it, and the key keeps the outcome
    /// instead of the send (unless the key was forgotten or given to another attempt meanwhile).
    /// </summary>
    public void Settle(string senderId, string clientMsgId, PendingSend pending, CoreResult<MessageAck> outcome)
    {
        if (_sends is { } sends)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(sends, (senderId, clientMsgId));
            if (!Unsafe.IsNullRef(ref slot) && ReferenceEquals(slot, pending))
            {
                slot = Kept(outcome);
            }
        }
        else if (ReferenceEquals(_firstOutcome, pending))
        {
            _firstOutcome = Kept(outcome);
        }

        pending.Complete(outcome);
    }

    private void Set(string senderId, string clientMsgId, object outcome)
    {
        if (_sends is null)
        {
            if (_firstOutcome is null || IsFirst(senderId, clientMsgId))
            {
                (_firstSender, _firstClientMsgId, _firstOutcome) = (senderId, clientMsgId, outcome);
                return;
            }

            // A second key: from here on the dictionary holds them all (and the limit applies as it always did).
            _sends = new() { [(_firstSender!, _firstClientMsgId!)] = _firstOutcome };
            (_firstSender, _firstClientMsgId, _firstOutcome) = (null, null, null);
        }

        if (_sends.Count >= limit && !_sends.ContainsKey((senderId, clientMsgId)))
        {
            foreach (var key in _sends.Where(kv => kv.Value is not PendingSend).Select(kv => kv.Key).ToList())
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
            (_firstSender, _firstClientMsgId, _firstOutcome) = (null, null, null);
        }
    }

    /// <summary>The earlier attempt's outcome as a retry sees it: the same ack marked duplicate, or the same refusal.</summary>
    public static async Task<CoreResult<MessageAck>> AsDuplicateAsync(Task<CoreResult<MessageAck>> earlier)
    {
        var result = await earlier;
        return result.IsOk ? CoreResult.Success(result.Value! with { Duplicate = true }) : result;
    }

    // What a key keeps of an outcome: a success's ack alone.
    private static object Kept(CoreResult<MessageAck> outcome) => outcome is { IsOk: true, Value: { } ack } ? ack : outcome;

    private bool IsFirst(string senderId, string clientMsgId) =>
        _firstOutcome is not null && string.Equals(_firstSender, senderId, StringComparison.Ordinal) && string.Equals(_firstClientMsgId, clientMsgId, StringComparison.Ordinal);
}

/// <summary>
/// A send in flight in a <see cref="SendDedup"/> (the grain's commit work of the message derives from it). A retry that
/// arrives before it completes waits on <see cref="Outcome"/>, whose task source is made for the first such retry only.
/// Used inside the grain's turns only.
/// </summary>
internal class PendingSend
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
