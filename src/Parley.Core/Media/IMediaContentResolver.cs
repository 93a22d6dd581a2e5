using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Core.Media;

/// <summary>
/// Checks the stored objects that media content names and fills in the facts the server measured. Implemented by the
/// media service; when no implementation is registered, media content is refused as UNSUPPORTED.
/// </summary>
public interface IMediaContentResolver
{
    /// <summary>
    /// Verifies that <paramref name="senderId"/> may use every object <paramref name="content"/> names (it uploaded it, or
    /// can read it through another conversation), that each object suits its role (an image for an image), and records
    /// that the message (conversation, sender, client message id) references them. Replaces size, content type,
    /// dimensions and thumbnail in <paramref name="content"/> with the server's values.
    /// </summary>
    /// <returns>0 or a protocol <see cref="Parley.Protocol.V1.ErrorCode"/> value, with a message safe to show the client.</returns>
    Task<MediaResolution> ResolveAsync(string senderId, string conversationId, string clientMsgId, Content content, CancellationToken cancellationToken = default);
}

/// <summary>The outcome of <see cref="IMediaContentResolver.ResolveAsync"/>.</summary>
public readonly record struct MediaResolution(int Error, string? Message)
{
    public static MediaResolution Ok => default;

    public static MediaResolution Fail(ErrorCode code, string message) => new((int)code, message);
}
