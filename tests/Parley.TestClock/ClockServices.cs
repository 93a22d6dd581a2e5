using Microsoft.Extensions.DependencyInjection;

namespace Parley.TestClock;

/// <summary>
/// Puts a test's clock into a server's container for Parley's services only. Orleans takes the container's
/// <see cref="TimeProvider"/> too, and its membership compares silo generations (taken from the real clock when the silo
/// starts) with that clock: a clock shifted by hours made a single silo find itself older than the membership's
/// minimum generation, declare itself dead and end the whole process with FailFast (an in-process test host then dies
/// with "Test Run Aborted" and no test output). So every Orleans service built from a type whose constructor takes a
/// TimeProvider is built with <see cref="TimeProvider.System"/> instead, and the cluster runs on real time while the
/// campaigns, the push pipeline and the stores see the test's clock.
/// </summary>
public static class ClockServices
{
    public static void UseClock(IServiceCollection services, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(clock);
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.IsKeyedService
                || descriptor.ImplementationType is not { } type
                || type.IsGenericTypeDefinition
                || type.Namespace is not { } ns
                || !(ns == "Orleans" || ns.StartsWith("Orleans.", StringComparison.Ordinal))
                || !type.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(TimeProvider))))
            {
                continue;
            }

            services[i] = ServiceDescriptor.Describe(descriptor.ServiceType, sp => ActivatorUtilities.CreateInstance(sp, type, TimeProvider.System), descriptor.Lifetime);
        }
    }
}
