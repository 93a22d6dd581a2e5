using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Core.Groups;
using Parley.Core.Push;
using Parley.Core.Social;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using GroupKind = Parley.Abstractions.Messaging.GroupKind;

namespace Parley.Core.Messaging;

/// <summary>
/// Reentrant on purpose: seq allocation happens in a FIFO section before the first await on the commit, so many sends
/// of one conversation share a group commit while seqs stay gapless and in arrival order.
/// </summary>
[Reentrant]
public sealed partial class ConversationGrain : Grain, IConversationGrain
{
    private const int DedupCacheLimit = 16_384;

    private readonly ConversationGrainServices _s; // the node's services, one reference per activation (issue 17, stop 45)
    private readonly Guid _epoch = Guid.NewGuid();
    private readonly MemberTable<MemberState> _members = new(); // a 1:1 keeps its two members without a dictionary (issue 17, stop 47)
    private readonly SendDedup _dedup = new(DedupCacheLimit);
    private readonly FifoSection _order = new();
    private string _id = string.Empty;
    private ConversationRecord? _record;
    private string[] _memberIds = [];
    private long _nextSeq = 1;
    private ConversationTail _tail = null!;
    private DirectRelation _relation = DirectRelation.None;
    private long _relationChanges;
    private bool _withNotificationAccount; // a 1:1 with a notification account: friends-only never applies (read only on friends-only servers)
    private IdleDirectConversations.Slot? _idleSlot; // a 1:1 conversation's place in the node's queue of early deactivations
    private int _commits; // works submitted to the commit and not yet resumed after it (every kind; the grain's turns only)
    private TaskCompletionSource? _drained; // OnDeactivateAsync's wait for _commits to reach 0
    private long _relationStamp; // the node's stamp of this pair's relation before it was read (ADR 0033)
    private bool _writeFailed; // a commit of this activation failed: it leaves no shed entry (ADR 0033)
    private long[]? _olderKeys; // from a shed entry: hashes of the dedup keys of seqs 1..n, whose rows this activation does not hold

    public ConversationGrain(ConversationGrainServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        _s = services;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _id = this.GetPrimaryKeyString();
        // Before any read of the relation: a change after it moves the stamp, and this activation then leaves no entry.
        _relationStamp = _s.ShedDirect.Stamp(_id);
        // A shed 1:1's state as its last activation left it, read from nothing (ADR 0033); else a 1:1's row, members and
        // newest messages in one read (issue 17, stop 47: one snapshot, the key found once).
        var shed = _s.ShedDirect.Enabled && _id.StartsWith("si_", StringComparison.Ordinal) ? _s.ShedDirect.TryTake(_id) : null;
        var load = shed?.ToLoad() ?? await _s.Store.LoadConversationAsync(_id, Math.Max(1, _s.Options.HotTailSize), cancellationToken);
        _record = load?.Record;
        if (_record is null)
        {
            _tail = new ConversationTail(_s.Options.HotTailSize, 0, []);
            _dedup.AllKeysKnown = true;
            return;
        }

        if (_record.Kind == ConversationKind.Group && _record.GroupId is { } gid)
        {
            _group = await _s.GroupStore.GetGroupAsync(gid, cancellationToken);
        }

        // A read-diffusion group never loads its roster: members are read on demand (ADR 0017).
        if (IsSuper)
        {
            _superCount = _group!.MemberCount;
            await LoadAdminsAsync(cancellationToken);
        }
        else
        {
            foreach (var m in load!.Members ?? await _s.Store.GetMembersAsync(_id, cancellationToken))
            {
                _members[m.UserId] = ToState(m);
            }
        }

        RefreshMemberIds();
        if (_record.Kind == ConversationKind.Group && _record.GroupId is { } groupId)
        {
            await LoadGroupAsync(groupId, cancellationToken);
        }

        _nextSeq = _record.MaxSeq + 1;
        if (_record.Kind == ConversationKind.Direct)
        {
            if (_memberIds.Length == 2)
            {
                if (shed is not null)
                {
                    _relation = shed.Relation; // as the last activation held it, its stamp unmoved since (TryTake)
                }
                else
                {
                    await RefreshRelationAsync(_memberIds[0], _memberIds[1]);
                }
            }
        }

        var newest = load!.Newest ?? await _s.Store.ReadMessagesAsync(_id, 0, ReadDirection.Backward, Math.Max(1, _s.Options.HotTailSize), cancellationToken);
        _tail = new ConversationTail(_s.Options.HotTailSize, _record.MaxSeq, newest);

        IReadOnlyList<StoredMessage> known = newest;
        if (_record.MaxSeq <= _s.Options.DedupPreloadLimit)
        {
            if (shed?.OlderKeys is { } older && newest.Count > 0 && newest[0].Seq == older.Length + 1)
            {
                // Every older message's key as a hash: a send whose key matches one is looked up in the store (ADR 0033).
                _olderKeys = older.Length > 0 ? older : null;
            }
            else
            {
                known = _record.MaxSeq <= newest.Count
                    ? newest
                    : await _s.Store.ReadMessagesAsync(_id, 1, ReadDirection.Forward, (int)_record.MaxSeq, cancellationToken);
            }

            _dedup.AllKeysKnown = true;
        }

        foreach (var m in known)
        {
            _dedup.Remember(_id, m);
        }

        if (_record.Kind == ConversationKind.Direct)
        {
            // Once loaded, not before its reads (stop 46): a node seconds behind shed grains still activating, whose first
            // call then went to yet another activation.
            _idleSlot = _s.IdleDirect.Register(GrainContext);
        }
    }

    /// <summary>
    /// Waits for this activation's commits in flight (every kind: <see cref="CommitBegun"/> .. <see cref="CommitEnded"/>),
    /// bounded by Orleans' deactivation token, before the activation goes (stop 48, ADR 0040). Orleans deactivates an
    /// activation it sees idle (its idle collection, memory pressure, a silo shutting down, the node's 1:1 sweep, a failed
    /// commit's reload), and a one-way send's commit resumes the grain with a work item, not a request, so to Orleans a grain
    /// waiting for its commit is idle. Until this returns the activation stays registered: a call that arrives meanwhile
    /// waits and goes to the next activation, which then reads the store after these commits (their seqs, the conversation's
    /// row, their dedup keys), and their answers are given by this one (ResumeOneWay runs in its turns while this awaits).
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _idleSlot?.Release();
        if (_commits == 0)
        {
            LeaveShedEntry();
            return Task.CompletedTask;
        }

