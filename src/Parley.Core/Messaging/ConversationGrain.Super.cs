using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// Read-diffusion groups (ADR 0017). The grain never loads the roster of a super group: <c>_members</c> is a cache filled
/// on demand from <see cref="ISuperGroupStore"/> (every path that reads a member loads it first), the active count is
/// kept as a number, a message commits nothing per member and reaches members through the nodes' rosters.
/// </summary>
public sealed partial class ConversationGrain
{
    /// <summary>Most users named in a bulk notice (the notice carries the count).</summary>
    private const int BulkNoticeIds = 20;

    private int _superCount;

    private bool IsSuper => _group?.ReadDiffusion == true;

    // Sends of this super group submitted to the commit pipeline and not yet settled, oldest first, with the time they
    // were submitted (issue 12). A send's ack waits for its commit and for the dispatch (fan-out) of everything the node
    // committed before it; under overload that queue grew until sends hit Orleans' 30 s response timeout. Completed
    // entries leave the front lazily (commits of one grain settle in submission order).
    // Created by the first super-group send (a 1:1 or normal group never has one: 40 B of every active conversation).
    private Queue<(long Submitted, Task Outcome)>? _waitingSends;

    /// <summary>True when the oldest send still waiting for its commit has waited longer than the configured limit.</summary>
    private bool SendQueueIsBehind()
    {
        if (_waitingSends is not { } waiting)
        {
            return false;
        }

        while (waiting.TryPeek(out var oldest) && oldest.Outcome.IsCompleted)
        {
            waiting.Dequeue();
        }

        return waiting.TryPeek(out var head) && _s.Time.GetElapsedTime(head.Submitted) > _s.Options.SuperGroupSendQueueLimit;
    }

    /// <summary>
    /// A super-group send's outcome, or Unavailable once it waited <see cref="MessagingOptions.SuperGroupSendAckTimeout"/>:
    /// the commit goes on (a retry with the same client message id gets its ack), the caller is answered well before
    /// Orleans' response timeout.
    /// </summary>
    private async Task<CoreResult<MessageAck>> WithinAckTimeoutAsync(Task<CoreResult<MessageAck>> outcome)
    {
        try
        {
            return await outcome.WaitAsync(_s.Options.SuperGroupSendAckTimeout, _s.Time);
        }
        catch (TimeoutException)
        {
            return CoreResult.Fail(CoreError.Unavailable, "The message was not stored in time; it may still be: retry with the same client message id, which returns its ack.");
        }
    }

    private int ActiveCount => IsSuper ? _superCount : _memberIds.Length;

    private int Capacity => IsSuper ? _s.Options.MaxSuperGroupMembers : _s.Options.MaxGroupMembers;

    public async Task<CoreResult<int>> BulkMembersAsync(string operatorId, string[] userIds, bool remove)
    {
        if (_record is null || _group is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such group.");
        }

        if (!IsSuper)
        {
            return CoreResult.Fail(CoreError.Unsupported, "Bulk membership is for super groups; promote the group first.");
        }

        var ids = userIds.Where(u => !string.IsNullOrEmpty(u)).Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0)
        {
            return CoreResult.Success(0);
        }

        if (!remove)
        {
            var existing = await _s.Accounts.GetUsersAsync(ids);
            if (existing.Count != ids.Length)
            {
                return CoreResult.Fail(CoreError.NotFound, "Some users do not exist.");
            }
        }

        await EnsureMembersAsync([operatorId, .. ids]);
        var changed = 0;
        Content content = remove
            ? new Content { MembersRemoved = new MembersRemovedContent { GroupId = _group.GroupId, OperatorId = operatorId } }
            : new Content { MembersAdded = new MembersAddedContent { GroupId = _group.GroupId, OperatorId = operatorId, InviterId = operatorId } };
        var now = Now();
        GroupMutation mutation = seq =>
        {
            var refusal = RequireRole(operatorId, MemberRole.Admin, out var op);
            if (refusal is not null)
            {
                return refusal;
            }

            if (remove)
            {
                var targets = ids.Where(u => u != operatorId && TryGetActive(u, out var m) && m.Role < op.Role).ToArray();
                if (targets.Length == 0)
                {
                    return GroupEffect.Fail(CoreError.Conflict, "Nobody named is a removable member.");
                }

                changed = targets.Length;
                content.MembersRemoved.UserIds.AddRange(targets.Take(BulkNoticeIds));
                content.MembersRemoved.Count = (uint)targets.Length;
                return Evicting(RemoveMembers(targets, seq), targets);
            }

            var newcomers = ids.Where(u => !IsActive(u)).ToArray();
            if (newcomers.Length == 0)
            {
                return GroupEffect.Fail(CoreError.Conflict, "Everyone named is already a member.");
            }

            if (GroupEffect.Refuse(Groups.RosterRules.Capacity(ActiveCount, newcomers.Length, Capacity)) is { } full)
            {
                return full;
            }

            changed = newcomers.Length;
            content.MembersAdded.UserIds.AddRange(newcomers.Take(BulkNoticeIds));
            content.MembersAdded.Count = (uint)newcomers.Length;
            return Evicting(Admit(newcomers, operatorId, seq, now), newcomers);
        };

