namespace Parley.Core;

/// <summary>
/// An optional dependency, registered explicitly: a feature that may be off (the organisation directory, offline push)
/// is injected as <c>Optional&lt;T&gt;</c>, whose <see cref="Value"/> is null when the feature is absent. The edge then
/// answers <see cref="CoreError.Unsupported"/>; nobody looks services up at run time.
/// </summary>
public sealed class Optional<T>(T? value)
    where T : class
{
    public T? Value { get; } = value;
}

public static class Optional
{
    /// <summary>The feature is absent.</summary>
    public static Optional<T> None<T>()
        where T : class => new(null);
}
