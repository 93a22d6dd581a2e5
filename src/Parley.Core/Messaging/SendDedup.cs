namespace Parley.Core.Messaging;

/// <summary>
/// The sends a conversation has seen, by (sender, client message id): a retry gets the first attempt's outcome (marked
/// duplicate) instead of a second message, also while the first is still committing. A failed attempt is forgotten so
/// its retry is sent again. Bounded: over <c>limit</c> keys the completed ones are dropped, and from then on the
/// caller must ask the store about keys this table does not know (<see cref="AllKeysKnown"/>).
/// </summary>
internal sealed class SendDedup(int limit)
{
    private readonly Dictionary<(string Sender, string ClientMsgId), Task<CoreResult<MessageAck>>> _sends = [];

    /// <summary>True while every send of the conversation is in this table (a miss means "new").</summary>
    public bool AllKeysKnown { get; set; }

    public int Count => _sends.Count;

    public bool TryGet(string senderId, string clientMsgId, out Task<CoreResult<MessageAck>> earlier) =>
        _sends.TryGetValue((senderId, clientMsgId), out earlier!);

    public void Remember(string senderId, string clientMsgId, Task<CoreResult<MessageAck>> outcome)
    {
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
    public void Forget(string senderId, string clientMsgId) => _sends.Remove((senderId, clientMsgId));

    /// <summary>The earlier attempt's outcome as a retry sees it: the same ack marked duplicate, or the same refusal.</summary>
    public static async Task<CoreResult<MessageAck>> AsDuplicateAsync(Task<CoreResult<MessageAck>> earlier)
    {
        var result = await earlier;
        return result.IsOk ? CoreResult.Success(result.Value! with { Duplicate = true }) : result;
    }
}