        if (NoticesAreEvents(content))
        {
            var silent = await SubmitMembershipAsync(operatorId, null, mutation, content);
            return silent.IsOk ? CoreResult.Success(changed) : silent.Failure;
        }

        var result = await SubmitMessageAsync(
            operatorId,
            "bulk:" + Guid.NewGuid().ToString("N"),
            null,
            (int)content.BodyCase,
            ProtoMapper.Serialize(content),
            null,
            null,
            mutation: mutation,
            mutableContent: content);
        return result.IsOk ? CoreResult.Success(changed) : result.Failure;
    }

    /// <summary>
    /// True when this join or leave of a super group commits without a notice message (its member notices are events;
    /// ADR 0017): a million joins must not write a million messages into the conversation.
    /// </summary>
    private bool NoticesAreEvents(Content content) =>
        IsSuper && _group!.MemberNotices != MemberNoticeMode.Messages
        && content.BodyCase is Content.BodyOneofCase.MembersAdded or Content.BodyOneofCase.MembersRemoved;

    /// <summary>
    /// A membership-only commit, ordered with the messages in the FIFO section: no message takes a seq, so a joiner sees
    /// from the next seq (or the whole history where the group shows it) and a removal closes the member's period at the
    /// last seq. The change reaches the rosters as a <see cref="MembershipChanged"/> event in version order (joined users
    /// enter before it, removed users get it and leave after it), so nothing committed later reaches a removed member.
    /// </summary>
    private async Task<CoreResult> SubmitMembershipAsync(string operatorId, string? originConnectionId, GroupMutation mutation, Content content)
    {
        MembershipWork work;
        await _order.EnterAsync(out var release);
        try
        {
            var removal = content.BodyCase == Content.BodyOneofCase.MembersRemoved;
            var effect = mutation(removal ? _nextSeq - 1 : _nextSeq);
            if (effect.Refusal is { } refusal)
            {
                return refusal;
            }

            var members = effect.Members ?? [];
            IReadOnlyList<string>? audience = _group!.MemberNotices == MemberNoticeMode.AdminEvents
                ? [.. members.Select(m => m.UserId).Union(_admins ?? [], StringComparer.Ordinal)]
                : null;
            var notice = new StoredMessage(_id, 0, string.Empty, operatorId, string.Empty, Now(), (int)content.BodyCase, ProtoMapper.Serialize(content), false, 0);
            work = new MembershipWork(this, effect.Extra, members, notice, _group with { MemberCount = ActiveCount }, audience, _nextSeq - 1, originConnectionId);
        }
        finally
        {
            release.Release();
        }

        try
        {
            await CommitAsync(work);
        }
        catch (CommitFailedException ex)
        {
            return OnCommitFailed(ex);
        }

        return CoreResult.Ok;
    }

    // The owner and admins of a super group (the audience of AdminEvents), kept from activation: loaded once from the
    // store's role index, then changed by every member change of this grain (Capture), the only writer of roles.
    private HashSet<string>? _admins;

    private async Task LoadAdminsAsync(CancellationToken cancellationToken)
    {
        var admins = new HashSet<string>(StringComparer.Ordinal);
        var after = string.Empty;
        while (true)
        {
            var page = await _s.SuperStore.SearchMembersAsync(_id, new MemberQuery(string.Empty, MemberRole.Admin, after, 500), cancellationToken);
            admins.UnionWith(page.Members.Select(m => m.UserId));
            if (page.NextAfter is not { Length: > 0 } next || page.Members.Count == 0)
            {
                break;
            }

            after = next;
        }

        _admins = admins;
    }

    private void NoteRole(string userId, MemberRole role, bool active)
    {
        if (_admins is null)
        {
            return;
        }

        if (active && role >= MemberRole.Admin)
        {
            _admins.Add(userId);
        }
        else
        {
            _admins.Remove(userId);
        }
    }

    /// <summary>A membership-only commit of a super group (see <see cref="SubmitMembershipAsync"/>); captured in the grain turn.</summary>
    private sealed class MembershipWork(
        ConversationGrain grain,
        Action<CommitBatch, long>? extra,
        IReadOnlyList<MemberChange> members,
        StoredMessage notice,
        GroupRecord group,
        IReadOnlyList<string>? audience,
        long maxSeq,
        string? origin) : ICommitWork
    {
        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version)
        {
            extra?.Invoke(batch, version);

            // Not stored as a message: the after-hooks (afterJoinGroup, afterKickGroupMember, afterQuitGroup) still see it.
            batch.MembershipNotices.Add(notice with { Version = version });
        }

        public void OnCommitted(long version)
        {
            MemberChange[] changes = [.. members.Select(m => m with { Version = version })];
            string[] joined = [.. changes.Where(m => m.Active).Select(m => m.UserId)];
            string[] left = [.. changes.Where(m => !m.Active).Select(m => m.UserId)];
            var @event = new MembershipChanged(ConversationId, group, notice.Content, changes, audience, maxSeq, notice.ServerTime, version);
            grain._s.Hub.PublishToGroup(ConversationId, joined, left, @event, version, origin);
        }
    }

    // A bulk job must not leave a million members in the cache: their rows are in the commit, so later requests read
    // them from the store. (A request racing the chunk's commit may see the member as not yet added.)
    private GroupEffect Evicting(GroupEffect effect, string[] userIds)
    {
        foreach (var userId in userIds)
        {
            _members.Remove(userId);
        }

        return effect;
    }

    private Task<CoreResult<GroupOutcome>> PromoteAsync(GroupCommand c)
    {
        var content = new Content
        {
            GroupInfoChanged = new GroupInfoChangedContent { GroupId = _group!.GroupId, OperatorId = c.OperatorId, Changed = new GroupSettings { Kind = Protocol.V1.GroupKind.Super } },
        };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Owner, out _);
            if (refusal is not null)
            {
                return refusal;
            }

            if (IsSuper)
            {
                return GroupEffect.Fail(CoreError.Conflict, "The group is already a super group.");
            }

            // The last write-diffusion fan-out: every member's connections join their nodes' rosters with this notice.
            var everyone = _memberIds;
            _group = _group! with { Kind = Abstractions.Messaging.GroupKind.Super, UpdatedAt = Now() };
            _superCount = everyone.Length;
            _admins = [.. everyone.Where(u => _members[u].Role >= MemberRole.Admin)];
            RefreshMemberIds();
            var snapshot = _group;
            return GroupEffect.Commit((batch, version) => batch.Groups.Add(snapshot with { Version = version })) with { RosterJoined = everyone };
        });
    }

    // Automatic promotion once an ordinary group passes the configured size (after the admission that passed it).
    private async Task PromoteIfLargeAsync()
    {
        if (!IsSuper && _s.Options.SuperGroupPromotionThreshold > 0 && _memberIds.Length > _s.Options.SuperGroupPromotionThreshold && _group is { Dismissed: false } group)
        {
            await PromoteAsync(new GroupCommand(GroupOperation.Promote, group.OwnerId, null));
        }
    }

    /// <summary>Loads the named members of a super group into the cache (no-op for other conversations and cached users).</summary>
    private async Task EnsureMembersAsync(params string[] userIds)
    {
        _idleSlot?.Touch(); // every call but a send starts here (a send: SendAsync)
        if (!IsSuper)
        {
            return;
        }

        var missing = userIds.Where(u => !string.IsNullOrEmpty(u) && !_members.ContainsKey(u)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        foreach (var row in await _s.SuperStore.GetMembersByIdsAsync(_id, missing))
        {
            var state = ToState(row.Member);
            foreach (var p in row.Periods)
            {
                state.AddPeriod(p.From, p.To);
            }

            // Never over a cached entry: a turn that ran during the read may have changed it (and queued its commit).
            _members.TryAdd(row.Member.UserId, state);
        }
    }

    private static MemberState ToState(MemberRecord m) =>
        new(m.ReadSeq, m.Pinned, m.Muted)
        {
            Role = m.Role,
            Nickname = m.Nickname,
            MutedUntil = m.MutedUntil,
            JoinedAt = m.JoinedAt,
            InviterId = m.InviterId,
            Active = m.Active,
            VisibleFrom = m.VisibleFrom,
        };
}
