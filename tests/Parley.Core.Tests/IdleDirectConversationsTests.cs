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

    /// <summary>
    /// Stop 45: past MaxActive a sweep deactivates the least recently queued grains before their idle age (an hour here),
    /// oldest first, until MaxActive are left, but not one called within the last second; a grain that deactivated by
    /// itself no longer counts (once, however often it lets go).
    /// </summary>
    [Fact]
    public void Sweep_PastMaxActive_DeactivatesTheOldestBeforeTheirAge_NotOneJustCalled_AndCountsEachGrainOnce()
    {
        using var idle = new IdleDirectConversations(TimeSpan.FromHours(1), quantum: TimeSpan.FromHours(1), maxActive: 2);
        var grains = Enumerable.Range(0, 4).Select(_ => Context()).ToList();
        var slots = grains.Select(g => idle.Register(g.Context)!).ToList();
        var (gone, goneCalls) = Context();
        var goneSlot = idle.Register(gone)!;
        goneSlot.Release();
        goneSlot.Release();
        Assert.Equal(4, idle.Active);

        Thread.Sleep(TimeSpan.FromMilliseconds(1_200)); // longer than the "just called" second
        slots[1].Touch();
        var (fresh, freshCalls) = Context();
        idle.Register(fresh); // registered now: called just now
        idle.Sweep(); // 5 active, 2 allowed: the oldest three not called within the second go

        Assert.Single(grains[0].Calls);
        Assert.Empty(grains[1].Calls);
        Assert.Single(grains[2].Calls);
        Assert.Single(grains[3].Calls);
        Assert.Empty(freshCalls);
        Assert.Empty(goneCalls);
        Assert.Equal(2, idle.Active);
        Assert.Equal(3, idle.Shed);
        Assert.Equal(3, idle.Deactivated);

        idle.Sweep(); // at the bound: nothing more
        Assert.Equal(3, grains.Sum(g => g.Calls.Count));
        Assert.Empty(freshCalls);
    }

    /// <summary>
    /// Stop 46: a grain with work in flight (Begin without End: a one-way send's commit still running) is neither shed past
    /// MaxActive nor aged out, however long since its call; once its work ended it counts as used then (End), so it goes
    /// only a second after that past the bound, and after its age otherwise. Its keeping is counted (KeptBusy).
    /// </summary>
    [Fact]
    public void Sweep_KeepsAGrainWithWorkInFlight_PastTheBoundAndPastItsAge_AndItsLastUseIsWhenItsWorkEnded()
    {
        using var idle = new IdleDirectConversations(Age, quantum: TimeSpan.FromHours(1), maxActive: 1);
        var (busyGrain, busyCalls) = Context();
        var (idleGrain, idleCalls) = Context();
        var (otherGrain, otherCalls) = Context();
        var busy = idle.Register(busyGrain)!;
        idle.Register(idleGrain);
        idle.Register(otherGrain);
        busy.Begin();
        busy.Begin();

        Thread.Sleep(Age + TimeSpan.FromMilliseconds(200)); // past the age and the "just called" second
        idle.Sweep();
        Assert.Empty(busyCalls);
        Assert.Single(idleCalls);
        Assert.Single(otherCalls);
        Assert.Equal(1, idle.Active);
        Assert.Equal(1, idle.KeptBusy);

        busy.End(); // one of its two works is still in flight
        Thread.Sleep(Age + TimeSpan.FromMilliseconds(200));
        idle.Sweep();
        Assert.Empty(busyCalls);
        Assert.Equal(2, idle.KeptBusy);

        busy.End(); // its last work ended now: used now, so not yet idle for the age
        idle.Sweep();
        Assert.Empty(busyCalls);

        Thread.Sleep(Age + TimeSpan.FromMilliseconds(200));
        idle.Sweep();
        Assert.Single(busyCalls);
        Assert.Equal(0, idle.Active);
        Assert.Equal(3, idle.Registered);
    }

    [Fact]
    public void NoBound_ByDefault_KeepsEveryGrainUntilItsAge()
    {
        using var idle = new IdleDirectConversations(TimeSpan.FromHours(1), quantum: TimeSpan.FromHours(1));
        var grains = Enumerable.Range(0, 50).Select(_ => Context()).ToList();
        grains.ForEach(g => idle.Register(g.Context));
        Thread.Sleep(TimeSpan.FromMilliseconds(1_200));
        idle.Sweep();
        Assert.Equal(0, grains.Sum(g => g.Calls.Count));
        Assert.Equal(50, idle.Active);
        Assert.Equal(0, idle.Shed);
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
