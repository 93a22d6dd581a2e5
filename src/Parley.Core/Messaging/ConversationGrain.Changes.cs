using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;

namespace Parley.Core.Messaging;

/// <summary>
/// Changes to committed messages (ADR 0018): edits, reactions, reply counts, mentions and the thread view. Every change is
/// decided inside the FIFO section from the newest state this activation knows (<see cref="_changed"/> holds the rows of
/// changes submitted but not yet settled), so two changes of one message in one group commit see each other.
/// </summary>
public sealed partial class ConversationGrain
{
    // Created on first use: most activations never see an edit, a reaction, a reply, a revoke or an @all, and an idle
    // activation should hold no empty collections (issue 17: memory per activated conversation).
    private Dictionary<long, StoredMessage>? _changed;
    private Dictionary<(long Seq, string EditId), Task<CoreResult<EditOutcome>>>? _pendingEdits;
    private HashSet<long>? _revoking;
    private Queue<long>? _mentionAllTimes;

    public async Task<CoreResult<EditOutcome>> EditAsync(EditCommand command)
    {
        if (_s.Options.EditWindow <= TimeSpan.Zero)
        {
            return CoreResult.Fail(CoreError.Unsupported, "Edits are disabled on this server.");
        }

        if (command.Content.Length > _s.Options.MaxContentBytes)
        {
            return CoreResult.Fail(CoreError.TooLarge, $"Content is larger than {_s.Options.MaxContentBytes} bytes.");
        }

        await EnsureMembersAsync([command.UserId, .. command.MentionUserIds.Take(_s.Options.MaxMentions + 1)]);
        if (_record is null || !TryGetActive(command.UserId, out var member))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        ChangeWork work;
        TaskCompletionSource<CoreResult<EditOutcome>> completion;
        StoredMessage updated;
        await _order.EnterAsync(out var release);
        try
        {
            var found = await VisibleTargetAsync(member, command.Seq);
            if (!found.IsOk)
            {
                return found.Failure;
            }

            var target = found.Value!;
            if (target.SenderId != command.UserId)
            {
                return CoreResult.Fail(CoreError.Forbidden, "Only the sender may edit a message.");
            }

            if (target.ContentKind != (int)Content.BodyOneofCase.Text)
            {
                return CoreResult.Fail(CoreError.InvalidArgument, "Only text messages can be edited.");
            }

            if (_pendingEdits is not null && _pendingEdits.TryGetValue((command.Seq, command.EditId), out var pending))
            {
                release.Release();
                var earlier = await pending;
                return earlier.IsOk ? CoreResult.Success(earlier.Value! with { Duplicate = true }) : earlier;
            }

            var annotations = MessageChanges.Read(target.Annotations);
            if (annotations.LastEditId == command.EditId)
            {
                return CoreResult.Success(new EditOutcome(target.Seq, (int)annotations.EditCount, annotations.EditedTime, target.Version, true));
            }

            var now = _s.Time.GetUtcNow().ToUnixTimeMilliseconds();
            if (now - target.ServerTime > (long)_s.Options.EditWindow.TotalMilliseconds)
            {
                return CoreResult.Fail(CoreError.Expired, "The edit window has passed.");
            }

            if (annotations.EditCount >= _s.Options.MaxEditsPerMessage)
            {
                return CoreResult.Fail(CoreError.InvalidArgument, $"A message can be edited at most {_s.Options.MaxEditsPerMessage} times.");
            }

            if (GroupRefusal(member) is { } refusal)
            {
                return refusal;
            }

            if (CheckMentions(command.UserId, member, command.MentionUserIds, command.MentionAll) is { } badMention)
            {
                return badMention;
            }

            // The new text keeps what the edit cannot change: the message it replies to.
            var content = Content.Parser.ParseFrom(command.Content);
            var original = Content.Parser.ParseFrom(target.Content);
            content.ReplyTo = original.ReplyTo;
            var bytes = Internal.ProtoMapper.Serialize(content);
            var previous = new MessageRevision(_id, target.Seq, (int)annotations.EditCount, target.Content, annotations.EditCount == 0 ? target.ServerTime : annotations.EditedTime);
            annotations.EditCount++;
            annotations.EditedTime = now;
            annotations.LastEditId = command.EditId;
            updated = target with { Content = bytes, Annotations = MessageChanges.Write(annotations) };
            (_changed ??= [])[target.Seq] = updated;
            var editCount = (int)annotations.EditCount;
            var editor = command.UserId;
            work = new ChangeWork(
                this,
                updated,
                command.OriginConnectionId,
                (row, version) => new MessageUpdate(_id, row.Seq, row.Annotations!, version) { Content = row.Content, SearchText = command.SearchText, Previous = previous },
                row => new MessageEdited(row, editCount, now, editor));
            completion = new TaskCompletionSource<CoreResult<EditOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
            (_pendingEdits ??= [])[(command.Seq, command.EditId)] = completion.Task;
        }
        finally
        {
            release.Release();
        }

        CoreResult<EditOutcome> result;
        try
        {
            var version = await CommitAsync(work);
            var a = MessageChanges.Read(updated.Annotations);
            result = CoreResult.Success(new EditOutcome(updated.Seq, (int)a.EditCount, a.EditedTime, version, false));
        }
        catch (CommitFailedException ex)
        {
            result = OnCommitFailed(ex);
        }

        Settled(updated);
        _pendingEdits?.Remove((command.Seq, command.EditId));
        completion.TrySetResult(result);
        return result;
    }

