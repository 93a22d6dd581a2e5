using Parley.Abstractions.Messaging;
using Parley.Core.Internal;
using Parley.Core.Limits;
using Parley.Gateway.Connections;
using Parley.Gateway.Requests;
using Parley.Protocol;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Protocols;

/// <summary>
/// Native protocol v1 on one connection: HelloOk and the connect-time sync on open, binary protobuf
/// <see cref="ClientFrame"/>s decoded and handed to the <see cref="RequestHandler"/>.
/// </summary>
internal sealed class NativeConnectionHandler(
    ClientConnection connection,
    uint helloRequestId,
    ulong resumeCursor,
    RequestHandler handler,
    IMessageStore store,
    GatewayOptions options,
    TimeProvider time,
    SendHops? hops) : IConnectionHandler<ClientFrame>
{
    private static readonly WireFrame RequestIdRequired = NativeProtocol.Binary(RequestHandler.Error(ErrorCode.BadRequest, "request_id is required."));
    private static readonly WireFrame Undecodable = NativeProtocol.Binary(RequestHandler.Error(ErrorCode.BadFrame, "The frame could not be decoded."));
    private static readonly WireFrame TooManyMalformedFrame = NativeProtocol.Binary(RequestHandler.Error(ErrorCode.BadFrame, "Too many malformed frames."));

    public int MaxFrameBytes => options.MaxFrameBytes;

    public async Task<long> OpenAsync()
    {
        await connection.WriteAsync(new ServerFrame
        {
            RequestId = helloRequestId,
            HelloOk = new HelloOk
            {
                UserId = connection.UserId,
                SessionId = connection.Id,
                ServerTime = time.GetUtcNow().ToUnixTimeMilliseconds(),
                HeartbeatIntervalMs = (uint)options.HeartbeatInterval.TotalMilliseconds,
                IdleTimeoutMs = (uint)options.IdleTimeout.TotalMilliseconds,
                MaxFrameBytes = (uint)options.MaxFrameBytes,
            },
        }).ConfigureAwait(false);
        return await SyncAsync((long)Math.Min(resumeCursor, long.MaxValue)).ConfigureAwait(false);
    }

    public Decoded<ClientFrame> Decode(ReadOnlySpan<byte> frame, bool text)
    {
        if (!text && SendFrameReader.TryRead(frame, out var requestId, out var clientMsgId, out var target, out var content))
        {
            // A text send read straight from its bytes (ADR 0027): the content stays the frame's bytes (copied once, the row's
            // array), no objects of it and no string of its text. Every other frame, and a send written any other way, is
            // parsed below as before.
            var send = new SendRequest { ClientMsgId = clientMsgId, Target = target, ContentBytes = content };
            return Decoded<ClientFrame>.Dispatch(new ClientFrame { RequestId = requestId, Send = send });
        }

        if (text || !FrameCodec.TryDecodeClient(frame, out var request) || request.BodyCase == ClientFrame.BodyOneofCase.None)
        {
            return Decoded<ClientFrame>.Malformed(Undecodable, "malformed");
        }

        if (request.BodyCase == ClientFrame.BodyOneofCase.Typing)
        {
            return Decoded<ClientFrame>.Typing(request);
        }

        return request.RequestId == 0 ? Decoded<ClientFrame>.Answer(RequestIdRequired) : Decoded<ClientFrame>.Dispatch(request);
    }

    /// <remarks>
    /// A send is answered by <see cref="RequestHandler.SendAsync"/> itself (the ack's write included): no state machine here
    /// for it (issue 17). A send's hops are stamped along its path and recorded once its ack is written.
    /// </remarks>
    public ValueTask<RequestOutcome> HandleAsync(ClientFrame request, long receivedAt) =>
        request.BodyCase == ClientFrame.BodyOneofCase.Send
            ? handler.SendAsync(connection, request, hops?.Start(receivedAt, request.Send.ClientMsgId))
            : AnswerAsync(request);

    // Pooled: this, the request handler's and the messaging service's state machines were a Task each per request (issue 17).
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RequestOutcome> AnswerAsync(ClientFrame request)
    {
        var result = await handler.HandleAsync(connection, request).ConfigureAwait(false);
        if (request.RequestId != 0)
        {
            await connection.WriteAsync(result).ConfigureAwait(false);
        }

        return RequestOutcome.Continue;
    }

    public RateLimitAction? Cost(ClientFrame request) => request.BodyCase switch
    {
        // A revoke writes a notification message into the conversation: it costs a send.
        ClientFrame.BodyOneofCase.Send or ClientFrame.BodyOneofCase.Revoke => RateLimitAction.Send,
        ClientFrame.BodyOneofCase.SendFriendRequest => RateLimitAction.FriendRequest,
        ClientFrame.BodyOneofCase.CreateGroup => RateLimitAction.CreateGroup,
        ClientFrame.BodyOneofCase.JoinGroup or ClientFrame.BodyOneofCase.InviteToGroup => RateLimitAction.Join,
        ClientFrame.BodyOneofCase.SearchUsers or ClientFrame.BodyOneofCase.SearchGroups => RateLimitAction.Search,
        _ => null,
    };

    public async Task RateLimitedAsync(ClientFrame request, TimeSpan retryAfter)
    {
        if (request.RequestId != 0)
        {
            var decision = new RateLimitDecision(false, retryAfter);
            var what = request.BodyCase == ClientFrame.BodyOneofCase.Typing ? "typing events" : $"{request.BodyCase} requests";
            var frame = RequestHandler.Error(ErrorCode.RateLimited, $"Too many {what}; retry after {decision.RetryAfterMs} ms.", request.RequestId);
            frame.Error.RetryAfterMs = decision.RetryAfterMs;
            await connection.WriteAsync(frame).ConfigureAwait(false);
        }
    }

    public async Task FailedAsync(ClientFrame request)
    {
        if (request.RequestId != 0)
        {
            await connection.WriteAsync(RequestHandler.Error(ErrorCode.Internal, "Internal error; retry.", request.RequestId)).ConfigureAwait(false);
        }
    }

    public WireFrame? TooManyMalformed(string? error) => TooManyMalformedFrame;

    public string Describe(ClientFrame request) => request.BodyCase.ToString();

    // Sends what changed since the cursor; returns the version the sync is consistent with.
    private async Task<long> SyncAsync(long cursor)
    {
        var sync = await ConnectSync.WriteAsync(
            store, connection.UserId, cursor, options.SyncMessagesPerConversation, options.SyncBatchBytes, handler.NotificationAccounts, (buffer, length) => connection.WritePooledAsync(buffer, length, pool: SyncBuffers.Pool)).ConfigureAwait(false);
        var version = Math.Max(sync.Version, 0);
        await connection.WriteAsync(new ServerFrame
        {
            SyncComplete = new SyncComplete { Cursor = (ulong)version, Conversations = (uint)sync.Conversations, Messages = sync.Messages },
        }).ConfigureAwait(false);
        return version;
    }
}
