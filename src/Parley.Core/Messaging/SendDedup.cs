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
/// conversation (issue 17's soak census).
/// </remarks>
internal sealed class SendDedup(int limit)
{
    private string? _firstSender;
    private string? _firstClientMsgId;
    private Task<CoreResult<MessageAck>>? _firstOutcome;
    private Dictionary<(string Sender, string ClientMsgId), Task<CoreResult<MessageAck>>>? _sends;

    /// <summary>True while every send of the conversation is in this table (a miss means "new").</summary>
    public bool AllKeysKnown { get; set; }

    public int Count => _sends?.Count ?? (_firstOutcome is null ? 0 : 1);

    public bool TryGet(string senderId, string clientMsgId, out Task<CoreResult<MessageAck>> earlier)
    {
        if (_sends is { } sends)
        {
            return sends.TryGetValue((senderId, clientMsgId), out earlier!);
        }

        earlier = _firstOutcome!;
        return IsFirst(senderId, clientMsgId);
    }

    public void Remember(string senderId, string clientMsgId, Task<CoreResult<MessageAck>> outcome)
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
            foreach (var key in _sends.Where(kv => kv.Value.IsCompleted).Select(kv => kv.Key).ToList())
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

    private bool IsFirst(string senderId, string clientMsgId) =>
        _firstOutcome is not null && string.Equals(_firstSender, senderId, StringComparison.Ordinal) && string.Equals(_firstClientMsgId, clientMsgId, StringComparison.Ordinal);
}
