using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Groups;
using Parley.Core.Internal;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// Group management. Every change runs as a mutation inside the conversation's FIFO section, authorised against the
/// state at that instant (so a demoted admin loses rights on the very next request), and commits atomically with its
/// typed notification message, which reaches the members in seq order with the chat.
/// </summary>
public sealed partial class ConversationGrain
{
    private const int GroupRequestJoin = 0;
    private const int GroupRequestInvite = 1;
    private const int RequestPending = 0;
    private const int RequestAccepted = 1;
    private const int RequestRefused = 2;


    // Pending join requests of a group, created when a group path first needs it (a 1:1 never does: an empty dictionary
    // was 80 B of every active conversation, issue 17's soak census).
    private Dictionary<string, GroupRequestRecord>? _requests;

    private Dictionary<string, GroupRequestRecord> Requests => _requests ??= new(StringComparer.Ordinal);
    private GroupRecord? _group;

    /// <summary>Computes a group change at the seq its notification will get; mutates state only on success.</summary>
    private delegate GroupEffect GroupMutation(long seq);

    /// <param name="Refusal">Set when the mutation refused (or deferred): nothing is committed.</param>
    private sealed record GroupEffect(CoreFailure? Refusal, Action<CommitBatch, long>? Extra, string[]? Recipients)
    {
        /// <summary>The member rows this change wrote, as of the turn (published with the notice as <see cref="Delivery.MembersChanged"/>).</summary>
        public IReadOnlyList<MemberChange>? Members { get; init; }

        /// <summary>A read-diffusion group: users whose connections join the node rosters with this notice (a promotion).</summary>
        public IReadOnlyList<string>? RosterJoined { get; init; }

        // A mutation outcome that commits no notification (a request recorded for approval); the caller records it.
        public static readonly GroupEffect Defer = new(new CoreFailure(CoreError.Conflict, "Deferred for approval."), null, null);

        public static GroupEffect Fail(CoreError code, string message) => new(new CoreFailure(code, message), null, null);

        public static GroupEffect Commit(Action<CommitBatch, long> extra, string[]? recipients = null) => new(null, extra, recipients);

        public static GroupEffect? Refuse(CoreFailure? refusal) => refusal is { } r ? new(r, null, null) : null;
    }

    public async Task<CoreResult<GroupOutcome>> GroupAsync(GroupCommand command)
    {
        if (_record is null || _group is null)
        {
            return CoreResult.Fail(CoreError.NotFound, "No such group.");
        }

        if (GroupRules.Check(command) is { } invalid)
        {
            return invalid;
        }

        await EnsureMembersAsync([command.OperatorId, .. command.UserIds]);
        var result = command.Operation switch
        {
            GroupOperation.UpdateInfo => await UpdateInfoAsync(command),
            GroupOperation.Join => await JoinAsync(command),
            GroupOperation.Invite => await InviteAsync(command),
            GroupOperation.RespondRequest => await RespondRequestAsync(command),
            GroupOperation.Kick or GroupOperation.Quit => await RemoveAsync(command),
            GroupOperation.Dismiss => await DismissAsync(command),
            GroupOperation.TransferOwner => await TransferAsync(command),
            GroupOperation.SetRole => await SetRoleAsync(command),
            GroupOperation.Mute => await MuteAsync(command),
            GroupOperation.SetNickname => await SetNicknameAsync(command),
            GroupOperation.Promote => await PromoteAsync(command),
            _ => CoreResult.Fail(CoreError.Unsupported, "Unknown group operation."),
        };
        if (result.IsOk && command.Operation is GroupOperation.Join or GroupOperation.Invite or GroupOperation.RespondRequest)
        {
            await PromoteIfLargeAsync();
        }

        return result;
    }

    public async Task<CoreResult<MemberPage>> ListMembersAsync(string userId, int offset, int limit)
    {
        await EnsureMembersAsync(userId);
        if (_record is null || !IsActive(userId))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this group.");
        }

        if (IsSuper)
        {
            // Never the whole roster: one page from the store, by user id (edges should page with the keyset instead).
            var first = await _s.SuperStore.SearchMembersAsync(_id, new MemberQuery(string.Empty, MemberRole.Member, string.Empty, Math.Clamp(limit, 1, 500)) { Offset = Math.Max(0, offset) });
            return CoreResult.Success(new MemberPage([.. first.Members.Select(m => new MemberData(m.UserId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId))], first.Total));
        }

