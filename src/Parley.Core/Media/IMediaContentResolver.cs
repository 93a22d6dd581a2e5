using Parley.Protocol.V1;

namespace Parley.Core.Media;

/// <summary>
/// Checks the stored objects that media content names and fills in the facts the server measured. Implemented by the
/// media service and injected as <see cref="Optional{T}"/> (register <c>Optional&lt;IMediaContentResolver&gt;</c>); while it is
/// absent, media content is refused as <see cref="CoreError.Unsupported"/>.
/// </summary>
public interface IMediaContentResolver
{
    /// <summary>
    /// Verifies that <paramref name="senderId"/> may use every object <paramref name="content"/> names (it uploaded it, or
    /// can read it through another conversation), that each object suits its role (an image for an image), and records
    /// that the message (conversation, sender, client message id) references them. Replaces size, content type,
    /// dimensions and thumbnail in <paramref name="content"/> with the server's values.
    /// </summary>
    /// <returns>Success, or a refusal with a message safe to show the client.</returns>
    Task<CoreResult> ResolveAsync(string senderId, string conversationId, string clientMsgId, Content content, CancellationToken cancellationToken = default);
}
