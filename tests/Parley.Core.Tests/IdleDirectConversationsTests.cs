using System.Reflection;
using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>
/// The node's queue of 1:1 conversation grains deactivated after Parley:Orleans:DirectIdleAge (issue 17's soak): which
/// grains a sweep asks to deactivate. The grain contexts are stand-ins that count the deactivation requests; the sweeps are
/// called by the test (the timer's period is an hour). The idle age is 1 s and the waits at least that: no timing margin
/// below a second is assumed.
/// </summary>
public sealed class IdleDirectConversationsTests
{
    private static readonly TimeSpan Age = TimeSpan.FromSeconds(1);

    [Fact]
    public void Sweep_DeactivatesTheGrainsIdleForTheAge_KeepsTheUsedOnes_AndDropsTheDeactivatedOnesWithoutAsking()
    {
        using var idle = new IdleDirectConversations(Age, quantum: TimeSpan.FromHours(1));
        var (idleGrain, idleCalls) = Context();
        var (usedGrain, usedCalls) = Context();
        var (goneGrain, goneCalls) = Context();
        idle.Register(idleGrain);
        var used = idle.Register(usedGrain)!;
        var gone = idle.Register(goneGrain)!;

        idle.Sweep(); // nothing is due yet
        Assert.Equal(0, idleCalls.Count + usedCalls.Count + goneCalls.Count);

        Thread.Sleep(Age + TimeSpan.FromMilliseconds(200));
        used.Touch();
        gone.Release(); // deactivated meanwhile by someone else (Orleans' idle collection, a failed commit)
        idle.Sweep();

        Assert.Single(idleCalls);
        Assert.Empty(usedCalls);
        Assert.Empty(goneCalls);
        Assert.Equal(1, idle.Deactivated);
        Assert.Equal(1, idle.Queued); // only the used one is left, at the back

        // The used one, idle for the age since its last call, goes in a later sweep, once.
        Thread.Sleep(Age + TimeSpan.FromMilliseconds(200));
        idle.Sweep();
        idle.Sweep();
        Assert.Single(usedCalls);
        Assert.Single(idleCalls);
        Assert.Equal(0, idle.Queued);
    }

    [Fact]
    public void Off_WhenTheAgeIsZero_RegistersNothing()
    {
        using var idle = new IdleDirectConversations(TimeSpan.Zero);
        var (grain, calls) = Context();
        Assert.False(idle.Enabled);
        Assert.Null(idle.Register(grain));
        idle.Sweep();
        Assert.Empty(calls);
    }

    private static (IGrainContext Context, List<DeactivationReason> Calls) Context()
    {
        var context = DispatchProxy.Create<IGrainContext, CountingContext>();
        var counting = (CountingContext)(object)context;
        return (context, counting.Calls);
    }

    /// <summary>A grain context whose only working member is <c>Deactivate</c>, which records its reason.</summary>
    public class CountingContext : DispatchProxy
    {
        public List<DeactivationReason> Calls { get; } = [];

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name == nameof(IGrainContext.Deactivate) && args is [DeactivationReason reason, ..])
            {
                Calls.Add(reason);
                return null;
            }

            throw new NotSupportedException(targetMethod?.Name);
        }
    }
}
