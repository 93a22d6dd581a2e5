using Parley.Abstractions.Messaging;
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

    private int ActiveCount => IsSuper ? _superCount : _memberIds.Length;

    private int Capacity => IsSuper ? _options.MaxSuperGroupMembers : _options.MaxGroupMembers;

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
            var existing = await _accounts.GetUsersAsync(ids);
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
        var result = await SubmitMessageAsync(
            operatorId,
            "bulk:" + Guid.NewGuid().ToString("N"),
            null,
            (int)content.BodyCase,
            ProtoMapper.Serialize(content),
            null,
            null,
            mutation: seq =>
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
            },
            mutableContent: content);
        return result.IsOk ? CoreResult.Success(changed) : result.Failure;
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
            RefreshMemberIds();
            var snapshot = _group;
            return GroupEffect.Commit((batch, version) => batch.Groups.Add(snapshot with { Version = version })) with { RosterJoined = everyone };
        });
    }

    // Automatic promotion once an ordinary group passes the configured size (after the admission that passed it).
    private async Task PromoteIfLargeAsync()
    {
        if (!IsSuper && _options.SuperGroupPromotionThreshold > 0 && _memberIds.Length > _options.SuperGroupPromotionThreshold && _group is { Dismissed: false } group)
        {
            await PromoteAsync(new GroupCommand(GroupOperation.Promote, group.OwnerId, null));
        }
    }

    /// <summary>Loads the named members of a super group into the cache (no-op for other conversations and cached users).</summary>
    private async Task EnsureMembersAsync(params string[] userIds)
    {
        if (!IsSuper)
        {
            return;
        }

        var missing = userIds.Where(u => !string.IsNullOrEmpty(u) && !_members.ContainsKey(u)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        foreach (var row in await _superStore.GetMembersByIdsAsync(_id, missing))
        {
            var state = ToState(row.Member);
            state.Periods.AddRange(row.Periods.Select(p => (p.From, p.To)));

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
