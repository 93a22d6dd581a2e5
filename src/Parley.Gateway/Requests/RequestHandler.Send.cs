using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.ObjectPool;
using Parley.Core;
using Parley.Core.Messaging;
using Parley.Core.Telemetry;
using Parley.Gateway.Connections;
using Parley.Gateway.Protocols;
using Parley.Protocol.V1;

namespace Parley.Gateway.Requests;

internal sealed partial class RequestHandler
{
    private MessagingService Messaging => messaging;

    private ParleyMetrics Metrics => metrics;

    /// <summary>
    /// One native send from the grain call to its ack's write: what the pooled async <c>SendAsync</c> did, as a pooled
    /// object of Parley's own. The runtime's pool of async state machines keeps one box per thread and one per core, so with
    /// more than two sends in flight on the one-core server nearly every send allocated its box (0.17 KB of every message
    /// in stop 41's traces; issue 17). A run is a single-use value-task source: started once, completed once (the last
    /// thing it does), awaited once; its <c>GetResult</c> puts it back in the pool.
    /// </summary>
    private sealed class SendRun : IValueTaskSource<RequestOutcome>
    {
        private static readonly DefaultObjectPool<SendRun> Pool = new(new DefaultPooledObjectPolicy<SendRun>(), 1024);

        private readonly Action _called;
        private readonly Action _written;
        private ManualResetValueTaskSourceCore<RequestOutcome> _completion; // continuations inline, as an async method's
        private RequestHandler? _handler;
        private ClientConnection? _connection;
        private ClientFrame? _request;
        private SendTimes? _times;
        private Activity? _activity;
        private long _started;
        private ConfiguredValueTaskAwaitable<CoreResult<MessageAck>>.ConfiguredValueTaskAwaiter _call;
        private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _write;

        public SendRun()
        {
            _called = Called;
            _written = Written;
        }

        public static ValueTask<RequestOutcome> Start(RequestHandler handler, ClientConnection connection, ClientFrame request, SendTimes? times)
        {
            var run = Pool.Get();
            run._handler = handler;
            run._connection = connection;
            run._request = request;
            run._times = times;
            var token = run._completion.Version;
            run.Call();
            return new ValueTask<RequestOutcome>(run, token);
        }

        // The root of the request's own trace, as every request (HandleAsync); it ends before the ack is written, as before.
        // The grain call is made inside it; the caller's current activity is put back after the call (an async method's
        // context would have been restored the same way), and a traced call continues in the context it was made in.
        private void Call()
        {
            var previous = Activity.Current;
            try
            {
                AwaitCall(SendOrFault());
            }
            finally
            {
                if (Activity.Current != previous)
                {
                    Activity.Current = previous;
                }
            }
        }

        // The grain call, or its exception as a faulted value (the run then fails in Called, once).
        private ValueTask<CoreResult<MessageAck>> SendOrFault()
        {
            try
            {
                _activity = ParleyActivities.StartRequest(nameof(ClientFrame.BodyOneofCase.Send));
                _started = Stopwatch.GetTimestamp();
                if (_times is { } times)
                {
                    times.Handled = _started;
                }

                var send = _request!.Send;
                var (peer, conversationId) = send.Target?.KindCase switch
                {
                    Target.KindOneofCase.UserId => (send.Target.UserId, null),
                    Target.KindOneofCase.ConversationId => ((string?)null, send.Target.ConversationId),
                    _ => (null, string.Empty),
                };
                return _handler!.Messaging.SendAsync(_connection!.UserId, send.ClientMsgId, peer, conversationId, send.Content, _connection.Id, _times);
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<CoreResult<MessageAck>>(ex);
            }
        }

        // The call's value task, consumed once: through its awaiter, here or in Called.
        private void AwaitCall(ValueTask<CoreResult<MessageAck>> call)
        {
            _call = call.ConfigureAwait(false).GetAwaiter();
            if (_call.IsCompleted)
            {
                Called();
            }
            else if (_activity is null)
            {
                _call.UnsafeOnCompleted(_called);
            }
            else
            {
                _call.OnCompleted(_called);
            }
        }

        // The write's value task, consumed once: through its awaiter, here or in Written.
        private void AwaitWrite(ValueTask<bool> write)
        {
            _write = write.ConfigureAwait(false).GetAwaiter();
            if (_write.IsCompleted)
            {
                Written();
            }
            else
            {
                _write.UnsafeOnCompleted(_written);
            }
        }

        private void Called()
        {
            CoreResult<MessageAck> result;
            try
            {
                result = _call.GetResult();
            }
            catch (Exception ex)
            {
                _call = default;
                EndActivity();
                Fail(ex);
                return;
            }

            _call = default;
            var returned = Stopwatch.GetTimestamp();
            if (_times is { } times)
            {
                times.Returned = returned;
            }

            if (result.IsOk)
            {
                _handler!.Metrics.AckDuration.Record(Stopwatch.GetElapsedTime(_started, returned).TotalSeconds);
            }

            EndActivity();
            var request = _request!;
            if (request.RequestId == 0)
            {
                Complete();
                return;
            }

            AwaitWrite(WriteOrFault(result, request));
        }

        // The ack's write, or its exception as a faulted value (the run then fails in Written, once).
        private ValueTask<bool> WriteOrFault(CoreResult<MessageAck> result, ClientFrame request)
        {
            try
            {
                if (result.IsOk)
                {
                    // The ack frame written from its fields (AckFrame: the bytes ToAck's frame serialises to, without its objects).
                    var ack = result.Value!;
                    var frame = AckFrame.Rent(
                        request.RequestId, ack.ConversationId, (ulong)ack.Seq, ack.ServerMsgId, ack.ServerTime, ack.Duplicate, _handler!.AckVersion(ack), out var length);
                    return _connection!.WritePooledAsync(frame, length, _times);
                }

                var refused = _handler!.ToAck(result);
                refused.RequestId = request.RequestId;
                return _connection!.WriteAsync(refused, _times);
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<bool>(ex);
            }
        }

        private void Written()
        {
            try
            {
                _write.GetResult();
            }
            catch (Exception ex)
            {
                _write = default;
                Fail(ex);
                return;
            }

            _write = default;
            Complete();
        }

        private void EndActivity()
        {
            _activity?.Dispose();
            _activity = null;
        }

        private void Clear()
        {
            _handler = null;
            _connection = null;
            _request = null;
            _times = null;
        }

        // Each is the run's last touch of its fields: once completed, the awaiter may take the result and the run be reused.
        private void Complete()
        {
            Clear();
            _completion.SetResult(RequestOutcome.Continue);
        }

        private void Fail(Exception exception)
        {
            Clear();
            _completion.SetException(exception);
        }

        RequestOutcome IValueTaskSource<RequestOutcome>.GetResult(short token)
        {
            try
            {
                return _completion.GetResult(token);
            }
            finally
            {
                _completion.Reset();
                Pool.Return(this);
            }
        }

        ValueTaskSourceStatus IValueTaskSource<RequestOutcome>.GetStatus(short token) => _completion.GetStatus(token);

        void IValueTaskSource<RequestOutcome>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);
    }
}
