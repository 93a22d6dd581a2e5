using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

/// <summary>
/// Parley system content as OpenIM notifications. Group system messages (group created, members added/removed,
/// dismissed, owner transferred, role changed, muted, nickname changed, info changed) are ordinary messages of the
/// group's conversation in Parley; OpenIM clients see them as notification messages (content types 1501–1520, content
/// <c>{"detail": "&lt;JSON of the tips&gt;"}</c>).
/// </summary>
internal static partial class OpenImNotifications
{
    /// <summary>
    /// The OpenIM notification for a group system message (Content cases group_created and 10–17), or null when OpenIM
    /// has no counterpart (the message is then not shown to OpenIM clients).
    /// </summary>
    /// <remarks>
    /// With <paramref name="group"/> (the group after the change) the notification's <c>group</c> is the whole group, as
    /// OpenIM sends it: SDK 0.0.14 replaces its cached group with that object, so a partial one would lose the owner,
    /// member count and status until the next login.
    /// </remarks>
    /// <remarks>
    /// With <paramref name="members"/> (the member rows the change wrote, from the core's <c>MembersChanged</c> event) each
    /// member the notification names is described in full (role, join time, inviter, group nickname, mute end) as OpenIM's
    /// GroupMemberFullInfo, not only by its ids.
    /// </remarks>
    public static MsgData? FromGroupContent(
        Message message,
        Parley.Abstractions.Messaging.GroupRecord? group = null,
        IReadOnlyList<Parley.Abstractions.Messaging.MemberChange>? members = null) => FromGroupContentCore(message, group, members);

    private static partial MsgData? FromGroupContentCore(
        Message message,
        Parley.Abstractions.Messaging.GroupRecord? snapshot,
        IReadOnlyList<Parley.Abstractions.Messaging.MemberChange>? members);
}
