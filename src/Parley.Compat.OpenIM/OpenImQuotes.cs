using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Wire;
using Parley.Core.Business;
using Parley.Core.Internal;
using Parley.Core.Push;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// The messages a reply may quote, for OpenIM's QuoteElem: OpenIM clients show a quote from the quoted message the quote
/// carries (<c>quoteMessage</c>), while Parley stores only the reply reference (seq, server id; ADR 0018). This node's
/// last <see cref="Capacity"/> committed user messages are kept (a reference to the stored record, nothing parsed on the
/// commit path); a revoke removes its target at once, so a revoked message's content is never quoted. A reply to a
/// message not kept here (older, committed on another node, or before a restart) carries only the seq and server id.
/// </summary>
internal sealed class OpenImQuotes(IOptions<OpenImOptions> options) : IMessageCommittedObserver
{
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<(string ConversationId, long Seq), StoredMessage> _recent = new();
    private readonly ConcurrentQueue<(string ConversationId, long Seq)> _order = new();

    public void OnMessageCommitted(StoredMessage message, IReadOnlyList<string> recipients, Parley.Abstractions.Messaging.ConversationKind kind, string conversationName) => Remember(message);

    public void OnReadDiffusionMessageCommitted(StoredMessage message, string conversationName, string? replyRootSenderId) => Remember(message);

    /// <summary>
    /// The quoted message <paramref name="seq"/> of <paramref name="conversationId"/> as OpenIM MsgData, or null when it is not
    /// kept (or is not a user message).
    /// </summary>
    public MsgData? Find(string conversationId, long seq, NotificationAccountIds? accounts, OpenImObjectUrls? urls)
    {
        if (!_recent.TryGetValue((conversationId, seq), out var stored) || stored.Revoked)
        {
            return null;
        }

        return OpenImMessages.ToMsgData(ProtoMapper.ToProto(stored), accounts, urls);
    }

    private void Remember(StoredMessage message)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        if (message.ContentKind == (int)Content.BodyOneofCase.Revoke)
        {
            // The marker names its target; read it only here (revokes are rare).
            var revoke = Content.Parser.ParseFrom(message.Content).Revoke;
            _recent.TryRemove((message.ConversationId, (long)revoke.Seq), out _);
            return;
        }

        if (!ContentKinds.IsUserContent(message.ContentKind))
        {
            return;
        }

        var key = (message.ConversationId, message.Seq);
        _recent[key] = message;
        _order.Enqueue(key);
        while (_order.Count > Capacity && _order.TryDequeue(out var old))
        {
            _recent.TryRemove(old, out _);
        }
    }
}