        var active = _members.Where(kv => kv.Value.Active)
            .OrderByDescending(kv => kv.Value.Role)
            .ThenBy(kv => kv.Value.JoinedAt)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToList();
        var page = active.Skip(Math.Max(0, offset)).Take(Math.Clamp(limit, 1, 500))
            .Select(kv => new MemberData(kv.Key, kv.Value.Role, kv.Value.Nickname, kv.Value.MutedUntil, kv.Value.JoinedAt, kv.Value.InviterId))
            .ToArray();
        return CoreResult.Success(new MemberPage(page, active.Count));
    }

    public async Task<CoreResult<GroupRequestsPage>> ListGroupRequestsAsync(string userId)
    {
        await EnsureMembersAsync(userId);
        return ListGroupRequests(userId);
    }

    private CoreResult<GroupRequestsPage> ListGroupRequests(string userId)
    {
        if (_group is null || !TryGetActive(userId, out var member))
        {
            return CoreResult.Fail(CoreError.NotMember, "Not a member of this group.");
        }

        if (member.Role < MemberRole.Admin)
        {
            return CoreResult.Fail(CoreError.Forbidden, "Only the owner and admins see join requests.");
        }

        var requests = Requests.Values.Where(r => r.State == RequestPending).OrderBy(r => r.CreatedAt)
            .Select(r => new GroupRequestData(r.UserId, r.InviterId, r.Kind, r.Message, r.State, r.CreatedAt, r.HandlerId, r.HandledAt))
            .ToArray();
        return CoreResult.Success(new GroupRequestsPage(requests));
    }

    public async Task<bool> IsMemberAsync(string userId)
    {
        await EnsureMembersAsync(userId);
        return IsActive(userId);
    }

    public async Task<string[]> PlanAdmissionAsync(GroupCommand command)
    {
        if (_record is null || _group is null || _group.Dismissed || GroupRules.Check(command) is not null)
        {
            return [];
        }

        await EnsureMembersAsync([command.OperatorId, .. command.UserIds]);
        switch (command.Operation)
        {
            case GroupOperation.Join:
                return !IsActive(command.OperatorId) && RosterRules.Join(_group.JoinPolicy) == Admission.Admit ? [command.OperatorId] : [];
            case GroupOperation.Invite:
                if (!TryGetActive(command.OperatorId, out var inviter) || RosterRules.Invite(_group.JoinPolicy, inviter.Role) != Admission.Admit)
                {
                    return [];
                }

                return [.. command.UserIds.Distinct(StringComparer.Ordinal).Where(u => !IsActive(u))];
            case GroupOperation.RespondRequest when command.Accept:
                var userId = command.UserIds.FirstOrDefault() ?? string.Empty;
                return TryGetActive(command.OperatorId, out var handler) && handler.Role >= MemberRole.Admin
                    && Requests.TryGetValue(userId, out var request) && request.State == RequestPending && !IsActive(userId)
                    ? [userId]
                    : [];
            default:
                return [];
        }
    }

    // The join hook checked other users than this turn would admit (the group changed in between): nobody unchecked gets in.
    private static GroupEffect? RequireChecked(GroupCommand c, string[] admitted) =>
        c.CheckedUserIds is { } checkedIds && admitted.Any(u => !checkedIds.Contains(u, StringComparer.Ordinal))
            ? GroupEffect.Fail(CoreError.Conflict, "The group changed while the join was being checked; try again.")
            : null;

    // The group record is already loaded. A super group's periods are read per member on demand.
    private async Task LoadGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        foreach (var period in IsSuper ? [] : await _s.GroupStore.GetMemberPeriodsAsync(_id, cancellationToken))
        {
            if (_members.TryGetValue(period.UserId, out var member))
            {
                member.AddPeriod(period.From, period.To);
            }
        }

        foreach (var request in await _s.GroupStore.GetPendingGroupRequestsAsync(groupId, cancellationToken))
        {
            Requests[request.UserId] = request;
        }
    }

    private Task<CoreResult<GroupOutcome>> UpdateInfoAsync(GroupCommand c)
    {
        var patch = c.Settings!;

        var changed = new GroupSettings();
        if (patch.Name is { } name)
        {
            changed.Name = name;
        }

        if (patch.AvatarUrl is { } avatar)
        {
            changed.AvatarUrl = avatar;
        }

        if (patch.Introduction is { } intro)
        {
            changed.Introduction = intro;
        }

        if (patch.Announcement is { } announcement)
        {
            changed.Announcement = announcement;
        }

        if (patch.Ex is { } ex)
        {
            changed.Ex = ex;
        }

        if (patch.JoinPolicy is { } policy)
        {
            changed.JoinPolicy = (JoinPolicy)policy;
        }

        if (patch.HistoryVisibleToNewMembers is { } history)
        {
            changed.HistoryVisibleToNewMembers = history;
        }

        if (patch.MuteAll is { } muteAll)
        {
            changed.MuteAll = muteAll;
        }

        if (patch.Searchable is { } searchable)
        {
            changed.Searchable = searchable;
        }

        if (patch.MemberNotices is { } notices)
        {
            changed.MemberNotices = (MemberNotices)notices;
        }

        var content = new Content { GroupInfoChanged = new GroupInfoChangedContent { GroupId = _group!.GroupId, OperatorId = c.OperatorId, Changed = changed } };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Admin, out _);
            if (refusal is not null)
            {
                return refusal;
            }

            if (patch.MemberNotices is { } mode && (!IsSuper || !Enum.IsDefined(mode)))
            {
                return GroupEffect.Fail(
                    IsSuper ? CoreError.InvalidArgument : CoreError.Unsupported,
                    IsSuper ? "Unknown member notice mode." : "Member notices other than messages are for super groups; promote the group first.");
            }

            _group = _group! with
            {
                Name = patch.Name ?? _group.Name,
                AvatarUrl = patch.AvatarUrl ?? _group.AvatarUrl,
                Introduction = patch.Introduction ?? _group.Introduction,
                Announcement = patch.Announcement ?? _group.Announcement,
                Ex = patch.Ex ?? _group.Ex,
                JoinPolicy = patch.JoinPolicy ?? _group.JoinPolicy,
                HistoryVisibleToNewMembers = patch.HistoryVisibleToNewMembers ?? _group.HistoryVisibleToNewMembers,
                MuteAll = patch.MuteAll ?? _group.MuteAll,
                Searchable = patch.Searchable ?? _group.Searchable,
                MemberNotices = patch.MemberNotices ?? _group.MemberNotices,
                UpdatedAt = Now(),
            };
            var snapshot = _group;
            return GroupEffect.Commit((batch, version) => batch.Groups.Add(snapshot with { Version = version }), null);
        });
    }

    private async Task<CoreResult<GroupOutcome>> JoinAsync(GroupCommand c)
    {
        var now = Now();
        var joined = false;
        var content = new Content { MembersAdded = new MembersAddedContent { GroupId = _group!.GroupId, UserIds = { c.OperatorId }, OperatorId = c.OperatorId } };
        var pendingRequest = false;
        var result = await RunAsync(c, content, seq =>
        {
            if (_group!.Dismissed)
            {
                return GroupEffect.Fail(CoreError.GroupDismissed, "The group was dismissed.");
            }

            if (IsActive(c.OperatorId))
            {
                return GroupEffect.Fail(CoreError.Conflict, "Already a member.");
            }

            switch (RosterRules.Join(_group.JoinPolicy))
            {
                case Admission.Refuse:
                    return GroupEffect.Fail(CoreError.Forbidden, "This group takes members by invitation of its owner or admins only.");
                case Admission.AwaitApproval:
                    pendingRequest = true;
                    return GroupEffect.Defer;
                default:
                    if (GroupEffect.Refuse(RosterRules.Capacity(ActiveCount, 1, Capacity)) is { } full)
                    {
                        return full;
                    }

                    if (RequireChecked(c, [c.OperatorId]) is { } notChecked)
                    {
                        return notChecked;
                    }

                    joined = true;
                    return Admit([c.OperatorId], c.OperatorId, seq, now, c.MemberOverrides);
            }
        });

        if (pendingRequest)
        {
            return await RecordRequestsAsync([new GroupRequestRecord(_group.GroupId, c.OperatorId, string.Empty, GroupRequestJoin, c.Message, RequestPending, now, 0, string.Empty)]);
        }

        return result.IsOk ? CoreResult.Success(new GroupOutcome { Joined = joined, Added = [c.OperatorId] }) : result;
    }

    private async Task<CoreResult<GroupOutcome>> InviteAsync(GroupCommand c)
    {
        var invited = c.UserIds.Distinct(StringComparer.Ordinal).ToArray();

        var existing = await _s.Accounts.GetUsersAsync(invited);
        if (existing.Count != invited.Length)
        {
            return CoreResult.Fail(CoreError.NotFound, "Some users do not exist.");
        }

        var now = Now();
        string[] added = [];
        string[] pending = [];
        var content = new Content { MembersAdded = new MembersAddedContent { GroupId = _group!.GroupId, OperatorId = c.OperatorId, InviterId = c.OperatorId } };
        var result = await RunAsync(c, content, seq =>
        {
            var refusal = RequireLiveMember(c.OperatorId, out var inviter);
            if (refusal is not null)
            {
                return refusal;
            }

            var newcomers = invited.Where(u => !IsActive(u)).ToArray();
            if (newcomers.Length == 0)
            {
                return GroupEffect.Fail(CoreError.Conflict, "Everyone named is already a member.");
            }

            switch (RosterRules.Invite(_group!.JoinPolicy, inviter.Role))
            {
                case Admission.Refuse:
                    return GroupEffect.Fail(CoreError.Forbidden, "Only the owner and admins may invite to this group.");
                case Admission.AwaitApproval:
                    pending = newcomers;
                    return GroupEffect.Defer;
            }

            if (GroupEffect.Refuse(RosterRules.Capacity(ActiveCount, newcomers.Length, Capacity)) is { } full)
            {
                return full;
            }

            if (RequireChecked(c, newcomers) is { } notChecked)
            {
                return notChecked;
            }

            added = newcomers;
            content.MembersAdded.UserIds.AddRange(newcomers);
            return Admit(newcomers, c.OperatorId, seq, now, c.MemberOverrides);
        });

        if (pending.Length > 0)
        {
            var recorded = await RecordRequestsAsync(
                [.. pending.Select(u => new GroupRequestRecord(_group.GroupId, u, c.OperatorId, GroupRequestInvite, c.Message, RequestPending, now, 0, string.Empty))]);
            return recorded.IsOk ? CoreResult.Success(new GroupOutcome { Pending = pending }) : recorded;
        }

        return result.IsOk ? CoreResult.Success(new GroupOutcome { Added = added }) : result;
    }

    private async Task<CoreResult<GroupOutcome>> RespondRequestAsync(GroupCommand c)
    {
        var userId = c.UserIds.FirstOrDefault() ?? string.Empty;
        var now = Now();
        GroupRequestRecord? handled = null;
        var refused = false;
        var content = new Content { MembersAdded = new MembersAddedContent { GroupId = _group!.GroupId, UserIds = { userId }, OperatorId = c.OperatorId } };
        var result = await RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Admin, out _);
            if (refusal is not null)
            {
                return refusal;
            }

            if (!Requests.TryGetValue(userId, out var request) || request.State != RequestPending)
            {
                return GroupEffect.Fail(CoreError.NotFound, "No pending request of this user.");
            }

            if (!c.Accept)
            {
                refused = true;
                handled = request with { State = RequestRefused, HandledAt = now, HandlerId = c.OperatorId };
                Requests.Remove(userId);
                return GroupEffect.Defer;
            }

            if (IsActive(userId))
            {
                Requests.Remove(userId);
                return GroupEffect.Fail(CoreError.Conflict, "Already a member.");
            }

            if (RequireChecked(c, [userId]) is { } notChecked)
            {
                return notChecked;
            }

            handled = request with { State = RequestAccepted, HandledAt = now, HandlerId = c.OperatorId };
            Requests.Remove(userId);
            content.MembersAdded.InviterId = request.InviterId;
            var admit = Admit([userId], string.IsNullOrEmpty(request.InviterId) ? c.OperatorId : request.InviterId, seq, now, c.MemberOverrides);
            var accepted = handled;
            return admit with { Extra = (batch, version) => { admit.Extra!(batch, version); batch.GroupRequests.Add(accepted); } };
        });

        if (refused && handled is not null)
        {
            return await RecordRequestsAsync([handled]);
        }

        return result;
    }

    private Task<CoreResult<GroupOutcome>> RemoveAsync(GroupCommand c)
    {
        var quit = c.Operation == GroupOperation.Quit;
        var targets = quit ? [c.OperatorId] : c.UserIds.Distinct(StringComparer.Ordinal).ToArray();

        var content = new Content
        {
            MembersRemoved = new MembersRemovedContent { GroupId = _group!.GroupId, UserIds = { targets }, OperatorId = c.OperatorId, Quit = quit, Reason = c.Message },
        };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireLiveMember(c.OperatorId, out var op);
            if (refusal is not null)
            {
                return refusal;
            }

            if (quit && GroupEffect.Refuse(RosterRules.Quit(op.Role)) is { } staying)
            {
                return staying;
            }

            foreach (var target in targets)
            {
                if (!TryGetActive(target, out var member))
                {
                    return GroupEffect.Fail(CoreError.NotMember, $"{target} is not a member.");
                }

                if (!quit && GroupEffect.Refuse(RosterRules.Kick(c.OperatorId, op.Role, target, member.Role)) is { } kept)
                {
                    return kept;
                }
            }

            return RemoveMembers(targets, seq);
        });
    }

    private GroupEffect RemoveMembers(string[] targets, long seq)
    {
        // The removed see their own removal notice, and nothing after it.
        var recipients = _memberIds;
        var changes = new List<MemberChange>(targets.Length);
        foreach (var target in targets)
        {
            var member = _members[target];
            var from = member.VisibleFrom;
            member.AddPeriod(from, seq);
            member.Active = false;
            changes.Add(Capture(target, member, from, seq));
        }

        _superCount -= targets.Length;
        RefreshMemberIds();
        return GroupEffect.Commit((batch, version) => AddChanges(batch, changes, version), recipients) with { Members = changes };
    }

    private Task<CoreResult<GroupOutcome>> DismissAsync(GroupCommand c)
    {
        var content = new Content { GroupDismissed = new GroupDismissedContent { GroupId = _group!.GroupId, OperatorId = c.OperatorId } };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Owner, out _);
            if (refusal is not null)
            {
                return refusal;
            }

            _group = _group! with { Dismissed = true, UpdatedAt = Now() };
            var snapshot = _group;
            return GroupEffect.Commit((batch, version) => batch.Groups.Add(snapshot with { Version = version }), null);
        });
    }

    private Task<CoreResult<GroupOutcome>> TransferAsync(GroupCommand c)
    {
        var newOwner = c.UserIds.FirstOrDefault() ?? string.Empty;
        var content = new Content { OwnerTransferred = new OwnerTransferredContent { GroupId = _group!.GroupId, OldOwnerId = c.OperatorId, NewOwnerId = newOwner } };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Owner, out var owner);
            if (refusal is not null)
            {
                return refusal;
            }

            if (newOwner == c.OperatorId || !TryGetActive(newOwner, out var heir))
            {
                return GroupEffect.Fail(CoreError.NotMember, "The new owner must be another member.");
            }

            owner.Role = MemberRole.Member;
            heir.Role = MemberRole.Owner;
            _group = _group! with { OwnerId = newOwner, UpdatedAt = Now() };
            var snapshot = _group;
            MemberChange[] changes = [Capture(c.OperatorId, owner, owner.VisibleFrom, 0), Capture(newOwner, heir, heir.VisibleFrom, 0)];
            return GroupEffect.Commit((batch, version) =>
            {
                AddChanges(batch, changes, version);
                batch.Groups.Add(snapshot with { Version = version });
            }) with { Members = changes };
        });
    }

    private Task<CoreResult<GroupOutcome>> SetRoleAsync(GroupCommand c)
    {
        var target = c.UserIds.FirstOrDefault() ?? string.Empty;

        var content = new Content
        {
            MemberRoleChanged = new MemberRoleChangedContent { GroupId = _group!.GroupId, UserId = target, Role = (GroupRole)c.Role, OperatorId = c.OperatorId },
        };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireLiveMember(c.OperatorId, out var op) ?? GroupEffect.Refuse(RosterRules.SetRole(c.OperatorId, op.Role, target));
            if (refusal is not null)
            {
                return refusal;
            }

            if (!TryGetActive(target, out var member))
            {
                return GroupEffect.Fail(CoreError.NotMember, "Not a member.");
            }

            member.Role = c.Role;
            return MemberUpdate(target, member);
        });
    }

    private Task<CoreResult<GroupOutcome>> MuteAsync(GroupCommand c)
    {
        var target = c.UserIds.FirstOrDefault() ?? string.Empty;

        var until = c.Seconds == 0 ? 0 : Now() + (c.Seconds * 1000);
        var content = new Content { MemberMuted = new MemberMutedContent { GroupId = _group!.GroupId, UserId = target, MutedUntil = until, OperatorId = c.OperatorId } };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireRole(c.OperatorId, MemberRole.Admin, out var op);
            if (refusal is not null)
            {
                return refusal;
            }

            if (!TryGetActive(target, out var member))
            {
                return GroupEffect.Fail(CoreError.NotMember, "Not a member.");
            }

            if (GroupEffect.Refuse(RosterRules.Mute(op.Role, member.Role)) is { } kept)
            {
                return kept;
            }

            member.MutedUntil = until;
            return MemberUpdate(target, member);
        });
    }

    private Task<CoreResult<GroupOutcome>> SetNicknameAsync(GroupCommand c)
    {
        var target = c.UserIds.FirstOrDefault() is { Length: > 0 } named ? named : c.OperatorId;

        var content = new Content { MemberNicknameChanged = new MemberNicknameChangedContent { GroupId = _group!.GroupId, UserId = target, Nickname = c.Nickname } };
        return RunAsync(c, content, seq =>
        {
            var refusal = RequireLiveMember(c.OperatorId, out var op);
            if (refusal is not null)
            {
                return refusal;
            }

            if (!TryGetActive(target, out var member))
            {
                return GroupEffect.Fail(CoreError.NotMember, "Not a member.");
            }

            if (GroupEffect.Refuse(RosterRules.Rename(c.OperatorId, op.Role, target, member.Role)) is { } kept)
            {
                return kept;
            }

            member.Nickname = c.Nickname;
            return MemberUpdate(target, member);
        });
    }

    private async Task<CoreResult<GroupOutcome>> RunAsync(GroupCommand c, Content content, GroupMutation mutation)
    {
        if (NoticesAreEvents(content))
        {
            var silent = await SubmitMembershipAsync(c.OperatorId, c.OriginConnectionId, mutation, content);
            return silent.IsOk ? CoreResult.Success(GroupOutcome.None) : silent.Failure;
        }

        var result = await SubmitMessageAsync(
            c.OperatorId,
            "op:" + Guid.NewGuid().ToString("N"),
            null,
            (int)content.BodyCase,
            ProtoMapper.Serialize(content),
            null,
            c.OriginConnectionId,
            mutation: mutation,
            mutableContent: content);
        return result.IsOk ? CoreResult.Success(GroupOutcome.None) : result.Failure;
    }

    // Join requests and invitations waiting for approval: committed without a notification message.
    private async Task<CoreResult<GroupOutcome>> RecordRequestsAsync(IReadOnlyList<GroupRequestRecord> requests)
    {
        foreach (var r in requests)
        {
            if (r.State == RequestPending)
            {
                Requests[r.UserId] = r;
            }
            else
            {
                Requests.Remove(r.UserId);
            }
        }

        try
        {
            await CommitAsync(new RecordsWork(this, batch => batch.GroupRequests.AddRange(requests)));
        }
        catch (CommitFailedException ex)
        {
            return OnCommitFailed(ex);
        }

        return CoreResult.Success(GroupOutcome.None);
    }

    private GroupEffect Admit(string[] userIds, string inviterId, long seq, long now, MemberOverride[]? overrides = null)
    {
        var changes = new List<MemberChange>(userIds.Length);
        var settled = new List<GroupRequestRecord>();
        foreach (var userId in userIds)
        {
            if (_members.TryGetValue(userId, out var member))
            {
                // Rejoining: a new period starts at this notice; the gap stays invisible.
                member.Active = true;
                member.VisibleFrom = seq;
                member.Role = MemberRole.Member;
                member.MutedUntil = 0;
                member.Nickname = string.Empty;
            }
            else
            {
                member = new MemberState(0, false, false) { VisibleFrom = _group!.HistoryVisibleToNewMembers ? 1 : seq };
                _members[userId] = member;
            }

            member.JoinedAt = now;
            member.InviterId = inviterId;
            if (overrides?.FirstOrDefault(o => o.UserId == userId) is { } set)
            {
                member.Nickname = set.Nickname ?? member.Nickname;
                member.Role = set.Role is MemberRole.Admin ? MemberRole.Admin : member.Role;
                member.MutedUntil = set.MutedUntil ?? member.MutedUntil;
            }

            // Everything before the join counts as read, even where the group lets newcomers see it.
            member.ReadSeq = Math.Max(member.ReadSeq, seq - 1);
            if (Requests.Remove(userId, out var pending) && pending.State == RequestPending)
            {
                // Admitted another way (invited by an admin, or the group became free to join): the stored request must
                // not stay pending.
                settled.Add(pending with { State = RequestAccepted, HandledAt = now, HandlerId = inviterId });
            }

            changes.Add(Capture(userId, member, member.VisibleFrom, 0) with { ReadSeqFloor = seq - 1 });
        }

        _superCount += userIds.Length;
        RefreshMemberIds();
        return GroupEffect.Commit((batch, version) =>
        {
            AddChanges(batch, changes, version);
            batch.GroupRequests.AddRange(settled);
        }) with { Members = changes };
    }

    private GroupEffect MemberUpdate(string userId, MemberState member)
    {
        var change = Capture(userId, member, member.VisibleFrom, 0);
        return GroupEffect.Commit((batch, version) => batch.MemberChanges.Add(change with { Version = version })) with { Members = [change] };
    }

    /// <summary>
    /// A member's row as of this turn. Commit work runs on the pipeline's threads after later turns may have changed
    /// the member, so it carries this snapshot, never the live <see cref="MemberState"/>.
    /// </summary>
    private MemberChange Capture(string userId, MemberState m, long visibleFrom, long visibleTo)
    {
        NoteRole(userId, m.Role, visibleTo == 0);
        return new(_id, userId, m.Role, m.Nickname, m.MutedUntil, m.JoinedAt, m.InviterId, visibleTo == 0, visibleFrom, visibleTo, 0);
    }

    private static void AddChanges(CommitBatch batch, IEnumerable<MemberChange> changes, long version)
    {
        foreach (var change in changes)
        {
            batch.MemberChanges.Add(change with { Version = version });
        }
    }

    private GroupEffect? RequireLiveMember(string userId, out MemberState member)
    {
        if (_group!.Dismissed)
        {
            member = null!;
            return GroupEffect.Fail(CoreError.GroupDismissed, "The group was dismissed.");
        }

        return TryGetActive(userId, out member) ? null : GroupEffect.Fail(CoreError.NotMember, "Not a member of this group.");
    }

    private GroupEffect? RequireRole(string userId, MemberRole role, out MemberState member) =>
        RequireLiveMember(userId, out member) ?? GroupEffect.Refuse(RosterRules.RequireRole(member.Role, role));

    private static bool IsGroupNotification(int contentKind) =>
        contentKind is (int)Content.BodyOneofCase.GroupCreated
            or >= (int)Content.BodyOneofCase.MembersAdded and <= (int)Content.BodyOneofCase.GroupInfoChanged;

    private long Now() => _s.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private bool IsActive(string userId) => _members.TryGetValue(userId, out var m) && m.Active;

    private bool TryGetActive(string userId, out MemberState member) =>
        _members.TryGetValue(userId, out member!) && member.Active;

    // A super group keeps no member list (its _members is a cache of some members): it delivers through the rosters.
    // Two passes over the dictionary's struct enumerator, not Where/Select into a collection expression: the iterators, the
    // boxed enumerator and the growing buffer were ~0.2 KB of every conversation's activation or opening (issue 17, stop 43:
    // nearly every message of a random-pair load opens one). The same ids in the same (the dictionary's) order.
    private void RefreshMemberIds()
    {
        if (IsSuper)
        {
            _memberIds = [];
            return;
        }

        var count = 0;
        foreach (var (_, state) in _members)
        {
            if (state.Active)
            {
                count++;
            }
        }

        string[] ids = count == 0 ? [] : new string[count];
        var i = 0;
        foreach (var (id, state) in _members)
        {
            if (state.Active)
            {
                ids[i++] = id;
            }
        }

        _memberIds = ids;
    }

    private sealed class RecordsWork(ConversationGrain grain, Action<CommitBatch> add) : ICommitWork
    {
        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version) => add(batch);

        public void OnCommitted(long version)
        {
        }
    }
}
