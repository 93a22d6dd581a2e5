namespace Parley.Hosting.Startup;

/// <summary>
/// An operator mistake found while starting: its message is one line naming the setting or path and what to do. The
/// executable prints it (without a stack trace) and exits non-zero.
/// </summary>
public sealed class StartupProblemException : Exception
{
    public StartupProblemException(string message)
        : base(message)
    {
    }

    public StartupProblemException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StartupProblemException()
    {
    }
}
