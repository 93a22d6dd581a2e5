using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

public sealed partial class ConversationGrain
{
    // Lets the marker of an erased message through whatever the sender's membership (a user who left is erased too).
    private static readonly GroupEffect ErasureEffect = new(null, null, null);

    public async Task<CoreResult<int>> EraseSenderContentAsync(string userId, long[] seqs)
    {
        if (_record is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such conversation.");
        }

        var submitted = new List<Task<CoreResult<MessageAck>>>();
        foreach (var seq in seqs.Distinct())
        {
            if (seq > _tail.MaxSeq)
            {
                continue;
            }

            var target = _tail.Find(seq) ?? await _s.Store.GetMessageAsync(_id, seq);
            if (target is null || target.SenderId != userId || target.Revoked || !Parley.Protocol.ContentKinds.IsUserContent(target.ContentKind))
            {
                continue;
            }

            var content = new Content { Revoke = new RevokeContent { Seq = (ulong)target.Seq, ServerMsgId = target.ServerMsgId, RevokedBy = userId } };
            submitted.Add(SubmitMessageAsync(
                userId,
                "erase:" + target.ServerMsgId,
                null,
                (int)Content.BodyOneofCase.Revoke,
                Internal.ProtoMapper.Serialize(content),
                target.Seq,
                null,
                mutation: _ => ErasureEffect,
                revokedClientMsgId: target.ClientMsgId));
        }

        // Submitted together, they share group commits; each is one seq like any revoke.
        var results = await Task.WhenAll(submitted);
        foreach (var result in results)
        {
            if (!result.IsOk)
            {
                return result.Failure;
            }
        }

        return CoreResult.Success(results.Count(r => !r.Value!.Duplicate));
    }
}
