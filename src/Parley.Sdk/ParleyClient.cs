using System.Threading.Channels;
using Parley.Protocol.V1;
using Parley.Sdk.Internal;

namespace Parley.Sdk;

/// <summary>
/// A connection to a Parley server: one session at a time, resumed from the cursor after every reconnect, with
/// request/response matching, retried sends, a gapless de-duplicated message stream and events raised in order
/// from a single dispatch loop. All public methods are thread-safe.
/// </summary>
public sealed partial class ParleyClient : IAsyncDisposable
{
    private readonly ParleyClientOptions _options;
    private readonly IParleyClientState _localState;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly Channel<DispatchItem> _dispatch = Channel.CreateUnbounded<DispatchItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly AsyncLocal<bool> _onDispatchLoop = new();
    private readonly Task _dispatchLoop;
    private Task? _runLoop;
    private Session? _current;
    private string? _userId;
    private ulong _cursor;

    // 1 after the local state was dropped for a CURSOR_AHEAD answer, until the next SyncCompleted reports it.
    private int _fullResync;
    private uint _nextRequestId = 1;
    private int _generation;
    private int _state = (int)ConnectionState.Disconnected;
    private int _started;
    private int _disposed;

    /// <summary>Creates a client. Nothing connects until <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public ParleyClient(ParleyClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _localState = options.LocalState;
        _time = options.TimeProvider;
        _cursor = _localState.Cursor;
        _dispatchLoop = Task.Run(DispatchLoopAsync);
    }

    /// <summary>A message arrived (live, from the resume sync or from a gap pull). Raised once per (conversation, seq), in seq order per conversation.</summary>
    public event EventHandler<MessageReceivedEventArgs>? MessageReceived;

    /// <summary>A revoke notification arrived; raised right after its <see cref="MessageReceived"/>.</summary>
    public event EventHandler<MessageRevokedEventArgs>? MessageRevoked;

    /// <summary>A read receipt arrived.</summary>
    public event EventHandler<ReceiptReceivedEventArgs>? ReceiptReceived;

    /// <summary>A message of one of this user's conversations was edited (live; the sender's other devices too).</summary>
    public event EventHandler<MessageEditedEventArgs>? MessageEdited;

    /// <summary>Someone (this user included, on any device) added or removed a reaction.</summary>
    public event EventHandler<ReactionChangedEventArgs>? ReactionChanged;

    /// <summary>
    /// A sync brought a message this client already had again because it changed while offline (an edit, reactions, a
    /// reply count): replace the stored copy by seq.
    /// </summary>
    public event EventHandler<MessageUpdatedEventArgs>? MessageUpdated;

    /// <summary>
    /// A super group whose member notices are events (not messages) gained or lost members: this user's own change, or
    /// (by the group's mode) any change for its online members or for its owner and admins. Live only; after a
    /// reconnect the conversation list and the group list carry this user's own changes.
    /// </summary>
    public event EventHandler<GroupMembershipChangedEventArgs>? GroupMembershipChanged;

    /// <summary>A typing notification arrived.</summary>
    public event EventHandler<TypingReceivedEventArgs>? TypingReceived;

    /// <summary>The server kicked this session; the client will not reconnect.</summary>
    public event EventHandler<KickedEventArgs>? Kicked;

    /// <summary>The connection state changed.</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? ConnectionStateChanged;

    /// <summary>A session's resume sync finished: every synced message (and gap) has been raised.</summary>
    public event EventHandler<SyncCompletedEventArgs>? SyncCompleted;

    /// <summary>This user's settings or read cursor of a conversation changed on another device.</summary>
    public event EventHandler<ConversationUpdatedEventArgs>? ConversationUpdated;

    /// <summary>The organisation directory changed on the server.</summary>
    public event EventHandler<DirectoryChangedEventArgs>? DirectoryChanged;

    /// <summary>The authenticated user's id, known after the first HelloOk; null before.</summary>
    public string? UserId => Volatile.Read(ref _userId);

    /// <summary>The current connection state.</summary>
    public ConnectionState State => (ConnectionState)Volatile.Read(ref _state);

    /// <summary>The resume cursor: the feed version of the last processed event.</summary>
    public ulong Cursor => Volatile.Read(ref _cursor);

    /// <summary>
    /// Opens the first session and completes once its resume sync has completed (all sync events raised).
    /// Later disconnects are handled by automatic reconnection. If <paramref name="cancellationToken"/> fires before
    /// that, the client is disposed.
    /// </summary>
    /// <exception cref="ParleyException">The server refused the handshake (bad token, device mismatch, ...).</exception>
    /// <exception cref="InvalidOperationException">ConnectAsync was already called.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("ConnectAsync can be called once per client.");
        }

        PostState(ConnectionState.Connecting, null, null, null, null);
        Session session;
        try
        {
            session = await OpenSessionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            PostState(ConnectionState.Disconnected, (ex as ParleyException)?.CloseCode, ex.Message, ex, null);
            FailReady(ex);
            throw;
        }

        _runLoop = Task.Run(() => RunAsync(session), CancellationToken.None);
        try
        {
            await _firstSync.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends a message and returns the server's acknowledgement. The send is retried under the same
    /// <paramref name="clientMsgId"/> across reconnects, on INTERNAL/UNAVAILABLE errors and after RATE_LIMITED (waiting the
    /// server's retry-after; a wait that would not fit in the send timeout throws the RATE_LIMITED error) until it is acknowledged,
    /// <paramref name="cancellationToken"/> fires or <see cref="ParleyClientOptions.SendTimeout"/> elapses; the server
    /// stores it once.
    /// </summary>
    /// <param name="target">A user (1:1, created on first send) or an existing conversation.</param>
    /// <param name="content">The content.</param>
    /// <param name="clientMsgId">Idempotency key (1..64 chars); a new GUID ("N" format) when null.</param>
    /// <param name="cancellationToken">Cancels waiting; the message may still have been stored.</param>
    /// <exception cref="ParleyException">The server rejected the message with a non-transient error, or the session was terminated.</exception>
    /// <exception cref="TimeoutException">No acknowledgement within <see cref="ParleyClientOptions.SendTimeout"/>.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<SendReceipt> SendAsync(Target target, Content content, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(content);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        clientMsgId ??= Guid.NewGuid().ToString("N");
        var request = new SendRequest { ClientMsgId = clientMsgId, Target = target, Content = content };

        var started = _time.GetTimestamp();
        using var sendTimeout = new CancellationTokenSource(_options.SendTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, sendTimeout.Token, _disposeCts.Token);
        var attempt = 0;
        try
        {
            while (true)
            {
                var session = await WaitReadyAsync(linked.Token).ConfigureAwait(false);
                ServerFrame reply;
                try
                {
                    reply = await RequestAsync(session, new ClientFrame { Send = request }, linked.Token).ConfigureAwait(false);
                }
                catch (ConnectionLostException)
                {
                    continue; // re-sent on the next session, after its sync.
                }
                catch (TimeoutException)
                {
                    continue; // no ack in time on a live session: re-send under the same id.
                }

                switch (reply.BodyCase)
                {
                    case ServerFrame.BodyOneofCase.SendAck:
                        var ack = reply.SendAck;
                        return new SendReceipt(ack.ConversationId, ack.Seq, ack.ServerMsgId,
                            DateTimeOffset.FromUnixTimeMilliseconds(ack.ServerTime), ack.Duplicate, clientMsgId);
                    case ServerFrame.BodyOneofCase.Error:
                        var error = ParleyException.FromError(reply.Error);
                        if (RateLimitWait(error, started, _options.SendTimeout) is { } wait)
                        {
                            // Refused before any work: wait what the server asked, then re-send under the same id.
                            await Task.Delay(wait, _time, linked.Token).ConfigureAwait(false);
                            continue;
                        }

                        if (!error.IsTransient)
                        {
                            throw error;
                        }

                        var delay = Backoff.Delay(attempt++, _options.ReconnectInitialDelay, _options.ReconnectMaxDelay);
                        if (error.RetryAfter is { } after && after > delay)
                        {
                            delay = after;
                        }

                        await Task.Delay(delay, _time, linked.Token).ConfigureAwait(false);
                        continue;
                    default:
                        throw new ParleyException(ErrorCode.Unspecified, $"Unexpected result {reply.BodyCase} to a send.");
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            throw new TimeoutException($"Message {clientMsgId} was not acknowledged within {_options.SendTimeout}.");
        }
    }

    /// <summary>Sends a text message to a user (1:1 conversation).</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public Task<SendReceipt> SendTextAsync(string toUserId, string text, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendAsync(new Target { UserId = toUserId }, new Content { Text = new TextContent { Text = text } }, clientMsgId, cancellationToken);

    /// <summary>Sends a text message to an existing conversation.</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public Task<SendReceipt> SendTextToConversationAsync(string conversationId, string text, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendAsync(new Target { ConversationId = conversationId }, new Content { Text = new TextContent { Text = text } }, clientMsgId, cancellationToken);

    /// <summary>Sends application-defined content: a type tag and a JSON document.</summary>
    /// <inheritdoc cref="SendAsync" path="/exception"/>
    public Task<SendReceipt> SendCustomAsync(Target target, string type, string json, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendAsync(target, new Content { Custom = new CustomContent { Type = type, Json = json } }, clientMsgId, cancellationToken);

    /// <summary>Reads a page of a conversation's history (ascending by seq). Does not raise <see cref="MessageReceived"/>.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="fromSeq">Start seq; with <see cref="Direction.Backward"/>, 0 means the newest.</param>
    /// <param name="direction">Older (<see cref="Direction.Backward"/>) or newer (<see cref="Direction.Forward"/>) messages.</param>
    /// <param name="limit">1..200; 0 = the server default (50).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ParleyException">The server answered with an error, or the connection was lost (<see cref="ErrorCode.Unavailable"/>).</exception>
    /// <exception cref="TimeoutException">No connection or no result within <see cref="ParleyClientOptions.RequestTimeout"/>.</exception>
    public async Task<HistoryResult> GetHistoryAsync(string conversationId, ulong fromSeq = 0, Direction direction = Direction.Backward, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { History = new HistoryRequest { ConversationId = conversationId, FromSeq = fromSeq, Direction = direction, Limit = limit } },
            ServerFrame.BodyOneofCase.History, cancellationToken).ConfigureAwait(false);
        return reply.History;
    }

    /// <summary>Marks everything up to and including <paramref name="seq"/> as read.</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<MarkReadResult> MarkReadAsync(string conversationId, ulong seq, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { MarkRead = new MarkReadRequest { ConversationId = conversationId, Seq = seq } },
            ServerFrame.BodyOneofCase.MarkRead, cancellationToken).ConfigureAwait(false);
        return reply.MarkRead;
    }

    /// <summary>Revokes message <paramref name="seq"/>; members receive a revoke notification message.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The seq of the message to revoke.</param>
    /// <param name="clientMsgId">Optional idempotency key of the notification.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The acknowledgement of the notification when the server returns one, otherwise null.</returns>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<SendReceipt?> RevokeAsync(string conversationId, ulong seq, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { Revoke = new RevokeRequest { ConversationId = conversationId, Seq = seq, ClientMsgId = clientMsgId ?? string.Empty } },
            null, cancellationToken).ConfigureAwait(false);
        return reply.BodyCase == ServerFrame.BodyOneofCase.SendAck
            ? new SendReceipt(reply.SendAck.ConversationId, reply.SendAck.Seq, reply.SendAck.ServerMsgId,
                DateTimeOffset.FromUnixTimeMilliseconds(reply.SendAck.ServerTime), reply.SendAck.Duplicate, clientMsgId ?? string.Empty)
            : null;
    }

    /// <summary>Replaces the text of one of this user's own text messages (within the server's edit window). Retries with the same <paramref name="editId"/> store nothing new.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The message to edit.</param>
    /// <param name="text">The new text (its mentions are checked like a send's).</param>
    /// <param name="editId">Idempotency key of this edit; generated when null.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<EditResult> EditAsync(string conversationId, ulong seq, TextContent text, string? editId = null, CancellationToken cancellationToken = default)
    {
        var request = new EditRequest { ConversationId = conversationId, Seq = seq, EditId = editId ?? Guid.NewGuid().ToString("N"), Text = text };
        var reply = await InvokeAsync(new ClientFrame { Edit = request }, ServerFrame.BodyOneofCase.Edit, cancellationToken).ConfigureAwait(false);
        return reply.Edit;
    }

    /// <summary>Adds (or with <paramref name="remove"/> removes) this user's reaction <paramref name="emoji"/> on a message. Idempotent.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The message.</param>
    /// <param name="emoji">One emoji.</param>
    /// <param name="remove">Remove instead of add.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<ReactResult> ReactAsync(string conversationId, ulong seq, string emoji, bool remove = false, CancellationToken cancellationToken = default)
    {
        var request = new ReactRequest { ConversationId = conversationId, Seq = seq, Emoji = emoji, Remove = remove };
        var reply = await InvokeAsync(new ClientFrame { React = request }, ServerFrame.BodyOneofCase.React, cancellationToken).ConfigureAwait(false);
        return reply.React;
    }

    /// <summary>The revisions of a message, the original first and the current one last.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="seq">The message.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<RevisionList> GetRevisionsAsync(string conversationId, ulong seq, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { GetRevisions = new GetRevisionsRequest { ConversationId = conversationId, Seq = seq } },
            ServerFrame.BodyOneofCase.Revisions, cancellationToken).ConfigureAwait(false);
        return reply.Revisions;
    }

    /// <summary>The replies to message <paramref name="rootSeq"/> with a seq above <paramref name="afterSeq"/>, ascending.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="rootSeq">The message replied to.</param>
    /// <param name="afterSeq">Paging: the last reply of the previous page (0 = from the start).</param>
    /// <param name="limit">1..200; 0 = the server default (50).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<HistoryResult> GetThreadAsync(string conversationId, ulong rootSeq, ulong afterSeq = 0, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var request = new ThreadRequest { ConversationId = conversationId, RootSeq = rootSeq, AfterSeq = afterSeq, Limit = limit };
        var reply = await InvokeAsync(new ClientFrame { Thread = request }, ServerFrame.BodyOneofCase.History, cancellationToken).ConfigureAwait(false);
        return reply.History;
    }

    /// <summary>
    /// Full-text search of the messages this user may see, newest first, with highlighted snippets. A page may be short, or
    /// even empty, and still carry a <see cref="SearchResult.NextPageToken"/> (the server bounds what one page reads):
    /// follow it until it is empty.
    /// </summary>
    /// <param name="query">At least three characters (Chinese and English alike).</param>
    /// <param name="conversationId">One conversation; null = all of this user's conversations.</param>
    /// <param name="pageToken">The previous page's <see cref="SearchResult.NextPageToken"/>; null = the first page.</param>
    /// <param name="limit">1..50; 0 = 20.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<SearchResult> SearchAsync(string query, string? conversationId = null, string? pageToken = null, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var request = new SearchRequest { Query = query, ConversationId = conversationId ?? string.Empty, PageToken = pageToken ?? string.Empty, Limit = limit };
        var reply = await InvokeAsync(new ClientFrame { Search = request }, ServerFrame.BodyOneofCase.Search, cancellationToken).ConfigureAwait(false);
        return reply.Search;
    }

    /// <summary>Lists this user's conversations: pinned first, then by last activity.</summary>
    /// <param name="offset">Paging offset.</param>
    /// <param name="limit">1..500; 0 = the server default (100).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<ConversationList> GetConversationsAsync(uint offset = 0, uint limit = 0, CancellationToken cancellationToken = default)
    {
        var reply = await InvokeAsync(new ClientFrame { ListConversations = new ListConversationsRequest { Offset = offset, Limit = limit } },
            ServerFrame.BodyOneofCase.Conversations, cancellationToken).ConfigureAwait(false);
        return reply.Conversations;
    }

    /// <summary>Changes this user's settings of a conversation; null leaves a setting unchanged.</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<Conversation> UpdateConversationAsync(string conversationId, bool? pinned = null, bool? muted = null, CancellationToken cancellationToken = default)
    {
        var request = new UpdateConversationRequest { ConversationId = conversationId };
        if (pinned is { } p)
        {
            request.Pinned = p;
        }

        if (muted is { } m)
        {
            request.Muted = m;
        }

        var reply = await InvokeAsync(new ClientFrame { UpdateConversation = request }, ServerFrame.BodyOneofCase.Conversation, cancellationToken).ConfigureAwait(false);
        return reply.Conversation;
    }

    /// <summary>Creates a group with this user and <paramref name="memberIds"/>.</summary>
    /// <param name="name">The group name.</param>
    /// <param name="memberIds">Members besides the creator.</param>
    /// <param name="groupId">Optional client-chosen group id; generated by the server when null.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<CreateGroupResult> CreateGroupAsync(string name, IEnumerable<string> memberIds, string? groupId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        var request = new CreateGroupRequest { Name = name, GroupId = groupId ?? string.Empty };
        request.MemberIds.AddRange(memberIds);
        var reply = await InvokeAsync(new ClientFrame { CreateGroup = request }, ServerFrame.BodyOneofCase.CreateGroup, cancellationToken).ConfigureAwait(false);
        return reply.CreateGroup;
    }

    /// <summary>Tells the members that this user is (or stopped) typing. Fire-and-forget: dropped while not connected.</summary>
    public async Task SetTypingAsync(string conversationId, bool typing, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (CurrentReadySession() is not { } session)
        {
            return;
        }

        try
        {
            await session.SendAsync(new ClientFrame { RequestId = 0, Typing = new TypingRequest { ConversationId = conversationId, Typing = typing } }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectionLostException)
        {
            // Typing is advisory; a lost notification is harmless.
        }
    }

    /// <summary>Sends a Ping and returns the round-trip time.</summary>
    /// <inheritdoc cref="GetHistoryAsync" path="/exception"/>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var start = _time.GetTimestamp();
        await InvokeAsync(new ClientFrame { Ping = new Ping { ClientTime = _time.GetUtcNow().ToUnixTimeMilliseconds() } },
            ServerFrame.BodyOneofCase.Pong, cancellationToken).ConfigureAwait(false);
        return _time.GetElapsedTime(start);
    }

    /// <summary>Closes the session normally and stops reconnecting. Pending sends and requests fail with <see cref="ObjectDisposedException"/> or <see cref="OperationCanceledException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        FailReady(new ObjectDisposedException(nameof(ParleyClient)));
        _firstSync.TrySetException(new ObjectDisposedException(nameof(ParleyClient)));
        _http?.Dispose();
        if (Volatile.Read(ref _current) is { IsEnded: false } session)
        {
            using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
            try
            {
                await session.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "client disposed", closeTimeout.Token).ConfigureAwait(false);
                if (_runLoop is { } loop)
                {
                    // Give the server a moment to answer the close so the session ends cleanly.
                    await loop.WaitAsync(TimeSpan.FromSeconds(2), _time).ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // Best effort: the abort below ends the session anyway.
            }
        }

        await _disposeCts.CancelAsync().ConfigureAwait(false);
        if (_runLoop is { } runLoop)
        {
            try
            {
                await runLoop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The run loop handles its own failures; nothing left to report.
            }
        }

        if (State != ConnectionState.Disconnected)
        {
            PostState(ConnectionState.Disconnected, null, "disposed", null, null);
        }

        _dispatch.Writer.TryComplete();
        if (!_onDispatchLoop.Value)
        {
            await _dispatchLoop.ConfigureAwait(false);
        }

        _disposeCts.Dispose();
    }

    private async Task<ServerFrame> InvokeAsync(ClientFrame frame, ServerFrame.BodyOneofCase? expected, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _disposeCts.Token);
        ServerFrame reply;
        while (true)
        {
            try
            {
                var session = await WaitReadyAsync(linked.Token).ConfigureAwait(false);
                reply = await RequestAsync(session, frame, linked.Token).ConfigureAwait(false);
                if (reply.BodyCase == ServerFrame.BodyOneofCase.Error
                    && RateLimitWait(ParleyException.FromError(reply.Error), started, _options.RequestTimeout) is { } wait)
                {
                    // The server did nothing with a rate-limited request: asking again after its retry-after is safe.
                    await Task.Delay(wait, _time, linked.Token).ConfigureAwait(false);
                    continue;
                }

                break;
            }
            catch (ConnectionLostException ex)
            {
                throw new ParleyException(ErrorCode.Unavailable, ex.Message, null, null, ex);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                throw new TimeoutException($"No result to {frame.BodyCase} within {_options.RequestTimeout}.");
            }
        }

        if (reply.BodyCase == ServerFrame.BodyOneofCase.Error)
        {
            throw ParleyException.FromError(reply.Error);
        }

        if (expected is { } body && reply.BodyCase != body)
        {
            throw new ParleyException(ErrorCode.Unspecified, $"Unexpected result {reply.BodyCase} to {frame.BodyCase}.");
        }

        return reply;
    }

    /// <summary>
    /// The wait before re-asking after <see cref="ErrorCode.RateLimited"/>: the server's retry-after, when the retry still
    /// fits in <paramref name="budget"/> counted from <paramref name="started"/>; null: give up (throw the error).
    /// </summary>
    private TimeSpan? RateLimitWait(ParleyException error, long started, TimeSpan budget) =>
        error is { Code: ErrorCode.RateLimited, RetryAfter: { } wait } && _time.GetElapsedTime(started) + wait < budget ? wait : null;

    /// <summary>Sends a request on a given session and awaits its result frame (which may be an Error).</summary>
    private async Task<ServerFrame> RequestAsync(Session session, ClientFrame frame, CancellationToken cancellationToken)
    {
        var id = NextRequestId();
        frame.RequestId = id;
        var pending = session.Register(id);
        try
        {
            await session.SendAsync(frame, cancellationToken).ConfigureAwait(false);
            return await pending.Task.WaitAsync(_options.RequestTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            session.Unregister(id);
        }
    }

    private uint NextRequestId()
    {
        while (true)
        {
            // 0 means "no result wanted" and 1 is reserved for Hello.
            var id = Interlocked.Increment(ref _nextRequestId);
            if (id > 1)
            {
                return id;
            }
        }
    }

    private readonly record struct DispatchItem(Session? Session, ServerFrame? Frame, Func<Task>? Work);
}
