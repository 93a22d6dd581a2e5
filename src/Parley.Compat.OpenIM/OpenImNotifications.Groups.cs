using System.Text.Json;
using Parley.Abstractions.Messaging;
using Parley.Compat.OpenIM.Rest;
using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// Group system messages as OpenIM group notifications. Pure and allocation-light: everything comes from the message
/// (ids, roles the content implies, new values of changed settings) and, when pushed live, from the core's snapshots (the
/// whole group, the changed members' rows); profile fields (face URLs) and the
/// group's unchanged fields are left out, and so are <c>groupMemberVersion</c>/<c>groupMemberVersionID</c>, which makes
/// the SDK re-read the group's members in full at its next sync.
/// </summary>
internal static partial class OpenImNotifications
{
    public const int GroupCreated = 1501;
    public const int GroupInfoSet = 1502;
    public const int JoinGroupApplication = 1503;
    public const int MemberQuit = 1504;
    public const int GroupApplicationAccepted = 1505;
    public const int GroupApplicationRejected = 1506;
    public const int GroupOwnerTransferred = 1507;
    public const int MemberKicked = 1508;
    public const int MemberInvited = 1509;
    public const int MemberEnter = 1510;
    public const int GroupDismissed = 1511;
    public const int GroupMemberMuted = 1512;
    public const int GroupMemberCancelMuted = 1513;
    public const int GroupMuted = 1514;
    public const int GroupCancelMuted = 1515;
    public const int GroupMemberInfoSet = 1516;
    public const int GroupMemberSetToAdmin = 1517;
    public const int GroupMemberSetToOrdinaryUser = 1518;
    public const int GroupInfoSetAnnouncement = 1519;
    public const int GroupInfoSetName = 1520;

