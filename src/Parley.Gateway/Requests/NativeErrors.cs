using Parley.Core;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Requests;

/// <summary>The one table from the core's <see cref="CoreError"/> to the native protocol's <see cref="ErrorCode"/>.</summary>
public static class NativeErrors
{
    public static ErrorCode ToWire(CoreError error) => error switch
    {
        CoreError.None => ErrorCode.Unspecified,
        CoreError.InvalidArgument => ErrorCode.BadRequest,
        CoreError.TooLarge => ErrorCode.TooLarge,
        CoreError.NotFound => ErrorCode.NotFound,
        CoreError.NotMember => ErrorCode.NotMember,
        CoreError.Forbidden => ErrorCode.Forbidden,
        CoreError.AlreadyExists => ErrorCode.AlreadyExists,
        CoreError.Conflict => ErrorCode.Conflict,

        // One wire code for both: native clients saw MUTED for a muted group before the core told them apart.
        CoreError.Muted or CoreError.GroupMuted => ErrorCode.Muted,
        CoreError.GroupDismissed => ErrorCode.GroupDismissed,
        CoreError.Blocked => ErrorCode.Blocked,
        CoreError.NotFriends => ErrorCode.NotFriends,
        CoreError.Expired => ErrorCode.RevokeWindowPassed,
        CoreError.RateLimited => ErrorCode.RateLimited,
        CoreError.Unsupported => ErrorCode.Unsupported,
        CoreError.Unavailable => ErrorCode.Unavailable,
        _ => ErrorCode.Internal,
    };

    /// <summary>The error frame of a refusal.</summary>
    public static ServerFrame Frame(CoreFailure failure, uint requestId = 0) =>
        new() { RequestId = requestId, Error = new Error { Code = ToWire(failure.Error), Message = failure.Message } };
}
