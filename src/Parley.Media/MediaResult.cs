using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Media;

/// <summary>A media operation's value, or a typed error with a message safe to show the client.</summary>
public readonly record struct MediaResult<T>(T? Value, ErrorCode Error, string? Message)
{
    public bool Ok => Error == ErrorCode.Unspecified;
}

/// <summary>Builds <see cref="MediaResult{T}"/> values.</summary>
public static class MediaResult
{
    public static MediaResult<T> Success<T>(T value) => new(value, ErrorCode.Unspecified, null);

    public static MediaResult<T> Fail<T>(ErrorCode code, string message) => new(default, code, message);
}
