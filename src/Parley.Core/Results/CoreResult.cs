namespace Parley.Core;

/// <summary>A refusal: a <see cref="CoreError"/> and a human-readable message (never a message body or a token).</summary>
/// <remarks>Converts implicitly to <see cref="CoreResult"/> and <see cref="CoreResult{T}"/>, so a command returns it directly.</remarks>
[GenerateSerializer, Immutable, Alias("parley.core-failure")]
public readonly record struct CoreFailure(CoreError Error, string Message);

/// <summary>The outcome of a core command without a value: success, or a typed refusal.</summary>
[GenerateSerializer, Immutable, Alias("parley.core-result")]
public sealed record CoreResult(CoreError Error, string? Message)
{
    /// <summary>Success.</summary>
    public static readonly CoreResult Ok = new(CoreError.None, null);

    public bool IsOk => Error == CoreError.None;

    public static CoreResult<T> Success<T>(T value) => new(CoreError.None, null, value);

    public static CoreFailure Fail(CoreError error, string message) => new(error, message);

    public static implicit operator CoreResult(CoreFailure failure) => new(failure.Error, failure.Message);

    /// <summary>The failure of this result (only meaningful when not <see cref="IsOk"/>).</summary>
    public CoreFailure Failure => new(Error, Message ?? Error.ToString());
}

/// <summary>The outcome of a core command: a value on success, or a typed refusal.</summary>
[GenerateSerializer, Immutable, Alias("parley.core-result`1")]
public sealed record CoreResult<T>(CoreError Error, string? Message, T? Value)
{
    public bool IsOk => Error == CoreError.None;

    /// <summary>The failure of this result (only meaningful when not <see cref="IsOk"/>).</summary>
    public CoreFailure Failure => new(Error, Message ?? Error.ToString());

    public static implicit operator CoreResult<T>(CoreFailure failure) => new(failure.Error, failure.Message, default);

    /// <summary>Drops the value (a command whose edge needs only success or the refusal).</summary>
    public CoreResult WithoutValue() => IsOk ? CoreResult.Ok : new CoreResult(Error, Message);
}
