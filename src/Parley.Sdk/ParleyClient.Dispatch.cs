using Parley.Protocol.V1;
using Parley.Sdk.Internal;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    private const uint GapPageSize = 200;

    /// <summary>The single loop that processes events in arrival order and raises every public event.</summary>
    private async Task DispatchLoopAsync()
    {
        _onDispatchLoop.Value = true;
        await foreach (var item in _dispatch.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (item.Work is not null)
                {
                    await item.Work().ConfigureAwait(false);
                }
                else if (item.Session is { SyncFailed: false } session && item.Frame is { } frame)
                {
                    await HandleEventAsync(session, frame).ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // A failing state store or event must not stop the loop; handler exceptions are caught in Raise.
            }
        }
    }

    private async Task HandleEventAsync(Session session, ServerFrame frame)
    {
        switch (frame.BodyCase)
        {
            case ServerFrame.BodyOneofCase.SyncBatch:
                foreach (var sync in frame.SyncBatch.Conversations)
                {
                    if (sync.Conversation is not null)
                    {
                        session.SyncedConversations.Add(sync.Conversation);
                    }

                    if (!await SyncConversationAsync(session, sync).ConfigureAwait(false))
                    {
                        // The gap could not be pulled: drop this session so the next one re-syncs from the old cursor.
                        session.SyncFailed = true;
                        session.Socket.Abort();
                        return;
                    }
                }

                break;
            case ServerFrame.BodyOneofCase.SyncComplete:
                var complete = frame.SyncComplete;
                SetCursor(complete.Cursor);
                session.Synced = true;
                Raise(SyncCompleted, new SyncCompletedEventArgs(complete.Cursor, complete.Conversations, complete.Messages, session.SyncedConversations.ToArray(),
                    Interlocked.Exchange(ref _fullResync, 0) != 0));
                var previous = (ConnectionState)Interlocked.Exchange(ref _state, (int)ConnectionState.Connected);
                Raise(ConnectionStateChanged, new ConnectionStateChangedEventArgs(ConnectionState.Connected, previous, null, null, null, null));
                SetReady(session);
                _firstSync.TrySetResult();
                break;
            case ServerFrame.BodyOneofCase.Message:
                ProcessMessage(frame.Message, fromSync: false);
                AdvanceCursor(frame.Message.Version);
                break;
            case ServerFrame.BodyOneofCase.MessageEdited:
                Raise(MessageEdited, new MessageEditedEventArgs(frame.MessageEdited));
                AdvanceCursor(frame.MessageEdited.Version);
                break;
            case ServerFrame.BodyOneofCase.Reaction:
                Raise(ReactionChanged, new ReactionChangedEventArgs(frame.Reaction, frame.Reaction.UserId == UserId));
                AdvanceCursor(frame.Reaction.Version);
                break;
            case ServerFrame.BodyOneofCase.GroupMembership:
                Raise(GroupMembershipChanged, new GroupMembershipChangedEventArgs(frame.GroupMembership, UserId));
                AdvanceCursor(frame.GroupMembership.Version);
                break;
            case ServerFrame.BodyOneofCase.Receipt:
                Raise(ReceiptReceived, new ReceiptReceivedEventArgs(frame.Receipt));
                AdvanceCursor(frame.Receipt.Version);
                break;
            case ServerFrame.BodyOneofCase.ConversationUpdated:
                if (frame.ConversationUpdated.Conversation is { } conversation)
                {
                    Raise(ConversationUpdated, new ConversationUpdatedEventArgs(conversation));
                }

                AdvanceCursor(frame.ConversationUpdated.Version);
                break;
            case ServerFrame.BodyOneofCase.Typing:
                Raise(TypingReceived, new TypingReceivedEventArgs(frame.Typing));
                break;
            case ServerFrame.BodyOneofCase.Kick:
                Raise(Kicked, new KickedEventArgs(frame.Kick.Reason, frame.Kick.Detail));
                break;
            case ServerFrame.BodyOneofCase.DirectoryChanged:
                Raise(DirectoryChanged, new DirectoryChangedEventArgs(frame.DirectoryChanged.Version));
                break;
            case ServerFrame.BodyOneofCase.RelationsChanged:
                OnRelationsChanged(frame.RelationsChanged);
                break;
            default:
                // Unknown or future event: ignored (fields are only ever added).
                break;
        }
    }

    /// <summary>Raises one conversation's synced messages, first pulling the gap for a known conversation. False when the session failed.</summary>
    private async Task<bool> SyncConversationAsync(Session session, ConversationSync sync)
    {
        var messages = sync.Messages.OrderBy(m => m.Seq).ToList();
        if (messages.Count == 0)
        {
            return true;
        }

        var conversationId = sync.Conversation?.ConversationId is { Length: > 0 } id ? id : messages[0].ConversationId;
        var localMax = _localState.GetMaxSeq(conversationId);

        // A message at or below the high-water mark came again because it changed (edit, reactions, replies; ADR 0018).
        foreach (var changed in messages.Where(m => m.Seq <= localMax))
        {
            Raise(MessageUpdated, new MessageUpdatedEventArgs(changed));
        }

        messages = [.. messages.Where(m => m.Seq > localMax)];
        if (messages.Count == 0)
        {
            return true;
        }

        var firstSeq = messages[0].Seq;
        if (sync.Truncated && localMax > 0 && firstSeq > localMax + 1)
        {
            var from = localMax + 1;
            while (from < firstSeq)
            {
                ServerFrame reply;
                try
                {
                    var request = new HistoryRequest { ConversationId = conversationId, FromSeq = from, Direction = Direction.Forward, Limit = GapPageSize };
                    reply = await RequestAsync(session, new ClientFrame { History = request }, _disposeCts.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is ConnectionLostException or TimeoutException or OperationCanceledException)
                {
                    return false;
                }

                if (reply.BodyCase != ServerFrame.BodyOneofCase.History)
                {
                    // Refused (e.g. no longer a member): raise what the sync brought.
                    break;
                }

                ulong last = 0;
                foreach (var message in reply.History.Messages.OrderBy(m => m.Seq))
                {
                    if (message.Seq >= firstSeq)
                    {
                        break;
                    }

                    ProcessMessage(message, fromSync: true);
                    last = message.Seq;
                }

                if (!reply.History.HasMore || last == 0 || last + 1 >= firstSeq)
                {
                    break;
                }

                from = last + 1;
            }
        }

        foreach (var message in messages)
        {
            ProcessMessage(message, fromSync: true);
        }

        return true;
    }

    /// <summary>Raises a message unless its seq is at or below the conversation's high-water mark (already raised).</summary>
    private void ProcessMessage(Message message, bool fromSync)
    {
        var max = _localState.GetMaxSeq(message.ConversationId);
        if (message.Seq <= max)
        {
            return;
        }

        _localState.SetMaxSeq(message.ConversationId, message.Seq);
        Raise(MessageReceived, new MessageReceivedEventArgs(message, fromSync));
        if (message.Content?.Revoke is { } revoke)
        {
            Raise(MessageRevoked, new MessageRevokedEventArgs(message, revoke));
        }
    }

    private void QueueOwnAck(Session session, SendAck ack) =>
        _dispatch.Writer.TryWrite(new DispatchItem(null, null, () =>
        {
            if (session is { Synced: true, SyncFailed: false })
            {
                // Keep the conversation's high-water mark contiguous: only an ack right after it extends it.
                if (ack.Seq == _localState.GetMaxSeq(ack.ConversationId) + 1)
                {
                    _localState.SetMaxSeq(ack.ConversationId, ack.Seq);
                }

                AdvanceCursor(ack.Version);
            }

            return Task.CompletedTask;
        }));

    private void AdvanceCursor(ulong version)
    {
        if (version > Volatile.Read(ref _cursor))
        {
            SetCursor(version);
        }
    }

    private void SetCursor(ulong cursor)
    {
        Volatile.Write(ref _cursor, cursor);
        _localState.Cursor = cursor;
    }

    /// <summary>Changes <see cref="State"/> now and raises the event in order on the dispatch loop.</summary>
    private void PostState(ConnectionState state, int? closeCode, string? reason, Exception? error, TimeSpan? retryDelay)
    {
        var previous = (ConnectionState)Interlocked.Exchange(ref _state, (int)state);
        var args = new ConnectionStateChangedEventArgs(state, previous, closeCode, reason, error, retryDelay);
        _dispatch.Writer.TryWrite(new DispatchItem(null, null, () =>
        {
            Raise(ConnectionStateChanged, args);
            return Task.CompletedTask;
        }));
    }

    private void Raise<TArgs>(EventHandler<TArgs>? handlers, TArgs args)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((EventHandler<TArgs>)handler)(this, args);
            }
            catch (Exception)
            {
                // An application handler's failure must not stop event delivery.
            }
        }
    }
}