    private static partial MsgData? FromGroupContentCore(Message message, GroupRecord? snapshot, IReadOnlyList<MemberChange>? members)
    {
        var content = message.Content;
        if (message.Revoked || content is null)
        {
            return null;
        }

        var time = message.ServerTime;
        var groupId = message.ConversationId.StartsWith("sg_", StringComparison.Ordinal) ? message.ConversationId[3..] : string.Empty;
        int type;
        Dictionary<string, object?> tips;
        switch (content.BodyCase)
        {
            case Content.BodyOneofCase.GroupCreated:
                {
                    var c = content.GroupCreated;
                    groupId = Or(c.GroupId, groupId);
                    type = GroupCreated;
                    var group = Group(groupId);
                    group["groupName"] = c.Name;
                    group["ownerUserID"] = c.CreatorId;
                    group["creatorUserID"] = c.CreatorId;
                    group["memberCount"] = c.MemberIds.Count;
                    group["createTime"] = time;
                    tips = new()
                    {
                        ["group"] = group,
                        ["opUser"] = Member(groupId, c.CreatorId, GroupJson.RoleOwner),
                        ["groupOwnerUser"] = Member(groupId, c.CreatorId, GroupJson.RoleOwner),
                        ["memberList"] = c.MemberIds.Where(m => m != c.CreatorId)
                            .Select(m => Member(groupId, m, c.AdminIds.Contains(m) ? GroupJson.RoleAdmin : GroupJson.RoleOrdinary)).ToList(),
                        ["operationTime"] = time,
                    };
                    break;
                }

            case Content.BodyOneofCase.MembersAdded:
                {
                    var c = content.MembersAdded;
                    groupId = Or(c.GroupId, groupId);
                    var selfJoin = c.UserIds.Count == 1 && (c.UserIds[0] == c.OperatorId || c.InviterId.Length == 0);
                    if (selfJoin)
                    {
                        // A free join, or a join request an owner or admin approved.
                        type = MemberEnter;
                        tips = new()
                        {
                            ["group"] = Group(groupId),
                            ["entrantUser"] = Member(groupId, c.UserIds[0], GroupJson.RoleOrdinary),
                            ["operationTime"] = time,
                        };
                    }
                    else
                    {
                        type = MemberInvited;
                        tips = new()
                        {
                            ["group"] = Group(groupId),
                            ["opUser"] = Member(groupId, Or(c.InviterId, c.OperatorId)),
                            ["invitedUserList"] = c.UserIds.Select(u => Member(groupId, u, GroupJson.RoleOrdinary)).ToList(),
                            ["operationTime"] = time,
                        };
                    }

                    break;
                }

            case Content.BodyOneofCase.MembersRemoved:
                {
                    var c = content.MembersRemoved;
                    groupId = Or(c.GroupId, groupId);
                    if (c.Quit && c.UserIds.Count > 0)
                    {
                        type = MemberQuit;
                        tips = new()
                        {
                            ["group"] = Group(groupId),
                            ["quitUser"] = Member(groupId, c.UserIds[0]),
                            ["operationTime"] = time,
                        };
                    }
                    else
                    {
                        type = MemberKicked;
                        tips = new()
                        {
                            ["group"] = Group(groupId),
                            ["opUser"] = Member(groupId, c.OperatorId),
                            ["kickedUserList"] = c.UserIds.Select(u => Member(groupId, u)).ToList(),
                            ["operationTime"] = time,
                        };
                    }

                    break;
                }

            case Content.BodyOneofCase.GroupDismissed:
                {
                    var c = content.GroupDismissed;
                    groupId = Or(c.GroupId, groupId);
                    type = GroupDismissed;
                    var group = Group(groupId);
                    group["status"] = GroupJson.StatusDismissed;
                    tips = new()
                    {
                        ["group"] = group,
                        ["opUser"] = Member(groupId, c.OperatorId, GroupJson.RoleOwner),
                        ["operationTime"] = time,
                    };
                    break;
                }

            case Content.BodyOneofCase.OwnerTransferred:
                {
                    var c = content.OwnerTransferred;
                    groupId = Or(c.GroupId, groupId);
                    type = GroupOwnerTransferred;
                    var group = Group(groupId);
                    group["ownerUserID"] = c.NewOwnerId;
                    tips = new()
                    {
                        ["group"] = group,
                        ["opUser"] = Member(groupId, c.OldOwnerId, GroupJson.RoleOrdinary),
                        ["newGroupOwner"] = Member(groupId, c.NewOwnerId, GroupJson.RoleOwner),
                        ["oldGroupOwner"] = c.OldOwnerId,
                        ["oldGroupOwnerInfo"] = Member(groupId, c.OldOwnerId, GroupJson.RoleOrdinary),
                        ["operationTime"] = time,
                    };
                    break;
                }

            case Content.BodyOneofCase.MemberRoleChanged:
                {
                    var c = content.MemberRoleChanged;
                    groupId = Or(c.GroupId, groupId);
                    var admin = c.Role == GroupRole.Admin;
                    type = admin ? GroupMemberSetToAdmin : GroupMemberSetToOrdinaryUser;
                    tips = new()
                    {
                        ["group"] = Group(groupId),
                        ["opUser"] = Member(groupId, c.OperatorId, GroupJson.RoleOwner),
                        ["changedUser"] = Member(groupId, c.UserId, admin ? GroupJson.RoleAdmin : GroupJson.RoleOrdinary),
                        ["operationTime"] = time,
                    };
                    break;
                }

            case Content.BodyOneofCase.MemberMuted:
                {
                    var c = content.MemberMuted;
                    groupId = Or(c.GroupId, groupId);
                    var muted = c.MutedUntil > 0;
                    type = muted ? GroupMemberMuted : GroupMemberCancelMuted;
                    var mutedUser = Member(groupId, c.UserId);
                    if (muted)
                    {
                        mutedUser["muteEndTime"] = c.MutedUntil;
                    }

                    tips = new()
                    {
                        ["group"] = Group(groupId),
                        ["opUser"] = Member(groupId, c.OperatorId),
                        ["mutedUser"] = mutedUser,
                        ["operationTime"] = time,
                    };
                    if (muted)
                    {
                        tips["mutedSeconds"] = Math.Max(0, (c.MutedUntil - time + 999) / 1000);
                    }

                    break;
                }

            case Content.BodyOneofCase.MemberNicknameChanged:
                {
                    var c = content.MemberNicknameChanged;
                    groupId = Or(c.GroupId, groupId);
                    type = GroupMemberInfoSet;
                    var changed = Member(groupId, c.UserId);
                    changed["nickname"] = c.Nickname;
                    tips = new()
                    {
                        ["group"] = Group(groupId),
                        ["opUser"] = Member(groupId, message.SenderId),
                        ["changedUser"] = changed,
                        ["operationTime"] = time,
                    };
                    break;
                }

            case Content.BodyOneofCase.GroupInfoChanged:
                {
                    var c = content.GroupInfoChanged;
                    groupId = Or(c.GroupId, groupId);
                    var s = c.Changed ?? new GroupSettings();
                    var group = Group(groupId);
                    if (s.HasName)
                    {
                        group["groupName"] = s.Name;
                    }

                    if (s.HasAnnouncement)
                    {
                        group["notification"] = s.Announcement;
                        group["notificationUserID"] = c.OperatorId;
                        group["notificationUpdateTime"] = time;
                    }

                    if (s.HasIntroduction)
                    {
                        group["introduction"] = s.Introduction;
                    }

                    if (s.HasAvatarUrl)
                    {
                        group["faceURL"] = s.AvatarUrl;
                    }

                    if (s.HasEx)
                    {
                        group["ex"] = s.Ex;
                    }

                    if (s.HasJoinPolicy)
                    {
                        group["needVerification"] = GroupJson.NeedVerification((Abstractions.Messaging.GroupJoinPolicy)(int)s.JoinPolicy);
                    }

                    if (s.HasMuteAll)
                    {
                        group["status"] = s.MuteAll ? GroupJson.StatusMuted : GroupJson.StatusOk;
                    }

                    var others = s.HasAvatarUrl || s.HasIntroduction || s.HasEx || s.HasJoinPolicy || s.HasHistoryVisibleToNewMembers || s.HasSearchable;
                    type = (s.HasMuteAll, s.HasName, s.HasAnnouncement, others) switch
                    {
                        (true, false, false, false) => s.MuteAll ? GroupMuted : GroupCancelMuted,
                        (false, true, false, false) => GroupInfoSetName,
                        (false, false, true, false) => GroupInfoSetAnnouncement,
                        _ => GroupInfoSet,
                    };
                    tips = new()
                    {
                        ["group"] = group,
                        ["opUser"] = Member(groupId, c.OperatorId),
                        ["operationTime"] = time,
                    };
                    break;
                }

            default:
                return null;
        }

        if (snapshot is not null && tips.TryGetValue("group", out var partial) && partial is Dictionary<string, object?> changedFields)
        {
            tips["group"] = FullGroup(snapshot, changedFields);
        }

        if (members is { Count: > 0 })
        {
            var rows = members.ToDictionary(m => m.UserId, StringComparer.Ordinal);
            foreach (var value in tips.Values)
            {
                Describe(value, rows);
            }
        }

        var detail = JsonSerializer.Serialize(tips);
        return new MsgData
        {
            SendID = message.SenderId,
            GroupID = groupId,
            ClientMsgID = message.ClientMsgId,
            ServerMsgID = message.ServerMsgId,
            SessionType = OpenImMessages.SessionGroup,
            MsgFrom = OpenImMessages.MsgFromSystem,
            ContentType = type,
            Content = OpenImMessages.Json(new Dictionary<string, string> { ["detail"] = detail }),
            Seq = (long)message.Seq,
            SendTime = time,
            CreateTime = time,
            Status = OpenImMessages.StatusSucceeded,
        };
    }