        _s.Metrics.DeactivationsWaited.Add(1);
        LogDeactivationWaits(_s.Logger, _id, _commits, reason.ReasonCode);
        _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return WaitDrainedAsync(_drained.Task, cancellationToken);
    }

    private async Task WaitDrainedAsync(Task drained, CancellationToken cancellationToken)
    {
        try
        {
            await drained.WaitAsync(cancellationToken);
            LeaveShedEntry(); // every commit of the activation resumed: its state is the store's (ADR 0033)
        }
        catch (OperationCanceledException)
        {
            // Orleans' deactivation timeout: the activation goes with its commits still running (as before stop 48).
            LogDeactivationTimedOut(_s.Logger, _id, _commits);
        }
    }

    /// <summary>A work of this activation goes to the commit (in the turn that submits it).</summary>
    private void CommitBegun()
    {
        _commits++;
        _idleSlot?.Begin(); // a 1:1 grain is not shed by the node's sweep while it runs (stop 46, ADR 0032)
    }

    /// <summary>A work <see cref="CommitBegun"/> counted resumed the grain after its commit, whatever its outcome.</summary>
    private void CommitEnded()
    {
        _idleSlot?.End();
        if (--_commits == 0 && _drained is { } drained)
        {
            _drained = null;
            drained.TrySetResult();
        }
    }

    /// <summary>A request/response call's commit, counted while in flight (<see cref="CommitBegun"/>).</summary>
    private async Task<long> CommitAsync(ICommitWork work)
    {
        CommitBegun();
        try
        {
            return await _s.Pipeline.Submit(work);
        }
        finally
        {
            CommitEnded();
        }
    }

    // A 1:1's state for its next activation on this node (ADR 0033), only when it equals what the store holds: every seq
    // handed out committed and in the tail, every send resumed after its commit (the slot's count), no read, settings or
    // change write in flight, no commit failed, the row written. Friends-only servers keep none (the notification-account
    // exemption is read at activation).
    private void LeaveShedEntry()
    {
        if (!_s.ShedDirect.Enabled || _record is not { Kind: ConversationKind.Direct } record || _idleSlot is not { } slot)
        {
            return;
        }

        var newest = _tail.ToArray();
        var maxSeq = _nextSeq - 1;
        if (_writeFailed || _pendingCreation is not null || _commits != 0 || slot.Pending != 0 || _s.FriendsOnly
            || _memberIds.Length != 2 || _tail.MaxSeq != maxSeq || (newest.Length > 0 && newest[^1].Seq != maxSeq) || (_changed is { Count: > 0 }))
        {
            _s.ShedDirect.Refuse();
            return;
        }

        var a = _members[_memberIds[0]];
        var b = _members[_memberIds[1]];
        if (!IsPlainDirect(a) || !IsPlainDirect(b) || record.Name.Length != 0 || record.GroupId is not null)
        {
            _s.ShedDirect.Refuse();
            return;
        }

        // Every older key as a hash when the activation knows them all: seqs 1.. below its tail (from its own entry, or all in
        // its tail); else none, and the next activation reads them as a store reload does.
        IReadOnlyList<long>? olderKeys = null;
        if (_dedup.AllKeysKnown && maxSeq <= _s.Options.DedupPreloadLimit && newest.Length > 0 && newest[0].Seq == (_olderKeys?.Length ?? 0) + 1)
        {
            olderKeys = _olderKeys ?? [];
        }

        _s.ShedDirect.TryPut(
            _id,
            record.CreatorId,
            record.CreatedAt,
            maxSeq,
            (_memberIds[0], a.ReadSeq, a.Pinned, a.Muted),
            (_memberIds[1], b.ReadSeq, b.Pinned, b.Muted),
            newest,
            olderKeys,
            _relation,
            _relationStamp);
    }

    // A 1:1 member as the store's row gives it back (ToState): only these fields are kept in a shed entry.
    private static bool IsPlainDirect(MemberState m) =>
        m.Active && m.VisibleFrom == 1 && m.Periods.Count == 0 && m.Role == default && m.Nickname.Length == 0 && m.MutedUntil == 0 && m.InviterId.Length == 0;

    public ValueTask<CoreResult<MessageAck>> SendAsync(SendCommand command)
    {
        _idleSlot?.Touch();
        if (command.Times is { } times)
        {
            times.Turn = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        if (command.Content.Length > _s.Options.MaxContentBytes)
        {
            return new((CoreResult<MessageAck>)CoreResult.Fail(CoreError.TooLarge, $"Content is larger than {_s.Options.MaxContentBytes} bytes."));
        }

        // Not an async method of its own (one more state machine per send, issue 17): the submission's task is the result.
        return IsSuper
            ? SendToSuperGroupAsync(command)
            : new(SubmitMessageAsync(command.SenderId, command.ClientMsgId, command.PeerUserId, command.ContentKind, command.Content, null, command.OriginConnectionId, send: command));
    }

    private async ValueTask<CoreResult<MessageAck>> SendToSuperGroupAsync(SendCommand command)
    {
        // Mentioned members are checked against the roster (a super group loads only the rows it needs; ADR 0017).
        // Only there: the array and the Take iterator were two allocations on every 1:1 send (issue 17).
        await EnsureMembersAsync([command.SenderId, .. command.MentionUserIds.Take(_s.Options.MaxMentions + 1)]);
        return await SubmitMessageAsync(command.SenderId, command.ClientMsgId, command.PeerUserId, command.ContentKind, command.Content, null, command.OriginConnectionId, send: command);
    }

    /// <summary>
    /// The one-way send (ADR 0022): runs what <see cref="SendAsync"/> runs and hands its outcome to the hub's
    /// <see cref="IDeliveryHub.Answer"/> with the command's route, exactly once; every exception after receipt is
    /// answered (Unavailable: retry, deduplicated). The common path (a commit in flight) allocates nothing more than
    /// <see cref="SendAsync"/>: the commit's own wait (<see cref="AwaitCommitAsync"/>) answers, and its task is the call's.
    /// </summary>
    public ValueTask SubmitAsync(SendCommand command)
    {
        if (command.Route is not { } route)
        {
            return default; // nowhere to answer: only the gateway makes this call, always with a route
        }

        try
        {
            _idleSlot?.Touch();
            if (command.Times is { } times)
            {
                times.Turn = System.Diagnostics.Stopwatch.GetTimestamp();
            }

            if (command.Content.Length > _s.Options.MaxContentBytes)
            {
                Answer(route, CoreResult.Fail(CoreError.TooLarge, $"Content is larger than {_s.Options.MaxContentBytes} bytes."));
                return default;
            }

            if (IsSuper)
            {
                return AnswerLaterAsync(SendToSuperGroupAsync(command), route);
            }

            var prepared = PrepareMessageAsync(
                command.SenderId, command.ClientMsgId, command.PeerUserId, command.ContentKind, command.Content, null, command.OriginConnectionId, null, null, null, null, command, route);
            return prepared.IsCompletedSuccessfully ? AnswerPrepared(prepared.Result, route) : AnswerPreparedLaterAsync(prepared, route);
        }
        catch (Exception ex)
        {
            AnswerFailure(route, ex);
            return default;
        }
    }

    // The prepared send's outcome to its route: the commit's wait answers itself; a refusal or duplicate is answered now,
    // or once the earlier send it duplicates settles.
    private ValueTask AnswerPrepared(PreparedSend prepared, AckRoute route)
    {
        if (prepared.AnswersItself)
        {
            // Not handed to Orleans: the commit's wait answers and catches everything, and its continuation runs in this
            // activation's turns whether or not Orleans awaits it. Handing Orleans an unfinished task kept its per-call
            // completion (the invoke's, the activation's and the request's state machines, the task continuation and the
            // task it inlines: ~0.7 KB of every message by the stop-42 allocation trace) that a one-way call does not need.
            _ = prepared.Outcome;
            return default;
        }

        if (prepared.Outcome.IsCompletedSuccessfully)
        {
            Answer(route, prepared.Outcome.Result);
            return default;
        }

        return AnswerLaterAsync(new ValueTask<CoreResult<MessageAck>>(prepared.Outcome), route);
    }

    private async ValueTask AnswerPreparedLaterAsync(ValueTask<PreparedSend> prepared, AckRoute route)
    {
        PreparedSend ready;
        try
        {
            ready = await prepared;
        }
        catch (Exception ex)
        {
            AnswerFailure(route, ex);
            return;
        }

        await AnswerPrepared(ready, route);
    }

    private async ValueTask AnswerLaterAsync(ValueTask<CoreResult<MessageAck>> outcome, AckRoute route)
    {
        CoreResult<MessageAck> result;
        try
        {
            result = await outcome;
        }
        catch (Exception ex)
        {
            AnswerFailure(route, ex);
            return;
        }

        Answer(route, result);
    }

    private void AnswerFailure(AckRoute route, Exception exception)
    {
        LogOneWaySendFailed(_s.Logger, exception, _id);
        Answer(route, CoreResult.Fail(CoreError.Unavailable, "The send failed on the server; retry."));
    }

    // The hub must not throw (it only queues frames); guarded all the same, so nothing escapes into the commit's wait.
    private void Answer(AckRoute route, CoreResult<MessageAck> outcome)
    {
        try
        {
            _s.Hub.Answer(route, outcome);
        }
        catch (Exception ex)
        {
            LogAnswerFailed(_s.Logger, ex, _id);
        }
    }

    public async Task<CoreResult<MessageAck>> RevokeAsync(RevokeCommand command)
    {
        await EnsureMembersAsync(command.UserId);
        if (_record is null || !IsActive(command.UserId))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        if (_dedup.TryGet(command.UserId, command.ClientMsgId, out var earlier))
        {
            return await SendDedup.AsDuplicateAsync(earlier);
        }

        var target = _tail.Find(command.Seq) ?? await _s.Store.GetMessageAsync(_id, command.Seq);
        if (target is null || command.Seq > _tail.MaxSeq)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such message.");
        }

        if (target.SenderId != command.UserId)
        {
            return CoreResult.Fail(CoreError.Forbidden, "Only the sender may revoke a message.");
        }

        if (!Parley.Protocol.ContentKinds.IsUserContent(target.ContentKind))
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "System messages cannot be revoked.");
        }

        if (target.Revoked)
        {
            return CoreResult.Fail(CoreError.InvalidArgument, "The message is already revoked.");
        }

        var age = _s.Time.GetUtcNow().ToUnixTimeMilliseconds() - target.ServerTime;
        if (age > (long)_s.Options.RevokeWindow.TotalMilliseconds)
        {
            return CoreResult.Fail(CoreError.Expired, "The revoke window has passed.");
        }

        var content = new Content { Revoke = new RevokeContent { Seq = (ulong)target.Seq, ServerMsgId = target.ServerMsgId, RevokedBy = command.UserId } };
        return await SubmitMessageAsync(command.UserId, command.ClientMsgId, null, (int)Content.BodyOneofCase.Revoke, Internal.ProtoMapper.Serialize(content), target.Seq, command.OriginConnectionId, revokedClientMsgId: target.ClientMsgId);
    }

    public async Task<CoreResult<MessageAck>> CreateGroupAsync(CreateGroupCommand command)
    {
        if (GroupRules.Check(command) is { } invalid)
        {
            return invalid;
        }

        await _order.EnterAsync(out var release);
        NewConversation creation;
        MemberChange[] roster;
        GroupRecord group;
        try
        {
            if (_record is not null)
            {
                return CoreResult.Fail(CoreError.AlreadyExists, "The group already exists.");
            }

            var memberIds = command.MemberIds.Concat(command.AdminIds).Append(command.CreatorId).Distinct(StringComparer.Ordinal).ToArray();
            var capacity = command.Kind == GroupKind.Normal ? _s.Options.MaxGroupMembers : _s.Options.MaxSuperGroupMembers;
            if (memberIds.Length > capacity)
            {
                return CoreResult.Fail(CoreError.InvalidArgument, $"A group has at most {capacity} members.");
            }

            var existing = await _s.Accounts.GetUsersAsync(memberIds);
            if (existing.Count != memberIds.Length)
            {
                return CoreResult.Fail(CoreError.NotFound, "Some members do not exist.");
            }

            var now = _s.Time.GetUtcNow().ToUnixTimeMilliseconds();
            creation = new NewConversation(_id, ConversationKind.Group, command.GroupId, command.Name, command.CreatorId, now, memberIds, 0);
            AdoptConversation(creation);
            foreach (var admin in command.AdminIds)
            {
                _members[admin].Role = MemberRole.Admin;
            }

            foreach (var set in command.MemberOverrides)
            {
                if (_members.TryGetValue(set.UserId, out var first))
                {
                    first.Nickname = set.Nickname ?? first.Nickname;
                    first.Role = set.Role is MemberRole.Admin ? MemberRole.Admin : first.Role;
                    first.MutedUntil = set.MutedUntil ?? first.MutedUntil;
                }
            }

            // The creator is the owner even when also named as an admin (set last).

            _members[command.CreatorId].Role = MemberRole.Owner;
            group = new GroupRecord(
                command.GroupId, _id, command.Name, command.AvatarUrl, command.Introduction, command.Announcement, command.Ex, command.CreatorId,
                command.JoinPolicy, command.HistoryVisibleToNewMembers, false, true, false, now, now, memberIds.Length, 0)
            {
                Kind = command.Kind,
            };
            _group = group;
            _superCount = memberIds.Length;
            _admins = group.ReadDiffusion ? new HashSet<string>(StringComparer.Ordinal) : null;
            RefreshMemberIds();

            // Taken in this turn: the commit runs on the pipeline's threads while later turns change the members.
            roster = [.. creation.Members.Select(member => Capture(member, _members[member], 1, 0))];
        }
        finally
        {
            release.Release();
        }

        var content = new Content
        {
            GroupCreated = new GroupCreatedContent
            {
                GroupId = command.GroupId,
                Name = command.Name,
                CreatorId = command.CreatorId,
                MemberIds = { creation.Members },
                AdminIds = { command.AdminIds.Where(a => a != command.CreatorId).Distinct(StringComparer.Ordinal) },
            },
        };
        return await SubmitMessageAsync(
            command.CreatorId,
            "group-created",
            null,
            (int)Content.BodyOneofCase.GroupCreated,
            Internal.ProtoMapper.Serialize(content),
            null,
            command.OriginConnectionId,
            creation,
            _ => GroupEffect.Commit((batch, version) =>
            {
                batch.Groups.Add(group with { Version = version });
                batch.MemberChanges.AddRange(roster.Select(change => change with { Version = version }));
            }) with { Members = roster });
    }

    public async Task<CoreResult<ReadState>> MarkReadAsync(string userId, long seq, string? originConnectionId)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !TryGetActive(userId, out var member))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        var max = _tail.MaxSeq;
        var target = Math.Min(seq, max);
        if (target <= member.ReadSeq)
        {
            return CoreResult.Success(new ReadState(member.ReadSeq, Math.Max(0, max - member.ReadSeq)));
        }

        var previousReadSeq = member.ReadSeq;
        member.ReadSeq = target;
        var work = new ReadWork(this, userId, target, previousReadSeq, originConnectionId);
        try
        {
            await CommitAsync(work);
        }
        catch (CommitFailedException ex)
        {
            return OnCommitFailed(ex);
        }

        return CoreResult.Success(new ReadState(target, Math.Max(0, _tail.MaxSeq - target)));
    }

    public async Task<CoreResult> UpdateSettingsAsync(string userId, bool? pinned, bool? muted, bool? mentionsOnly, string? originConnectionId)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !TryGetActive(userId, out var member))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        member.Pinned = pinned ?? member.Pinned;
        member.Muted = muted ?? member.Muted;
        member.MentionsOnly = mentionsOnly ?? member.MentionsOnly;
        try
        {
            await CommitAsync(new SettingsWork(this, userId, pinned, muted, mentionsOnly, originConnectionId));
        }
        catch (CommitFailedException ex)
        {
            return OnCommitFailed(ex);
        }

        return CoreResult.Ok;
    }

    public async Task<CoreResult<HistoryPage>> GetHistoryAsync(string userId, long fromSeq, ReadDirection direction, int limit)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !_members.TryGetValue(userId, out var viewer) || (!viewer.Active && viewer.Periods.Count == 0))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        limit = limit <= 0 ? _s.Options.HistoryDefaultLimit : Math.Min(limit, _s.Options.HistoryMaxLimit);
        // A member sees only their periods: clamp the request to what they may see, then filter the gaps.
        var max = Math.Min(_tail.MaxSeq, viewer.HighestVisible(_tail.MaxSeq));
        var lowest = viewer.LowestVisible;
        if (max == 0 || lowest > max)
        {
            return CoreResult.Success(new HistoryPage([], false, max));
        }

        if (direction == ReadDirection.Backward)
        {
            fromSeq = fromSeq == 0 || fromSeq > max ? max : fromSeq;
            if (fromSeq < lowest)
            {
                return CoreResult.Success(new HistoryPage([], false, max));
            }
        }
        else
        {
            fromSeq = Math.Max(fromSeq, lowest);
            if (fromSeq > max)
            {
                return CoreResult.Success(new HistoryPage([], false, max));
            }
        }

        if (!_tail.TryRead(fromSeq, direction, limit, out var page, out var hasMore))
        {
            var stored = await _s.Store.ReadMessagesAsync(_id, fromSeq, direction, limit + 1);
            // Never show what is not yet committed as far as this activation knows (keeps pages gapless).
            var list = stored.Where(m => m.Seq <= max).ToList();
            hasMore = list.Count > limit;
            if (hasMore)
            {
                list = direction == ReadDirection.Backward ? list.Skip(list.Count - limit).ToList() : list.Take(limit).ToList();
            }
            else if (direction == ReadDirection.Forward)
            {
                hasMore = list.Count > 0 && list[^1].Seq < max;
            }

            page = list;
        }

        if (page.Count > 0)
        {
            hasMore = direction == ReadDirection.Backward ? page[0].Seq > lowest : page[^1].Seq < max;
        }

        return CoreResult.Success(new HistoryPage([.. page.Where(m => m.Seq <= max && viewer.CanSee(m.Seq)).Select(MessageData.From)], hasMore, max));
    }

    public Task SetRelationAsync(DirectRelation relation)
    {
        _relation = relation;
        _relationChanges++;
        return Task.CompletedTask;
    }

    public async Task<CoreResult> TypingAsync(string userId, bool typing, string? originConnectionId)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !IsActive(userId))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
        }

        // A read-diffusion group has no typing indicator: it would fan out to every online member.
        if (!IsSuper)
        {
            _s.Hub.PublishEphemeral(_memberIds, new TypingChanged(_id, userId, typing), originConnectionId);
        }

        return CoreResult.Ok;
    }

    // Not an async method itself (issue 17): the checks and the seq are PrepareMessageAsync's, which completes synchronously
    // on the common path (no state machine box), and only the wait for the commit has a state machine, a small one
    // (AwaitCommitAsync). This whole method's was about 0.36 KB of every message.
    private Task<CoreResult<MessageAck>> SubmitMessageAsync(
        string senderId,
        string clientMsgId,
        string? peerUserId,
        int contentKind,
        byte[] content,
        long? revokes,
        string? originConnectionId,
        NewConversation? creation = null,
        GroupMutation? mutation = null,
        Content? mutableContent = null,
        string? revokedClientMsgId = null,
        SendCommand? send = null)
    {
        var prepared = PrepareMessageAsync(senderId, clientMsgId, peerUserId, contentKind, content, revokes, originConnectionId, creation, mutation, mutableContent, revokedClientMsgId, send);
        return prepared.IsCompletedSuccessfully ? prepared.Result.Outcome : SubmittedLaterAsync(prepared);
    }

    private static async Task<CoreResult<MessageAck>> SubmittedLaterAsync(ValueTask<PreparedSend> prepared) =>
        await (await prepared).Outcome;

    /// <summary>
    /// Everything of a message's submission up to its commit: authorisation, dedup, the seq and the commit's submission, all
    /// in one grain turn once the FIFO section is entered (so commit order is seq order). Returns the refusal or duplicate
    /// outcome, or the task that completes once the message is committed.
    /// </summary>
    private async ValueTask<PreparedSend> PrepareMessageAsync(
        string senderId,
        string clientMsgId,
        string? peerUserId,
        int contentKind,
        byte[] content,
        long? revokes,
        string? originConnectionId,
        NewConversation? creation,
        GroupMutation? mutation,
        Content? mutableContent,
        string? revokedClientMsgId,
        SendCommand? send,
        AckRoute? route = null)
    {
        MessageWork work;
        StoredMessage? rootUpdated = null;
        await _order.EnterAsync(out var release);
        try
        {
            if (_record is null)
            {
                if (await TryCreateDirectAsync(senderId, peerUserId) is { } refusal)
                {
                    return refusal;
                }
            }

            // A 1:1 adopted by a send that was then refused (a block, friends only, a bad mention) has no row yet: its row and
            // members go with the first message that is committed, not with the refused one (dropping the creation with the
            // refusal left every later message of the activation without a conversation row).
            creation ??= _pendingCreation;

            // A group mutation authorises its operator itself (a joiner is not a member yet).
            MemberState? senderState = null;
            if (mutation is null && !TryGetActive(senderId, out senderState))
            {
                return CoreResult.Fail(CoreError.NotMember, "Not a member of this conversation.");
            }

            if (senderState is not null && _group is not null && creation is null && revokes is null && !IsGroupNotification(contentKind))
            {
                if (_group.Dismissed)
                {
                    return CoreResult.Fail(CoreError.GroupDismissed, "The group was dismissed.");
                }

                var now = _s.Time.GetUtcNow().ToUnixTimeMilliseconds();
                if (senderState.MutedUntil > now)
                {
                    return CoreResult.Fail(CoreError.Muted, "You are muted in this group.");
                }

                if (_group.MuteAll && senderState.Role == MemberRole.Member)
                {
                    return CoreResult.Fail(CoreError.GroupMuted, "Everyone is muted in this group.");
                }

                if (_group.Kind == GroupKind.Channel && senderState.Role == MemberRole.Member)
                {
                    return CoreResult.Fail(CoreError.Forbidden, "Only the owner and admins post in this channel.");
                }
            }

            if (_dedup.TryGet(senderId, clientMsgId, out var earlier))
            {
                release.Release();
                return send is not null && IsSuper
                    ? await WithinAckTimeoutAsync(SendDedup.AsDuplicateAsync(earlier))
                    : await SendDedup.AsDuplicateAsync(earlier);
            }

            if (!_dedup.AllKeysKnown || (_olderKeys is { } older && Array.IndexOf(older, ShedDirectConversations.KeyHash(senderId, clientMsgId)) >= 0))
            {
                var found = await _s.Store.FindByClientMsgIdAsync(_id, senderId, clientMsgId);
                if (found is not null)
                {
                    var ack = Ack(found, duplicate: false);
                    _dedup.Remember(senderId, clientMsgId, ack);
                    _s.Metrics.MessagesDuplicate.Add(1);
                    return CoreResult.Success(ack.Value! with { Duplicate = true });
                }
            }

            // Before a seq is taken: an overloaded super group refuses new sends at once (issue 12).
            if (send is not null && IsSuper && SendQueueIsBehind())
            {
                return CoreResult.Fail(CoreError.Unavailable, "This group's earlier messages are still being stored; nothing was stored: retry shortly.");
            }

            // Replies and mentions (ADR 0018), checked before the relation (its read may await).
            if (send is not null && senderState is not null)
            {
                if (CheckMentions(senderId, senderState, send.MentionUserIds, send.MentionAll) is { } refused)
                {
                    return refused;
                }

                // Last of the checks that may await; a later refusal settles the root's raised reply count (drops it from _changed).
                if (send.ReplyToSeq > 0)
                {
                    var replied = await ReplyRootAsync(senderState, send.ReplyToSeq, send.ReplyToServerMsgId);
                    if (!replied.IsOk)
                    {
                        return replied.Failure;
                    }

                    rootUpdated = replied.Value;
                }
            }

            // Checked after the last await of this section, so a block that returned refuses every later send.
            if (_record!.Kind == ConversationKind.Direct && revokes is null && _memberIds.Length == 2)
            {
                if (_relation.Blocked)
                {
                    Settled(rootUpdated);
                    return CoreResult.Fail(CoreError.Blocked, "One of the users blocked the other.");
                }

                if (_s.FriendsOnly && !_relation.Friends && !_withNotificationAccount)
                {
                    Settled(rootUpdated);
                    return CoreResult.Fail(CoreError.NotFriends, "Only friends may exchange direct messages on this server.");
                }
            }

            GroupEffect? effect = null;
            if (mutation is not null)
            {
                effect = mutation(_nextSeq);
                if (effect.Refusal is { } refusal)
                {
                    return refusal;
                }

                if (mutableContent is not null)
                {
                    // The mutation completes the notice (who was actually added, the inviter of an approved request).
                    content = Internal.ProtoMapper.Serialize(mutableContent);
                }
            }

            // One clock read: the server id carries the same millisecond as the message's server time.
            var serverTime = _s.Time.GetUtcNow().ToUnixTimeMilliseconds();
            var message = new StoredMessage(
                _id,
                _nextSeq++,
                ServerMsgIds.New(serverTime),
                senderId,
                clientMsgId,
                serverTime,
                contentKind,
                content,
                false,
                0)
            {
                // Set in the one allocation, not by a `with` copy of the whole row per send (issue 17).
                ReplyToSeq = send?.ReplyToSeq ?? 0,
                SearchText = send is { SearchText.Length: > 0 } ? send.SearchText : null,
                SearchTextStart = send?.SearchTextStart ?? 0,
                SearchTextLength = send?.SearchTextLength ?? 0,
                MentionedUserIds = send is { MentionUserIds.Length: > 0 } ? Except(send.MentionUserIds, senderId) : null,
                MentionAll = send?.MentionAll ?? false,
            };
            if (revokes is { } revoking)
            {
                // Edits and reactions queued after this revoke (same group commit) must see it.
                (_revoking ??= []).Add(revoking);
            }

            if (send is { MentionAll: true })
            {
                (_mentionAllTimes ??= new()).Enqueue(message.ServerTime);
            }

            if (creation is not null && ReferenceEquals(creation, _pendingCreation))
            {
                // Past every refusal: this message's commit writes the conversation (a failed commit reloads the activation).
                _pendingCreation = null;
            }

            work = new MessageWork(this, message, creation, revokes, effect?.Recipients ?? _memberIds, originConnectionId)
            {
                RootUpdated = rootUpdated,
                RevokedClientMsgId = revokedClientMsgId ?? string.Empty,
                Kind = _record.Kind,

                // A group's parts in an object of their own: none for a 1:1 message (issue 17).
                Grouped = _group is null && effect is null ? null : new GroupParts
                {
                    Extra = effect?.Extra,
                    Group = _group,
                    Members = effect?.Members,
                    ConversationName = _group?.Name ?? string.Empty,
                    ReadDiffusion = IsSuper,
                    RosterJoined = effect?.RosterJoined,
                },

                // Not for a super group: its ack may time out (WithinAckTimeoutAsync) while the commit still stamps.
                Times = IsSuper ? null : send?.Times,

                // A one-way send (ADR 0022; never a super group's, which SubmitAsync answers around its own wait).
                Route = IsSuper ? null : route,
            };
            // The work is the send in flight: a retry that comes before the ack waits on it (no task source per send).
            _dedup.Remember(senderId, clientMsgId, work);
        }
        finally
        {
            release.Release();
        }

        if (send is not null && IsSuper)
        {
            // A super-group send's commit is a task of its own: the overload check queues it (issue 12). Submitted in this
            // turn (AwaitCommitAsync calls the pipeline's Submit before its first await), so commit order is seq order.
            var outcome = AwaitCommitAsync(work, senderId, clientMsgId, rootUpdated);
            (_waitingSends ??= new()).Enqueue((_s.Time.GetTimestamp(), outcome));
            return new PreparedSend(WithinAckTimeoutAsync(outcome));
        }

        if (work.Times is { } times)
        {
            times.Submitted = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        if (work.Route is not null)
        {
            // A one-way send (ADR 0022): the work is its own pipeline entry, and its completion resumes this activation with
            // a work item (ResumeOneWay) instead of an awaiting state machine's box and the pipeline's entry (0.17 + 0.12 KB of
            // every message by stop 45's allocation trace; Orleans' work item is one task, as the await's resumption was).
            // Queued in this turn, so commit order is seq order; a refusal is answered now, in the turn, as the await of a
            // refused submission was.
            // Counted in flight until ResumeOneWay (deactivation waits for it; a 1:1 grain is not shed meanwhile: ADR 0032, 0040).
            CommitBegun();
            if (_s.Pipeline.Enqueue(work) is { } refused)
            {
                ResumeOneWay(work, refused, 0);
            }

            return new PreparedSend(AnsweredByCommit, AnswersItself: true);
        }

        // Submitted in this turn too (AwaitCommitAsync calls the pipeline's Submit before its first await).
        return new PreparedSend(AwaitCommitAsync(work, senderId, clientMsgId, rootUpdated));
    }

    // The outcome of a prepared one-way send whose commit answers its route itself: never read (AnswerPrepared checks
    // AnswersItself first), so it only stands for "answered by the commit".
    private static readonly Task<CoreResult<MessageAck>> AnsweredByCommit =
        Task.FromResult<CoreResult<MessageAck>>(CoreResult.Fail(CoreError.Unavailable, "Answered by the commit."));

    /// <summary>
    /// A one-way send's commit is done (<paramref name="failure"/> null: durable with <paramref name="version"/>) or failed:
    /// what <see cref="AwaitCommitAsync"/> does after its await, in this activation's turn (queued by the work's completion
    /// on the pipeline's loop, or in the send's own turn for a refusal). Answers the route exactly once, whatever happens.
    /// </summary>
    private void ResumeOneWay(MessageWork work, Exception? failure, long version)
    {
        CommitEnded();
        var route = work.Route!.Value;
        CoreResult<MessageAck> result;
        try
        {
            result = failure switch
            {
                null => Committed(work, work.Message.SenderId, work.Message.ClientMsgId, work.RootUpdated, version),
                CommitFailedException ex => CommitFailed(ex, work, work.Message.SenderId, work.Message.ClientMsgId, work.RootUpdated),
                _ => throw failure,
            };
        }
        catch (Exception ex)
        {
            AnswerFailure(route, ex);
            return;
        }

        Answer(route, result);
    }

    /// <summary>
    /// What <see cref="PrepareMessageAsync"/> ends with: the task of the message's outcome (a refusal or duplicate: completed),
    /// and whether that task answers the one-way send's route itself (the commit's wait of a send with a route).
    /// </summary>
    private readonly record struct PreparedSend(Task<CoreResult<MessageAck>> Outcome, bool AnswersItself = false)
    {
        public static implicit operator PreparedSend(CoreResult<MessageAck> result) => new(Task.FromResult(result));

        public static implicit operator PreparedSend(CoreFailure failure) => new(Task.FromResult<CoreResult<MessageAck>>(failure));
    }

    private async Task<CoreResult<MessageAck>> AwaitCommitAsync(
        MessageWork work,
        string senderId,
        string clientMsgId,
        StoredMessage? rootUpdated)
    {
        CoreResult<MessageAck>? result = null;
        // In the submitting turn (before the first await), every kind of group and 1:1 send; ended in the finally below.
        CommitBegun();
        try
        {
            long version = 0;
            try
            {
                // The pipeline's entry is the awaited value (no task source and task per send, issue 17).
                version = await _s.Pipeline.Submit(work);
            }
            catch (CommitFailedException ex)
            {
                result = CommitFailed(ex, work, senderId, clientMsgId, rootUpdated);
            }
            finally
            {
                CommitEnded();
            }

            result ??= Committed(work, senderId, clientMsgId, rootUpdated, version);
        }
        catch (Exception ex) when (work.Route is { } failedRoute)
        {
            // A one-way send is answered whatever happened (ADR 0022); a request/response call's exception goes to its caller.
            AnswerFailure(failedRoute, ex);
            return CoreResult.Fail(CoreError.Unavailable, "The send failed on the server; retry.");
        }

        if (work.Route is { } route)
        {
            // After the durable commit and Committed, in this grain turn: where the response was produced before.
            Answer(route, result);
        }

        return result;
    }

    private CoreResult<MessageAck> Committed(
        MessageWork work,
        string senderId,
        string clientMsgId,
        StoredMessage? rootUpdated,
        long version)
    {
        if (work.Times is { } times)
        {
            times.Resumed = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        // The ack's fields straight from the message (a `with` copy of the whole row for its version was one more per send).
        CoreResult<MessageAck> ack = CoreResult.Success(new MessageAck(_id, work.Message.Seq, work.Message.ServerMsgId, work.Message.ServerTime, false, version));
        Settled(rootUpdated);
        if (_members.TryGetValue(senderId, out var sender))
        {
            sender.ReadSeq = Math.Max(sender.ReadSeq, work.Message.Seq);
        }

        _s.Metrics.MessagesAccepted.Add(1);
        _dedup.Settle(senderId, clientMsgId, work, ack);
        return ack;
    }

    private CoreResult<MessageAck> CommitFailed(
        CommitFailedException ex,
        MessageWork work,
        string senderId,
        string clientMsgId,
        StoredMessage? rootUpdated)
    {
        Settled(rootUpdated);
        _dedup.Forget(senderId, clientMsgId);
        CoreResult<MessageAck> failure = OnCommitFailed(ex);
        work.Complete(failure);
        return failure;
    }

    private NewConversation? _pendingCreation;

    // The mentioned users other than the sender. Not a lambda: one capturing the sender made SubmitMessageAsync allocate its
    // closure on every call, mention or not (issue 17).
    private static string[] Except(string[] userIds, string senderId)
    {
        var kept = new List<string>(userIds.Length);
        foreach (var userId in userIds)
        {
            if (userId != senderId)
            {
                kept.Add(userId);
            }
        }

        return [.. kept];
    }

    private async Task<CoreFailure?> TryCreateDirectAsync(string senderId, string? peerUserId)
    {
        if (peerUserId is null || !_id.StartsWith("si_", StringComparison.Ordinal) || !Ids.IsDirectConversationIdOf(_id, senderId, peerUserId))
        {
            return CoreResult.Fail(CoreError.NotFound, "No such conversation.");
        }

        string[] members;
        if (peerUserId == senderId)
        {
            members = [senderId];
        }
        else
        {
            // The peer's account and the pair's relation in one read (issue 17, stop 45: two, each through a pooled connection).
            var before = _relationChanges;
            var (first, second) = string.CompareOrdinal(senderId, peerUserId) <= 0 ? (senderId, peerUserId) : (peerUserId, senderId);
            var (relation, peerExists) = await _s.Relations.GetDirectOpeningAsync(first, second, peerUserId);
            if (!peerExists)
            {
                return CoreResult.Fail(CoreError.NotFound, "No such user.");
            }

            await AdoptRelationAsync(relation, before, senderId, peerUserId);
            members = [senderId, peerUserId];
        }

        var creation = new NewConversation(_id, ConversationKind.Direct, null, string.Empty, senderId, _s.Time.GetUtcNow().ToUnixTimeMilliseconds(), members, 0);
        AdoptConversation(creation);
        _pendingCreation = creation;
        _idleSlot ??= _s.IdleDirect.Register(GrainContext);
        return null;
    }

    // A SetRelationAsync that interleaves with the read wins over the older value read from the store.
    private async Task RefreshRelationAsync(string a, string b)
    {
        var before = _relationChanges;
        await AdoptRelationAsync(await LoadRelationAsync(a, b), before, a, b);
    }

    // The relation read while _relationChanges was `before`, unless a SetRelationAsync came meanwhile; and, on a friends-only
    // server, whether either user is a notification account.
    private async ValueTask AdoptRelationAsync(DirectRelation loaded, long before, string a, string b)
    {
        if (_relationChanges == before)
        {
            _relation = loaded;
        }

        if (_s.FriendsOnly)
        {
            // A business account is nobody's friend: its notification conversations are exempt from friends-only, both
            // ways. Read from the store when this node's set does not know the account yet (another node created it
            // within the set's refresh), so the answer is the same on every node.
            _withNotificationAccount = await IsNotificationAccountAsync(a) || await IsNotificationAccountAsync(b);
        }
    }

    private async Task<bool> IsNotificationAccountAsync(string userId)
    {
        if (_s.NotificationIds.Contains(userId))
        {
            return true;
        }

        if (await _s.NotificationStore.GetAsync(userId) is null)
        {
            return false;
        }

        // Another node created the account moments ago and its broadcast has not reached this node yet: this node learns
        // it now, so that the conversation's first events, encoded on this node for its own connections, already name it a
        // notification conversation (OpenIM's sn_… id, the native flag), as they do on the node that created it.
        _s.NotificationIds.Added(userId);
        return true;
    }

    private async Task<DirectRelation> LoadRelationAsync(string a, string b)
    {
        var (first, second) = string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);
        return await _s.Relations.GetDirectRelationAsync(first, second);
    }

    private void AdoptConversation(NewConversation creation)
    {
        _record = new ConversationRecord(creation.ConversationId, creation.Kind, creation.GroupId, creation.Name, creation.CreatorId, creation.CreatedAt, 0);
        foreach (var m in creation.Members)
        {
            _members[m] = new MemberState(0, false, false) { JoinedAt = creation.CreatedAt };
        }

        RefreshMemberIds();
    }

    private CoreResult<MessageAck> Ack(StoredMessage m, bool duplicate) =>
        CoreResult.Success(new MessageAck(_id, m.Seq, m.ServerMsgId, m.ServerTime, duplicate, m.Version));

    private CoreFailure OnCommitFailed(CommitFailedException ex)
    {
        LogCommitFailed(_s.Logger, ex, _id);
        _writeFailed = true;
        // Seqs already handed out after the failed one can never commit (the pipeline refuses this epoch);
        // a fresh activation reloads the true max seq.
        this.DeactivateOnIdle();
        return CoreResult.Fail(CoreError.Unavailable, "The write was not stored; retry.");
    }

    internal ConversationView ViewFor(string userId)
    {
        var member = _members[userId];
        string? peer = null;
        var visibleMax = member.HighestVisible(_tail.MaxSeq);
        long peerRead = 0;
        if (_record!.Kind == ConversationKind.Direct)
        {
            peer = _memberIds.FirstOrDefault(m => m != userId) ?? userId;
            peerRead = _members.TryGetValue(peer, out var p) ? p.ReadSeq : 0;
        }

        var last = member.Active ? _tail.Last : _tail.Find(visibleMax);
        return new ConversationView(_id, _record.Kind, _record.GroupId, _group?.Name ?? _record.Name, peer, visibleMax, member.ReadSeq, member.Pinned, member.Muted, last, peerRead, ActiveCount, last?.ServerTime ?? _record.CreatedAt)
        {
            MentionsOnly = member.MentionsOnly,
        };
    }

    [LoggerMessage(EventId = 2260, Level = LogLevel.Error, Message = "A one-way send to conversation {ConversationId} failed; answered Unavailable")]
    private static partial void LogOneWaySendFailed(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 2261, Level = LogLevel.Error, Message = "The answer of a one-way send to conversation {ConversationId} could not be handed to the delivery hub")]
    private static partial void LogAnswerFailed(ILogger logger, Exception exception, string conversationId);

    [LoggerMessage(EventId = 2380, Level = LogLevel.Information, Message = "Conversation {ConversationId} deactivates ({Reason}) with {Commits} commits in flight: it waits for them")]
    private static partial void LogDeactivationWaits(ILogger logger, string conversationId, int commits, DeactivationReasonCode reason);

    [LoggerMessage(EventId = 2381, Level = LogLevel.Warning, Message = "Conversation {ConversationId} deactivated with {Commits} commits still in flight: Orleans' deactivation timeout passed first")]
    private static partial void LogDeactivationTimedOut(ILogger logger, string conversationId, int commits);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "A write of conversation {ConversationId} failed; the activation will reload")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, string conversationId);

    private sealed class MemberState(long readSeq, bool pinned, bool muted)
    {
        public long ReadSeq { get; set; } = readSeq;

        public bool Pinned { get; set; } = pinned;

        public bool Muted { get; set; } = muted;

        public bool MentionsOnly { get; set; }

        public MemberRole Role { get; set; }

        public string Nickname { get; set; } = string.Empty;

        public long MutedUntil { get; set; }

        public long JoinedAt { get; set; }

        public string InviterId { get; set; } = string.Empty;

        public bool Active { get; set; } = true;

        public long VisibleFrom { get; set; } = 1;

        // Allocated with the first closed period: a 1:1 member never has one, and an empty list per member was 64 B of
        // every active 1:1 conversation (issue 17's soak census).
        private List<(long From, long To)>? _periods;

        /// <summary>Closed visibility periods (seqs From..To) from earlier memberships.</summary>
        public IReadOnlyList<(long From, long To)> Periods => (IReadOnlyList<(long From, long To)>?)_periods ?? [];

        public void AddPeriod(long from, long to) => (_periods ??= []).Add((from, to));

        public bool CanSee(long seq) =>
            (Active && seq >= VisibleFrom) || (_periods is { } periods && periods.Exists(p => seq >= p.From && seq <= p.To));

        public long LowestVisible => Math.Min(Active ? VisibleFrom : long.MaxValue, Periods.Count == 0 ? long.MaxValue : Periods.Min(p => p.From));

        public long HighestVisible(long maxSeq) => Active ? maxSeq : (Periods.Count == 0 ? 0 : Periods.Max(p => p.To));
    }

    /// <summary>
    /// A message and what commits with it. Everything it reads after submission was captured in the grain's turn
    /// (recipients, kind, group name, the records of <see cref="Extra"/>): it runs on the pipeline's threads.
    /// </summary>
    /// <summary>
    /// What a group's message commits and publishes beyond a 1:1 message's: null in a 1:1 conversation's work, whose object
    /// carried these six fields, all empty, in every message (issue 17, stop 45).
    /// </summary>
    private sealed class GroupParts
    {
        /// <summary>More records committed atomically with the message (group and membership changes), captured in the turn.</summary>
        public Action<CommitBatch, long>? Extra { get; init; }

        /// <summary>The group after this message's mutation, taken in the grain turn (immutable record).</summary>
        public GroupRecord? Group { get; init; }

        /// <summary>For a group notice that changed members: their rows after the change, taken in the grain turn.</summary>
        public IReadOnlyList<MemberChange>? Members { get; init; }

        public string ConversationName { get; init; } = string.Empty;

        /// <summary>A read-diffusion group: nothing per member in the commit, delivery through the node rosters.</summary>
        public bool ReadDiffusion { get; init; }

        /// <summary>Users to put on the rosters besides the joined members of <see cref="Members"/> (a promotion: everyone).</summary>
        public IReadOnlyList<string>? RosterJoined { get; init; }
    }

    private sealed class MessageWork(ConversationGrain grain, StoredMessage message, NewConversation? creation, long? revokes, string[] recipients, string? origin) : PendingSend, ICommitWork
    {
        /// <summary>For a reply: its root with the reply count raised, committed with the reply (ADR 0018).</summary>
        public StoredMessage? RootUpdated { get; init; }

        /// <summary>For a revoke marker: the client message id of the message it revokes.</summary>
        public string RevokedClientMsgId { get; init; } = string.Empty;

        public ConversationKind Kind { get; init; }

        /// <summary>A group's parts (null in a 1:1 conversation).</summary>
        public GroupParts? Grouped { get; init; }

        private Action<CommitBatch, long>? Extra => Grouped?.Extra;

        private GroupRecord? Group => Grouped?.Group;

        private IReadOnlyList<MemberChange>? Members => Grouped?.Members;

        private string ConversationName => Grouped?.ConversationName ?? string.Empty;

        private bool ReadDiffusion => Grouped?.ReadDiffusion == true;

        private IReadOnlyList<string>? RosterJoined => Grouped?.RosterJoined;

        /// <summary>The gateway's per-hop stamps of the send (issue 17), or null.</summary>
        public SendTimes? Times { get; init; }

        /// <summary>A one-way send's answer route (ADR 0022): the commit's wait answers it; null for a request/response call.</summary>
        public AckRoute? Route { get; init; }

        public void Timed(long takenAt, long durableAt)
        {
            if (Times is { } times)
            {
                times.Taken = takenAt;
                times.Durable = durableAt;
            }
        }

        public StoredMessage Message { get; } = message;

        public string ConversationId => Message.ConversationId;

        // As a pipeline entry of its own (a one-way send, CommitPipeline.Enqueue): its completion, once, on the pipeline's
        // loop, resumes the grain with a work item of the activation (a static callback and this work: no closure, no state
        // machine; Orleans' QueueAction makes the one task the await's resumption made too).
        public override ICommitWork Work => this;

        private static readonly Action<object> ResumeOnGrain = static state => ((MessageWork)state).Resume();

        private Exception? _failure;

        // The committed version is the entry's own (Version: assigned at submission on this node, by the writer in a cluster).
        protected override void Completed(long version) => grain.GrainContext.Scheduler.QueueAction(ResumeOnGrain, this);

        protected override void Failed(Exception exception)
        {
            _failure = exception;
            grain.GrainContext.Scheduler.QueueAction(ResumeOnGrain, this);
        }

        private void Resume() => grain.ResumeOneWay(this, _failure, Version);

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version)
        {
            // The row made in the grain's turn, with its version set here: nothing reads it between the turn and the commit
            // but this writer (the turn's ack fields are its seq, id and time), and a batch committed again after a failure
            // sets the version again before the row is stored; the committed row is the one the tail and the event get.
            Message.Version = version;
            if (creation is not null)
            {
                // As the row: the record made in the turn, which nothing else holds (AdoptConversation copied its fields).
                creation.Version = version;
                batch.Conversations.Add(creation);
            }

            batch.Messages.Add(Message);
            if (ReadDiffusion)
            {
                batch.ReadDiffusion.Add(ConversationId);
            }

            if (RootUpdated is { } root)
            {
                batch.MessageUpdates.Add(new MessageUpdate(root.ConversationId, root.Seq, root.Annotations ?? [], version));
            }

            Extra?.Invoke(batch, version);
            if (revokes is { } seq)
            {
                batch.Revocations.Add(new Revocation(ConversationId, seq));
            }
        }

        // Its own method: a lambda capturing OnCommitted's version made every call allocate the closure, a member change or
        // not (0.03-0.05 KB of every message, issue 17).
        private static MemberChange[] WithVersion(IReadOnlyList<MemberChange> members, long version) =>
            [.. members.Select(m => m with { Version = version })];

        public void OnCommitted(long version)
        {
            if (revokes is { } seq)
            {
                grain._tail.Revoke(seq);
            }

            // The store is done with the text it indexed (the commit is durable): the hot tail keeps this row for its last
            // 256 messages, and the text was about a third of the bytes each message kept there, copied by the GC from the
            // young generation to gen1 and again to gen2 (issue 17, stop 42). Nothing after the commit reads it.
            Message.SearchText = null;
            Message.SearchTextLength = 0;
            grain._tail.Append(Message);
            if (RootUpdated is { } root)
            {
                grain._tail.Replace(root with { Version = version });
            }

            MessageCommitted committed = (revokes, Members) switch
            {
                ({ } target, _) => new MessageRevoked(Message, target, RevokedClientMsgId, Message.SenderId),
                (null, { Count: > 0 } members) => new MembersChanged(Message, Group, WithVersion(members, version)),
                _ => new MessageCommitted(Message, Group) { ReplyTo = RootUpdated },
            };
            if (ReadDiffusion)
            {
                IReadOnlyList<string> joined = RosterJoined ?? (Members is { } changed ? [.. changed.Where(m => m.Active).Select(m => m.UserId)] : []);
                IReadOnlyList<string> left = Members is { } gone ? [.. gone.Where(m => !m.Active).Select(m => m.UserId)] : [];
                grain._s.Hub.PublishToGroup(ConversationId, joined, left, committed, version, origin);
            }
            else
            {
                grain._s.Hub.Publish(recipients, committed, version, origin);
            }

            foreach (var observer in grain._s.CommittedObservers)
            {
                if (ReadDiffusion)
                {
                    observer.OnReadDiffusionMessageCommitted(Message, ConversationName, RootUpdated?.SenderId);
                }
                else
                {
                    observer.OnMessageCommitted(Message, recipients, Kind, ConversationName);
                }
            }

            if (Times is { } times)
            {
                times.FannedOut = System.Diagnostics.Stopwatch.GetTimestamp();
                times.Version = version;
            }
        }
    }

    private sealed class ReadWork(ConversationGrain grain, string userId, long readSeq, long previousReadSeq, string? origin) : ICommitWork
    {
        // In a read-diffusion group the other members never see read receipts: only the reader's own devices.
        private readonly string[] _recipients = grain.IsSuper ? [userId] : grain._memberIds;

        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version) =>
            batch.ReadCursors.Add(new ReadCursorUpdate(ConversationId, userId, readSeq, version));

        public void OnCommitted(long version)
        {
            grain._s.Hub.Publish(_recipients, new ReceiptChanged(ConversationId, userId, readSeq, previousReadSeq, version), version, origin);
        }
    }

    private sealed class SettingsWork(ConversationGrain grain, string userId, bool? pinned, bool? muted, bool? mentionsOnly, string? origin) : ICommitWork
    {
        private readonly ConversationView _view = grain.ViewFor(userId);

        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version) =>
            batch.Settings.Add(new MemberSettingsUpdate(ConversationId, userId, pinned, muted, version) { MentionsOnly = mentionsOnly });

        public void OnCommitted(long version)
        {
            grain._s.Hub.Publish([userId], new SettingsChanged(userId, _view, version), version, origin);
        }
    }
}