    public async Task<CoreResult<ReactOutcome>> ReactAsync(ReactCommand command)
    {
        if (MessageChanges.CheckEmoji(command.Emoji, _s.Options.MaxReactionBytes) is { } badEmoji)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, badEmoji);
        }

        await EnsureMembersAsync(command.UserId);
        if (_record is null || !TryGetActive(command.UserId, out var member))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        ChangeWork work;
        StoredMessage updated;
        int count;
        await _order.EnterAsync(out var release);
        try
        {
            var found = await VisibleTargetAsync(member, command.Seq);
            if (!found.IsOk)
            {
                return found.Failure;
            }

            var target = found.Value!;
            if (!Parley.Protocol.ContentKinds.IsUserContent(target.ContentKind))
            {
                return CoreResult.Fail(CoreError.InvalidArgument, "System messages take no reactions.");
            }

            if (_group is { Dismissed: true })
            {
                return CoreResult.Fail(CoreError.GroupDismissed, "The group was dismissed.");
            }

            var annotations = MessageChanges.Read(target.Annotations);
            var reaction = annotations.Reactions.FirstOrDefault(r => r.Emoji == command.Emoji);
            var has = reaction is not null && reaction.UserIds.Contains(command.UserId);
            if (has != command.Remove)
            {
                // Already as asked: nothing to store (a retry of an add or a remove lands here too).
                return CoreResult.Success(new ReactOutcome(target.Seq, command.Emoji, reaction?.UserIds.Count ?? 0, 0));
            }

            if (!command.Remove)
            {
                if (reaction is null && annotations.Reactions.Count >= _s.Options.MaxDistinctReactions)
                {
                    return CoreResult.Fail(CoreError.InvalidArgument, $"A message has at most {_s.Options.MaxDistinctReactions} different reactions.");
                }

                if (annotations.Reactions.Count(r => r.UserIds.Contains(command.UserId)) >= _s.Options.MaxReactionsPerUser)
                {
                    return CoreResult.Fail(CoreError.InvalidArgument, $"You can have at most {_s.Options.MaxReactionsPerUser} reactions on one message.");
                }

                if (reaction is null)
                {
                    reaction = new StoredReaction { Emoji = command.Emoji };
                    annotations.Reactions.Add(reaction);
                }

                reaction.UserIds.Add(command.UserId);
            }
            else
            {
                reaction!.UserIds.Remove(command.UserId);
                if (reaction.UserIds.Count == 0)
                {
                    annotations.Reactions.Remove(reaction);
                }
            }

            count = reaction.UserIds.Count;
            updated = target with { Annotations = MessageChanges.Write(annotations) };
            (_changed ??= [])[target.Seq] = updated;
            var (emoji, user, added) = (command.Emoji, command.UserId, !command.Remove);
            var reactionCount = count;
            work = new ChangeWork(
                this,
                updated,
                command.OriginConnectionId,
                (row, version) => new MessageUpdate(_id, row.Seq, row.Annotations!, version),
                row => new ReactionChanged(_id, row.Seq, emoji, user, added, reactionCount, row.Version));
        }
        finally
        {
            release.Release();
        }

        try
        {
            var version = await CommitAsync(work);
            Settled(updated);
            return CoreResult.Success(new ReactOutcome(updated.Seq, command.Emoji, count, version));
        }
        catch (CommitFailedException ex)
        {
            Settled(updated);
            return OnCommitFailed(ex);
        }
    }

    public async Task<CoreResult<RevisionData[]>> GetRevisionsAsync(string userId, long seq)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !_members.TryGetValue(userId, out var viewer) || !viewer.CanSee(seq) || seq > _tail.MaxSeq)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        var target = _tail.Find(seq) ?? await _s.Store.GetMessageAsync(_id, seq);
        if (target is null || target.Revoked)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        if (target.SenderId != userId && !_s.Options.EditHistoryVisible)
        {
            return CoreResult.Fail(CoreError.Forbidden, "Only the sender may read the earlier revisions on this server.");
        }

        var annotations = MessageChanges.Read(target.Annotations);
        var earlier = annotations.EditCount == 0 ? [] : await _s.Store.GetRevisionsAsync(_id, seq);
        var current = new RevisionData((int)annotations.EditCount, target.Content, annotations.EditCount == 0 ? target.ServerTime : annotations.EditedTime);
        return CoreResult.Success<RevisionData[]>([.. earlier.Where(r => r.Revision < current.Revision).Select(r => new RevisionData(r.Revision, r.Content, r.Time)), current]);
    }

    public async Task<CoreResult<HistoryPage>> GetThreadAsync(string userId, long rootSeq, long afterSeq, int limit)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !_members.TryGetValue(userId, out var viewer) || (!viewer.Active && viewer.Periods.Count == 0))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        var max = Math.Min(_tail.MaxSeq, viewer.HighestVisible(_tail.MaxSeq));
        if (rootSeq <= 0 || rootSeq > max || !viewer.CanSee(rootSeq))
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        limit = limit <= 0 ? _s.Options.HistoryDefaultLimit : Math.Min(limit, _s.Options.HistoryMaxLimit);
        var replies = new List<StoredMessage>(limit + 1);
        var from = Math.Max(afterSeq, rootSeq);
        while (replies.Count <= limit)
        {
            // Replies the viewer may not see (outside their periods) are skipped, never shown.
            var page = await _s.Store.ReadThreadAsync(_id, rootSeq, from, limit + 1);
            replies.AddRange(page.Where(m => m.Seq <= max && viewer.CanSee(m.Seq)));
            if (page.Count <= limit || page[^1].Seq >= max)
            {
                break;
            }

            from = page[^1].Seq;
        }

        var hasMore = replies.Count > limit;
        var result = replies.Take(limit).Select(m => MessageData.From(_tail.Find(m.Seq) is { } held && held.Version >= m.Version ? held : m)).ToArray();
        return CoreResult.Success(new HistoryPage(result, hasMore, max));
    }

    /// <summary>A reply's root (visible to the sender, of this conversation) with its reply count raised, or why not.</summary>
    private async Task<CoreResult<StoredMessage>> ReplyRootAsync(MemberState sender, long seq, string serverMsgId)
    {
        var found = await VisibleTargetAsync(sender, seq, allowRevoked: true);
        if (!found.IsOk)
        {
            return CoreResult.Fail(CoreError.NotFound, "reply_to names no message of this conversation.");
        }

        var root = found.Value!;
        if (serverMsgId.Length > 0 && serverMsgId != root.ServerMsgId)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "reply_to.server_msg_id is not the message at reply_to.seq.");
        }

        if (!Parley.Protocol.ContentKinds.IsUserContent(root.ContentKind))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "reply_to must name a user message, not a system message.");
        }

        var annotations = MessageChanges.Read(root.Annotations);
        annotations.ReplyCount++;
        var updated = root with { Annotations = MessageChanges.Write(annotations) };
        (_changed ??= [])[seq] = updated;
        return CoreResult.Success(updated);
    }

    /// <summary>Null when the mentions are allowed: only active members by id; mention-all by a group's owner or admins, rate-limited.</summary>
    private CoreFailure? CheckMentions(string senderId, MemberState sender, string[] userIds, bool all)
    {
        if (userIds.Length > _s.Options.MaxMentions)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, $"A message mentions at most {_s.Options.MaxMentions} members.");
        }

        foreach (var user in userIds)
        {
            if (!IsActive(user))
            {
                return CoreResult.Fail(CoreError.InvalidArgument, "mention_user_ids may only name members of this conversation.");
            }
        }

        if (!all)
        {
            return null;
        }

        if (_record!.Kind != ConversationKind.Group)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "mention_all is for groups.");
        }

        if (sender.Role == MemberRole.Member)
        {
            return CoreResult.Fail(CoreError.Forbidden, "Only the owner and admins may mention everyone.");
        }

        var now = _s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        while (_mentionAllTimes is { Count: > 0 } && now - _mentionAllTimes.Peek() > 3_600_000)
        {
            _mentionAllTimes.Dequeue();
        }

        return (_mentionAllTimes?.Count ?? 0) >= _s.Options.MentionAllPerHour
            ? CoreResult.Fail(CoreError.RateLimited, $"Everyone may be mentioned at most {_s.Options.MentionAllPerHour} times an hour in this group.")
            : null;
    }

    private CoreFailure? GroupRefusal(MemberState member)
    {
        if (_group is null)
        {
            return null;
        }

        if (_group.Dismissed)
        {
            return CoreResult.Fail(CoreError.GroupDismissed, "The group was dismissed.");
        }

        if (member.MutedUntil > _s.Time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return CoreResult.Fail(CoreError.Muted, "You are muted in this group.");
        }

        return _group.MuteAll && member.Role == MemberRole.Member ? CoreResult.Fail(CoreError.GroupMuted, "Everyone is muted in this group.") : null;
    }

    /// <summary>The newest known state of a committed message the member can see (not revoked unless allowed).</summary>
    private async Task<CoreResult<StoredMessage>> VisibleTargetAsync(MemberState member, long seq, bool allowRevoked = false)
    {
        if (seq <= 0 || seq > _tail.MaxSeq || !member.CanSee(seq))
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        var target = _changed?.GetValueOrDefault(seq) ?? _tail.Find(seq) ?? await _s.Store.GetMessageAsync(_id, seq);
        if (target is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        if (!allowRevoked && (target.Revoked || (_revoking?.Contains(seq) ?? false)))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "The message was revoked.");
        }

        return CoreResult.Success(target);
    }

    /// <summary>A change is committed (or failed): later changes read it from the tail or the store again.</summary>
    private void Settled(StoredMessage? row)
    {
        if (row is not null && _changed is not null && _changed.TryGetValue(row.Seq, out var held) && ReferenceEquals(held, row))
        {
            _changed.Remove(row.Seq);
        }
    }

    /// <summary>
    /// One change of one committed message: the store update (taking the commit's version), the tail replacement and the
    /// event to every active member, all from what the grain turn captured.
    /// </summary>
    private sealed class ChangeWork(
        ConversationGrain grain,
        StoredMessage row,
        string? origin,
        Func<StoredMessage, long, MessageUpdate> update,
        Func<StoredMessage, DeliveryEvent> notice) : ICommitWork
    {
        private readonly string[] _recipients = grain._memberIds;

        // A read-diffusion group (ADR 0017) reaches its online members through the per-node rosters, never a member list.
        private readonly bool _readDiffusion = grain.IsSuper;

        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version) => batch.MessageUpdates.Add(update(row, version));

        public void OnCommitted(long version)
        {
            var committed = row with { Version = version };
            grain._tail.Replace(committed);
            if (_readDiffusion)
            {
                grain._s.Hub.PublishToGroup(grain._id, [], [], notice(committed), version, origin);
            }
            else
            {
                grain._s.Hub.Publish(_recipients, notice(committed), version, origin);
            }
        }
    }
}