    /// <summary>The whole group as OpenIM's GroupInfo, with the fields the content names on top (they describe the same change).</summary>
    private static Dictionary<string, object?> FullGroup(GroupRecord group, Dictionary<string, object?> changed)
    {
        var full = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in JsonSerializer.SerializeToElement(GroupJson.Info(group)).EnumerateObject())
        {
            full[property.Name] = property.Value.Clone();
        }

        foreach (var (key, value) in changed)
        {
            full[key] = value;
        }

        return full;
    }

    /// <summary>Fills a member of the tips (or a list of members) from the row the change wrote for it.</summary>
    private static void Describe(object? value, Dictionary<string, MemberChange> rows)
    {
        switch (value)
        {
            case List<Dictionary<string, object?>> list:
                foreach (var item in list)
                {
                    Describe(item, rows);
                }

                break;
            case Dictionary<string, object?> member when member.TryGetValue("userID", out var id) && id is string userId && rows.TryGetValue(userId, out var row):
                member["roleLevel"] = GroupJson.Role(row.Role);
                member["joinTime"] = row.JoinedAt;
                member["muteEndTime"] = row.MutedUntil;
                member["joinSource"] = row.InviterId.Length > 0 && row.InviterId != userId ? GroupJson.JoinByInvitation : GroupJson.JoinBySearch;
                if (row.InviterId.Length > 0)
                {
                    member["inviterUserID"] = row.InviterId;
                }

                if (row.Nickname.Length > 0)
                {
                    member["nickname"] = row.Nickname;
                }

                break;
        }
    }

    private static string Or(string preferred, string fallback) => preferred.Length > 0 ? preferred : fallback;

    private static Dictionary<string, object?> Group(string groupId) => new()
    {
        ["groupID"] = groupId,
        ["groupType"] = GroupJson.WorkingGroup,
    };

    private static Dictionary<string, object?> Member(string groupId, string userId, int roleLevel = 0)
    {
        var member = new Dictionary<string, object?> { ["groupID"] = groupId, ["userID"] = userId };
        if (roleLevel != 0)
        {
            member["roleLevel"] = roleLevel;
        }

        return member;
    }
}
