using System.Diagnostics;
using System.Globalization;

#pragma warning disable CA1050 // The runtime looks for a type named StartupHook in the global namespace.

/// <summary>
/// Runs before the server's Main when the process is started with <c>DOTNET_STARTUP_HOOKS=&lt;path of this dll&gt;</c>.
/// With <c>PARLEY_TEST_CLOCK_OFFSET_MS</c> set, it registers a <see cref="TimeProvider"/> shifted by that many milliseconds
/// in the server's container when the host is built (the "HostBuilding" diagnostic event that WebApplicationFactory uses
/// too), after the server's own registrations, so Parley's services get the shifted clock (Orleans stays on the system
/// clock: <see cref="Parley.TestClock.ClockServices"/>). Timers still run in real time. Without the variable it does nothing.
/// </summary>
internal static class StartupHook
{
    public const string OffsetVariable = "PARLEY_TEST_CLOCK_OFFSET_MS";

    public static void Initialize()
    {
        var raw = Environment.GetEnvironmentVariable(OffsetVariable);
        if (string.IsNullOrEmpty(raw))
        {
            return;
        }

        var clock = new Parley.TestClock.OffsetTimeProvider(TimeSpan.FromMilliseconds(long.Parse(raw, CultureInfo.InvariantCulture)));
        DiagnosticListener.AllListeners.Subscribe(new Parley.TestClock.HostingListeners(clock));
    }
}
