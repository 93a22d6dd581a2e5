using Parley.Core;
using Parley.Core.Limits;

namespace Parley.Compat.OpenIM;

/// <summary>OpenIM's error codes (servererrs/code.go) that this edge returns; the SDK raises its own events on some.</summary>
public static class OpenImErrors
{
    public const int Internal = 500;
    public const int Args = 1001;
    public const int NoPermission = 1002;
    public const int Duplicate = 1003;
    public const int RecordNotFound = 1004;
    public const int UserNotFound = 1101;
    public const int GroupNotFound = 1201;
    public const int GroupIdExisted = 1202;
    public const int NotInGroup = 1203;
    public const int GroupDismissed = 1204;
    public const int GroupTypeNotSupport = 1205;
    public const int GroupRequestHandled = 1206;
    public const int CanNotAddYourself = 1301;
    public const int Blocked = 1302;
    public const int NotFriend = 1303;
    public const int RelationshipAlready = 1304;
    public const int MutedInGroup = 1402;
    public const int MutedGroup = 1403;
    public const int MsgAlreadyRevoked = 1404;
    public const int TokenExpired = 1501;
    public const int TokenInvalid = 1502;
    public const int TokenMalformed = 1503;
    public const int TokenNotValidYet = 1504;
    public const int TokenUnknown = 1505;
    public const int TokenKicked = 1506;
    public const int TokenNotExist = 1507;
    public const int ConnOverMaxNumLimit = 1601;
    public const int ConnArgs = 1602;
    public const int PushMsg = 1603;

    /// <summary>
    /// The one table from the core's <see cref="CoreError"/> to OpenIM's errCode. Three OpenIM codes depend on what
    /// the call was about (OpenIM has a code per kind of thing): the caller names them for NOT_FOUND, CONFLICT and
    /// NOT_MEMBER.
    /// </summary>
    public static int FromCore(CoreError error, int notFound = RecordNotFound, int conflict = Duplicate, int notMember = NotInGroup) => error switch
    {
        CoreError.InvalidArgument or CoreError.TooLarge or CoreError.Unsupported => Args,
        CoreError.RateLimited => TooManyRequests,
        CoreError.Forbidden or CoreError.Expired => NoPermission,
        CoreError.NotFound => notFound,
        CoreError.NotMember => notMember,
        CoreError.AlreadyExists or CoreError.Conflict => conflict,
        CoreError.Muted => MutedInGroup,
        CoreError.GroupMuted => MutedGroup,
        CoreError.GroupDismissed => GroupDismissed,
        CoreError.Blocked => Blocked,
        CoreError.NotFriends => NotFriend,
        _ => Internal,
    };

    /// <summary>OpenIM's error name of a code (servererrs), the errMsg of a REST refusal; the SDK reports it.</summary>
    public static string Name(int code) => code switch
    {
        Args => "ArgsError",
        NoPermission => "NoPermissionError",
        Duplicate => "DuplicateKeyError",
        RecordNotFound => "RecordNotFoundError",
        UserNotFound => "UserNotFoundError",
        GroupNotFound => "GroupIDNotFoundError",
        GroupIdExisted => "GroupIDExisted",
        NotInGroup => "NotInGroupYetError",
        GroupDismissed => "DismissedAlreadyError",
        Blocked => "BlockedByPeer",
        NotFriend => "NotPeersFriend",
        RelationshipAlready => "RelationshipAlreadyError",
        MutedInGroup => "MutedInGroup",
        MutedGroup => "MutedGroup",
        TooManyRequests => "TooManyRequests",
        _ => "ServerInternalError",
    };

    /// <summary>
    /// Refused by Parley's rate limits (OpenIM has no such code; 429 follows its habit of reusing HTTP numbers, as 500 does).
    /// The SDK rejects the call with this errCode and errMsg, which says how long to wait.
    /// </summary>
    public const int TooManyRequests = 429;

    public static string TooManyRequestsMessage(RateLimitDecision decision) =>
        $"TooManyRequests: retry after {decision.RetryAfterMs} ms";
}
