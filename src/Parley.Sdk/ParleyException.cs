using Parley.Protocol.V1;

namespace Parley.Sdk;

/// <summary>A failure reported by the server (an Error frame) or a refused/terminated session.</summary>
public sealed class ParleyException : Exception
{
    /// <summary>Creates an exception with an error code and message.</summary>
    public ParleyException(ErrorCode code, string message, TimeSpan? retryAfter = null, int? closeCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        RetryAfter = retryAfter;
        CloseCode = closeCode;
    }

    /// <summary>Creates an exception with <see cref="ErrorCode.Unspecified"/>.</summary>
    public ParleyException()
        : this(ErrorCode.Unspecified, "Parley error.")
    {
    }

    /// <summary>Creates an exception with <see cref="ErrorCode.Unspecified"/> and a message.</summary>
    public ParleyException(string message)
        : this(ErrorCode.Unspecified, message)
    {
    }

    /// <summary>Creates an exception with <see cref="ErrorCode.Unspecified"/>, a message and an inner exception.</summary>
    public ParleyException(string message, Exception innerException)
        : this(ErrorCode.Unspecified, message, null, null, innerException)
    {
    }

    /// <summary>The server's error code.</summary>
    public ErrorCode Code { get; }

    /// <summary>How long the server asked the client to wait before retrying, when it said so.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The WebSocket close code when the failure is a closed session (see <c>Parley.Protocol.CloseCodes</c>).</summary>
    public int? CloseCode { get; }

    /// <summary>True for codes the server documents as safe to retry (<see cref="ErrorCode.Internal"/>, <see cref="ErrorCode.Unavailable"/>).</summary>
    public bool IsTransient => Code is ErrorCode.Internal or ErrorCode.Unavailable;

    internal static ParleyException FromError(Error error) =>
        new(error.Code, string.IsNullOrEmpty(error.Message) ? error.Code.ToString() : error.Message,
            error.RetryAfterMs > 0 ? TimeSpan.FromMilliseconds(error.RetryAfterMs) : null);
}
