using System.Buffers;
using System.Net.WebSockets;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk.Internal;

namespace Parley.Sdk;

public sealed partial class ParleyClient
{
    private readonly Lock _gateLock = new();
    private TaskCompletionSource<Session> _ready = NewGate();

    private int _endpoint;

    private static TaskCompletionSource<Session> NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The endpoint the current (or next) connection uses: <see cref="ParleyClientOptions.ServerUri"/> or an alternate.</summary>
    public Uri CurrentServerUri
    {
        get
        {
            var index = Volatile.Read(ref _endpoint);
            return index == 0 ? _options.ServerUri : _options.AlternateServerUris[index - 1];
        }
    }

    // Failover: the next reconnect goes to the next endpoint of the cluster, round robin.
    private void NextEndpoint()
    {
        var count = _options.AlternateServerUris.Count + 1;
        if (count > 1)
        {
            Volatile.Write(ref _endpoint, (Volatile.Read(ref _endpoint) + 1) % count);
        }
    }

    /// <summary>
    /// Opens a session. A server whose feed is behind the local cursor (its data was restored or replaced) answers
    /// <see cref="ErrorCode.CursorAhead"/>: the local state is then dropped and the session opened again from cursor 0,
    /// a full resync that <see cref="SyncCompletedEventArgs.FullResync"/> reports.
    /// </summary>
    private async Task<Session> OpenSessionAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await OpenSessionOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ParleyException ex) when (ex.Code == ErrorCode.CursorAhead)
        {
            _localState.Reset();
            Volatile.Write(ref _cursor, 0);
            Volatile.Write(ref _fullResync, 1);
            return await OpenSessionOnceAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Opens a WebSocket and performs Hello. Throws <see cref="ParleyException"/> when the server refuses.</summary>
    private async Task<Session> OpenSessionOnceAsync(CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
        _options.ConfigureWebSocket?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _disposeCts.Token);
        try
        {
            await socket.ConnectAsync(CurrentServerUri, linked.Token).ConfigureAwait(false);
            var session = new Session(socket, Interlocked.Increment(ref _generation), _time);
            var hello = new Hello
            {
                Token = _options.Token,
                DeviceId = _options.DeviceId,
                Platform = _options.Platform,
                ResumeCursor = _localState.Cursor,
                ClientVersion = _options.ClientVersion,
            };
            await session.SendAsync(new ClientFrame { RequestId = 1, Hello = hello }, linked.Token).ConfigureAwait(false);
            var reply = await Session.ReceiveFrameAsync(socket, new ArrayBufferWriter<byte>(), linked.Token).ConfigureAwait(false);
            switch (reply?.BodyCase)
            {
                case ServerFrame.BodyOneofCase.HelloOk:
                    session.HelloOk = reply.HelloOk;
                    Volatile.Write(ref _userId, reply.HelloOk.UserId);
                    return session;
                case ServerFrame.BodyOneofCase.Error:
                    var error = reply.Error;
                    throw new ParleyException(error.Code, string.IsNullOrEmpty(error.Message) ? error.Code.ToString() : error.Message,
                        error.RetryAfterMs > 0 ? TimeSpan.FromMilliseconds(error.RetryAfterMs) : null,
                        error.Code == ErrorCode.CursorAhead ? CloseCodes.CursorAhead : CloseCodes.HandshakeFailed);
                case null:
                    var code = (int?)socket.CloseStatus;
                    var terminal = code is { } c && CloseCodes.IsTerminal(c);
                    throw new ParleyException(terminal ? ErrorCode.Unauthenticated : ErrorCode.Unavailable,
                        $"The server closed the connection during the handshake ({code} {socket.CloseStatusDescription}).", null, code);
                default:
                    throw new ParleyException(ErrorCode.ProtocolViolation, $"Unexpected first frame {reply.BodyCase}.");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !_disposeCts.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"No HelloOk within {_options.ConnectTimeout}.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Runs sessions until a terminal close, a kick or disposal.</summary>
    private async Task RunAsync(Session session)
    {
        var attempt = 0;
        while (true)
        {
            var end = await RunSessionAsync(session).ConfigureAwait(false);
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            if (session.Synced)
            {
                attempt = 0;
            }

            if (end.Terminal || !_options.AutoReconnect)
            {
                Terminate(end);
                return;
            }

            // 1012: the server drained for a restart and answered everything it read; another node (or the restarted
            // one) takes the session at once, so the first attempt does not wait. 4012: live events were missed; the
            // resume from the cursor has them, at once.
            var immediate = end.CloseCode is CloseCodes.ServiceRestart or CloseCodes.Resync;
            while (true)
            {
                var delay = immediate ? TimeSpan.Zero : Backoff.Delay(attempt++, _options.ReconnectInitialDelay, _options.ReconnectMaxDelay);
                immediate = false;
                PostState(ConnectionState.Reconnecting, end.CloseCode, end.Reason, end.Error, delay);
                try
                {
                    await Task.Delay(delay, _time, _disposeCts.Token).ConfigureAwait(false);
                    // Let the dispatch loop finish the old session's events so Hello carries the newest cursor.
                    await BarrierAsync().ConfigureAwait(false);
                    NextEndpoint();
                    session = await OpenSessionAsync(CancellationToken.None).ConfigureAwait(false);
                    break;
                }
                catch (Exception) when (Volatile.Read(ref _disposed) != 0)
                {
                    return;
                }
                catch (ParleyException ex) when (!ex.IsTransient)
                {
                    Terminate(new SessionEnd(ex.CloseCode, ex.Message, ex, true, null));
                    return;
                }
                catch (Exception ex)
                {
                    end = new SessionEnd((ex as ParleyException)?.CloseCode, ex.Message, ex, false, null);
                }
            }
        }
    }

    /// <summary>Receives frames of one session until it ends; results go to their requests, events to the dispatch loop.</summary>
    private async Task<SessionEnd> RunSessionAsync(Session session)
    {
        Volatile.Write(ref _current, session);
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(_disposeCts.Token);
        var heartbeat = HeartbeatAsync(session, sessionCts.Token);
        var buffer = new ArrayBufferWriter<byte>();
        SessionEnd end;
        try
        {
            while (true)
            {
                var frame = await Session.ReceiveFrameAsync(session.Socket, buffer, sessionCts.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    var code = (int?)session.Socket.CloseStatus;
                    var reason = session.Socket.CloseStatusDescription;
                    await CompleteCloseAsync(session.Socket).ConfigureAwait(false);
                    end = new SessionEnd(code, string.IsNullOrEmpty(reason) ? null : reason, null,
                        session.Kick is not null || (code is { } c && CloseCodes.IsTerminal(c)), session.Kick);
                    break;
                }

                session.MarkReceived();
                if (frame.RequestId != 0)
                {
                    if (frame.BodyCase == ServerFrame.BodyOneofCase.SendAck && frame.SendAck.Version != 0)
                    {
                        // The server queues every event up to an ack's version before the ack, so once the events
                        // before it are processed the cursor may move to it (own messages are not echoed back).
                        QueueOwnAck(session, frame.SendAck);
                    }

                    session.TryComplete(frame);
                    continue;
                }

                if (frame.BodyCase == ServerFrame.BodyOneofCase.Kick)
                {
                    session.Kick = frame.Kick;
                }

                _dispatch.Writer.TryWrite(new DispatchItem(session, frame, null));
            }
        }
        catch (Exception ex)
        {
            var reason = session.HeartbeatExpired ? "No frame received within twice the heartbeat interval." : ex.Message;
            end = new SessionEnd((int?)session.Socket.CloseStatus, reason, ex, session.Kick is not null, session.Kick);
        }
        finally
        {
            await sessionCts.CancelAsync().ConfigureAwait(false);
            session.End();
            ResetReady(session);
        }

        await heartbeat.ConfigureAwait(false);
        session.Socket.Dispose();
        return end;
    }

    private static async Task CompleteCloseAsync(ClientWebSocket socket)
    {
        if (socket.State != WebSocketState.CloseReceived)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The peer is gone; the session is over either way.
        }
    }

    private async Task HeartbeatAsync(Session session, CancellationToken cancellationToken)
    {
        var interval = _options.HeartbeatInterval;
        if (session.HelloOk is { HeartbeatIntervalMs: > 0 } ok && TimeSpan.FromMilliseconds(ok.HeartbeatIntervalMs) < interval)
        {
            interval = TimeSpan.FromMilliseconds(ok.HeartbeatIntervalMs);
        }

        try
        {
            long? pingSentAt = null;
            while (true)
            {
                await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);

                // Dead only when a ping went unanswered for an interval and nothing arrived for two: a late timer on a
                // busy machine must not end a session that never got the chance to prove it is alive.
                if (pingSentAt is { } sent && !session.ReceivedSince(sent) && _time.GetElapsedTime(sent) >= interval
                    && session.SinceLastReceived >= interval * 2)
                {
                    session.HeartbeatExpired = true;
                    session.Socket.Abort();
                    return;
                }

                // The Pong is matched by nobody; any inbound frame proves liveness.
                var ping = new ClientFrame { RequestId = NextRequestId(), Ping = new Ping { ClientTime = _time.GetUtcNow().ToUnixTimeMilliseconds() } };
                pingSentAt = _time.GetTimestamp();
                await session.SendAsync(ping, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Cancelled with the session, or the send failed because the session is ending.
        }
    }

    private void Terminate(SessionEnd end)
    {
        var code = end.Kick switch
        {
            { Reason: KickReason.TokenRevoked } => ErrorCode.TokenRevoked,
            { Reason: KickReason.TokenExpired } => ErrorCode.TokenExpired,
            _ => (end.Error as ParleyException)?.Code ?? ErrorCode.Unauthenticated,
        };
        var reason = end.Kick is { } kick ? $"Kicked: {kick.Reason} {kick.Detail}".TrimEnd() : end.Reason ?? "The session ended.";
        var error = new ParleyException(code, reason, null, end.CloseCode, end.Error);
        FailReady(error);
        _firstSync.TrySetException(error);
        PostState(ConnectionState.Disconnected, end.CloseCode, reason, end.Error, null);
    }

    private Task BarrierAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_dispatch.Writer.TryWrite(new DispatchItem(null, null, () =>
            {
                done.TrySetResult();
                return Task.CompletedTask;
            })))
        {
            done.TrySetResult();
        }

        return done.Task.WaitAsync(_disposeCts.Token);
    }

    private async Task<Session> WaitReadyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<Session> gate;
            lock (_gateLock)
            {
                gate = _ready.Task;
            }

            var session = await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!session.IsEnded)
            {
                return session;
            }

            ResetReady(session);
        }
    }

    private Session? CurrentReadySession()
    {
        lock (_gateLock)
        {
            return _ready.Task.IsCompletedSuccessfully && !_ready.Task.Result.IsEnded ? _ready.Task.Result : null;
        }
    }

    private void SetReady(Session session)
    {
        lock (_gateLock)
        {
            if (!session.IsEnded && !_ready.Task.IsFaulted)
            {
                if (_ready.Task.IsCompleted)
                {
                    _ready = NewGate();
                }

                _ready.TrySetResult(session);
            }
        }
    }

    private void ResetReady(Session session)
    {
        lock (_gateLock)
        {
            if (_ready.Task.IsCompletedSuccessfully && ReferenceEquals(_ready.Task.Result, session))
            {
                _ready = NewGate();
            }
        }
    }

    private void FailReady(Exception error)
    {
        lock (_gateLock)
        {
            if (_ready.Task.IsCompleted)
            {
                _ready = NewGate();
            }

            _ready.TrySetException(error);
            _ = _ready.Task.Exception; // observed: nobody may be waiting.
        }
    }

    private sealed record SessionEnd(int? CloseCode, string? Reason, Exception? Error, bool Terminal, KickEvent? Kick);
}
