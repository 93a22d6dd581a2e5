using System.Reflection;

namespace Parley.Storage.Compliance;

/// <summary>
/// Put on a provider's test assembly when its store needs a service started outside the test (a PostgreSQL server):
/// names the environment variable that points at it. Without the variable the suite's tests are skipped with
/// <see cref="Message"/>, unless <c>CI=true</c>: then they run and fail, so CI never passes by skipping.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class RequiresStoreServiceAttribute(string variable, string message) : Attribute
{
    public string Variable { get; } = variable;

    public string Message { get; } = message;
}

/// <summary>Why the compliance tests of the provider under test cannot run here, or null when they can.</summary>
public static class StoreTestEnvironment
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? SkipReason { get; } = FindSkipReason();

    // The test assembly is loaded before its tests are discovered; a test process runs one test assembly.
    private static string? FindSkipReason()
    {
        if (IsCi)
        {
            return null;
        }

        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            foreach (var requirement in assembly.GetCustomAttributes<RequiresStoreServiceAttribute>())
            {
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(requirement.Variable)))
                {
                    return requirement.Message;
                }
            }
        }

        return null;
    }
}

/// <summary>A compliance fact: skipped (with the reason) only when the provider's service is absent outside CI.</summary>
public sealed class StoreFactAttribute : FactAttribute
{
    public StoreFactAttribute()
    {
        if (StoreTestEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A compliance theory: skipped (with the reason) only when the provider's service is absent outside CI.</summary>
public sealed class StoreTheoryAttribute : TheoryAttribute
{
    public StoreTheoryAttribute()
    {
        if (StoreTestEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
