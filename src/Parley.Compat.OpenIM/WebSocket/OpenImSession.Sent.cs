using Parley.Core.Delivery;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>
/// How far each conversation has been sent to this connection: the highest seq whose frame (a live push, a resume replay,
/// the echo of the client's own send) the send loop has written. The REST conversation answers of the same token use it
/// (<see cref="OpenImRest"/>), because SDK 0.0.14 counts unread twice otherwise: it learns of a new conversation from a push,
/// fetches the conversation (unread = maxSeq − readSeq) and then adds one for every later push it handles; a message
/// committed but not yet pushed when the fetch was answered was counted by the answer and again by its own push.
/// </summary>
internal sealed partial class OpenImSession
{
    /// <summary>Conversations tracked per connection; beyond it a conversation is not tracked and answers are not capped for it.</summary>
    internal const int MaxSentConversations = 4096;

    // Created on the first push (under _lock): an idle connection pays nothing for it.
    private Dictionary<string, long>? _sent;

    /// <summary>The send loop wrote a tagged frame (<see cref="Gateway.Connections.ClientConnection.FrameWritten"/>); runs on the send loop.</summary>
    public void OnFrameWritten(object tag)
    {
        switch (tag)
        {
            case MessageCommitted committed:
                Sent(committed.Message.ConversationId, committed.Message.Seq);
                break;
            case SentSeq sent:
                Sent(sent.ConversationId, sent.Seq);
                break;
        }
    }

    private void Sent(string conversationId, long seq)
    {
        lock (_lock)
        {
            _sent ??= new Dictionary<string, long>(StringComparer.Ordinal);
            if (_sent.TryGetValue(conversationId, out var known))
            {
                if (seq > known)
                {
                    _sent[conversationId] = seq;
                }
            }
            else if (_sent.Count < MaxSentConversations)
            {
                _sent[conversationId] = seq;
            }
        }
    }

    /// <summary>Adds what this connection has been sent to <paramref name="into"/> (the higher seq wins where both have one).</summary>
    public void CopySentTo(Dictionary<string, long> into)
    {
        lock (_lock)
        {
            if (_sent is null)
            {
                return;
            }

            foreach (var (conversationId, seq) in _sent)
            {
                if (!into.TryGetValue(conversationId, out var other) || other < seq)
                {
                    into[conversationId] = seq;
                }
            }
        }
    }

    /// <summary>The tag of a frame that carries message <paramref name="Seq"/> of <paramref name="ConversationId"/> (Parley's id).</summary>
    internal sealed record SentSeq(string ConversationId, long Seq);
}
