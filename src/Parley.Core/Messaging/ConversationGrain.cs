using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Messaging;
using Parley.Core.Commit;
using Parley.Core.Delivery;
using Parley.Core.Push;
using Parley.Core.Social;
using Parley.Core.Telemetry;
using Parley.Protocol;
using Parley.Protocol.V1;
using ConversationKind = Parley.Abstractions.Messaging.ConversationKind;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Core.Messaging;

/// <summary>
/// Reentrant on purpose: seq allocation happens in a FIFO section before the first await on the commit, so many sends
/// of one conversation share a group commit while seqs stay gapless and in arrival order.
/// </summary>
[Reentrant]
public sealed partial class ConversationGrain : Grain, IConversationGrain
{
    /// <summary>The refusal text of a send while everyone but the owner and admins is muted (compat edges tell it apart from a muted member).</summary>
    public const string GroupMutedMessage = "Everyone is muted in this group.";

    private const int DedupCacheLimit = 16_384;

    private readonly IMessageStore _store;
    private readonly IAccountStore _accounts;
    private readonly CommitPipeline _pipeline;
    private readonly IDeliveryHub _hub;
    private readonly MessagingOptions _options;
    private readonly TimeProvider _time;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<ConversationGrain> _logger;
    private readonly IRelationReader? _relations;
    private readonly IGroupStore _groupStore;
    private readonly IMessageCommittedObserver? _committedObserver;
    private readonly bool _friendsOnly;
    private readonly Guid _epoch = Guid.NewGuid();
    private readonly Dictionary<string, MemberState> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Sender, string ClientMsgId), Task<SendResult>> _dedup = [];
    private string _id = string.Empty;
    private ConversationRecord? _record;
    private string[] _memberIds = [];
    private long _nextSeq = 1;
    private bool _allKeysKnown;
    private ConversationTail _tail = null!;
    private Task _orderTail = Task.CompletedTask;
    private DirectRelation _relation = DirectRelation.None;
    private long _relationChanges;

    public ConversationGrain(
        IMessageStore store,
        IAccountStore accounts,
        CommitPipeline pipeline,
        IDeliveryHub hub,
        IOptions<MessagingOptions> options,
        TimeProvider time,
        ParleyMetrics metrics,
        ILogger<ConversationGrain> logger,
        IServiceProvider services,
        IOptions<SocialOptions> social,
        IGroupStore groupStore)
    {
        _groupStore = groupStore;
        _relations = services.GetService(typeof(IRelationReader)) as IRelationReader;
        _committedObserver = services.GetService(typeof(IMessageCommittedObserver)) as IMessageCommittedObserver;
        _friendsOnly = social.Value.FriendsOnlyDirectMessages;
        _store = store;
        _accounts = accounts;
        _pipeline = pipeline;
        _hub = hub;
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _id = this.GetPrimaryKeyString();
        _record = await _store.GetConversationAsync(_id, cancellationToken);
        if (_record is null)
        {
            _tail = new ConversationTail(_options.HotTailSize, 0, []);
            _allKeysKnown = true;
            return;
        }

        foreach (var m in await _store.GetMembersAsync(_id, cancellationToken))
        {
            _members[m.UserId] = new MemberState(m.ReadSeq, m.Pinned, m.Muted)
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

        RefreshMemberIds();
        if (_record.Kind == ConversationKind.Group && _record.GroupId is { } groupId)
        {
            await LoadGroupAsync(groupId, cancellationToken);
        }

        _nextSeq = _record.MaxSeq + 1;
        if (_record.Kind == ConversationKind.Direct && _memberIds.Length == 2)
        {
            await RefreshRelationAsync(_memberIds[0], _memberIds[1]);
        }

        var newest = await _store.ReadMessagesAsync(_id, 0, ReadDirection.Backward, Math.Max(1, _options.HotTailSize), cancellationToken);
        _tail = new ConversationTail(_options.HotTailSize, _record.MaxSeq, newest);

        IReadOnlyList<StoredMessage> known = newest;
        if (_record.MaxSeq <= _options.DedupPreloadLimit)
        {
            known = _record.MaxSeq <= newest.Count
                ? newest
                : await _store.ReadMessagesAsync(_id, 1, ReadDirection.Forward, (int)_record.MaxSeq, cancellationToken);
            _allKeysKnown = true;
        }

        foreach (var m in known)
        {
            _dedup[(m.SenderId, m.ClientMsgId)] = Task.FromResult(Ack(m, duplicate: false));
        }
    }

    public async Task<SendResult> SendAsync(SendCommand command)
    {
        if (command.Content.Length > _options.MaxContentBytes)
        {
            return SendResult.Fail((int)ErrorCode.TooLarge, "Content exceeds the size limit.", _id);
        }

        return await SubmitMessageAsync(command.SenderId, command.ClientMsgId, command.PeerUserId, command.ContentKind, command.Content, null, command.OriginConnectionId);
    }

    public async Task<SendResult> RevokeAsync(RevokeCommand command)
    {
        if (_record is null || !IsActive(command.UserId))
        {
            return SendResult.Fail((int)ErrorCode.NotMember, "Not a member of this conversation.", _id);
        }

        var dedupKey = (command.UserId, command.ClientMsgId);
        if (_dedup.TryGetValue(dedupKey, out var earlier))
        {
            return await AsDuplicateAsync(earlier);
        }

        var target = _tail.Find(command.Seq) ?? await _store.GetMessageAsync(_id, command.Seq);
        if (target is null || command.Seq > _tail.MaxSeq)
        {
            return SendResult.Fail((int)ErrorCode.NotFound, "No such message.", _id);
        }

        if (target.SenderId != command.UserId)
        {
            return SendResult.Fail((int)ErrorCode.Forbidden, "Only the sender may revoke a message.", _id);
        }

        if (!Parley.Protocol.ContentKinds.IsUserContent(target.ContentKind))
        {
            return SendResult.Fail((int)ErrorCode.BadRequest, "System messages cannot be revoked.", _id);
        }

        if (target.Revoked)
        {
            return SendResult.Fail((int)ErrorCode.BadRequest, "The message is already revoked.", _id);
        }

        var age = _time.GetUtcNow().ToUnixTimeMilliseconds() - target.ServerTime;
        if (age > (long)_options.RevokeWindow.TotalMilliseconds)
        {
            return SendResult.Fail((int)ErrorCode.RevokeWindowPassed, "The revoke window has passed.", _id);
        }

        var content = new Content { Revoke = new RevokeContent { Seq = (ulong)target.Seq, ServerMsgId = target.ServerMsgId, RevokedBy = command.UserId } };
        return await SubmitMessageAsync(command.UserId, command.ClientMsgId, null, (int)Content.BodyOneofCase.Revoke, Internal.ProtoMapper.Serialize(content), target.Seq, command.OriginConnectionId, revokedClientMsgId: target.ClientMsgId);
    }

    public async Task<SendResult> CreateGroupAsync(CreateGroupCommand command)
    {
        await EnterOrderAsync(out var release);
        NewConversation creation;
        try
        {
            if (_record is not null)
            {
                return SendResult.Fail((int)ErrorCode.AlreadyExists, "The group already exists.", _id);
            }

            var memberIds = command.MemberIds.Append(command.CreatorId).Distinct(StringComparer.Ordinal).ToArray();
            if (memberIds.Length > _options.MaxGroupMembers)
            {
                return SendResult.Fail((int)ErrorCode.BadRequest, $"A group has at most {_options.MaxGroupMembers} members.", _id);
            }

            var existing = await _accounts.GetUsersAsync(memberIds);
            if (existing.Count != memberIds.Length)
            {
                return SendResult.Fail((int)ErrorCode.NotFound, "Some members do not exist.", _id);
            }

            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            creation = new NewConversation(_id, ConversationKind.Group, command.GroupId, command.Name, command.CreatorId, now, memberIds, 0);
            AdoptConversation(creation);
            _members[command.CreatorId].Role = MemberRole.Owner;
            _group = new GroupRecord(
                command.GroupId, _id, command.Name, command.AvatarUrl, command.Introduction, command.Announcement, command.Ex, command.CreatorId,
                command.JoinPolicy, command.HistoryVisibleToNewMembers, false, true, false, now, now, memberIds.Length, 0);
        }
        finally
        {
            release();
        }

        var group = _group;
        var content = new Content
        {
            GroupCreated = new GroupCreatedContent { GroupId = command.GroupId, Name = command.Name, CreatorId = command.CreatorId, MemberIds = { creation.Members } },
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
            _ => new GroupEffect(0, null, (batch, version) =>
            {
                batch.Groups.Add(group with { Version = version });
                foreach (var member in creation.Members)
                {
                    batch.MemberChanges.Add(Snapshot(member, _members[member], 1, 0, version));
                }
            }, null));
    }

    public async Task<MarkReadOutcome> MarkReadAsync(string userId, long seq, string? originConnectionId)
    {
        if (_record is null || !TryGetActive(userId, out var member))
        {
            return new MarkReadOutcome((int)ErrorCode.NotMember, 0, 0);
        }

        var max = _tail.MaxSeq;
        var target = Math.Min(seq, max);
        if (target <= member.ReadSeq)
        {
            return new MarkReadOutcome(0, member.ReadSeq, Math.Max(0, max - member.ReadSeq));
        }

        var previousReadSeq = member.ReadSeq;
        member.ReadSeq = target;
        var work = new ReadWork(this, userId, target, previousReadSeq, originConnectionId);
        try
        {
            await _pipeline.SubmitAsync(work);
        }
        catch (CommitFailedException ex)
        {
            return new MarkReadOutcome(OnCommitFailed(ex), 0, 0);
        }

        return new MarkReadOutcome(0, target, Math.Max(0, _tail.MaxSeq - target));
    }

    public async Task<int> UpdateSettingsAsync(string userId, bool? pinned, bool? muted, bool? mentionsOnly, string? originConnectionId)
    {
        if (_record is null || !TryGetActive(userId, out var member))
        {
            return (int)ErrorCode.NotMember;
        }

        member.Pinned = pinned ?? member.Pinned;
        member.Muted = muted ?? member.Muted;
        member.MentionsOnly = mentionsOnly ?? member.MentionsOnly;
        try
        {
            await _pipeline.SubmitAsync(new SettingsWork(this, userId, pinned, muted, mentionsOnly, originConnectionId));
        }
        catch (CommitFailedException ex)
        {
            return OnCommitFailed(ex);
        }

        return 0;
    }

    public async Task<HistoryPage> GetHistoryAsync(string userId, long fromSeq, ReadDirection direction, int limit)
    {
        if (_record is null || !_members.TryGetValue(userId, out var viewer) || (!viewer.Active && viewer.Periods.Count == 0))
        {
            return new HistoryPage((int)ErrorCode.NotMember, [], false, 0);
        }

        limit = limit <= 0 ? _options.HistoryDefaultLimit : Math.Min(limit, _options.HistoryMaxLimit);
        // A member sees only their periods: clamp the request to what they may see, then filter the gaps.
        var max = Math.Min(_tail.MaxSeq, viewer.HighestVisible(_tail.MaxSeq));
        var lowest = viewer.LowestVisible;
        if (max == 0 || lowest > max)
        {
            return new HistoryPage(0, [], false, max);
        }

        if (direction == ReadDirection.Backward)
        {
            fromSeq = fromSeq == 0 || fromSeq > max ? max : fromSeq;
            if (fromSeq < lowest)
            {
                return new HistoryPage(0, [], false, max);
            }
        }
        else
        {
            fromSeq = Math.Max(fromSeq, lowest);
            if (fromSeq > max)
            {
                return new HistoryPage(0, [], false, max);
            }
        }

        if (!_tail.TryRead(fromSeq, direction, limit, out var page, out var hasMore))
        {
            var stored = await _store.ReadMessagesAsync(_id, fromSeq, direction, limit + 1);
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

        return new HistoryPage(0, [.. page.Where(m => m.Seq <= max && viewer.CanSee(m.Seq)).Select(MessageData.From)], hasMore, max);
    }

    public Task SetRelationAsync(DirectRelation relation)
    {
        _relation = relation;
        _relationChanges++;
        return Task.CompletedTask;
    }

    public Task<int> TypingAsync(string userId, bool typing, string? originConnectionId)
    {
        if (_record is null || !IsActive(userId))
        {
            return Task.FromResult((int)ErrorCode.NotMember);
        }

        _hub.PublishEphemeral(_memberIds, new TypingChanged(_id, userId, typing), originConnectionId);
        return Task.FromResult(0);
    }

    private async Task<SendResult> SubmitMessageAsync(
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
        string? revokedClientMsgId = null)
    {
        MessageWork work;
        TaskCompletionSource<SendResult> completion;
        await EnterOrderAsync(out var release);
        try
        {
            if (_record is null)
            {
                var refusal = await TryCreateDirectAsync(senderId, peerUserId);
                if (refusal is not null)
                {
                    return refusal;
                }

                creation = _pendingCreation;
                _pendingCreation = null;
            }

            // A group mutation authorises its operator itself (a joiner is not a member yet).
            MemberState? senderState = null;
            if (mutation is null && !TryGetActive(senderId, out senderState))
            {
                return SendResult.Fail((int)ErrorCode.NotMember, "Not a member of this conversation.", _id);
            }

            if (senderState is not null && _group is not null && creation is null && revokes is null && !IsGroupNotification(contentKind))
            {
                if (_group.Dismissed)
                {
                    return SendResult.Fail((int)ErrorCode.GroupDismissed, "The group was dismissed.", _id);
                }

                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                if (senderState.MutedUntil > now)
                {
                    return SendResult.Fail((int)ErrorCode.Muted, "You are muted in this group.", _id);
                }

                if (_group.MuteAll && senderState.Role == MemberRole.Member)
                {
                    return SendResult.Fail((int)ErrorCode.Muted, GroupMutedMessage, _id);
                }
            }

            var key = (senderId, clientMsgId);
            if (_dedup.TryGetValue(key, out var earlier))
            {
                release();
                return await AsDuplicateAsync(earlier);
            }

            if (!_allKeysKnown)
            {
                var found = await _store.FindByClientMsgIdAsync(_id, senderId, clientMsgId);
                if (found is not null)
                {
                    var ack = Ack(found, duplicate: false);
                    _dedup[key] = Task.FromResult(ack);
                    _metrics.MessagesDuplicate.Add(1);
                    return ack with { Duplicate = true };
                }
            }

            // Checked after the last await of this section, so a block that returned refuses every later send.
            if (_record!.Kind == ConversationKind.Direct && revokes is null && _memberIds.Length == 2)
            {
                if (_relation.Blocked)
                {
                    return SendResult.Fail((int)ErrorCode.Blocked, "One of the users blocked the other.", _id);
                }

                if (_friendsOnly && !_relation.Friends)
                {
                    return SendResult.Fail((int)ErrorCode.NotFriends, "Only friends may exchange direct messages on this server.", _id);
                }
            }

            GroupEffect? effect = null;
            if (mutation is not null)
            {
                effect = mutation(_nextSeq);
                if (effect.Error != 0)
                {
                    return SendResult.Fail(effect.Error, effect.Message ?? "Refused.", _id);
                }

                if (mutableContent is not null)
                {
                    // The mutation completes the notice (who was actually added, the inviter of an approved request).
                    content = Internal.ProtoMapper.Serialize(mutableContent);
                }
            }

            var message = new StoredMessage(
                _id,
                _nextSeq++,
                Guid.CreateVersion7().ToString("N"),
                senderId,
                clientMsgId,
                _time.GetUtcNow().ToUnixTimeMilliseconds(),
                contentKind,
                content,
                false,
                0);
            work = new MessageWork(this, message, creation, revokes, effect?.Recipients ?? _memberIds, originConnectionId) { Extra = effect?.Extra, RevokedClientMsgId = revokedClientMsgId ?? string.Empty, Group = _group };
            completion = new TaskCompletionSource<SendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_dedup.Count >= DedupCacheLimit)
            {
                TrimDedup();
            }

            _dedup[key] = completion.Task;
        }
        finally
        {
            release();
        }

        try
        {
            var version = await _pipeline.SubmitAsync(work);
            var ack = Ack(work.Message with { Version = version }, duplicate: false);
            if (_members.TryGetValue(senderId, out var sender))
            {
                sender.ReadSeq = Math.Max(sender.ReadSeq, work.Message.Seq);
            }

            _metrics.MessagesAccepted.Add(1);
            completion.TrySetResult(ack);
            return ack;
        }
        catch (CommitFailedException ex)
        {
            _dedup.Remove((senderId, clientMsgId));
            var failure = SendResult.Fail(OnCommitFailed(ex), "The message was not stored; retry.", _id);
            completion.TrySetResult(failure);
            return failure;
        }
    }

    private NewConversation? _pendingCreation;

    private async Task<SendResult?> TryCreateDirectAsync(string senderId, string? peerUserId)
    {
        if (peerUserId is null || !_id.StartsWith("si_", StringComparison.Ordinal) || Ids.DirectConversationId(senderId, peerUserId) != _id)
        {
            return SendResult.Fail((int)ErrorCode.NotFound, "No such conversation.", _id);
        }

        if (peerUserId != senderId && await _accounts.GetUserAsync(peerUserId) is null)
        {
            return SendResult.Fail((int)ErrorCode.NotFound, "No such user.", _id);
        }

        string[] members = peerUserId == senderId ? [senderId] : [senderId, peerUserId];
        if (members.Length == 2)
        {
            await RefreshRelationAsync(senderId, peerUserId);
        }

        var creation = new NewConversation(_id, ConversationKind.Direct, null, string.Empty, senderId, _time.GetUtcNow().ToUnixTimeMilliseconds(), members, 0);
        AdoptConversation(creation);
        _pendingCreation = creation;
        return null;
    }

    // A SetRelationAsync that interleaves with the read wins over the older value read from the store.
    private async Task RefreshRelationAsync(string a, string b)
    {
        var before = _relationChanges;
        var loaded = await LoadRelationAsync(a, b);
        if (_relationChanges == before)
        {
            _relation = loaded;
        }
    }

    private async Task<DirectRelation> LoadRelationAsync(string a, string b)
    {
        if (_relations is null)
        {
            return DirectRelation.None;
        }

        var (first, second) = string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);
        return await _relations.GetDirectRelationAsync(first, second);
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

    private static async Task<SendResult> AsDuplicateAsync(Task<SendResult> earlier)
    {
        var result = await earlier;
        return result.Error == 0 ? result with { Duplicate = true } : result;
    }

    private SendResult Ack(StoredMessage m, bool duplicate) =>
        new(0, null, _id, m.Seq, m.ServerMsgId, m.ServerTime, duplicate, m.Version);

    private void TrimDedup()
    {
        foreach (var key in _dedup.Where(kv => kv.Value.IsCompleted).Select(kv => kv.Key).ToList())
        {
            _dedup.Remove(key);
        }

        _allKeysKnown = false;
    }

    private int OnCommitFailed(CommitFailedException ex)
    {
        LogCommitFailed(_logger, ex, _id);
        // Seqs already handed out after the failed one can never commit (the pipeline refuses this epoch);
        // a fresh activation reloads the true max seq.
        this.DeactivateOnIdle();
        return (int)ErrorCode.Unavailable;
    }

    // A FIFO section: callers pass through in arrival order even across awaits inside it.
    private Task EnterOrderAsync(out Action release)
    {
        var previous = _orderTail;
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _orderTail = mine.Task;
        var released = 0;
        release = () =>
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                mine.TrySetResult();
            }
        };
        return previous;
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
        return new ConversationView(_id, _record.Kind, _record.GroupId, _group?.Name ?? _record.Name, peer, visibleMax, member.ReadSeq, member.Pinned, member.Muted, last, peerRead, _memberIds.Length, last?.ServerTime ?? _record.CreatedAt)
        {
            MentionsOnly = member.MentionsOnly,
        };
    }

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

        /// <summary>Closed visibility periods (seqs From..To) from earlier memberships.</summary>
        public List<(long From, long To)> Periods { get; } = [];

        public bool CanSee(long seq) =>
            (Active && seq >= VisibleFrom) || Periods.Exists(p => seq >= p.From && seq <= p.To);

        public long LowestVisible => Math.Min(Active ? VisibleFrom : long.MaxValue, Periods.Count == 0 ? long.MaxValue : Periods.Min(p => p.From));

        public long HighestVisible(long maxSeq) => Active ? maxSeq : (Periods.Count == 0 ? 0 : Periods.Max(p => p.To));
    }

    private sealed class MessageWork(ConversationGrain grain, StoredMessage message, NewConversation? creation, long? revokes, string[] recipients, string? origin) : ICommitWork
    {
        private StoredMessage _final = message;

        /// <summary>More records committed atomically with the message (group and membership changes).</summary>
        public Action<CommitBatch, long>? Extra { get; init; }

        /// <summary>For a revoke marker: the client message id of the message it revokes.</summary>
        public string RevokedClientMsgId { get; init; } = string.Empty;

        /// <summary>The group after this message's mutation, taken in the grain turn (immutable record).</summary>
        public GroupRecord? Group { get; init; }

        public StoredMessage Message { get; } = message;

        public string ConversationId => Message.ConversationId;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version)
        {
            _final = Message with { Version = version };
            if (creation is not null)
            {
                batch.Conversations.Add(creation with { Version = version });
            }

            batch.Messages.Add(_final);
            Extra?.Invoke(batch, version);
            if (revokes is { } seq)
            {
                batch.Revocations.Add(new Revocation(ConversationId, seq));
            }
        }

        public void OnCommitted(long version)
        {
            if (revokes is { } seq)
            {
                grain._tail.Revoke(seq);
            }

            grain._tail.Append(_final);
            MessageCommitted committed = revokes is { } target
                ? new MessageRevoked(_final, target, RevokedClientMsgId, _final.SenderId)
                : new MessageCommitted(_final, Group);
            grain._hub.Publish(recipients, committed, version, origin);
            grain._committedObserver?.OnMessageCommitted(_final, recipients, grain._record!.Kind, grain._group?.Name ?? string.Empty);
        }
    }

    private sealed class ReadWork(ConversationGrain grain, string userId, long readSeq, long previousReadSeq, string? origin) : ICommitWork
    {
        private readonly string[] _recipients = grain._memberIds;

        public string ConversationId => grain._id;

        public Guid Epoch => grain._epoch;

        public void AddTo(CommitBatch batch, long version) =>
            batch.ReadCursors.Add(new ReadCursorUpdate(ConversationId, userId, readSeq, version));

        public void OnCommitted(long version)
        {
            grain._hub.Publish(_recipients, new ReceiptChanged(ConversationId, userId, readSeq, previousReadSeq, version), version, origin);
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
            grain._hub.Publish([userId], new SettingsChanged(userId, _view, version), version, origin);
        }
    }
}
